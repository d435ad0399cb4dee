"""The kit's README.txt: the note -> pad -> file -> knobs table, what each file is for, and the takes of each pad."""

from __future__ import annotations

from drumgen.kit.pad import KitPad, hydrogen_takes, velocity_ranges
from drumgen.kit.sfz import volume_db
from drumgen.pads import note_name
from drumgen.pattern import Pattern


def readme(title: str, kit: str, pads: list[KitPad], titles: list[str], files: list[str],
           roles: list[str | None], pattern: Pattern | None, midi_files: list[str]) -> str:
    """The pad table (note, GM name, title, file(s), knobs), the files table and how the knobs play."""
    rows = [f"  {int(p.note):>4}  {note_name(int(p.note)):<14} {t:<32} {f:<40} {_knobs(p)}"
            + ("  (choke: closed hat cuts open hat)" if r == "open" else "")
            for p, t, f, r in zip(pads, titles, files, roles, strict=True)]
    parts = [
        f"{title}: a drum kit exported by drumgen",
        "",
        f"  note  GM name        {'pad':<32} {'file':<40} knobs",
        *rows,
        "",
        *_files_table(kit, pattern, midi_files),
        "",
        "Samples: 44.1 kHz, 24-bit mono WAV, onset at the start, peak -1 dBFS.",
        "The knobs play as they did in the browser:",
        "  tune and decay are rendered into each WAV (a pad tuned down is longer);",
        f"  volume and pan are mixer settings: volume= (dB) and pan= in {kit}.sfz, the instrument's volume and pan",
        "  in drumkit.xml (Hydrogen's pan law is a song setting: choose a constant-power one to match the browser);",
        "  a muted pad (or one silenced by another pad's solo) keeps its sound here, but its notes are left out of",
        "  the .mid files.",
        "",
    ]
    return "\n".join(parts)


def takes_table(pads: list[KitPad], grids: list[list[list[str]]]) -> str:
    """README lines for the pads with velocity layers or round robins: each WAV, its velocity range and take."""
    lines = []
    for p, grid in zip(pads, grids, strict=True):
        if len(grid) == len(grid[0]) == 1:
            continue
        dropped = len(grid[0]) - hydrogen_takes(len(grid))
        lines.append(f"  note {int(p.note)}: {len(grid)} velocity layer(s) x {len(grid[0])} round robin(s)"
                     + (f" (Hydrogen plays the first {len(grid[0]) - dropped} of each layer: 16 layers at most)"
                        if dropped > 0 else ""))
        for row, (lo, hi) in zip(grid, velocity_ranges(len(grid)), strict=True):
            for r, f in enumerate(row):
                lines.append(f"    {f:<44} velocity {lo:>3}..{hi:<3}  round robin {r + 1} of {len(row)}")
    if not lines:
        return ""
    head = ["Velocity layers and round robins (v1 = softest; layers and takes made by the model, see "
            "drumgen/engine/variations.py):", "  played in turn on repeated notes (SFZ seq_position, Hydrogen ROUND_ROBIN),",
            "  the layer chosen by the note's velocity (SFZ lovel/hivel, Hydrogen layer min/max)."]
    return "\n".join(head + lines) + "\n"


def _knobs(p: KitPad) -> str:
    volume = "-inf" if p.volume == 0 else f"{volume_db(p.volume):+.1f}"
    text = f"volume {volume} dB, pan {p.pan:+.2f}, tune {p.tune:+g} st, decay {p.decay:g}"
    return text + (", muted: not in the .mid" if p.mute else "")


def _files_table(kit: str, pattern: Pattern | None, midi_files: list[str]) -> list[str]:
    files = [(f"{kit}.sfz", "load in an SFZ sampler (sfizz, Sforzando, ...): one-shot regions on the notes above"),
             ("drumkit.xml", f"a Hydrogen drumkit named {kit}: `h2cli -i {kit}.zip` (or rename the zip to "
                             f"{kit}.h2drumkit and import it), or copy this folder into ~/.hydrogen/data/drumkits/")]
    if pattern is not None:
        for f in midi_files:
            swing = 0.5 if f.endswith("_straight.mid") or len(midi_files) == 1 else pattern.swing
            files.append((f, f"the beat ({pattern.bpm:g} BPM, {pattern.steps} steps, swing {swing:g}) on channel 10; "
                             "put it on the sampler's track"))
    width = max(len(f) for f, _ in files) + 2
    return [f"{f:<{width}}{what}" for f, what in files]
