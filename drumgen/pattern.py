"""The Pattern: the sequencer's grid, as the browser, the HTTP API, the kit export and MIDI files share it.

`steps` 16th notes (one, two or four bars of 4/4) at `bpm`, MPC swing in [0.5, 0.75], and up to 16 tracks, each a
MIDI note (distinct) and one velocity per step (0 = no hit). `Pattern.from_dict` is the one validation of a pattern
from a client or a file; every error names the field and what is allowed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from drumgen.pads import DEFAULT_PADS, note_name

STEP_CHOICES = (16, 32, 64)
MAX_TRACKS = 16
MAX_NAME = 64
BPM_RANGE = (30.0, 300.0)
SWING_RANGE = (0.5, 0.75)


class PatternError(ValueError):
    """A pattern that cannot be played or written; the message names the field and the allowed values."""


@dataclass
class Track:
    """One row of the grid: a MIDI note and a velocity (0..127, 0 = rest) per step."""

    name: str
    note: int
    steps: list[int]


@dataclass
class Pattern:
    """A drum pattern: `steps` 16th notes at `bpm`, swing in [0.5, 0.75], up to 16 tracks with distinct notes."""

    bpm: float
    swing: float = 0.5
    steps: int = 16
    tracks: list[Track] = field(default_factory=list)

    @classmethod
    def from_dict(cls, d: Any) -> Pattern:
        """Validate a JSON-like dict (as the HTTP API receives it) and build a Pattern.

        Raises PatternError naming the first bad field, e.g. "tracks[2].steps[5]: velocity must be 0..127, got 300".
        Keys the pattern does not know are ignored; `swing` defaults to 0.5 and a track's `name` to its note's name.
        """
        if not isinstance(d, dict):
            raise PatternError(f"pattern: expected an object with bpm, swing, steps and tracks, got {_kind(d)}")
        bpm = _number(d, "bpm", "bpm", *BPM_RANGE)
        swing = _number(d, "swing", "swing", *SWING_RANGE, default=0.5)
        steps = d.get("steps")
        if "steps" not in d:
            raise PatternError("steps: missing; give the number of 16th notes: 16, 32 or 64")
        if not _is_int(steps) or steps not in STEP_CHOICES:
            raise PatternError(f"steps: must be 16, 32 or 64 (one, two or four bars of 16ths), got {_show(steps)}")
        tracks = d.get("tracks")
        if not isinstance(tracks, list):
            raise PatternError(f"tracks: expected a list of {{name, note, steps}}, got {_kind(tracks)}")
        if len(tracks) > MAX_TRACKS:
            raise PatternError(f"tracks: at most {MAX_TRACKS} tracks, got {len(tracks)}")
        built = [_track(t, i, steps) for i, t in enumerate(tracks)]
        seen: dict[int, int] = {}
        for i, t in enumerate(built):
            if t.note in seen:
                raise PatternError(
                    f"tracks[{i}].note: note {t.note} is already used by tracks[{seen[t.note]}]; "
                    "give each track its own note")
            seen[t.note] = i
        return cls(bpm=bpm, swing=swing, steps=int(steps), tracks=built)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form that `from_dict` accepts."""
        return {
            "bpm": self.bpm,
            "swing": self.swing,
            "steps": self.steps,
            "tracks": [{"name": t.name, "note": t.note, "steps": list(t.steps)} for t in self.tracks],
        }


def default_pattern(bpm: float = 120.0, steps: int = 16) -> Pattern:
    """The eight default pads with an empty grid."""
    return Pattern(bpm=bpm, swing=0.5, steps=steps,
                   tracks=[Track(name, note, [0] * steps) for name, note in DEFAULT_PADS])


def _track(t: Any, i: int, steps: int) -> Track:
    where = f"tracks[{i}]"
    if not isinstance(t, dict):
        raise PatternError(f"{where}: expected an object {{name, note, steps}}, got {_kind(t)}")
    if "note" not in t:
        raise PatternError(f"{where}.note: missing; give a MIDI note 0..127 (36 = kick in General MIDI)")
    note = t["note"]
    if not _is_int(note) or not 0 <= note <= 127:
        raise PatternError(f"{where}.note: must be an integer 0..127, got {_show(note)}")
    name = t.get("name")
    if name is None:
        name = note_name(note)
    if not isinstance(name, str):
        raise PatternError(f"{where}.name: must be a string, got {_kind(name)}")
    if len(name) > MAX_NAME:
        raise PatternError(f"{where}.name: at most {MAX_NAME} characters, got {len(name)}")
    if not name.isprintable():
        raise PatternError(f"{where}.name: must hold printable characters only (no newlines or control codes)")
    vel = t.get("steps")
    if not isinstance(vel, list):
        raise PatternError(f"{where}.steps: expected a list of {steps} velocities 0..127, got {_kind(vel)}")
    if len(vel) != steps:
        raise PatternError(f"{where}.steps: expected {steps} velocities (the pattern's steps), got {len(vel)}")
    for j, v in enumerate(vel):
        if not _is_int(v):
            raise PatternError(f"{where}.steps[{j}]: velocity must be an integer 0..127, got {_show(v)}")
        if not 0 <= v <= 127:
            raise PatternError(f"{where}.steps[{j}]: velocity must be 0..127, got {_show(v)}")
    return Track(name=name, note=int(note), steps=[int(v) for v in vel])


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _number(d: dict, key: str, where: str, lo: float, hi: float, default: float | None = None) -> float:
    if key not in d:
        if default is not None:
            return default
        raise PatternError(f"{where}: missing; give a number {lo:g}..{hi:g}")
    v = d[key]
    # isinstance(int) first: math.isfinite overflows on a huge JSON integer such as 1e400 written out in digits.
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and not math.isfinite(v)):
        raise PatternError(f"{where}: must be a number {lo:g}..{hi:g}, got {_show(v)}")
    if not lo <= v <= hi:
        raise PatternError(f"{where}: must be {lo:g}..{hi:g}, got {_show(v)}")
    return float(v)


def _kind(v: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", type(None): "null", bool: "a boolean"}.get(
        type(v), type(v).__name__)


def _show(v: Any) -> str:
    if isinstance(v, int) and abs(v) > 10**15:
        return "a huge integer"  # and str() of an int over 4300 digits raises ValueError
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."
