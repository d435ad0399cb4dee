"""drumgen.loop on real drums: loops built from recorded one-shots with known onsets, and freely licensed breaks.

    python benchmarks/loop_bench.py                  # the held-out kits, every groove and tempo; appends to RESULTS.md
    python benchmarks/loop_bench.py --no-append --kits "Audiophob"
    python benchmarks/loop_bench.py --synth 3 --tagger runs/tagger-v2/RUN   # a tagger under trial, on made-up kits

1. Loops with a known answer: per held-out hydrogen-drumkits kit (drumgen.data.corpus_hydrogen.DEFAULT_HELDOUT that
   are also in HYDROGEN_DRUMKITS; GMRockKit and TR808EmulationKit are never read) one kick, snare, closed hi-hat and
   tom (the loudest layer of the first instrument of each class, trimmed to its attack), played in three grooves
   (rock 8ths with the hat on every kick and snare, 16th funk with ghost notes, a swung shuffle with a tom fill) at
   80-160 BPM with swing 0.5-0.66, velocities and 4 ms timing jitter (drumgen.loop.files.render). Each loop goes
   through drumgen.loop.analyse with nothing given and is scored against what was played: tempo error (BPM), onset
   F1 within 10 ms, class accuracy (the share of played hits matched to a pad of their class), the share of
   kick+hat steps where both come back, and the analysis time per minute of audio.
   With --synth N, the same loops from N kits of synthesized hits (drumgen.dsp.synth) instead: nothing of the
   held-out kits, so a measure that may choose between taggers (--tagger: the one that names the pads), as the
   held-out kits must never be used to.
2. Breaks: the drum loops of Debian's sonic-pi-samples (CC0, named in its copyright file) have no onset truth; the
   table gives the tempo found against the tempo a whole number of bars of the file's length implies, onsets and
   pads found, and the time per minute.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import record, table  # noqa: E402

from drumgen import loop  # noqa: E402
from drumgen.data import corpus_hydrogen  # noqa: E402
from drumgen.dsp import synth  # noqa: E402
from drumgen.io import audio  # noqa: E402
from drumgen.loop.files import render  # noqa: E402
from drumgen.loop.grid import grid_time  # noqa: E402

SR = 44100
CLASSES = ("kick", "snare", "hihat", "tom")
SKIP = {"snare": ("rim", "stick", "brush", "roll", "side"), "hihat": ("open", "pedal", "foot", "half", "semi"),
        "kick": (), "tom": ()}
BREAKS = Path("/usr/share/sonic-pi/samples")
BREAK_FILES = ("loop_amen.flac", "loop_amen_full.flac", "loop_breakbeat.flac", "loop_compus.flac",
               "loop_mika.flac", "loop_safari.flac")
# (groove, bpm, swing): each kit plays every one
LOOPS = [("rock", 84, 0.5), ("funk", 100, 0.56), ("shuffle", 120, 0.66), ("rock", 140, 0.5), ("funk", 160, 0.54)]


def heldout_kits() -> list[str]:
    return [k for k in corpus_hydrogen.DEFAULT_HELDOUT
            if k in corpus_hydrogen.HYDROGEN_DRUMKITS and k not in corpus_hydrogen.EVALUATION_KITS]


def trim_attack(x: np.ndarray) -> np.ndarray:
    """A one-shot from 0.5 ms before the first sample within 30 dB of its peak (so its onset is at 0)."""
    i = int(np.argmax(np.abs(x) >= 10 ** (-30 / 20) * np.max(np.abs(x))))
    return x[max(0, i - SR // 2000):]


def kit_hits(kits_root: Path, kit: str) -> dict[str, np.ndarray] | None:
    """{class: one-shot [T] at SR} for a kit with all of CLASSES, else None."""
    if kit in corpus_hydrogen.EVALUATION_KITS:
        raise ValueError(f"{kit} is an evaluation kit and is never read")
    xml = kits_root / kit / "drumkit.xml"
    if not xml.is_file():
        return None
    out: dict[str, np.ndarray] = {}
    for inst in corpus_hydrogen.parse_drumkit(xml)["instruments"]:
        if not inst["files"]:
            continue
        c = corpus_hydrogen.instrument_class(inst["name"], inst["files"][0])
        if c not in CLASSES or c in out or any(w in inst["name"].lower() for w in SKIP[c]):
            continue
        takes = []
        for f in inst["files"]:
            try:
                x, rate = audio.read(kits_root / kit / f)
            except (audio.AudioError, OSError):
                continue
            takes.append(audio.resample(x, rate, SR) if rate != SR else x)
        if takes:
            best = max(takes, key=lambda x: float(np.max(np.abs(x))))
            out[c] = trim_attack(best / (np.max(np.abs(best)) + 1e-9)).astype(np.float32)
    return out if set(out) == set(CLASSES) else None


def groove(kind: str, bpm: float, swing: float, seed: int, bars: int = 2, jitter_ms: float = 4.0):
    """-> (events [(time, class, gain, step)], duration s). rock: hats on every 8th (on the kicks and snares too),
    kick 1, 3, the '&' of 3; funk: 16th hats with accents, kicks on 1, the 'a' of 2 and 3, ghost snares; shuffle:
    hats on the beats and swung 16ths, kick 1 and 3, snare 2 and 4, a tom fill in the last beat."""
    rng = np.random.default_rng(seed)
    events = []
    for s in range(16 * bars):
        b = s % 16
        last = s >= 16 * bars - 4
        hits: list[tuple[str, float]] = []
        if kind == "rock":
            if b % 2 == 0:
                hits.append(("hihat", 0.9 if b % 4 == 0 else 0.5))
            if b in (0, 8, 10):
                hits.append(("kick", 1.0 if b != 10 else 0.6))
            if b in (4, 12):
                hits.append(("snare", 1.0))
        elif kind == "funk":
            hits.append(("hihat", (0.8, 0.3, 0.5, 0.3)[b % 4]))
            if b in (0, 7, 10):
                hits.append(("kick", 1.0 if b == 0 else 0.7))
            if b in (4, 12):
                hits.append(("snare", 1.0))
            if b in (6, 15):
                hits.append(("snare", 0.25))
        else:
            if b % 4 == 0 and not last:
                hits.append(("hihat", 0.8))
            if b % 4 == 3 and not last:
                hits.append(("hihat", 0.4))
            if b in (0, 8):
                hits.append(("kick", 1.0))
            if b in (4, 12) and not last:
                hits.append(("snare", 1.0))
            if last:
                hits.append(("tom", 1.0 if s % 2 == 0 else 0.6))
        for c, g in hits:
            t = max(0.0, grid_time(s, bpm, swing) + rng.normal(0, jitter_ms / 1000))
            events.append((t, c, g, s))
    return events, 16 * bars * 15 / bpm


def match(onsets: list[loop.Onset], truth: list[tuple], tol: float = 0.010):
    """Pairs (truth, found) within tol s, preferring the same class (tests/test_loop.py's rule); -> (pairs, F1)."""
    used: set[int] = set()
    pairs = []
    for item in truth:
        near = [j for j, o in enumerate(onsets) if j not in used and abs(o.time - item[0]) <= tol]
        if near:
            j = min(near, key=lambda j: (onsets[j].label != item[1], abs(onsets[j].time - item[0])))
            used.add(j)
            pairs.append((item, onsets[j]))
    p, r = len(pairs) / max(1, len(onsets)), len(pairs) / max(1, len(truth))
    return pairs, 2 * p * r / max(1e-9, p + r)


def synth_kit(seed: int) -> dict[str, np.ndarray]:
    """A made-up kit: one synthesized hit per class of CLASSES (drumgen.dsp.synth), trimmed to its attack and faded
    out over its last 50 ms as a sampled one-shot is (a synthesized kick can stop at -35 dBFS: a click that
    drumgen.loop rightly hears as a hit of its own)."""
    return {c: audio.fade_out(trim_attack(synth.hit(c, 7 * seed + i, SR)), SR, 0.05) for i, c in enumerate(CLASSES)}


def score(kit: dict[str, np.ndarray], kind: str, bpm: float, swing: float, seed: int, tagger=None) -> dict:
    truth, duration = groove(kind, bpm, swing, seed)
    x = render(kit, [(t, c, g) for t, c, g, _ in truth], duration, SR)
    t0 = time.perf_counter()
    r = loop.analyse(x, SR, model=tagger)
    seconds = time.perf_counter() - t0
    pairs, f1 = match(r.onsets, truth)
    right = sum(r.pads[o.pad].label == t[1] for t, o in pairs)
    steps = {t[3] for t in truth if t[1] == "kick"} & {t[3] for t in truth if t[1] == "hihat"}
    both = sum({"kick", "hihat"} <= {r.pads[o.pad].label for t, o in pairs if t[3] == s} for s in steps)
    on_step = sum(o.step == t[3] for t, o in pairs)
    return {"bpm_error": r.bpm - bpm, "f1": f1, "class": right / len(truth), "steps": on_step / max(1, len(pairs)),
            "both": both / len(steps) if steps else None, "s_per_min": seconds / (duration / 60),
            "pads": len(r.pads), "hits": len(truth)}


def breaks_table() -> str | None:
    rows = []
    for name in BREAK_FILES:
        path = BREAKS / name
        if not path.is_file():
            continue
        x, rate = audio.read(path)
        duration = x.size / rate
        t0 = time.perf_counter()
        try:
            r = loop.analyse(x, rate)
        except loop.LoopError as e:
            rows.append([name, round(duration, 2), "-", "-", str(e)[:40], "-", "-"])
            continue
        seconds = time.perf_counter() - t0
        bars = max(1, round(duration * r.bpm / 240))
        rows.append([name, round(duration, 2), round(r.bpm, 2), round(240 * bars / duration, 2), len(r.onsets),
                     len(r.pads), round(seconds / (duration / 60), 2)])
    if not rows:
        return None
    return table(["break", "seconds", "bpm found", "bpm of whole bars", "onsets", "pads", "s per min"], rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kits-root", default=corpus_hydrogen.KITS_ROOT, help="Debian's hydrogen-drumkits folder")
    ap.add_argument("--kits", nargs="*", default=None, help="held-out kits to use (default: all of them)")
    ap.add_argument("--synth", type=int, metavar="N", help="N kits of synthesized hits instead of the held-out kits")
    ap.add_argument("--tagger", help="tagger checkpoint that names the pads (default: the shipped one)")
    ap.add_argument("--no-append", action="store_true", help="print only; leave RESULTS.md alone")
    args = ap.parse_args()
    names = [f"synthesized {i}" for i in range(args.synth)] if args.synth else args.kits or heldout_kits()
    bad = [] if args.synth else [k for k in names if k not in heldout_kits()]
    if bad:
        ap.error(f"not a held-out hydrogen-drumkits kit: {', '.join(bad)}; choose from {', '.join(heldout_kits())}")
    tagger = None
    if args.tagger:
        from drumgen.engine import tagging

        try:
            tagger = tagging.load(args.tagger)
        except (OSError, ValueError) as e:
            ap.error(f"--tagger {args.tagger}: {e}")
    warm = {c: synth.hit(c, 0) for c in CLASSES}  # the tagger's load and librosa's JIT come before any timing
    loop.analyse(render(warm, [(t, c, g) for t, c, g, _ in groove("rock", 120, 0.5, 0)[0]], 2.0, SR), SR)
    rows, all_scores = [], []
    for k, name in enumerate(names):
        kit = synth_kit(k) if args.synth else kit_hits(Path(args.kits_root), name)
        if kit is None:
            print(f"{name}: not installed or lacks one of {', '.join(CLASSES)}; skipped")
            continue
        for i, (kind, bpm, swing) in enumerate(LOOPS):
            s = score(kit, kind, bpm, swing, seed=100 * k + i, tagger=tagger)
            all_scores.append(s)
            rows.append([name, kind, bpm, swing, round(s["bpm_error"], 2), round(s["f1"], 3), round(s["steps"], 3),
                         round(s["class"], 3), "-" if s["both"] is None else round(s["both"], 2), s["pads"],
                         round(s["s_per_min"], 2)])
            print(*rows[-1], sep="  ", flush=True)
    if not rows:
        sys.exit("no held-out kit found; install Debian's hydrogen-drumkits (apt install hydrogen-drumkits)")
    both = [s["both"] for s in all_scores if s["both"] is not None]
    rows.append(["all", "", "", "", round(float(np.mean(np.abs([s["bpm_error"] for s in all_scores]))), 2),
                 round(float(np.mean([s["f1"] for s in all_scores])), 3),
                 round(float(np.mean([s["steps"] for s in all_scores])), 3),
                 round(float(np.mean([s["class"] for s in all_scores])), 3),
                 round(float(np.mean(both)), 2) if both else "-", "",
                 round(float(np.mean([s["s_per_min"] for s in all_scores])), 2)])
    text = table(["kit", "groove", "bpm", "swing", "bpm error", "onset F1 (10 ms)", "on the right step",
                  "class accuracy", "kick+hat both", "pads", "s per min"], rows)
    source = "synthesized kits (drumgen.dsp.synth)" if args.synth else "the held-out hydrogen-drumkits kits' one-shots"
    notes = (f"Loops built from {source} (benchmarks/loop_bench.py), pads named by "
             f"{args.tagger or 'the shipped tagger'}: the 'all' row gives the mean absolute tempo error and the means "
             "of the other columns. Class accuracy: played hits matched within 10 ms to a pad of their class.")
    brk = None if args.synth else breaks_table()
    if brk:
        text += "\n\nBreaks from Debian's sonic-pi-samples (CC0; no onset truth):\n\n" + brk
    if args.no_append:
        print(text)
    else:
        record(f"drumgen loop on loops built from {'synthesized' if args.synth else 'held-out'} kits", text, notes)


if __name__ == "__main__":
    main()
