"""Velocity layers and round robins (issue 21): learn the velocity direction, check the layers, measure the takes.

    python benchmarks/velocity_layers.py [--model checkpoints/autoencoder] [--install] [--amount 0.3]
    python benchmarks/velocity_layers.py --heldout-check      # soft vs hard layers against the held-out kits'

1. Learn: every multi-layer instrument of the hydrogen-drumkits train kits (drumgen.data.corpus_hydrogen.HYDROGEN_DRUMKITS less
   the held-out ones; never GMRockKit or TR808EmulationKit) gives its softest and hardest recorded layers. Through
   the model's encoder (Engine.encode: peak-normalised, so the step is timbre only), per class,
       d = mean over instruments of (z_hard - z_soft) / (v_hard - v_soft)
       level_db = mean of (L_soft - L_hard) / (v_hard - v_soft)   (L: RMS in dB of the files as recorded)
   with v a layer's mid velocity (0..1), and the fallback low-pass's velocity-0 cutoff that darkens the hard
   layers (spectral centroid) as much as the recorded soft ones are darker (none where they are not). `--install` writes them as <model>/velocity.safetensors (what
   drumgen.engine.variations.velocity_layers reads); without it they go to runs/velocity.safetensors.
2. Check: per class, 8 sampled hits with 4 layers each through d: the share whose RMS and spectral centroid
   both rise from soft to hard. A class's d is kept only where that share is at least --keep; the other
   classes keep their measured level and take the fallback's low-pass (drumgen.engine.variations). The table shows
   the check again on what was kept.
3. Measure: per class, the mean multi-resolution log-spectral distance (drumgen.dsp.spectral.log_spectral_distance_db,
   dB) between consecutive takes: a pad's generated round robins (variations at --amount) and its generated
   velocity layers, against the consecutive recorded layers of the same instruments in the train kits; every hit
   prepared the same way (audio.prepare at the model's rate and slice length: peak-normalised).
Prints tables and appends them to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import math
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import record, table  # noqa: E402

from drumgen.data import corpus_hydrogen  # noqa: E402
from drumgen.data.labels import CLASSES  # noqa: E402
from drumgen.dsp.spectral import log_spectral_distance_db  # noqa: E402
from drumgen.engine import (
    Engine,  # noqa: E402
    variations,  # noqa: E402
)
from drumgen.io import audio  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def instrument_layers(xml_path: Path) -> list[tuple[str, list[tuple[str, float, float]]]]:
    """[(instrument name, [(file, min, max) per layer, soft to hard])] of instruments with 2+ velocity ranges.
    parse_drumkit names the files; min/max come from the same layer elements."""
    files = {i["name"]: i["files"] for i in corpus_hydrogen.parse_drumkit(xml_path)["instruments"]}
    out = []
    for ins in ET.parse(xml_path).getroot().iter():
        if ins.tag.rsplit("}", 1)[-1] != "instrument":
            continue
        name = next((c.text or "" for c in ins if c.tag.rsplit("}", 1)[-1] == "name"), "").strip()
        layers = []
        for layer in (e for e in ins.iter() if e.tag.rsplit("}", 1)[-1] == "layer"):
            v = {c.tag.rsplit("}", 1)[-1]: (c.text or "").strip() for c in layer}
            if v.get("filename") in files.get(name, []):
                layers.append((v["filename"], float(v.get("min", 0) or 0), float(v.get("max", 1) or 1)))
        layers.sort(key=lambda f: (f[1] + f[2]) / 2)
        if len({(lo, hi) for _, lo, hi in layers}) >= 2:
            out.append((name, layers))
    return out


def real_instruments(kits_root: Path, heldout: bool = False) -> list[dict]:
    """Every multi-layer instrument of the train kits (or of the held-out kits): class, kit, and its layers'
    audio as recorded."""
    found = []
    for kit in corpus_hydrogen.HYDROGEN_DRUMKITS:
        if (kit in corpus_hydrogen.DEFAULT_HELDOUT) != heldout or kit in corpus_hydrogen.EVALUATION_KITS:
            continue
        xml = kits_root / kit / "drumkit.xml"
        if not xml.is_file():
            continue
        for name, layers in instrument_layers(xml):
            label = corpus_hydrogen.instrument_class(name, layers[0][0])
            if label is None:
                continue
            takes = []
            for f, lo, hi in layers:
                path = kits_root / kit / f
                try:
                    x, rate = audio.read(path)
                except (audio.AudioError, OSError):
                    continue
                takes.append((x, rate, (lo + hi) / 2))
            if len(takes) >= 2:
                found.append({"kit": kit, "name": name, "label": label, "takes": takes})
    return found


def rms_db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64))) + 1e-12))


def learn(engine: Engine, name: str, instruments: list[dict]) -> dict[str, torch.Tensor]:
    steps, levels, pairs = defaultdict(list), defaultdict(list), defaultdict(list)
    for ins in instruments:
        (xs, rs, vs), (xh, rh, vh) = ins["takes"][0], ins["takes"][-1]
        if vh - vs < 0.2:
            continue
        zs, zh = engine.encode(name, xs, rs), engine.encode(name, xh, rh)
        soft, hard = prepared(engine, name, xs, rs), prepared(engine, name, xh, rh)
        for key in (ins["label"], "all"):
            steps[key].append((zh - zs) / (vh - vs))
            levels[key].append((rms_db(xs) - rms_db(xh)) / (vh - vs))
            pairs[key].append((soft, hard, vh - vs))
    rate = engine.output_rate(name)
    tensors = {}
    for key, s in steps.items():
        tensors[f"direction/{key}"] = torch.from_numpy(np.mean(s, axis=0).astype(np.float32))
        tensors[f"level_db/{key}"] = torch.tensor(float(np.clip(np.mean(levels[key]), -30.0, 0.0)))
        tensors[f"cutoff_hz/{key}"] = torch.tensor(fit_cutoff(pairs[key], rate))
        tensors[f"count/{key}"] = torch.tensor(len(s))
    return tensors


def log_darkening(x: np.ndarray, rate: int, min_cutoff_hz: float, soft: float) -> float:
    """log(centroid of x through the fallback low-pass at softness `soft` / centroid of x)."""
    cutoff = variations.soft_cutoff(min_cutoff_hz, soft)
    y = x if cutoff is None else variations.one_pole_lowpass(x, rate, cutoff)
    return float(np.log(centroid(y, rate) / max(centroid(x, rate), 1e-9)))


def fit_cutoff(pairs: list[tuple[np.ndarray, np.ndarray, float]], rate: int) -> float:
    """The fallback low-pass's velocity-0 cutoff that darkens the hard layers as much as the recorded soft layers
    are darker (mean log centroid ratio over the instruments, each at its own velocity step): bisection on log
    cutoff, the darkening falling as the cutoff rises. OPEN_CUTOFF_HZ where soft hits are not darker."""
    target = float(np.mean([np.log(centroid(s, rate) / max(centroid(h, rate), 1e-9)) for s, h, _ in pairs]))
    if target >= 0:
        return variations.OPEN_CUTOFF_HZ

    def darkening(cutoff: float) -> float:
        return float(np.mean([log_darkening(h, rate, cutoff, dv) for _, h, dv in pairs]))

    lo, hi = math.log(50.0), math.log(variations.OPEN_CUTOFF_HZ)
    if darkening(0.9 * variations.OPEN_CUTOFF_HZ) < target:  # barely darker: no low-pass
        return variations.OPEN_CUTOFF_HZ
    if darkening(math.exp(lo)) > target:  # darker than even a 50 Hz low-pass makes them
        return 50.0
    for _ in range(20):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if darkening(math.exp(mid)) < target else (lo, mid)
    return round(math.exp((lo + hi) / 2), 1)


def prepared(engine: Engine, name: str, x: np.ndarray, rate: int) -> np.ndarray:
    c = engine.get(name).config
    return audio.prepare(x, rate, c.sample_rate, c.slice_length)


def lsd(pairs: list[tuple[np.ndarray, np.ndarray]]) -> float:
    if not pairs:
        return float("nan")
    x = torch.from_numpy(np.stack([a for a, _ in pairs]))
    y = torch.from_numpy(np.stack([b for _, b in pairs]))
    return float(log_spectral_distance_db(x, y).mean())


def centroid(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.shape[0])))
    return float(np.sum(np.fft.rfftfreq(x.shape[0], 1 / rate) * spectrum) / max(np.sum(spectrum), 1e-12))


def layer_audio(engine: Engine, name: str, label: str, n: int, k: int) -> list[list[np.ndarray]]:
    """[hit][layer] audio of n sampled hits of the class, k layers each (the same hits every call)."""
    if label not in engine.get(name).config.labels:
        return []
    return [[layer.audio for layer in variations.velocity_layers(engine, s, k)]
            for s in engine.sample(name, n, seed=1000, label=label)]


def rising(values: list[float], tolerance: float) -> bool:
    """Soft to hard, never falling by more than `tolerance` (relative): a level-only layer keeps its centroid."""
    return all(b >= a - tolerance * abs(a) for a, b in zip(values, values[1:], strict=False))


def rising_share(engine: Engine, name: str, label: str, n: int, k: int) -> float:
    """The share of hits whose layers rise (or stay) in RMS and spectral centroid from soft to hard."""
    hits = layer_audio(engine, name, label, n, k)
    rate = engine.output_rate(name)
    ok = [rising([rms_db(x) for x in xs], 1e-3) and rising([centroid(x, rate) for x in xs], 1e-3) for xs in hits]
    return float(np.mean(ok)) if ok else 0.0


def heldout_check(engine: Engine, name: str, kits_root: Path, per_class: int) -> str:
    """Soft against hard, per class: the level drop (dB) and the spectral-centroid ratio of the real layers of the
    held-out kits' instruments (never learned from) and of the model's softest and hardest generated layers."""
    rate = engine.output_rate(name)
    real: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for ins in real_instruments(kits_root, heldout=True):
        (xs, rs, _), (xh, rh, _) = ins["takes"][0], ins["takes"][-1]
        a, b = prepared(engine, name, xs, rs), prepared(engine, name, xh, rh)
        drop = rms_db(xs) - rms_db(xh)  # as recorded: the level is part of a soft hit
        real[ins["label"]].append((drop, centroid(a, rate) / max(centroid(b, rate), 1e-9)))
    rows = []
    for label in CLASSES:
        hits = layer_audio(engine, name, label, per_class, 2)
        gen = [(rms_db(xs[0]) - rms_db(xs[-1]), centroid(xs[0], rate) / max(centroid(xs[-1], rate), 1e-9))
               for xs in hits]
        r = real.get(label, [])
        rows.append([label, len(r), round(float(np.mean([d for d, _ in r])), 1) if r else "-",
                     round(float(np.mean([c for _, c in r])), 2) if r else "-",
                     round(float(np.mean([d for d, _ in gen])), 1) if gen else "-",
                     round(float(np.mean([c for _, c in gen])), 2) if gen else "-"])
    return table(["class", "held-out instruments", "real soft-hard dB", "real centroid soft/hard",
                  "generated soft-hard dB", "generated centroid soft/hard"], rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=str(ROOT / "checkpoints" / "autoencoder"), help="checkpoint folder")
    ap.add_argument("--kits", default=corpus_hydrogen.KITS_ROOT, help="Debian's hydrogen-drumkits folder")
    ap.add_argument("--install", action="store_true", help="write <model>/velocity.safetensors")
    ap.add_argument("--amount", type=float, default=0.3, help="the round robins' variation amount")
    ap.add_argument("--per-class", type=int, default=8, help="sampled hits per class")
    ap.add_argument("--takes", type=int, default=4, help="round robins and layers per sampled hit")
    ap.add_argument("--keep", type=float, default=0.75, help="keep a class's direction when this share rises")
    ap.add_argument("--heldout-check", action="store_true",
                    help="only compare soft and hard layers with the held-out kits' recorded ones (learns nothing)")
    args = ap.parse_args()
    torch.set_num_threads(2)
    engine, name = Engine.of(args.model, tagger=False)
    if args.heldout_check:
        record(f"Velocity layers of {name} against the held-out kits' recorded layers",
               heldout_check(engine, name, Path(args.kits), args.per_class),
               "Softest against hardest layer, per class. Real: the multi-layer instruments of the held-out "
               "hydrogen-drumkits kits (never read to learn the layers), level as recorded and centroid of the "
               "peak-normalised hits; generated: 2 layers of hits sampled per class (velocity_layers).")
        return
    instruments = real_instruments(Path(args.kits))
    print(f"{len(instruments)} multi-layer instruments in the train kits")

    velocity = None
    if engine.get(name).can_encode:
        velocity = learn(engine, name, instruments)
        out = Path(args.model) / variations.VELOCITY_FILE if args.install else ROOT / "runs" / variations.VELOCITY_FILE
        out.parent.mkdir(parents=True, exist_ok=True)
        save_file(velocity, str(out), metadata={"model": name, "source": "hydrogen-drumkits train kits",
                                                "made_by": "benchmarks/velocity_layers.py"})
        print(f"wrote {out} ({out.stat().st_size} bytes)")
        variations._velocity_file.cache_clear()
        for label in CLASSES:  # keep d only where its soft layers come out quieter and darker
            share = rising_share(engine, name, label, args.per_class, args.takes)
            print(f"{label}: {share:.2f} of layered hits rise in RMS and centroid through the learned direction")
            if share < args.keep:
                velocity.pop(f"direction/{label}", None)
        velocity.pop("direction/all", None)  # an unchecked class falls back
        save_file(velocity, str(out), metadata={"model": name, "source": "hydrogen-drumkits train kits",
                                                "made_by": "benchmarks/velocity_layers.py"})
        out.chmod(0o644)  # a shipped file, readable by every user of the checkout
        variations._velocity_file.cache_clear()

    rows = []
    rate = engine.output_rate(name)
    for label in CLASSES:
        real = [ins for ins in instruments if ins["label"] == label]
        real_pairs = []
        for ins in real:
            hits = [prepared(engine, name, x, r) for x, r, _ in ins["takes"]]
            real_pairs += list(zip(hits, hits[1:], strict=False))
        rr_pairs, layer_pairs, rises = [], [], 0
        sounds = engine.sample(name, args.per_class, seed=1000, label=label) if label in engine.get(name).config.labels else []
        for s in sounds:
            takes = [s, *variations.variations(engine, s, args.takes - 1, args.amount, seed=7)]
            rr_pairs += [(a.audio, b.audio) for a, b in zip(takes, takes[1:], strict=False)]
            layers = variations.velocity_layers(engine, s, args.takes)
            xs = [layer.audio for layer in layers]
            layer_pairs += [(audio.normalize(a), audio.normalize(b)) for a, b in zip(xs, xs[1:], strict=False)]
            rises += int(rising([rms_db(x) for x in xs], 1e-3) and rising([centroid(x, rate) for x in xs], 1e-3))
        v = variations.learned_velocity(engine, name, label)
        soft_timbre = ("learned direction" if v.direction is not None else
                       "level only" if v.min_cutoff_hz >= variations.OPEN_CUTOFF_HZ else
                       f"low-pass to {v.min_cutoff_hz:.0f} Hz")
        rows.append([label, len(real), len(real_pairs), lsd(real_pairs), lsd(rr_pairs), lsd(layer_pairs),
                     f"{rises}/{len(sounds)}", soft_timbre, v.level_db])
    headers = ["class", "real instruments", "real pairs", "real consecutive layers (dB)",
               f"generated round robins, amount {args.amount:g} (dB)", "generated layers (dB)",
               "layers rising or level (RMS and centroid)", "soft timbre", "level drop (dB, velocity 1 -> 0)"]
    notes = ("Distances: mean multi-resolution log-spectral distance (drumgen.dsp.spectral.log_spectral_distance_db) "
             "between consecutive takes, peak-normalised at the model's rate. Real: consecutive recorded velocity "
             "layers of one instrument (hydrogen-drumkits train kits; they are what these kits have as takes). "
             f"Generated: {args.per_class} hits per class, each with {args.takes - 1} variations (round robins) "
             f"and {args.takes} velocity layers.")
    record(f"Velocity layers and round robins of {name}", table(headers, rows), notes)


if __name__ == "__main__":
    main()
