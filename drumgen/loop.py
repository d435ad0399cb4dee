"""From a drum loop to a kit and a beat: audio -> onsets -> slices -> classes -> tempo and grid -> Pattern + pads.

    result = analyse(x, sample_rate, bpm=None, bars=None, steps=16)   # x: mono float [T]
    result.pattern        # drumgen.pattern.Pattern: one track per pad, velocities on the 16th grid
    result.pads           # at most 8 Pads: class, GM note, the most typical slice, hit count
    result.onsets         # every hit: time, pad, velocity, step, offset from the (swung) grid in ms
    write(result, out)    # pads as WAVs, pattern.json, loop.mid, report.json

Onsets: librosa onset strength in three bands (low < 70 Hz for kicks, 200 Hz-5 kHz for snares, > 6 kHz for
hats and cymbals) and on the full band; the peaks of all four are merged and each is moved to the sample where
its attack starts (1 ms energy frames), so a hat that sounds with a kick is found as a second hit: an onset
holds one hit per band that jumps at it (its level within 15 dB of that band's loudest attacks and 6 dB over
what rang before). Each hit is named by the shipped tagger: the full slice for the hit that owns the onset,
the band-filtered slice (choosing only among that band's classes) for a second one.
Tempo: librosa's beat tracker gives the octave (or `bars` with the file's length does), then a grid search of
the 16th period and a line fitted through the hits on 8th notes (which swing does not move) give the tempo to a
small fraction of a BPM; swing is the median place of the off-beat 16ths (MPC convention, REFERENCES.md).
Pads: hits of one class are grouped by drumgen.eval.metrics.embed (average linkage); each pad keeps the hit nearest its
group's centre among the longer slices, and takes its class's General MIDI note (drumgen.pads), distinct notes.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from drumgen.eval import metrics
from drumgen.io import audio, names
from drumgen.io.files import atomic_write_bytes
from drumgen.pads import GM_DRUMS
from drumgen.pattern import Pattern, Track

RATE = 22050  # analysis rate (slices keep the input's rate)
HOP = 128  # onset-strength hop at RATE: 5.8 ms
MAX_SECONDS = 60.0
BPM_LIMITS = (60.0, 200.0)
USUAL_BPM = (75.0, 165.0)  # where the tempo of an ambiguous loop is looked for first (_choose_tempo)
MAX_PADS = 8
MAX_BARS = 4  # a Pattern holds 16, 32 or 64 sixteenths
STEP_CHOICES = (16, 32)  # grid steps per bar: 16ths or 32nds
# analysis bands (Hz) and the classes each one names
BANDS = {"low": (20.0, 70.0), "mid": (200.0, 5000.0), "high": (6000.0, 10500.0)}
BAND_CLASSES = {"low": ("kick", "tom"), "mid": ("snare", "clap", "tom", "perc"), "high": ("hihat", "cymbal")}
CLASS_BAND = {"kick": "low", "tom": "low", "snare": "mid", "clap": "mid", "perc": "mid", "hihat": "high",
              "cymbal": "high"}
# distinct GM notes per class, the first is the class's own (drumgen.pads.GM_DRUMS)
NOTES = {"kick": (GM_DRUMS["kick"], 35), "snare": (GM_DRUMS["snare"], 40, 37), "hihat": (GM_DRUMS["hihat"], 46, 44),
         "tom": (GM_DRUMS["tom"], 47, 48, 50, 43, 41), "cymbal": (GM_DRUMS["cymbal"], 51, 57, 55, 52),
         "clap": (GM_DRUMS["clap"], 54), "perc": (GM_DRUMS["perc"], 54, 75, 76, 69, 70)}
BAND_FLOOR_DB = -15.0  # a band's attack counts within this much of the band's loudest attacks
RISE_DB = 6.0  # ... and when it jumps this much over what rang just before
LOW_OVER_MID_DB = -2.0
MERGE_S = 0.025  # onsets closer than this are one onset


class LoopError(ValueError):
    """A loop that cannot be transcribed; the message says why and what to try."""


@dataclass
class Onset:
    time: float  # seconds from the start of the file
    pad: int  # index into LoopResult.pads
    velocity: int  # 1..127, relative to the loudest hits of its class in this loop
    step: int  # grid step from the first bar's downbeat
    offset_ms: float  # played time minus the grid (swung) time, scaled by (1 - quantize)
    label: str  # the class


@dataclass
class Pad:
    name: str
    label: str
    note: int
    audio: np.ndarray  # the most typical slice, at LoopResult.sample_rate
    hits: int


@dataclass
class LoopResult:
    bpm: float
    bars: int
    steps: int  # per bar
    swing: float
    onsets: list[Onset]
    pads: list[Pad]
    pattern: Pattern
    sample_rate: int
    duration: float
    notes: list[str] = field(default_factory=list)

    def report(self) -> dict[str, Any]:
        """The JSON summary: tempo, bars, onsets found, per pad its class and hit count."""
        return {"bpm": round(self.bpm, 2), "bars": self.bars, "steps": self.steps, "swing": round(self.swing, 3),
                "duration": round(self.duration, 3), "onsets_found": len(self.onsets),
                "pads": [{"name": p.name, "class": p.label, "note": p.note, "hits": p.hits} for p in self.pads],
                "onsets": [{"time": round(o.time, 4), "pad": o.pad, "velocity": o.velocity, "step": o.step,
                            "offset_ms": round(o.offset_ms, 2)} for o in self.onsets],
                "notes": self.notes}


# ---------------------------------------------------------------------------------------------------------------
# Onsets


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


def _candidates(y: np.ndarray, bands: dict[str, np.ndarray]) -> np.ndarray:
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


def _refine(t: np.ndarray, y: np.ndarray) -> np.ndarray:
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


def _band_attacks(t: np.ndarray, bands: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per band: [N] attack level (dB, peak 1 ms energy within 0..30 ms) and rise over -40..-3 ms (dB)."""
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


