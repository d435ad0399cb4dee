"""Steady tones the upsampling leaves in generated hits (issue 18): do the GANs need a post-filter?

    python benchmarks/gan_lines.py [--checkpoints checkpoints] [--hits 64] [--no-record]

A transposed convolution with stride s repeats its kernel every s samples, which adds energy at multiples of
rate / s (Odena et al., "Deconvolution and checkerboard artifacts", Distill 2016; the WaveGAN paper's reason for
its post-processing filter). Per shipped model, --hits sampled hits (seeds 5..) are measured:
  - lines: frequencies whose bin stands 10 dB above the median of the 40 bins around it (4096-point spectra
    averaged over the hit after its first 50 ms) in at least half of the hits: a tone every hit shares is the
    network's, not the drums'. Each is named as a multiple of rate / 4^k where it is one (the upsamplers' strides);
  - each line's share of the hit's energy (median and p90 over the hits, dB);
  - DC: the mean of 0.3-0.7 s after the start, re the peak (dB, median and p90): an offset that a pad's -60 dB
    end point never falls below, and that clicks where a sampler cuts the hit.
Prints the table and, unless --no-record, appends it to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.ndimage import median_filter

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import record, table  # noqa: E402

from drumgen import checkpoint  # noqa: E402
from drumgen.engine import Engine  # noqa: E402

N_FFT = 4096
PROMINENCE_DB, SHARE = 10.0, 0.5


def spectra(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """Hits [N, T] -> each hit's power spectrum over its frames after 50 ms, normalised to sum 1: [N, N_FFT/2+1]."""
    seg = x[:, int(0.05 * sample_rate):]
    frames = np.lib.stride_tricks.sliding_window_view(seg, N_FFT, axis=1)[:, ::N_FFT // 2]
    p = (np.abs(np.fft.rfft(frames * np.hanning(N_FFT), axis=-1)) ** 2).mean(axis=1)
    return p / p.sum(axis=1, keepdims=True).clip(1e-30)


def lines(p: np.ndarray, sample_rate: int) -> list[tuple[float, float]]:
    """(frequency Hz, share of hits) of the bins that stand out in at least SHARE of the hits, merged per peak."""
    level = 10 * np.log10(p + 1e-20)
    prominent = (level - median_filter(level, size=(1, 41))) > PROMINENCE_DB
    share = prominent.mean(axis=0)
    f = np.fft.rfftfreq(N_FFT, 1 / sample_rate)
    found: list[tuple[float, float]] = []
    for i in np.flatnonzero(share >= SHARE):
        if found and f[i] - found[-1][0] < 3 * sample_rate / N_FFT:  # the same line's next bin
            if share[i] > found[-1][1]:
                found[-1] = (float(f[i]), float(share[i]))
            continue
        found.append((float(f[i]), float(share[i])))
    return found


def name_of(hz: float, sample_rate: int) -> str:
    """'0 (DC)', '2 x rate/4', ...: the line as a multiple of rate / 4^k, when it is one within a bin."""
    if hz < sample_rate / N_FFT:
        return "DC"
    for k in range(1, 6):
        step = sample_rate / 4**k
        m = round(hz / step)
        if m and abs(hz - m * step) <= sample_rate / N_FFT:
            return f"{m} x rate/{4**k}"
    return "-"


def energy_share_db(x: np.ndarray, sample_rate: int, hz: float) -> tuple[float, float]:
    """Median and p90 over the hits of the energy within 3 Hz of `hz` over each hit's whole energy (dB)."""
    spec = np.abs(np.fft.rfft(x, axis=1)) ** 2
    f = np.fft.rfftfreq(x.shape[1], 1 / sample_rate)
    share = spec[:, np.abs(f - hz) <= max(3.0, sample_rate / x.shape[1])].sum(axis=1) / spec.sum(axis=1).clip(1e-30)
    db = 10 * np.log10(share + 1e-20)
    return round(float(np.median(db)), 1), round(float(np.percentile(db, 90)), 1)


def dc_db(x: np.ndarray, sample_rate: int) -> tuple[float, float]:
    tail = x[:, int(0.3 * sample_rate):int(0.7 * sample_rate)]
    db = 20 * np.log10(np.abs(tail.mean(axis=1)) / np.abs(x).max(axis=1).clip(1e-9) + 1e-12)
    return round(float(np.median(db)), 1), round(float(np.percentile(db, 90)), 1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoints", default=str(checkpoint.default_dir()), help="folder of checkpoints")
    ap.add_argument("--hits", type=int, default=64, help="sampled hits per model")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-record", action="store_true", help="print only")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    # what the upsampling itself leaves, at the model's rate: the band extension (drumgen.dsp.extension) replaces
    # a line's copies above 10.5 kHz with noise, and at 44.1 kHz the 4096-point spectra would halve the resolution
    engine = Engine(args.checkpoints, device="cpu", extend=False)
    rows = []
    for name in sorted(engine.models):
        rate = engine.get(name).config.sample_rate  # the model's own output: the extension is off (see below)
        x = np.stack([s.audio for s in engine.sample(name, args.hits, seed=5, hear=False)]).astype(np.float64)
        dc = dc_db(x, rate)
        found = lines(spectra(x, rate), rate)
        if not found:
            rows.append([name, rate, "none", "-", "-", "-", "-", *dc])
        for hz, share in found:
            rows.append([name, rate, round(hz), name_of(hz, rate), f"{100 * share:.0f}%", *energy_share_db(x, rate, hz), *dc])
    text = table(["model", "rate", "line Hz", "as a multiple of", "hits with it", "energy share median dB",
                  "energy share p90 dB", "DC at 0.3-0.7 s median dB re peak", "DC p90 dB"], rows)
    notes = (f"{args.hits} hits per model (seeds 5..); a line is a bin {PROMINENCE_DB:g} dB above its 40 neighbours' "
             f"median in at least {100 * SHARE:.0f}% of the hits ({N_FFT}-point spectra after the first 50 ms). "
             f"{time.perf_counter() - t0:.0f} s.")
    print(text + "\n\n" + notes)
    if not args.no_record:
        record("Steady tones and DC in generated hits (transposed-convolution lines)", text, notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
