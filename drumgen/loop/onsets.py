"""Where the hits of a loop start, band by band: audio at RATE -> band envelopes -> band onsets -> Events.

Three bands hold the classes (low < 90 Hz: kicks and toms; 200 Hz-5 kHz: snares, claps, toms and a kick's click;
> 6 kHz: hats and cymbals). Each band's energy in 1 ms frames (averaged over a few periods of its lowest frequency)
gives its own onsets: frames that rise RISE_DB over the loudest few ms before them and top what rang in the 30 ms
before (a decay's wobble rises, but not over the decay), within FLOOR_DB of the band's loud attacks. A quiet hat is
measured against what rang in the high band just before it, not against the kick that sounds with it, so a kick
and a hat on one step are two band onsets. Each is moved to where its attack starts (the body below 5 kHz times a
low or mid onset, whose own filter is slow; the high band times itself), and band onsets within MERGE_S of each
other are one Event, which keeps each band's time and attack level, and the loop's energy in the finer EDGES bands
that drumgen.loop.hits tells the hits of one event apart in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RATE = 22050  # analysis rate (slices keep the input's rate)
FRAME = RATE // 1000  # 1 ms energy frames
# analysis bands (Hz); drumgen.loop.hits names the classes each one holds
BANDS = {"low": (20.0, 90.0), "mid": (200.0, 5000.0), "high": (6000.0, 10500.0)}
SMOOTH_MS = {"low": 9, "mid": 2, "high": 2}  # a band's energy is averaged over this many frames
LOOKBACK_MS = {"low": 30, "mid": 8, "high": 8}  # an onset rises RISE_DB over the loudest of this many before it
RISE_DB = {"low": 8.0, "mid": 4.0, "high": 4.0}
TOP_DB = 2.0  # ... and its peak (5 ms) tops the loudest frame of the 30 ms before by this much
ATTACK_MS = {"low": 50, "mid": 30, "high": 30}  # its attack peaks within this after the onset
HOLD_MS = {"low": 40, "mid": 15, "high": 15}  # a band's rise this soon after its last onset is the same attack
FLOOR_DB = -35.0  # an onset's attack is within this of the band's loud attacks (95th percentile) in the loop
LOOP_FLOOR_DB = -40.0  # ... and this of the loudest attack of any band
MERGE_S = 0.020  # band onsets this close are one event
# the finer bands the hits of one event are told apart in (drumgen.loop.hits.split): to 5 kHz a hit's body, from
# 6 kHz its top
EDGES = (40.0, 90.0, 200.0, 400.0, 800.0, 1600.0, 3000.0, 5000.0, 6000.0, 7500.0, 9000.0, 10800.0)


@dataclass
class Events:
    """N events (onsets of one or more bands), in time order."""

    time: np.ndarray  # [N] s: the earliest band onset of each
    band_time: dict[str, np.ndarray]  # band -> [N] s, nan where that band has no onset in the event
    level: dict[str, np.ndarray]  # band -> [N] attack level (dB, the band's peak within ATTACK_MS)
    spec: np.ndarray  # [len(EDGES) - 1, frames] energy of each 1 ms frame of the loop in each EDGES band

    def __len__(self) -> int:
        return int(self.time.size)

    def active(self, k: int) -> list[str]:
        """The bands with an onset in event k."""
        return [b for b in BANDS if np.isfinite(self.band_time[b][k])]


def _sos(band: tuple[float, float]) -> np.ndarray:
    from scipy.signal import butter

    lo, hi = band
    if lo <= 20.0:
        return butter(4, hi, btype="lowpass", fs=RATE, output="sos")
    return butter(4, (lo, hi), btype="bandpass", fs=RATE, output="sos")


def band_signals(y: np.ndarray) -> dict[str, np.ndarray]:
    """y [T] at RATE -> {band: filtered y [T]}, and "body" (below 5 kHz: where a kick's or a snare's attack is
    sharpest and a hat is not). Causal filters: nothing rings before a hit."""
    from scipy.signal import sosfilt

    out = {b: sosfilt(_sos(r), y).astype(np.float32) for b, r in BANDS.items()}
    out["body"] = sosfilt(_sos((20.0, 5000.0)), y).astype(np.float32)
    return out


def envelope_db(y: np.ndarray, smooth: int = 1) -> np.ndarray:
    """Energy in dB of consecutive FRAME-sample frames of y, averaged over `smooth` frames (centred)."""
    n = y.size // FRAME
    e = np.mean(y[: n * FRAME].reshape(n, FRAME).astype(np.float64) ** 2, axis=1)
    if smooth > 1:
        e = np.convolve(e, np.ones(smooth) / smooth, mode="same")
    return 10 * np.log10(e + 1e-12)


def rise_db(env: np.ndarray, smooth: int, lookback: int) -> np.ndarray:
    """Per frame: env minus the loudest of the `lookback` frames that end `smooth // 2 + 2` frames before it."""
    gap = smooth // 2 + 2
    pad = np.full(lookback + gap, env.min())
    before = np.lib.stride_tricks.sliding_window_view(np.concatenate([pad, env]), lookback)[: env.size].max(axis=1)
    return env - before


def band_onsets(env: np.ndarray, band: str) -> np.ndarray:
    """One band's envelope (dB per frame) -> [2, M]: onset frame, attack level (dB). A run of frames rising
    RISE_DB whose peak tops the 30 ms before is one onset, at its first frame; one within HOLD_MS of the last is
    that attack still building."""
    rise = rise_db(env, SMOOTH_MS[band], LOOKBACK_MS[band])
    peak = np.lib.stride_tricks.sliding_window_view(np.concatenate([env, np.full(4, env.min())]), 5).max(axis=1)
    over = (rise >= RISE_DB[band]) & (peak - env + rise_db(env, SMOOTH_MS[band], 30) >= TOP_DB)
    starts = np.flatnonzero(over & ~np.concatenate([[False], over[:-1]]))
    out: list[list[float]] = []
    for s in starts:
        level = float(env[s:s + ATTACK_MS[band]].max())
        if out and s - out[-1][0] < HOLD_MS[band]:
            out[-1][1] = max(out[-1][1], level)
        else:
            out.append([float(s), level])
    return np.asarray(out, np.float64).reshape(-1, 2).T


def refine(env: np.ndarray, i: int) -> int:
    """Frame i of an attack -> the frame where it starts: within -12..+6 frames, the first that is 6 dB over
    what rang before the window and within 12 dB of the attack's peak."""
    a, b = max(0, i - 12), min(env.size, i + 7)
    pre = float(env[max(0, a - 10):a].max()) if a > 0 else float(env.min())
    target = max(pre + 6.0, float(env[i:i + 20].max()) - 12.0)
    hit = np.flatnonzero(env[a:b] >= target)
    return a + int(hit[0]) if hit.size else i