# ---------------------------------------------------------------------------------------------------------------
# Hits: which bands sound at each onset, and their classes


@dataclass
class _Hit:
    onset: int  # index of its onset
    band: str  # the band that names it
    label: str = ""
    level: float = 0.0  # dB in its class's band
    audio: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))


def _slice(x: np.ndarray, rate: int, start: float, end: float) -> np.ndarray:
    a, b = int(start * rate), min(x.size, int(end * rate))
    s = x[a:b].astype(np.float32)
    return audio.fade_out(s, rate, min(0.01, s.size / rate / 4)) if s.size > 8 else s


def _hits(t: np.ndarray, attacks: dict[str, np.ndarray]) -> list[list[str]]:
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


# the bands a class accounts for: another band attacking at its onset is a second hit (a snare owns its highs)
OWNS = {"kick": ("low",), "tom": ("low", "mid"), "snare": ("mid", "high"), "clap": ("mid", "high"),
        "perc": ("mid", "high"), "hihat": ("high",), "cymbal": ("high", "mid")}


def _tag(active: list[list[str]], slices: dict[str, list[np.ndarray]], rate: int, model) -> list[_Hit]:
    """Each onset's full slice named by the tagger, plus a hit for a low or high band its class does not explain
    (named from that band's slice, among that band's classes)."""
    from drumgen.engine import tagging as tagger

    labels = list(model.labels)
    probs = tagger.predict_proba(model, _padded(slices["full"]), rate)
    hits = []
    for k, p in enumerate(probs):
        main = _Hit(k, "full", labels[int(np.argmax(p))], audio=slices["full"][k])
        hits.append(main)
        hits.extend(_Hit(k, b, audio=slices["full"][k]) for b in ("low", "high")
                    if b in active[k] and b not in OWNS.get(main.label, ()))
    extra = [h for h in hits if h.band != "full"]
    if extra:
        p2 = tagger.predict_proba(model, _padded([h.audio for h in extra]), rate)
        for h, p in zip(extra, p2, strict=True):
            h.label = max((c for c in BAND_CLASSES[h.band] if c in labels), key=lambda c: p[labels.index(c)])
    return hits


# ---------------------------------------------------------------------------------------------------------------
# Tempo and grid


def _coarse_bpm(y: np.ndarray, duration: float, bars: int | None) -> float:
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


