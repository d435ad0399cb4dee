"""The tempo and the grid of a loop: onset times [N] -> bpm, the grid's phase, each onset's step and the swing.

librosa's beat tracker gives the octave (or `bars` with the file's length does), then a grid search of the 16th
period and a line fitted through the hits on 8th notes (which swing does not move) give the tempo to a small
fraction of a BPM; swing is the median place of the off-beat 16ths (MPC convention, REFERENCES.md).
"""

from __future__ import annotations

import math

import numpy as np

from drumgen.loop.onsets import RATE

BPM_LIMITS = (60.0, 200.0)
USUAL_BPM = (75.0, 165.0)  # where the tempo of an ambiguous loop is looked for first (choose_tempo)


def coarse_bpm(y: np.ndarray, duration: float, bars: int | None) -> float:
    """y [T] at RATE -> a rough tempo within BPM_LIMITS: from `bars` and the length when given, else the beat
    tracker's."""
    import librosa

    if bars:
        return 240.0 * bars / duration
    env = librosa.onset.onset_strength(y=y, sr=RATE, hop_length=512)
    tempo, _ = librosa.beat.beat_track(onset_envelope=env, sr=RATE, hop_length=512, start_bpm=110)
    bpm = float(np.atleast_1d(tempo)[0]) or 120.0
    while bpm < BPM_LIMITS[0]:
        bpm *= 2
    while bpm > BPM_LIMITS[1]:
        bpm /= 2
    return bpm


def choose_tempo(t: np.ndarray, w: np.ndarray, y: np.ndarray, duration: float) -> tuple[float, float]:
    """The tempo of a loop with no tempo or bar count given -> (bpm, time of a 16th grid point).

    A beat tracker's guess is often an octave or a 3:2 off. Candidates: the guess at x1/2, 2/3, 1, 3/2, 2 and the
    tempi that make the loop a whole number of bars (loops usually are), each refined by fit_grid. Every tempo's
    double also puts each hit on its (finer) grid, so the slowest candidate whose swung 16th grid holds the hits
    wins: 95 % of them within a quarter of a 16th, among the usual tempi first. If none holds, the one that comes
    closest."""
    guess = coarse_bpm(y, duration, None)
    cands = [guess * r for r in (0.5, 2 / 3, 1.0, 1.5, 2.0)] + [240.0 * n / duration for n in range(1, 17)]
    cands = [c for c in cands if BPM_LIMITS[0] <= c <= BPM_LIMITS[1]] or [guess]
    scored = []
    for c in cands:
        bpm, t0 = fit_grid(t, w, c)
        if not BPM_LIMITS[0] * 0.9 <= bpm <= BPM_LIMITS[1] * 1.1:
            continue
        p16 = 15.0 / bpm
        _, _, grid_t = place_on_grid(t, p16, t0, 16)
        miss = float(np.percentile(np.abs(t - grid_t), 95)) / p16  # in 16ths
        scored.append((bpm, t0, miss))
    if not scored:
        return fit_grid(t, w, guess)
    held = [c for c in scored if c[2] <= 0.25]
    if not held:
        bpm, t0, _ = min(scored, key=lambda c: c[2])
        return bpm, t0
    # When the quiet 16ths are not found, a tempo and its half hold the hits equally: most drum loops are
    # played between 75 and 165 BPM (drum and bass at 170+ is usually counted at half time), so that wins.
    usual = [c for c in held if USUAL_BPM[0] <= c[0] <= USUAL_BPM[1]] or held
    bpm, t0, _ = min(usual, key=lambda c: c[0])
    return bpm, t0


def fit_grid(t: np.ndarray, w: np.ndarray, bpm0: float) -> tuple[float, float]:
    """Onset times t [N] (weights w) and a rough tempo -> (bpm, time of a 16th grid point).

    A search of |sum w exp(2 pi i t / P)| over 16th periods P within 6 % of the rough one, then a least-squares
    line through the hits nearest the 8th notes (swing moves only the off-beat 16ths)."""
    bpms = np.arange(bpm0 * 0.94, bpm0 * 1.06, 0.01)
    periods = 15.0 / bpms
    score = np.abs(np.exp(2j * np.pi * t[None, :] / periods[:, None]) @ w)
    p = float(periods[int(np.argmax(score))])
    phase = float(np.angle(np.exp(2j * np.pi * t / p) @ w))
    t0 = phase / (2 * np.pi) * p
    # which of the two 16th phases is the 8th-note grid: the one that holds more of the weight
    if w[np.round((t - t0) / p) % 2 == 1].sum() > w[np.round((t - t0) / p) % 2 == 0].sum():
        t0 += p
    for _ in range(3):
        pos = (t - t0) / p
        step = np.round(pos)
        even = (step % 2 == 0) & (np.abs(pos - step) < 0.25)
        if even.sum() < 2 or np.ptp(step[even]) == 0:
            break
        p, t0 = (float(v) for v in np.polyfit(step[even], t[even], 1))
    return 15.0 / p, t0


def fit_phase(t: np.ndarray, w: np.ndarray, p16: float) -> float:
    """The time of a 16th grid point for a known 16th period p16 (s): the weighted mean phase of the onsets."""
    return float(np.angle(np.exp(2j * np.pi * t / p16) @ w)) / (2 * np.pi) * p16


def place_on_grid(t: np.ndarray, p16: float, t0: float, steps: int) -> tuple[np.ndarray, float, np.ndarray]:
    """-> (step of each onset, swing, grid time of each onset); steps=32 is a straight 32nd grid."""
    first = math.floor((t.min() - t0) / p16 + 0.25)
    origin = t0 + (first - first % 2) * p16  # the grid starts on an 8th at or before the first hit
    if steps == 32:
        q = p16 / 2
        step = np.round((t - origin) / q).astype(int)
        return step, 0.5, origin + step * q
    pos = (t - origin) / p16
    pair = np.floor(pos / 2 + 0.25)  # the pair of 16ths each hit belongs to (an on-beat up to 1/2 16th early)
    within = pos - 2 * pair  # 0 on the beat, 2*swing on the off-beat
    odd = (within > 0.5) & (within < 1.75)
    swing = float(np.clip(np.median(within[odd]) / 2, 0.5, 0.75)) if odd.any() else 0.5
    # nearest of: this pair's on-beat, its off-beat (swung), the next pair's on-beat
    cands = np.stack([np.zeros_like(within), np.full_like(within, 2 * swing), np.full_like(within, 2.0)])
    which = np.argmin(np.abs(within[None] - cands), axis=0)
    step = (2 * pair + np.array([0, 1, 2])[which]).astype(int)
    return step, swing, origin + (2 * pair + cands[which, np.arange(t.size)]) * p16


def grid_time(step: int, bpm: float, swing: float) -> float:
    """Seconds from the downbeat to 16th `step` with MPC swing (odd 16ths at pair_start + 2 * 16th * swing)."""
    p16 = 15.0 / bpm
    return (step // 2) * 2 * p16 + (2 * p16 * swing if step % 2 else 0.0)
