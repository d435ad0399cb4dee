"""The note map. The drum machine's pad table: the one place that says how many pads there are, what each slot is called, which
General MIDI note it plays by default and which model classes a fresh kit asks for on it.

Everything that maps notes to pads reads this table: the browser (through `GET /api/pads`), the keyboard and MIDI
input there, the default Pattern, the kit export. A user may give a pad another note; that choice travels with the
pad (session, export body), never as a second table. The General MIDI percussion names (channel 10) name any
other note.
"""

from __future__ import annotations

from typing import NamedTuple


class Slot(NamedTuple):
    """One pad slot: `slot` is a file-name-safe id, `name` what the pad says, `note` its default GM note,
    `classes` the drumgen.data.labels classes a class-conditional model is asked for here (the first is preferred)."""

    slot: str
    name: str
    note: int
    classes: tuple[str, ...]


# GM percussion notes (channel 10): 36 kick, 38 snare, 42 closed hat, 46 open hat, 39 clap, 45 low tom,
# 50 high tom, 49 crash. Pad 1 is the kick, as on every drum machine.
PADS: tuple[Slot, ...] = (
    Slot("kick", "Kick", 36, ("kick",)),
    Slot("snare", "Snare", 38, ("snare",)),
    Slot("closed_hat", "Closed hat", 42, ("hihat",)),
    Slot("open_hat", "Open hat", 46, ("hihat", "cymbal")),
    Slot("clap", "Clap", 39, ("clap", "snare")),
    Slot("low_tom", "Low tom", 45, ("tom",)),
    Slot("high_tom", "High tom", 50, ("tom", "perc")),
    Slot("crash", "Crash", 49, ("cymbal", "perc")),
)
COUNT = len(PADS)


def table() -> list[dict]:
    """The pad table as JSON-ready dicts (what `GET /api/pads` answers)."""
    return [{"slot": s.slot, "name": s.name, "note": s.note, "classes": list(s.classes)} for s in PADS]


# General MIDI percussion notes for the sounds a drum machine's pads hold (and the tagger's classes).
GM_DRUMS: dict[str, int] = {
    "kick": 36,
    "snare": 38,
    "closed_hat": 42,
    "open_hat": 46,
    "clap": 39,
    "rim": 37,
    "low_tom": 45,
    "crash": 49,
    # Class names of drumgen.data.labels, so a labelled sound gets a sensible note.
    "hihat": 42,
    "tom": 45,
    "cymbal": 49,
    "perc": 56,  # cowbell
    "pedal_hat": 44,
    "ride": 51,
    "mid_tom": 47,
    "high_tom": 50,
}
# The pads of a new drum machine, in pad order (pad 1 = kick), as (slot, note).
DEFAULT_PADS: tuple[tuple[str, int], ...] = tuple((p.slot, p.note) for p in PADS)
# Names for notes when a MIDI file does not say what its notes are.
GM_NOTE_NAMES: dict[int, str] = {
    35: "kick_2", 36: "kick", 37: "rim", 38: "snare", 39: "clap", 40: "snare_2", 41: "floor_tom", 42: "closed_hat",
    43: "floor_tom_2", 44: "pedal_hat", 45: "low_tom", 46: "open_hat", 47: "mid_tom", 48: "high_mid_tom",
    49: "crash", 50: "high_tom", 51: "ride", 52: "china", 53: "ride_bell", 54: "tambourine", 55: "splash",
    56: "cowbell", 57: "crash_2", 59: "ride_2",
}


def note_name(note: int) -> str:
    """A short name for a drum note: its General MIDI name, else 'note_N'."""
    return GM_NOTE_NAMES.get(note, f"note_{note}")
