"""A pad's takes rendered as the one-shots the browser plays: tune and decay rendered in, onset first, faded, -1 dBFS.

Where the browser's knobs go (web/js/audio.js plays a pad through playbackRate and an envelope):

    tune    resampled by 2**(tune/12) with soxr, so a hit tuned down is longer
    decay   hold 5 ms, then fall with tau = decay * L / 5, cut at max(10 ms, decay * L) + 5 ms
"""

from __future__ import annotations

import numpy as np

from drumgen.io import audio
from drumgen.kit.pad import KitPad, takes_of

TAIL_DB = -60.0  # trailing audio this far below the peak is cut before the fade-out
FADE_IN_SECONDS = 0.001  # a hit that starts on a non-zero sample clicks; this ramp removes the click
HOLD_SECONDS = 0.005  # the browser's decay envelope holds this long before it falls
MIN_DECAY_SECONDS = 0.01  # and never ends sooner than this


def one_shots(p: KitPad) -> list[list[np.ndarray]]:
    """The pad's takes as one-shots [layer][round robin]. Each is normalised by prepare_one_shot, then turned down
    by its own peak relative to the pad's loudest take: soft layers stay soft, and the loudest take peaks at
    -1 dBFS."""
    rows = takes_of(p)
    peaks = [[float(np.max(np.abs(np.nan_to_num(np.asarray(x, np.float32))))) for x in row] for row in rows]
    top = max(v for row in peaks for v in row) or 1.0
    return [[prepare_one_shot(x, int(p.sample_rate), float(p.tune), float(p.decay)) * np.float32(peak / top)
             for x, peak in zip(row, row_peaks, strict=True)] for row, row_peaks in zip(rows, peaks, strict=True)]


def prepare_one_shot(x: np.ndarray, sample_rate: int, tune: float = 0.0, decay: float = 1.0) -> np.ndarray:
    """Mono audio [T] at `sample_rate` -> the one-shot [T'] at 44.1 kHz that the browser plays: resampled (by
    2**(tune/12) too), the decay envelope applied, onset trimmed (audio.trim_onset keeps at most 1 ms before the
    onset), silent tail cut, 10 ms fade-out, 1 ms fade-in unless it starts at zero. Peak -1 dBFS before the
    envelope, so a shortened tail is not made louder. Silence stays silence."""
    x = np.nan_to_num(np.asarray(x, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    x = audio.resample(x, sample_rate * 2 ** (tune / 12), audio.OUTPUT_RATE)  # played faster = fewer samples
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak == 0.0:
        return x
    x = audio.trim_onset(decay_envelope(x, audio.OUTPUT_RATE, decay), audio.OUTPUT_RATE)
    loud = np.flatnonzero(np.abs(x) >= peak * 10 ** (TAIL_DB / 20))
    x = audio.fade_out(x[: int(loud[-1]) + 1] if loud.size else x[:1], audio.OUTPUT_RATE)
    return (fade_in(x, audio.OUTPUT_RATE) * (audio.PEAK / peak)).astype(np.float32)


def decay_envelope(x: np.ndarray, sample_rate: int, decay: float) -> np.ndarray:
    """The browser's decay knob on x [T] (as played, so T / sample_rate is its played length L): gain 1 for 5 ms,
    then exp(-(t - 5 ms) / tau) with tau = D / 5, cut at D + 5 ms, where D = max(10 ms, decay * L)."""
    if decay >= 1.0:
        return x
    ring = max(MIN_DECAY_SECONDS, decay * x.shape[0] / sample_rate)
    t = np.arange(min(x.shape[0], round((ring + HOLD_SECONDS) * sample_rate))) / sample_rate
    gain = np.exp(-np.maximum(t - HOLD_SECONDS, 0.0) / (ring / 5))
    return (x[: t.shape[0]] * gain).astype(np.float32)


def fade_in(x: np.ndarray, sample_rate: int, seconds: float = FADE_IN_SECONDS) -> np.ndarray:
    """A copy of x [T] whose first `seconds` ramp up linearly from zero, unless x already starts at zero."""
    x = np.array(x, dtype=np.float32)
    if x.size and x[0] != 0.0:
        n = min(x.shape[0], max(2, int(seconds * sample_rate)))
        x[:n] *= np.linspace(0.0, 1.0, n, dtype=np.float32)
    return x
