"""Where the hits of a loop start, and which bands attack at each: audio at RATE -> onset times [N] -> bands per onset.

Onset strength (librosa) in three bands (low < 70 Hz for kicks, 200 Hz-5 kHz for snares, > 6 kHz for hats and
cymbals) and on the full band; the peaks of all four are merged and each is moved to the sample where its attack
starts (1 ms energy frames), so a hat that sounds with a kick is found as a second hit: an onset holds one hit per
band that jumps at it (its level within 15 dB of that band's loudest attacks and 6 dB over what rang before).
"""

from __future__ import annotations

import numpy as np

RATE = 22050  # analysis rate (slices keep the input's rate)
HOP = 128  # onset-strength hop at RATE: 5.8 ms
# analysis bands (Hz); drumgen.loop.hits names the classes each one holds
BANDS = {"low": (20.0, 70.0), "mid": (200.0, 5000.0), "high": (6000.0, 10500.0)}
BAND_FLOOR_DB = -15.0  # a band's attack counts within this much of the band's loudest attacks
RISE_DB = 6.0  # ... and when it jumps this much over what rang just before
LOW_OVER_MID_DB = -2.0
MERGE_S = 0.025  # onsets closer than this are one onset


def _sos(band: tuple[float, float]) -> np.ndarray:
    from scipy.signal import butter

    lo, hi = band
    if lo <= 20.0:
        return butter(4, hi, btype="lowpass", fs=RATE, output="sos")
    return butter(4, (lo, hi), btype="bandpass", fs=RATE, output="sos")


def band_signals(y: np.ndarray) -> dict[str, np.ndarray]:
    """y [T] at RATE -> {band: filtered y [T]}."""
    from scipy.signal import sosfilt

    return {b: sosfilt(_sos(r), y).astype(np.float32) for b, r in BANDS.items()}


def _envelope_db(y: np.ndarray, frame: int) -> np.ndarray:
    """Energy in dB of consecutive `frame`-sample frames of y."""
    n = y.size // frame
    e = np.mean(y[: n * frame].reshape(n, frame).astype(np.float64) ** 2, axis=1)
    return 10 * np.log10(e + 1e-12)


def onset_times(y: np.ndarray, bands: dict[str, np.ndarray]) -> np.ndarray:
    """y [T] at RATE and its band_signals -> onset times [N] (s): the candidates moved to their attacks, one per
    0.6 * MERGE_S."""
    t = refine(candidates(y, bands), y)
    t = np.unique(np.round(t, 4))
    return t[np.diff(t, prepend=-1.0) > MERGE_S * 0.6]


def candidates(y: np.ndarray, bands: dict[str, np.ndarray]) -> np.ndarray:
    """Onset times (s) from librosa's peak picking on the full band and on each band, merged."""
    import librosa

    times = []
    lead = np.zeros(int(0.1 * RATE), np.float32)  # so a hit at 0 s has silence before it to rise from
    for sig in (y, *bands.values()):
        sig = np.concatenate([lead, sig])
        env = librosa.onset.onset_strength(y=sig, sr=RATE, hop_length=HOP, n_fft=1024, lag=1, max_size=3)
        if not np.any(env > 0):
            continue
        frames = librosa.onset.onset_detect(onset_envelope=env, sr=RATE, hop_length=HOP, units="frames",
                                            delta=0.02, wait=int(0.03 * RATE / HOP))
        times.append(librosa.frames_to_time(frames, sr=RATE, hop_length=HOP) - lead.size / RATE)
    t = np.sort(np.concatenate(times)) if times else np.zeros(0)
    merged: list[float] = []
    for v in t:
        if not merged or v - merged[-1] > MERGE_S:
            merged.append(float(v))
    return np.asarray(merged)


def refine(t: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Move each onset to its attack's start: within -20..+15 ms, the first 1 ms frame whose rise over the 10 ms
    before it reaches half the largest such rise there."""
    frame = RATE // 1000
    env = _envelope_db(y, frame)
    padded = np.concatenate([np.full(10, env.min()), env])
    before = np.lib.stride_tricks.sliding_window_view(padded, 10)[: env.size].max(axis=1)
    rise = env - before
    out = []
    for v in t:
        i0, i1 = max(0, int(v * 1000) - 20), min(env.size, int(v * 1000) + 15)
        if i1 <= i0:
            out.append(v)
            continue
        r = rise[i0:i1]
        i = i0 + int(np.flatnonzero(r >= min(0.5 * r.max(), r.max()))[0])
        out.append(max(0.0, i * frame / RATE))
    return np.asarray(out)


def band_attacks(t: np.ndarray, bands: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per band: [2, N] attack level (dB, peak 1 ms energy within 0..30 ms) and rise over -40..-3 ms (dB)."""
    frame = RATE // 1000
    out = {}
    for b, sig in bands.items():
        env = _envelope_db(sig, frame)
        level, rise = np.empty(t.size), np.empty(t.size)
        for k, v in enumerate(t):
            i = int(round(v * 1000))
            after = env[i:i + (60 if b == "low" else 30)]  # a kick's pitch falls into the low band
            before = env[max(0, i - 40):max(0, i - 3)]
            level[k] = after.max() if after.size else -120.0
            rise[k] = level[k] - (before.max() if before.size else -120.0)
        out[b] = np.stack([level, rise])
    return out


def active_bands(t: np.ndarray, attacks: dict[str, np.ndarray]) -> list[list[str]]:
    """Per onset, the bands that attack there (within BAND_FLOOR_DB of the band's loudest, RISE_DB over before);
    the low band only where it stands out over the mid band as a kick does (a loud snare leaks into it)."""
    peak = {b: float(np.percentile(a[0], 95)) for b, a in attacks.items()}
    rel = {b: attacks[b][0] - peak[b] for b in attacks}
    out = []
    for k in range(t.size):
        on = [b for b in attacks if rel[b][k] > BAND_FLOOR_DB and attacks[b][1, k] > RISE_DB]
        if "low" in on and rel["low"][k] - rel["mid"][k] < LOW_OVER_MID_DB:
            on.remove("low")
        out.append(on)
    return out