def spectrum(y: np.ndarray) -> np.ndarray:
    """y [T] at RATE -> [len(EDGES) - 1, T // FRAME] energy per 1 ms frame in each band between EDGES."""
    from scipy.signal import sosfilt

    out = []
    for lo, hi in zip(EDGES[:-1], EDGES[1:], strict=True):
        s = sosfilt(_sos((lo, hi)), y)
        n = s.size // FRAME
        out.append(np.mean(s[: n * FRAME].reshape(n, FRAME).astype(np.float64) ** 2, axis=1))
    return np.stack(out)


def find_events(y: np.ndarray, bands: dict[str, np.ndarray]) -> Events:
    """y [T] at RATE (peak 1) and its band_signals -> Events."""
    lead = 40  # frames of silence before the loop, so a hit at 0 s has something to rise from
    pad = np.zeros(lead * FRAME, np.float32)
    envs = {b: envelope_db(np.concatenate([pad, bands[b]]), SMOOTH_MS[b]) for b in BANDS}
    body = envelope_db(np.concatenate([pad, bands["body"]]))
    timing = {"low": body, "mid": body, "high": envelope_db(np.concatenate([pad, bands["high"]]))}
    per_band = {b: band_onsets(envs[b], b) for b in BANDS}
    loudest = max((float(a[1].max()) for a in per_band.values() if a.size), default=0.0)
    found = []
    for b, a in per_band.items():
        if a.size:
            floor = max(float(np.percentile(a[1], 95)) + FLOOR_DB, loudest + LOOP_FLOOR_DB)
            found += [(refine(timing[b], int(f)), b, int(f)) for f, level in zip(a[0], a[1], strict=True)
                      if level >= floor]
    groups: list[dict[str, tuple[int, int]]] = []  # per event, band -> (attack frame, onset frame)
    for f, b, raw in sorted(found):
        if groups and f - min(v[0] for v in groups[-1].values()) <= MERGE_S * 1000:
            groups[-1].setdefault(b, (f, raw))  # a band's second onset this soon is its first still building
        else:
            groups.append({b: (f, raw)})
    n = len(groups)
    band_time = {b: np.full(n, np.nan) for b in BANDS}
    level = {b: np.full(n, -120.0) for b in BANDS}
    for k, g in enumerate(groups):
        first = min(v[1] for v in g.values())
        for b in BANDS:
            i = g[b][1] if b in g else first
            if i < envs[b].size:
                level[b][k] = envs[b][i:i + ATTACK_MS[b]].max()
            if b in g:
                band_time[b][k] = max(0.0, (g[b][0] - lead) * FRAME / RATE)
    times = np.array([max(0.0, (min(v[0] for v in g.values()) - lead) * FRAME / RATE) for g in groups])
    return Events(times, band_time, level, spectrum(y))
