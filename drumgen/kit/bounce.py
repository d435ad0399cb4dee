"""The bounce: a pattern played on its pads -> the beat as stereo audio [2, T] at 44.1 kHz, as the browser plays it.

    x = bounce(pads, pattern)                # float32 [2, T], T = the pattern's bars exactly
    data, gain_db = bounce_wav(pads, pattern)  # a 24-bit stereo WAV, and the gain the peak guard applied

Each hit goes through what web/js/audio.js builds for one (voice -> pad gain -> pan), summed dry:

    time      step s at drumgen.loop.grid.grid_time(s, bpm, swing) (MPC swing), rounded to the nearest sample
    take      velocity v picks the layer by drumgen.kit.pad.velocity_ranges, and each layer turns through its
              round robins from the first, hit by hit (audio.js pick(); the takes carry their level, as
              drumgen.engine.variations.kit_takes makes them for the kit export)
    tune      resampled by 2**(tune/12) with soxr (playbackRate), so a hit tuned down is longer
    decay     drumgen.kit.one_shots.decay_envelope: hold 5 ms, then tau = D / 5, cut at D + 5 ms
    level     v / 127 * volume (the envelope's gain times the pad's GainNode); a muted pad, or one silenced by
              another's solo, plays at 0 but still chokes and is choked, as the browser's strip gain does
    pan       equal power, as a StereoPannerNode on a mono voice: L = cos(a), R = sin(a), a = (pan + 1) pi / 4,
              so a centred pad is -3 dB in each channel
    choke     the hi-hat pads (drumgen.kit.pad.hat_role) share one group: a hit on one stops the others' sounding
              hits (audio.js choke(); two hats on one step: the later pad sounds), with a CUT_SECONDS fade

What the browser adds for monitoring stays out: the master volume and the reverb send. The loop panel's played
timing (groove offsets) is not part of a Pattern, so a bounce is on the grid.

Length: exactly the pattern's bars (steps * 15 / bpm seconds, rounded to samples), so the file tiles in a DAW.
`tails="wrap"` (the default) adds what rings past the end onto the start, as the next time round would (the
loop as it sounds when it repeats: chokes by the next bar's hats included); `tails="cut"` stops every hit at the
end with a CUT_SECONDS fade (the beat played once from silence).

Peak guard: the mix is never turned up. Only when its peak is over -1 dBFS (drumgen.io.audio.PEAK) is all of it
scaled down to -1 dBFS, one gain for the whole file (no limiter, so the hits keep their shape and balance);
`bounce_wav` returns that gain in dB (0 when nothing was done).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Literal

import numpy as np

from drumgen.io import audio
from drumgen.kit.export import KitError
from drumgen.kit.export import check as check_kit
from drumgen.kit.one_shots import decay_envelope
from drumgen.kit.pad import KitPad, hat_role, takes_of, velocity_ranges
from drumgen.loop.grid import grid_time
from drumgen.pattern import Pattern

RATE = audio.OUTPUT_RATE
CUT_SECONDS = 0.002  # a choked or cut hit fades out over this long before it stops, so the cut does not click
NEVER = 1 << 62  # a stop later than any hit's end
Tails = Literal["wrap", "cut"]


class BounceError(KitError):
    """A beat that cannot be bounced (nothing plays); the message says what to change."""


def bounce(pads: list[KitPad], pattern: Pattern, *, tails: Tails = "wrap", solo: Collection[int] = (),
           choke: bool = True, peak: float | None = audio.PEAK) -> np.ndarray:
    """Pads and a Pattern (tracks find their pad by note) -> the beat, float32 [2, T] at 44.1 kHz (left, right).

    `solo`: indices of soloed pads (when any, only they sound). `choke=False` lets the hats ring over each other.
    `peak`: the mix is scaled down to this peak when it is louder (None: never). Raises BounceError when no
    audible pad has a hit, KitError for the kit export's checks (a note no pad plays, bad audio, knobs)."""
    x = mix(pads, pattern, tails=tails, solo=solo, choke=choke)
    return (x * peak_gain(x, peak)).astype(np.float32)


def bounce_wav(pads: list[KitPad], pattern: Pattern, *, tails: Tails = "wrap", solo: Collection[int] = (),
               choke: bool = True) -> tuple[bytes, float]:
    """bounce() as a 44.1 kHz 24-bit stereo WAV -> (its bytes, the peak guard's gain in dB, 0 or less)."""
    x = mix(pads, pattern, tails=tails, solo=solo, choke=choke)
    g = peak_gain(x, audio.PEAK)
    return audio.wav_bytes(x * g, RATE, bits=24, rate=RATE), 20 * math.log10(g)


def peak_gain(x: np.ndarray, peak: float | None = audio.PEAK) -> float:
    """The gain that brings x's peak down to `peak`: 1 when it is already at or below it (or peak is None)."""
    top = float(np.max(np.abs(x))) if x.size else 0.0
    return 1.0 if peak is None or top <= peak else peak / top


def loop_samples(pattern: Pattern) -> int:
    """The bounce's length T: the pattern's steps of 16ths at its bpm, in samples at 44.1 kHz."""
    return round(pattern.steps * 15.0 / pattern.bpm * RATE)


