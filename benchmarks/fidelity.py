"""Fidelity (issue 18): do the shipped models make full-band drums with their real timbre?

    python benchmarks/fidelity.py [--corpus runs/corpus-v2] [--hits 250] [--models a,b] [--pictures DIR]
                                  [--no-extend] [--no-record]

Four measures, each beside the same measure on real hits of the corpus built by `drumgen corpus`:
  1. Air: energy above 11.5 kHz over the whole energy (dB) in the first 0.5 s after the onset, per hit at 44.1 kHz
     (a model at 22.05 kHz is measured as the engine hands its hits out: at 44.1 kHz with its band above 10.5 kHz
     made by drumgen.dsp.extension; with --no-extend, as it makes them: nothing above 11.025 kHz, the -120 dB
     floor).
     Median and p90 per model (--hits generated, spread over the classes a conditional model knows) against the
     corpus's train hits per source, and the median per class.
  2. Length: where a hit falls to -60 dB below its peak (10 ms RMS envelope), median per class, and the share of
     hits cut: their last 50 ms still above -50 dB less than 2 s after the onset (a cymbal that stops while it
     still rings; one that rings for 2 s has rung as long as the issue asks). Generated hits end
     where the model's slice ends (engine fade-out included); train hits are the corpus files as they are.
  3. Re-synthesis of the held-out kits, per class, by every model that can encode: the multi-resolution
     log-spectral distance (drumgen.dsp.spectral.log_spectral_distance_db, dB) of the re-synthesis to the input
     (audio.prepare'd at the model's rate, as long as the longest slice of the models measured: a shorter slice
     is compared with silence after it ends, as a pad plays it), against the input low-passed at 4 kHz (the band-limit of
     benchmarks/autoencoder_bench.py: soxr's HQ filter, resampled to 8 kHz and back), and the air (measure 1) of
     both.
  4. Class kept: the share of held-out hits whose re-synthesis the tagger hears as the hit's label, and as the
     class it hears in the input; beside it, how steady the tagger itself is: the share of hits it still hears
     as the same class after the 4 kHz low-pass, and over a white noise floor at -60 dBFS (a ceiling for what
     any re-synthesis can keep with this tagger).
The onset is audio.trim_onset's: the first sample within 40 dB of the peak (1 ms before it kept). --pictures DIR
writes spectrograms (2 s at 44.1 kHz, so 0-22 kHz top to bottom) of held-out cymbals, hats and kicks against their
re-synthesis, of generated ones per model, and of train ones. Prints the tables and, unless --no-record, appends
them to benchmarks/RESULTS.md with the date, machine and command.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from autoencoder_bench import lowpass  # noqa: E402
from common import record, table  # noqa: E402

from drumgen.data.labels import CLASSES  # noqa: E402
from drumgen.dsp import spectral  # noqa: E402
from drumgen.engine import Engine, tagging  # noqa: E402
from drumgen.eval import pictures  # noqa: E402
from drumgen.io import audio  # noqa: E402

AIR_HZ = 11500.0
AIR_SECONDS = 0.5
AIR_FLOOR_DB = -120.0  # below this is silence (a 22.05 kHz model's band above its Nyquist)
RATE = audio.OUTPUT_RATE  # 44.1 kHz: the air is measured here for every source
ENVELOPE_SECONDS = 0.01
LENGTH_DB, CUT_DB, CUT_SECONDS = -60.0, -50.0, 0.05
NOISE_FLOOR_DB = tagging.NOISE_FLOOR_DBFS  # the tagger's steadiness: a floor this far down should not change a class
RING_SECONDS = 2.0  # a hit that still rings this long after its onset has rung long enough (issue 18's bar)
PICTURE_CLASSES = ("cymbal", "hihat", "kick")


# -- the measures on one hit (tests/test_fidelity_bench.py checks them on synthesized signals) ---------------------

def air_db(x: np.ndarray, sample_rate: int, cutoff: float = AIR_HZ, seconds: float = AIR_SECONDS) -> float:
    """Energy above `cutoff` over all energy (dB, floored at AIR_FLOOR_DB) of the first `seconds` after the onset,
    at 44.1 kHz. Hann STFT power summed over frames (2048 / 512: the window's squares overlap-add to a constant,
    so every sample counts alike). The segment fades in over its first 1 ms (audio.trim_onset's lead-in) and out
    over its last 10 ms: a hit whose first sample is loud, or that still rings at the cut, would otherwise put
    a step's 1/f spectrum up there (-40 to -50 dB). A rate whose Nyquist is at or below `cutoff` has nothing there:
    the floor."""
    if sample_rate / 2 <= cutoff:
        return AIR_FLOOR_DB
    x = audio.trim_onset(np.asarray(x, np.float32), sample_rate)[: int(seconds * sample_rate)]
    x = audio.resample(x, sample_rate, RATE).astype(np.float64)
    fade_in, fade_out = min(x.size, int(0.001 * RATE)), min(x.size, int(0.01 * RATE))
    x[:fade_in] *= np.sin(np.linspace(0, np.pi / 2, fade_in)) ** 2
    x[x.size - fade_out:] *= np.cos(np.linspace(0, np.pi / 2, fade_out)) ** 2
    p = spectral.power(torch.from_numpy(x)[None], 2048, 512, pad_mode="constant")[0].sum(-1).numpy()
    f = np.fft.rfftfreq(2048, 1 / RATE)
    total = p.sum()
    if total <= 0:
        return AIR_FLOOR_DB
    return float(max(AIR_FLOOR_DB, 10 * np.log10(p[f >= cutoff].sum() / total + 1e-30)))


def envelope_db(x: np.ndarray, sample_rate: int, seconds: float = ENVELOPE_SECONDS) -> np.ndarray:
    """[T] -> [T] RMS over a centred `seconds` window, in dB re its own maximum (-inf-free: floored at -200)."""
    w = max(1, int(seconds * sample_rate))
    rms = np.sqrt(np.convolve(np.asarray(x, np.float64) ** 2, np.ones(w) / w, mode="same"))
    return 20 * np.log10(np.maximum(rms / max(rms.max(), 1e-30), 1e-10))


def length_ms(x: np.ndarray, sample_rate: int, floor_db: float = LENGTH_DB) -> float:
    """Milliseconds from the onset to where the envelope last is within `floor_db` of its peak (the -60 dB point);
    the hit's end when it never falls that far."""
    env = envelope_db(audio.trim_onset(np.asarray(x, np.float32), sample_rate), sample_rate)
    above = np.flatnonzero(env >= floor_db)
    return 1000 * (int(above[-1]) + 1 if above.size else 0) / sample_rate


def is_cut(x: np.ndarray, sample_rate: int, floor_db: float = CUT_DB, tail: float = CUT_SECONDS,
           ring: float = RING_SECONDS) -> bool:
    """Whether the hit stops while it still sounds, before `ring` seconds after its onset: the RMS of its last
    `tail` seconds within `floor_db` of the envelope's peak (10 ms RMS), and less than `ring` s from onset to end
    (a crash that rings on to 2 s and is then faded is what the issue asks for: cut before -50 dB or 2 s)."""
    x = np.asarray(x, np.float64)
    if len(audio.trim_onset(x.astype(np.float32), sample_rate)) >= ring * sample_rate:
        return False
    w = max(1, int(ENVELOPE_SECONDS * sample_rate))
    peak = np.sqrt(np.convolve(x**2, np.ones(w) / w, mode="same").max())
    end = np.sqrt(np.mean(x[-max(1, int(tail * sample_rate)):] ** 2))
    return bool(peak > 0 and 20 * np.log10(max(end, 1e-30) / peak) >= floor_db)


# -- the hits ------------------------------------------------------------------------------------------------------

class Hits:
    """Hits of one source as they are (mono, each at its own rate), with their classes."""

    def __init__(self, name: str, max_ms: float | None = None):
        self.name, self.max_ms = name, max_ms
        self.x: list[np.ndarray] = []
        self.rates: list[int] = []
        self.labels: list[str] = []

    def add(self, x: np.ndarray, rate: int, label: str) -> None:
        self.x.append(x)
        self.rates.append(rate)
        self.labels.append(label)


def read_corpus(corpus: Path, split: str) -> list[tuple[np.ndarray, int, str, str, str]]:
    """(audio, rate, label, source, path) for every readable hit of one split of a built corpus."""
    manifest_path = corpus / "manifest.json"
    if not manifest_path.is_file():
        raise SystemExit(f"{manifest_path} not found: build the corpus first (drumgen corpus all --out {corpus}) "
                         "or give its folder with --corpus DIR")
    manifest = json.loads(manifest_path.read_text())
    source_of = {k["name"]: k["source"] for k in manifest["kits"]}
    out = []
    for h in manifest["hits"]:
        if h["path"].startswith(split + "/"):
            try:
                x, r = audio.read(corpus / h["path"])
            except audio.AudioError:
                continue  # reported when the corpus was built
            out.append((x, r, h["label"], source_of.get(h["kit"], "?"), h["path"]))
    if not out:
        raise SystemExit(f"no {split!r} hits in {corpus}; was it built with `drumgen corpus`?")
    return out


def train_sources(rows: list[tuple[np.ndarray, int, str, str, str]]) -> list[Hits]:
    """The train split as one source, then by the library its kits come from."""
    everything, by_source = Hits("corpus train, all"), {}
    for x, r, label, source, _ in rows:
        everything.add(x, r, label)
        by_source.setdefault(source, Hits(f"corpus train, {source}")).add(x, r, label)
    return [everything, *(by_source[s] for s in sorted(by_source))]


def generated(engine: Engine, name: str, n: int, seed: int, batch: int = 25) -> Hits:
    """n hits of a model, the classes in turn when it is conditional (sound i of seed s is the same in any batch)."""
    model = engine.get(name)
    labels = list(model.config.labels)
    rate = model.config.sample_rate
    made = f"{rate} Hz" + (", band and tail extended" if engine.extends(name) else
                           ", tail extended" if engine.rings_on(name) else "")
    hits = Hits(f"{name} ({model.kind}, {made})",
                1000 * model.config.slice_length / model.config.sample_rate)
    for start in range(0, n, batch):
        k = min(batch, n - start)
        asked = [labels[(start + i) % len(labels)] for i in range(k)] if labels else None
        for s in engine.sample(name, k, seed=seed + start, label=asked):
            hits.add(s.audio, s.sample_rate, s.label or s.heard or "?")
    return hits


# -- the tables ----------------------------------------------------------------------------------------------------

def _median(v: list[float]) -> float | str:
    return round(float(np.median(v)), 1) if v else "-"


def _share(v: list[bool]) -> str:
    return f"{100 * np.mean(v):.0f}% of {len(v)}" if v else "-"


def air_row(hits: Hits) -> list:
    a = [air_db(x, r) for x, r in zip(hits.x, hits.rates, strict=True)]
    per = defaultdict(list)
    for v, label in zip(a, hits.labels, strict=True):
        per[label].append(v)
    return [hits.name, len(a), _median(a), round(float(np.percentile(a, 90)), 1), *(_median(per[c]) for c in CLASSES)]


def length_row(hits: Hits) -> list:
    per, cut = defaultdict(list), defaultdict(list)
    for x, r, label in zip(hits.x, hits.rates, hits.labels, strict=True):
        per[label].append(length_ms(x, r))
        cut[label].append(is_cut(x, r))
    everything = [c for v in cut.values() for c in v]
    return [hits.name, "-" if hits.max_ms is None else round(hits.max_ms), *(_median(per[c]) for c in CLASSES),
            _share(cut["cymbal"]), _share(cut["hihat"]), _share(everything)]


def resynthesis(engine: Engine, name: str, heldout: list, seconds: float | None = None) -> tuple[dict, dict]:
    """Per held-out hit, by class: (LSD of the re-synthesis, LSD of the 4 kHz low-pass, air in, air out) and
    (input heard as label, re-synthesis heard as label, re-synthesis heard as the input, and the tagger's own
    steadiness: the 4 kHz low-pass and the input over a white noise floor NOISE_FLOOR_DB below full scale heard as
    the input), plus pictures' audio.
    seconds: how much of each hit is compared (default the model's slice); a model whose slice is shorter is
    compared with silence after its slice ends, as a pad plays it."""
    model = engine.get(name)
    rate = model.config.sample_rate
    length = round(seconds * rate) if seconds else model.config.slice_length
    xs, ys, labels, heard_out = [], [], [], []
    for x, r, label, _, _ in heldout:
        try:
            xs.append(audio.prepare(x, r, rate, length))
        except audio.AudioError:
            continue
        out = engine.resynthesize(name, x, r)
        ys.append(audio.fit_length(out.audio, length, rate, fade_seconds=0.0))
        labels.append(label)
        heard_out.append(out.heard)
    x_in, x_out = np.stack(xs), np.stack(ys)
    x_lp = np.stack([lowpass(h, rate) for h in x_in])
    ref = torch.from_numpy(x_in)
    d_out = spectral.log_spectral_distance_db(torch.from_numpy(x_out), ref).numpy()
    d_lp = spectral.log_spectral_distance_db(torch.from_numpy(np.ascontiguousarray(x_lp)), ref).numpy()
    heard_in = engine.hear(x_in, rate)
    heard_lp = engine.hear(np.ascontiguousarray(x_lp, dtype=np.float32), rate)
    floor = np.random.default_rng(0).standard_normal(x_in.shape).astype(np.float32) * 10 ** (NOISE_FLOOR_DB / 20)
    heard_floor = engine.hear(x_in + floor, rate)
    distance, kept = defaultdict(list), defaultdict(list)
    for i, label in enumerate(labels):
        distance[label].append((d_out[i], d_lp[i], air_db(x_in[i], rate), air_db(x_out[i], rate)))
        kept[label].append((heard_in[i] == label, heard_out[i] == label, heard_out[i] == heard_in[i],
                            heard_lp[i] == heard_in[i], heard_floor[i] == heard_in[i]))
    return {"distance": distance, "kept": kept}, {"in": x_in, "out": x_out, "labels": labels, "rate": rate}


def resynthesis_tables(name: str, by: dict) -> tuple[str, str]:
    rows_d, rows_k = [], []
    everything_d = [v for c in CLASSES for v in by["distance"].get(c, [])]
    everything_k = [v for c in CLASSES for v in by["kept"].get(c, [])]
    for c, d, k in [*((c, by["distance"].get(c, []), by["kept"].get(c, [])) for c in CLASSES),
                    ("all", everything_d, everything_k)]:
        if not d:
            continue
        a = np.array(d)
        rows_d.append([c, len(d), round(float(a[:, 0].mean()), 2), round(float(a[:, 1].mean()), 2),
                       round(float(np.median(a[:, 2])), 1), round(float(np.median(a[:, 3])), 1)])
        b = np.array(k, dtype=float)
        rows_k.append([c, len(k), *(f"{100 * b[:, j].mean():.0f}%" for j in range(b.shape[1]))])
    t_d = table(["class", "hits", f"{name} re-synthesis dB", "input low-passed at 4 kHz dB",
                 "input air median dB", "re-synthesis air median dB"], rows_d)
    t_k = table(["class", "hits", "input heard as its label", "re-synthesis heard as the label",
                 "re-synthesis heard as the input", "4 kHz low-pass heard as the input",
                 f"input + white noise at {NOISE_FLOOR_DB:g} dBFS heard as the input"], rows_k)
    return t_d, t_k


# -- pictures ------------------------------------------------------------------------------------------------------

PICTURE_SECONDS = 2.0  # long enough for a crash's tail


def _at_rate(x: np.ndarray, rate: int) -> np.ndarray:
    n = int(PICTURE_SECONDS * RATE)
    return audio.fit_length(audio.resample(x, rate, RATE), n, RATE)  # 2 s at 44.1 kHz


def write_pictures(folder: Path, sources: list[Hits], pairs: dict[str, dict], per_class: int = 3) -> list[Path]:
    """PNG grids: one row per class of PICTURE_CLASSES; generated and train hits 6 a row, held-out hits as
    (input, re-synthesis) pairs."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for hits in sources:
        grid = [_at_rate(x, r) for c in PICTURE_CLASSES
                for x, r in [(x, r) for x, r, lbl in zip(hits.x, hits.rates, hits.labels, strict=True)
                             if lbl == c][: 2 * per_class]]
        if grid:
            path = folder / f"{hits.name.split(' (')[0].replace(', ', '-').replace(' ', '_')}.png"
            path.write_bytes(pictures.spectrogram_grid_png(np.stack(grid), RATE, columns=2 * per_class))
            written.append(path)
    for name, p in pairs.items():
        grid = []
        for c in PICTURE_CLASSES:
            for i in [i for i, lbl in enumerate(p["labels"]) if lbl == c][:per_class]:
                grid += [_at_rate(p["in"][i], p["rate"]), _at_rate(p["out"][i], p["rate"])]
        if grid:
            path = folder / f"resynthesis-{name}.png"
            path.write_bytes(pictures.spectrogram_grid_png(np.stack(grid), RATE, columns=2 * per_class))
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="runs/corpus-v2", metavar="DIR",
                    help="corpus built by `drumgen corpus` (train hits, held-out kits); default runs/corpus-v2")
    ap.add_argument("--checkpoints", default="checkpoints", metavar="DIR", help="models to measure")
    ap.add_argument("--models", help="comma-separated model names (default: every model, best first)")
    ap.add_argument("--hits", type=int, default=250, help="generated hits per model (default 250)")
    ap.add_argument("--seed", type=int, default=1800, help="first seed of the generated hits")
    ap.add_argument("--pictures", metavar="DIR", help="write spectrogram pictures here")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--no-extend", action="store_true",
                    help="measure a 22.05 kHz model's hits as it makes them, without drumgen.dsp.extension")
    ap.add_argument("--no-record", action="store_true", help="print only; leave RESULTS.md alone")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()

    corpus = Path(args.corpus)
    train, heldout = read_corpus(corpus, "train"), read_corpus(corpus, "heldout")
    engine = Engine(args.checkpoints, device="cpu", extend=not args.no_extend)
    names = args.models.split(",") if args.models else engine.ranked()
    for n in names:
        engine.get(n)  # an unknown name fails here, naming the loaded ones
    sources = [generated(engine, n, args.hits, args.seed) for n in names] + train_sources(train)

    # -- 1 and 2: air and length, generated and train -----------------------------------------------------------
    classes = list(CLASSES)
    t_air = table(["hits of", "n", "air median dB", "air p90 dB", *classes], [air_row(h) for h in sources])
    t_len = table(["hits of", "slice ms", *(f"{c} ms" for c in classes), "cymbals cut", "hihats cut", "all cut"],
                  [length_row(h) for h in sources])

    # -- 3 and 4: re-synthesis of the held-out kits --------------------------------------------------------------
    parts = [f"**Air: energy above {AIR_HZ / 1000:g} kHz over all energy, first {AIR_SECONDS:g} s after the "
             f"onset, at 44.1 kHz (dB; median per class in the class columns; floor {AIR_FLOOR_DB:g})**",
             t_air,
             f"**Length: the {LENGTH_DB:g} dB point after the onset (median ms per class); cut: the last "
             f"{1000 * CUT_SECONDS:g} ms still above {CUT_DB:g} dB re the peak, less than {RING_SECONDS:g} s after the onset**", t_len]
    pairs = {}
    encoders = [n for n in names if engine.get(n).can_encode]
    # every encoder is compared on as much of each hit as the longest slice holds, so a longer slice is not
    # rewarded for a tail that a shorter one cuts off
    common = max((engine.get(n).config.slice_length / engine.get(n).config.sample_rate for n in encoders), default=0)
    for n in encoders:
        by, pairs[n] = resynthesis(engine, n, heldout, common)
        t_d, t_k = resynthesis_tables(n, by)
        parts += [f"**Re-synthesis of the held-out kits by {n}: mean log-spectral distance to the input (dB) over "
                  f"the first {common:.2f} s, against the input low-passed at 4 kHz; air as above**", t_d,
                  f"**Class kept by {n}'s re-synthesis (the shipped tagger)**", t_k]
    if not pairs:
        parts.append("(no model here can encode: no re-synthesis measured)")
    text = "\n\n".join(parts)
    seconds = time.perf_counter() - t0
    notes = (f"Corpus {corpus}: {len(train)} train hits, {len(heldout)} held-out hits (kits "
             f"{', '.join(sorted({h[4].split('/')[1] for h in heldout}))}). The shipped generative models were "
             "trained on hydrogen-drumkits' train kits (checkpoints/README.md): the 'hydrogen' row is nearest to "
             f"what they learned from. {args.hits} generated hits per model, seeds "
             f"{args.seed}.., the classes in turn. Onset: audio.trim_onset (-40 dB re peak). Generated hits end "
             "at the model's slice ('slice ms'), with the engine's 10 ms fade-out. 4 kHz low-pass: soxr HQ "
             f"(resampled to 8 kHz and back), as benchmarks/autoencoder_bench.py. {args.threads} torch thread(s); "
             f"{seconds:.0f} s in all.")
    if args.pictures:
        for path in write_pictures(Path(args.pictures), sources, pairs):
            print(f"wrote {path}")
    if args.no_record:
        print(text + "\n\n" + notes)
    else:
        record("Fidelity (#18): full band and real timbre of the shipped models", text, notes)
        print("\n" + notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
