"""Beatbox in, drums out (the loop issue's "a beatboxed loop is a loop too"): how well imitations become drums.

    python benchmarks/beatbox.py [--model autoencoder] [--loops 6] [--candidates 16]

Beatbox-like loops are synthesized here (no recording needed, so anyone can rerun it): a "b" (a lip burst: a
click and a falling 60-110 Hz tone with some voiced buzz) imitates a kick, a "k" (a short mid click) or "psh"
(1.5-5 kHz breath noise) a snare, and a "ts" (a 5 kHz+ hiss) a hat, each with its own random pitch, length and
level, on a groove (b on 1 and the "and" of 2, k/psh on 2 and 4, ts on the 8ths) at 80-130 BPM with 5 ms timing
jitter. Every loop goes through drumgen.loop.analyse (onsets, the tagger's class per pad, the grid) and then
drumgen.engine.imitation.drums_for (the generated drum of the pad's class nearest the imitation). Per loop, and
per imitated class over all loops: onsets found (F1 within 10 ms), the share of imitations whose pad the loop
calls the intended drum class, and the share of drums made for them that the tagger hears as that class. Prints
a table and appends it to RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import record, table  # noqa: E402

from drumgen import loop  # noqa: E402
from drumgen.engine import Engine, EngineError  # noqa: E402
from drumgen.engine.imitation import drums_for  # noqa: E402
from drumgen.loop.grid import grid_time  # noqa: E402

SR = 44100
INTENDED = {"b": "kick", "k": "snare", "psh": "snare", "ts": "hihat"}


def _noise_band(rng: np.random.Generator, n: int, lo: float, hi: float) -> np.ndarray:
    """White noise kept between lo and hi Hz (one FFT over the whole burst)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / SR)
    spec[(f < lo) | (f > hi)] = 0
    x = np.fft.irfft(spec, n)
    return x / (np.abs(x).max() + 1e-9)


def voice(sound: str, rng: np.random.Generator) -> np.ndarray:
    """One beatboxed hit: 'b', 'k', 'psh' or 'ts', mono float32 at SR, peak 1."""
    t = np.arange(int(SR * {"b": 0.18, "k": 0.08, "psh": 0.2, "ts": 0.09}[sound])) / SR
    if sound == "b":
        f0 = rng.uniform(80, 110)
        f = f0 * np.exp(-t / 0.06) * 0.45 + f0 * 0.55  # falls towards 55-60 % of where it starts
        tone = np.sin(2 * np.pi * np.cumsum(f) / SR) * np.exp(-t / rng.uniform(0.04, 0.07))
        buzz = np.sign(np.sin(2 * np.pi * rng.uniform(100, 140) * t)) * np.exp(-t / 0.03) * 0.15
        click = _noise_band(rng, t.size, 200, 3000) * np.exp(-t / 0.003) * 0.5
        x = tone + buzz + click
    elif sound == "k":
        x = _noise_band(rng, t.size, 800, 4000) * np.exp(-t / rng.uniform(0.008, 0.015))
        x += 0.3 * np.sin(2 * np.pi * rng.uniform(180, 260) * t) * np.exp(-t / 0.02)
    elif sound == "psh":
        attack = np.minimum(1, t / 0.004)
        x = _noise_band(rng, t.size, 1500, 5000) * attack * np.exp(-t / rng.uniform(0.05, 0.09))
    else:
        x = _noise_band(rng, t.size, 5000, 14000) * np.exp(-t / rng.uniform(0.015, 0.035))
    return (x / (np.abs(x).max() + 1e-9)).astype(np.float32)