def _choose_tempo(t: np.ndarray, w: np.ndarray, y: np.ndarray, duration: float) -> tuple[float, float]:
    """The tempo of a loop with no tempo or bar count given -> (bpm, time of a 16th grid point).

    A beat tracker's guess is often an octave or a 3:2 off. Candidates: the guess at x1/2, 2/3, 1, 3/2, 2 and the
    tempi that make the loop a whole number of bars (loops usually are), each refined by fit_grid. Every tempo's
    double also puts each hit on its (finer) grid, so the slowest candidate whose swung 16th grid holds the hits
    wins: 95 % of them within a quarter of a 16th, among the usual tempi first. If none holds, the one that comes
    closest."""
    guess = _coarse_bpm(y, duration, None)
    cands = [guess * r for r in (0.5, 2 / 3, 1.0, 1.5, 2.0)] + [240.0 * n / duration for n in range(1, 17)]
    cands = [c for c in cands if BPM_LIMITS[0] <= c <= BPM_LIMITS[1]] or [guess]
    scored = []
    for c in cands:
        bpm, t0 = fit_grid(t, w, c)
        if not BPM_LIMITS[0] * 0.9 <= bpm <= BPM_LIMITS[1] * 1.1:
            continue
        p16 = 15.0 / bpm
        _, _, grid_t = _grid(t, p16, t0, 16)
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


def _grid(t: np.ndarray, p16: float, t0: float, steps: int) -> tuple[np.ndarray, float, np.ndarray]:
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


# ---------------------------------------------------------------------------------------------------------------
# Pads


def _pads(hits: list[_Hit], rate: int) -> tuple[list[Pad], list[int]]:
    """Group hits by class, then by embedding; -> pads (at most 8) and the pad of each hit."""
    from scipy.cluster.hierarchy import fcluster, linkage

    emb = metrics.embed(_padded([h.audio for h in hits]), rate)
    groups: list[list[int]] = []
    by_class: dict[str, list[int]] = {}
    for i, h in enumerate(hits):
        by_class.setdefault(h.label, []).append(i)
    centres = {c: emb[ix].mean(axis=0) for c, ix in by_class.items()}
    between = [float(np.linalg.norm(a - b)) for i, a in enumerate(centres.values())
               for j, b in enumerate(centres.values()) if i < j]
    spread = float(np.median(np.linalg.norm(emb - emb.mean(0), axis=1)))
    limit = (min(between) if between else spread) + 1e-6
    for ix in by_class.values():
        if len(ix) < 4:
            groups.append(ix)
            continue
        z = fcluster(linkage(emb[ix], "average"), t=limit, criterion="distance")
        groups.extend([[ix[j] for j in np.flatnonzero(z == g)] for g in np.unique(z)])
    groups.sort(key=len, reverse=True)
    while len(groups) > MAX_PADS:  # fold the smallest group into the nearest of its class (else the nearest)
        small = groups.pop()
        centre = emb[small].mean(axis=0)
        same = [g for g in groups if hits[g[0]].label == hits[small[0]].label] or groups
        min(same, key=lambda g: float(np.linalg.norm(emb[g].mean(axis=0) - centre))).extend(small)
    pads, pad_of, used = [], [0] * len(hits), set()
    for k, g in enumerate(groups):
        label = hits[g[0]].label
        note = next((n for n in NOTES.get(label, ()) if n not in used), None)
        note = note if note is not None else next(n for n in range(35, 82) if n not in used)
        used.add(note)
        centre = emb[g].mean(axis=0)
        long_enough = [i for i in g if hits[i].audio.size >= np.median([hits[j].audio.size for j in g])]
        best = min(long_enough, key=lambda i: float(np.linalg.norm(emb[i] - centre)))
        n_of_class = sum(1 for p in pads if p.label == label)
        name = label if n_of_class == 0 else f"{label}_{n_of_class + 1}"
        pads.append(Pad(name, label, note, audio.normalize(hits[best].audio), len(g)))
        for i in g:
            pad_of[i] = k
    return pads, pad_of


def _padded(slices: list[np.ndarray]) -> np.ndarray:
    n = max((s.size for s in slices), default=1)
    out = np.zeros((len(slices), max(n, 1)), np.float32)
    for i, s in enumerate(slices):
        out[i, : s.size] = s
    return out


# ---------------------------------------------------------------------------------------------------------------
# The whole analysis


def check_bpm(bpm: float | None) -> None:
    if bpm is not None and not (BPM_LIMITS[0] <= bpm <= BPM_LIMITS[1]) or (bpm is not None and not math.isfinite(bpm)):
        raise LoopError(f"bpm: must be {BPM_LIMITS[0]:g}..{BPM_LIMITS[1]:g} (halve or double it), got {bpm:g}")