def pan_gains(pan: float) -> tuple[float, float]:
    """(left, right) gains of a StereoPannerNode on a mono input (equal power; Web Audio spec)."""
    a = (float(pan) + 1.0) * math.pi / 4
    return math.cos(a), math.sin(a)


def played(x: np.ndarray, sample_rate: int, tune: float, decay: float) -> np.ndarray:
    """A take as one hit plays it: resampled by 2**(tune/12) to 44.1 kHz, the decay envelope applied [T']."""
    x = np.nan_to_num(np.asarray(x, np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    x = audio.resample(x, sample_rate * 2 ** (tune / 12), RATE)  # played faster = fewer samples, as in one_shots
    return decay_envelope(x, RATE, decay)


# ------------------------------------------------------------------------------------------------ the mix


def mix(pads: list[KitPad], pattern: Pattern, *, tails: Tails = "wrap", solo: Collection[int] = (),
        choke: bool = True) -> np.ndarray:
    """The bounce before the peak guard: float64 [2, T] (see the module docstring)."""
    pads = [KitPad(*p) for p in pads]
    check_kit(pads, pattern)
    if tails not in ("wrap", "cut"):
        raise BounceError(f"tails: must be 'wrap' or 'cut', got {tails!r}")
    hits = schedule(pads, pattern)
    if not hits:
        raise BounceError("the pattern has no hits: set a step on a pad's row before bouncing the beat")
    level = [0.0 if p.mute or (solo and i not in solo) else float(p.volume) for i, p in enumerate(pads)]
    if not any(level[i] > 0 for _, i, _ in hits):
        raise BounceError("every pad with hits is muted (or silenced by another's solo, or at volume 0): "
                          "unmute one to bounce the beat")
    n = loop_samples(pattern)
    group = [choke and hat_role(p.name, int(p.note)) is not None for p in pads]
    hats = [(c, q) for c, q, _ in hits if group[q]]  # the hits that choke the other hats
    cache: dict[tuple[int, int, int], np.ndarray] = {}
    turn = [[0] * len(takes_of(p)) for p in pads]  # the next round robin of each pad's layers
    out = np.zeros((2, n), np.float64)
    for start, i, v in hits:
        p = pads[i]
        rows = takes_of(p)
        j = _layer(len(rows), v)
        r = turn[i][j]
        turn[i][j] = (r + 1) % len(rows[j])
        if level[i] == 0.0:
            continue
        key = (i, j, r)
        if key not in cache:
            cache[key] = played(rows[j][r], int(p.sample_rate), float(p.tune), float(p.decay))
        stop = _until(start, i, hats if group[i] else [], n, tails)
        y = cache[key][: stop - start]
        if y.size == 0:
            continue
        if y.size < cache[key].size:  # choked or cut: fade to the stop instead of clicking
            y = audio.fade_out(y, RATE, CUT_SECONDS)
        gl, gr = pan_gains(p.pan)
        _add(out, y.astype(np.float64) * (v / 127 * level[i]), start, (gl, gr), wrap=tails == "wrap")
    return out


def schedule(pads: list[KitPad], pattern: Pattern) -> list[tuple[int, int, int]]:
    """The pattern's hits as (start sample, pad index, velocity), in time order and, within a step, pad order
    (the browser triggers a step's rows top to bottom)."""
    pad_of = {int(p.note): i for i, p in enumerate(pads)}
    hits = [(round(grid_time(s, pattern.bpm, pattern.swing) * RATE), pad_of[t.note], v)
            for t in pattern.tracks for s, v in enumerate(t.steps) if v > 0]
    return sorted(hits, key=lambda h: (h[0], h[1]))


def _layer(k: int, velocity: int) -> int:
    """The layer of k that a MIDI velocity plays (audio.js layerOf)."""
    return next((j for j, (_, hi) in enumerate(velocity_ranges(k)) if velocity <= hi), k - 1)


def _until(start: int, i: int, hats: list[tuple[int, int]], n: int, tails: Tails) -> int:
    """The sample where pad i's hit at `start` stops: the next hit (start, pad) in `hats` of another pad (a later
    pad on the same step counts, an earlier one only a whole loop later), or the loop end when tails are cut."""
    stops = [n if tails == "cut" else start + NEVER]
    for c, q in hats:
        if q == i:
            continue
        d = c - start
        if d > 0 or (d == 0 and q > i):
            stops.append(c)
        elif tails == "wrap":
            stops.append(c + n)
    return min(stops)


def _add(out: np.ndarray, y: np.ndarray, start: int, gains: tuple[float, float], *, wrap: bool) -> None:
    """out [2, T] += y [T'] panned, from `start`; with wrap, what passes the end goes on from the start."""
    n = out.shape[1]
    pos, done = start, 0
    while done < y.size:
        k = min(n - pos, y.size - done)
        out[0, pos:pos + k] += gains[0] * y[done:done + k]
        out[1, pos:pos + k] += gains[1] * y[done:done + k]
        done += k
        pos = 0
        if not wrap:
            break