def beatbox_loop(bpm: float, seed: int, bars: int = 2) -> tuple[np.ndarray, list[tuple[float, str]]]:
    """-> (loop audio, truth [(time, sound)])."""
    rng = np.random.default_rng(seed)
    snare = "k" if seed % 2 else "psh"
    truth = []
    for s in range(16 * bars):
        b = s % 16
        sound = "b" if b in (0, 6) else snare if b in (4, 12) else "ts" if b % 2 == 0 else None
        if sound:
            truth.append((max(0.0, grid_time(s, bpm, 0.5) + rng.normal(0, 0.005)), sound))
    x = np.zeros(int(16 * bars * 15 / bpm * SR) + SR, np.float32)
    for t, sound in truth:
        hit = voice(sound, rng) * rng.uniform(0.5, 1.0)
        i = int(t * SR)
        x[i:i + hit.size] += hit[: x.size - i]
    x = x[: int(16 * bars * 15 / bpm * SR)]
    return (x / np.abs(x).max() * 0.9).astype(np.float32), truth


def measure(engine: Engine, model: str, bpm: float, seed: int, candidates: int, per_class: dict) -> list:
    x, truth = beatbox_loop(bpm, seed)
    t0 = time.perf_counter()
    result = loop.analyse(x, SR)
    seconds = time.perf_counter() - t0
    drums = {}
    for i, pad in enumerate(result.pads):
        try:
            sound, _ = drums_for(engine, model, pad.audio, result.sample_rate, pad.label, candidates, seed=i)
        except EngineError as e:  # a pad the loop got wrong (silent): no drum for it, counted as a miss
            print(f"{bpm:g} BPM, seed {seed}, pad {i + 1}: {e}")
            drums[i] = None
            continue
        drums[i] = engine.hear(sound.audio[None], sound.sample_rate)[0]
    found = list(result.onsets)
    hits, right_pad, right_drum = 0, 0, 0
    for t, sound in truth:
        near = min(found, key=lambda o: abs(o.time - t), default=None)
        ok = near is not None and abs(near.time - t) <= 0.010
        stats = per_class[sound]
        stats["n"] += 1
        if not ok:
            continue
        found.remove(near)
        hits += 1
        pad_ok = result.pads[near.pad].label == INTENDED[sound]
        drum_ok = drums[near.pad] == INTENDED[sound]
        right_pad += pad_ok
        right_drum += drum_ok
        stats["found"] += 1
        stats["pad"] += pad_ok
        stats["drum"] += drum_ok
    f1 = 2 * hits / (len(truth) + len(result.onsets)) if truth else 0.0
    labels = ", ".join(f"{p.label}x{p.hits}" for p in result.pads)
    return [f"{bpm:g} BPM, seed {seed}", round(abs(result.bpm - bpm), 2), round(f1, 3),
            round(right_pad / max(hits, 1), 3), round(right_drum / max(hits, 1), 3), labels, round(seconds, 2)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="autoencoder", help="the model that makes the drums (a shipped default)")
    ap.add_argument("--loops", type=int, default=6, help="synthesized beatbox loops")
    ap.add_argument("--candidates", type=int, default=16, help="drums drawn per pad; the nearest is kept")
    args = ap.parse_args()
    engine = Engine()
    per_class: dict = defaultdict(lambda: defaultdict(int))
    rows = [measure(engine, args.model, bpm, seed, args.candidates, per_class)
            for seed, bpm in zip(range(args.loops), np.linspace(80, 130, args.loops), strict=True)]
    loops = table(["loop", "tempo error (BPM)", "onset F1 (10 ms)", "imitations on a pad of the intended class",
                   "drums heard as the intended class", "pads (tagger's class x hits)", "analyse (s)"], rows)
    classes = table(["imitation", "intended drum", "hits", "found", "pad of the intended class",
                     "drum heard as intended"],
                    [[s, INTENDED[s], c["n"], c["found"], round(c["pad"] / max(c["found"], 1), 3),
                      round(c["drum"] / max(c["found"], 1), 3)] for s, c in sorted(per_class.items())])
    record(f"Beatbox loops into drums ({args.model})", loops + "\n\n" + classes,
           "Synthesized beatbox-like loops (benchmarks/beatbox.py: 'b' -> kick, 'k'/'psh' -> snare, 'ts' -> hat). "
           "A pad's class is the tagger's on the loop's slices; each pad's drum is the nearest of "
           f"{args.candidates} generated hits of that class in the autoencoder's latent space, then tagged again.")


if __name__ == "__main__":
    main()