def analyse(x: np.ndarray, sample_rate: int, *, bpm: float | None = None, bars: int | None = None,
            steps: int = 16, quantize: float = 0.0, model=None) -> LoopResult:
    """A drum loop (mono float [T] at sample_rate) -> LoopResult. `bpm`/`bars` override the estimates; `steps`
    is the grid per bar (16 or 32); `quantize` 0..1 scales the offsets reported (1 = on the grid); `model` is a
    tagger (default: the shipped checkpoints/tagger). Raises LoopError with a message for loops it cannot read."""
    x = np.asarray(x, dtype=np.float32).reshape(-1)
    duration = x.size / sample_rate if sample_rate > 0 else 0.0
    check_bpm(bpm)
    if steps not in STEP_CHOICES:
        raise LoopError(f"steps: must be 16 (16ths) or 32 (32nds) per bar, got {steps}")
    cap = MAX_BARS * 16 // steps
    if bars is not None and not 1 <= bars <= 16:
        raise LoopError(f"bars: must be 1..16, got {bars}")
    if not 0.0 <= quantize <= 1.0:
        raise LoopError(f"quantize: must be 0..1, got {quantize:g}")
    if duration > MAX_SECONDS:
        raise LoopError(f"the loop is {duration:.0f} s long; at most {MAX_SECONDS:g} s: cut a few bars out of it")
    if duration < 0.2 or not np.all(np.isfinite(x)) or audio.peak_db(x) < -60:
        raise LoopError("the file is silent (or shorter than 0.2 s): give a drum loop")
    y = audio.resample(x, sample_rate, RATE) if sample_rate != RATE else x
    y = (y / (np.max(np.abs(y)) + 1e-9)).astype(np.float32)
    bands = band_signals(y)
    t = _refine(_candidates(y, bands), y)
    t = np.unique(np.round(t, 4))
    t = t[np.diff(t, prepend=-1.0) > MERGE_S * 0.6]
    if t.size == 0:
        raise LoopError("no onsets found: the file holds no drum hits")
    if t.size < 2:
        raise LoopError("found a single hit: a loop needs at least two (for one-shots use `drumgen tag`)")
    attacks = _band_attacks(t, bands)
    active = _hits(t, attacks)
    keep = np.array([bool(a) for a in active])  # peaks where no band attacks are a decay's wobble
    t, active = t[keep], [a for a in active if a]
    attacks = {b: a[:, keep] for b, a in attacks.items()}
    if t.size < 2:
        raise LoopError("found a single hit: a loop needs at least two (for one-shots use `drumgen tag`)")
    nexts = np.append(t[1:], duration)
    slices: dict[str, list[np.ndarray]] = {"full": [_slice(x, sample_rate, a, b) for a, b in zip(t, nexts, strict=True)]}
    for b in ("low", "high"):
        sig = audio.resample(bands[b], RATE, sample_rate) if sample_rate != RATE else bands[b]
        slices[b] = [_slice(sig, sample_rate, a, e) for a, e in zip(t, nexts, strict=True)]
    hits = _tag(active, slices, sample_rate, model if model is not None else default_tagger())
    # tempo and grid
    strength = np.array([max(10 ** (attacks[b][0, k] / 20) for b in attacks) for k in range(t.size)])
    if bpm or bars:
        bpm_est, t0 = fit_grid(t, strength, bpm or _coarse_bpm(y, duration, bars))
    else:
        bpm_est, t0 = _choose_tempo(t, strength, y, duration)
    tempo = float(bpm) if bpm else bpm_est
    check_estimated(tempo)
    if bpm:  # a known tempo: keep it, fit only the phase
        t0 = fit_phase(t, strength, 15.0 / tempo)
    p16 = 15.0 / tempo
    step, swing, grid_t = _grid(t, p16, t0, steps)
    per_bar = steps
    n_bars = bars or max(1, math.ceil((int(step.max()) + 1) / per_bar - 0.05))
    if not bars:
        n_bars = max(n_bars, round(duration / (per_bar * (p16 * 16 / steps))))
    notes = []
    shown_bars = next((b for b in (1, 2, 4) if b >= n_bars and b <= cap), cap)
    if n_bars > cap:
        notes.append(f"the loop is {n_bars} bars; the pattern holds {cap} (later bars fold onto them)")
    # velocities per class from the band level of each hit
    for h in hits:
        h.level = float(attacks[CLASS_BAND[h.label]][0, h.onset])
    top = {c: max(h.level for h in hits if h.label == c) for c in {h.label for h in hits}}
    pads, pad_of = _pads(hits, sample_rate)
    onsets = []
    for h, p in zip(hits, pad_of, strict=True):
        vel = int(np.clip(round(127 * 10 ** ((h.level - top[h.label]) / 20)), 1, 127))
        off = (t[h.onset] - grid_t[h.onset]) * 1000 * (1 - quantize)
        onsets.append(Onset(float(t[h.onset]), p, vel, int(step[h.onset]), float(off), h.label))
    onsets.sort(key=lambda o: (o.time, o.pad))
    pattern = _pattern(onsets, pads, tempo, swing, steps, shown_bars)
    return LoopResult(tempo, n_bars, steps, swing, onsets, pads, pattern, sample_rate, duration, notes)


