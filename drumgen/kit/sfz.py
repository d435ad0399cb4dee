"""The kit's .sfz: one region per pad and take on its note, volume (dB) and pan, one-shot, hats choke, layers as
lovel=/hivel= ranges, round robins as seq_length=/seq_position=."""

from __future__ import annotations

import math

from drumgen.kit.pad import KitPad, velocity_ranges

SILENT_DB = -144.0  # SFZ volume for a pad at volume 0 (the opcode's lower limit)


def volume_db(volume: float) -> float:
    """A linear gain 0..1 in dB, -144 (the SFZ floor) for silence."""
    return max(SILENT_DB, 20 * math.log10(volume)) if volume > 0 else SILENT_DB


def sfz_text(pads: list[KitPad], grids: list[list[list[str]]], roles: list[str | None]) -> str:
    """The SFZ for pads whose WAVs are named grids[pad][layer][round robin], with their hat roles (pad.hat_role)."""
    # Only built names and numbers go into the SFZ: a client's name with a newline could otherwise add opcodes.
    lines = [
        "// drumkit made with drumgen; play it with the kit's .mid (notes below)",
        "// sample paths are relative to this file: the WAVs lie next to it",
        # sfizz streams a sample past its first 8192 frames from disk; a faster-than-real-time render (a DAW's
        # bounce, sfizz_render) can outrun that and lose the tail. One-shots are small: keep them all in RAM.
        "<control>",
        "hint_ram_based=1",
        "",
        "<global>",
        # amp_velcurve_127=1 makes the velocity curve a straight line (SFZ's default is quadratic): a hit at
        # velocity v plays at v/127 of full gain, as the browser's envelope gain does.
        "loop_mode=one_shot amp_velcurve_127=1",
        "",
    ]
    for p, grid, role in zip(pads, grids, roles, strict=True):
        # SFZ choke: starting a region of group 1 stops every region with off_by=1. Both hats are in group 1 and
        # only the open hat has off_by, so a closed hat (or a new open hat) cuts a ringing open hat.
        choke = {"closed": " group=1", "open": " group=1 off_by=1"}.get(role or "", "")
        mix = f" volume={volume_db(p.volume):.2f}" if p.volume != 1 else ""
        mix += f" pan={100 * p.pan:.1f}" if p.pan != 0 else ""
        for row, (lo, hi) in zip(grid, velocity_ranges(len(grid)), strict=True):
            vel = f" lovel={lo} hivel={hi}" if len(grid) > 1 else ""
            for r, f in enumerate(row):
                # seq_position r+1 of seq_length N: the region plays on every N-th note of its key and range
                seq = f" seq_length={len(row)} seq_position={r + 1}" if len(row) > 1 else ""
                lines.append(f"<region> key={int(p.note)}{vel}{seq} sample={f}{mix}{choke}")
    return "\n".join(lines) + "\n"
