"""The drum machine's pad table: the one place that says how many pads there are, what each slot is called, which
General MIDI note it plays by default and which model classes a fresh kit asks for on it.

Everything that maps notes to pads reads this table: the browser (through `GET /api/pads`), the keyboard and MIDI
input there, the default Pattern, the kit export. A user may give a pad another note; that choice travels with the
pad (session, export body), never as a second table.
"""

from __future__ import annotations

from typing import NamedTuple


class Slot(NamedTuple):
    """One pad slot: `slot` is a file-name-safe id, `name` what the pad says, `note` its default GM note,
    `classes` the drumgen.labels classes a class-conditional model is asked for here (the first is preferred)."""

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
