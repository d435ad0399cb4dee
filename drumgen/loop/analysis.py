"""The whole analysis of a loop: checks, then onsets -> tagged hits -> tempo and grid -> velocities -> LoopResult.

The steps live in drumgen.loop.onsets (where hits start, which bands attack), drumgen.loop.hits (classes, pads)
and drumgen.loop.grid (tempo, swing, steps); this module runs them in order, turns each hit into an Onset on the
grid with a velocity relative to its class's loudest hit, and writes the Pattern.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from drumgen.io import audio
from drumgen.loop import grid, hits, onsets
from drumgen.loop.grid import BPM_LIMITS
from drumgen.loop.hits import Pad
from drumgen.pattern import Pattern, Track

if TYPE_CHECKING:
    from drumgen.models.tagger import Tagger

MAX_SECONDS = 60.0
MAX_BARS = 4  # a Pattern holds 16, 32 or 64 sixteenths
STEP_CHOICES = (16, 32)  # grid steps per bar: 16ths or 32nds


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


def check_bpm(bpm: float | None) -> None:
    """A tempo the user gives (None: estimate it) must be within BPM_LIMITS; else LoopError."""
    if bpm is not None and not (BPM_LIMITS[0] <= bpm <= BPM_LIMITS[1]) or (bpm is not None and not math.isfinite(bpm)):
        raise LoopError(f"bpm: must be {BPM_LIMITS[0]:g}..{BPM_LIMITS[1]:g} (halve or double it), got {bpm:g}")


def check_estimated(tempo: float) -> None:
    """An estimated tempo far outside BPM_LIMITS is no steady one: LoopError, asking for --bpm."""
    if not BPM_LIMITS[0] * 0.9 <= tempo <= BPM_LIMITS[1] * 1.1:
        raise LoopError(f"could not find a steady tempo (got {tempo:.0f} BPM); pass --bpm")


def analyse(x: np.ndarray, sample_rate: int, *, bpm: float | None = None, bars: int | None = None,
            steps: int = 16, quantize: float = 0.0, model: Tagger | None = None) -> LoopResult:
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
    rate = onsets.RATE
    y = audio.resample(x, sample_rate, rate) if sample_rate != rate else x
    y = (y / (np.max(np.abs(y)) + 1e-9)).astype(np.float32)
    ev = onsets.find_events(y, onsets.band_signals(y))
    if len(ev) == 0:
        raise LoopError("no onsets found: the file holds no drum hits")
    if len(ev) < 2:
        raise LoopError("found a single hit: a loop needs at least two (for one-shots use `drumgen tag`)")
    t = ev.time
    nexts = np.append(t[1:], duration)
    model = model if model is not None else hits.default_tagger()
    full = [hits.slice_of(x, sample_rate, a, b) for a, b in zip(t, nexts, strict=True)]
    parts, top_time, hat = hits.split(ev, hits.tag_slices(full, sample_rate, model))
    body_next = [next((t[j] for j in range(k + 1, len(t)) if "body" in parts[j]), duration) for k in range(len(t))]
    slices = {"full": full, "body": [hits.slice_of(x, sample_rate, a, b) for a, b in zip(t, body_next, strict=True)]}
    found = hits.tag(ev, parts, top_time, hat, slices, sample_rate, model)
    # tempo and grid, from the events (each weighted by its loudest band)
    strength = np.max(10 ** (np.stack([ev.level[b] for b in onsets.BANDS]) / 20), axis=0)
    if bpm or bars:
        bpm_est, t0 = grid.fit_grid(t, strength, bpm or grid.coarse_bpm(y, duration, bars))
    else:
        bpm_est, t0 = grid.choose_tempo(t, strength, y, duration)
    tempo = float(bpm) if bpm else bpm_est
    check_estimated(tempo)
    if bpm:  # a known tempo: keep it, fit only the phase
        t0 = grid.fit_phase(t, strength, 15.0 / tempo)
    p16 = 15.0 / tempo
    played = np.array([h.time for h in found])
    step, swing, grid_t = grid.place_on_grid(played, p16, t0, steps)
    per_bar = steps
    n_bars = bars or max(1, math.ceil((int(step.max()) + 1) / per_bar - 0.05))
    if not bars:
        n_bars = max(n_bars, round(duration / (per_bar * (p16 * 16 / steps))))
    notes: list[str] = []
    shown_bars = next((b for b in (1, 2, 4) if b >= n_bars and b <= cap), cap)
    if n_bars > cap:
        notes.append(f"the loop is {n_bars} bars; the pattern holds {cap} (later bars fold onto them)")
    # velocities per class from the band level of each hit
    for h in found:
        h.level = float(ev.level[hits.CLASS_BAND[h.label]][h.onset])
    top = {c: max(h.level for h in found if h.label == c) for c in {h.label for h in found}}
    pads, pad_of = hits.group_pads(found, sample_rate)
    out = []
    for i, (h, p) in enumerate(zip(found, pad_of, strict=True)):
        vel = int(np.clip(round(127 * 10 ** ((h.level - top[h.label]) / 20)), 1, 127))
        off = (played[i] - grid_t[i]) * 1000 * (1 - quantize)
        out.append(Onset(float(played[i]), p, vel, int(step[i]), float(off), h.label))
    out.sort(key=lambda o: (o.time, o.pad))
    pattern = _pattern(out, pads, tempo, swing, steps, shown_bars)
    return LoopResult(tempo, n_bars, steps, swing, out, pads, pattern, sample_rate, duration, notes)


def _pattern(played: list[Onset], pads: list[Pad], bpm: float, swing: float, steps: int, bars: int) -> Pattern:
    """One track per pad; 32 steps a bar are written as 16ths at twice the tempo (a Pattern's grid is 16ths)."""
    length = steps * bars
    tracks = [Track(p.name, p.note, [0] * length) for p in pads]
    for o in played:
        row = tracks[o.pad].steps
        s = o.step % length
        row[s] = max(row[s], o.velocity)
    return Pattern(bpm=round(bpm * steps / 16, 3), swing=round(swing, 3), steps=length, tracks=tracks)