def check_estimated(tempo: float) -> None:
    if not BPM_LIMITS[0] * 0.9 <= tempo <= BPM_LIMITS[1] * 1.1:
        raise LoopError(f"could not find a steady tempo (got {tempo:.0f} BPM); pass --bpm")


def fit_phase(t: np.ndarray, w: np.ndarray, p16: float) -> float:
    return float(np.angle(np.exp(2j * np.pi * t / p16) @ w)) / (2 * np.pi) * p16


def _pattern(onsets: list[Onset], pads: list[Pad], bpm: float, swing: float, steps: int, bars: int) -> Pattern:
    """One track per pad; 32 steps a bar are written as 16ths at twice the tempo (a Pattern's grid is 16ths)."""
    length = steps * bars
    tracks = [Track(p.name, p.note, [0] * length) for p in pads]
    for o in onsets:
        row = tracks[o.pad].steps
        s = o.step % length
        row[s] = max(row[s], o.velocity)
    return Pattern(bpm=round(bpm * steps / 16, 3), swing=round(swing, 3), steps=length, tracks=tracks)


_TAGGER = None


def default_tagger():
    """The shipped tagger (checkpoints/tagger), loaded once by path (not through a server's engine)."""
    global _TAGGER
    if _TAGGER is None:
        from drumgen import checkpoint
        from drumgen.engine import tagging as tagger

        _TAGGER = tagger.load(checkpoint.default_dir() / "tagger")
    return _TAGGER


# ---------------------------------------------------------------------------------------------------------------
# Files


def write(result: LoopResult, out: str | os.PathLike, stem: str = "loop") -> dict[str, Any]:
    """Pads as WAVs (NNN_name.wav), pattern.json, STEM.mid and report.json into `out`; -> the report with the
    file names."""
    from drumgen.io.midi import pattern_to_midi

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report = result.report()
    for p, entry in zip(result.pads, report["pads"], strict=True):
        name = f"{p.note:03d}_{names.safe_part(p.name, 'pad', lower=True)}.wav"
        audio.write_wav(out / name, p.audio, result.sample_rate)
        entry["file"] = name
    (out / "pattern.json").write_text(json.dumps(result.pattern.to_dict(), indent=1))
    atomic_write_bytes(out / f"{stem}.mid", pattern_to_midi(result.pattern))
    report["files"] = {"pattern": "pattern.json", "midi": f"{stem}.mid", "report": "report.json"}
    (out / "report.json").write_text(json.dumps(report, indent=1))
    return report


def render(kit: dict[str, np.ndarray], events: list[tuple[float, str, float]], duration: float,
           sample_rate: int) -> np.ndarray:
    """A loop from one-shots: kit {class: hit [T]}, events [(time s, class, gain)] -> mono [duration s], peak
    0.9 (tests and benchmarks build loops with known onsets this way)."""
    x = np.zeros(int(duration * sample_rate) + 1, np.float32)
    for t, c, g in events:
        i = int(round(t * sample_rate))
        h = kit[c][: max(0, x.size - i)] * g
        x[i:i + h.size] += h
    return (x / (np.max(np.abs(x)) + 1e-9) * 0.9).astype(np.float32)


def grid_time(step: int, bpm: float, swing: float) -> float:
    """Seconds from the downbeat to 16th `step` with MPC swing (odd 16ths at pair_start + 2 * 16th * swing)."""
    p16 = 15.0 / bpm
    return (step // 2) * 2 * p16 + (2 * p16 * swing if step % 2 else 0.0)
