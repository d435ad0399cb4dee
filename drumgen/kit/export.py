"""Kit export: pads (name, MIDI note, audio, mixer knobs) -> a zip a DAW, sfizz and Hydrogen play as the browser did.

The zip holds one folder named after the kit (`safe_name` of its name); Hydrogen's kit name is that folder name:

    <kit>/036_kick.wav           24-bit 44.1 kHz mono one-shots: the pad's tune and decay rendered in, onset at the
                                 start, 1 ms fade-in, short fade-out, peak -1 dBFS (a decayed pad keeps its level)
    <kit>/036_kick_v2_rr3.wav    a pad with velocity layers and round robins (`KitPad.layers`): one WAV per layer
                                 (v1 softest) and take; the pad's loudest take peaks at -1 dBFS, the others keep
                                 their level relative to it
    <kit>/<kit>.sfz              one region per pad and take on its note: volume (dB) and pan, one-shot, hats
                                 choke; layers as lovel=/hivel= ranges, round robins as seq_length=/seq_position=
    <kit>/drumkit.xml            a Hydrogen 1.2 drumkit: volume and pan per instrument, muteGroup 0 chokes the hats;
                                 one layer per take with its velocity range (min/max 0..1), ROUND_ROBIN selection
                                 where a range holds several takes (at most 16 layers an instrument: Hydrogen's
                                 maxLayers)
    <kit>/<kit>.mid              the pattern as played (swung when its swing > 0.5), muted pads left out
    <kit>/<kit>_straight.mid     the same without swing (only when the pattern swings and straight=False)
    <kit>/README.txt             the note -> pad -> file -> knobs table and the list of files

The WAVs lie next to drumkit.xml because Hydrogen joins the kit folder to a layer's bare file name. This module
checks the pads, names the files and writes the .mid files and the zip; the WAVs come from drumgen.kit.one_shots,
the SFZ from drumgen.kit.sfz, drumkit.xml from drumgen.kit.hydrogen and README.txt from drumgen.kit.readme.

Where each browser knob goes (web/js/audio.js plays a pad through playbackRate, an envelope, a GainNode and a
StereoPannerNode):

    tune    rendered into the WAV: resampled by 2**(tune/12) with soxr, so a hit tuned down is longer
    decay   rendered into the WAV: hold 5 ms, then fall with tau = decay * L / 5, cut at max(10 ms, decay * L) + 5 ms
    volume  mixer: SFZ volume= in dB, Hydrogen instrument volume (linear, as GainNode.gain)
    pan     mixer: SFZ pan= -100..100, Hydrogen instrument pan -1..1
    mute    the pad's sound stays in the kit (playable from a keyboard); its track leaves the .mid

Names from clients never become paths: every file name in the zip is built here from `safe_name` and the pad's
note.
"""

from __future__ import annotations

import dataclasses
import io
import time
import zipfile

import numpy as np

from drumgen.io import audio, names
from drumgen.io.midi import pattern_to_midi
from drumgen.kit.hydrogen import drumkit_xml
from drumgen.kit.one_shots import one_shots
from drumgen.kit.pad import (
    KNOBS,
    MAX_LAYERS,
    MAX_ROUND_ROBIN,
    KitPad,
    hat_role,
    hydrogen_takes,
    takes_of,
    velocity_ranges,
)
from drumgen.kit.readme import readme, takes_table
from drumgen.kit.sfz import sfz_text
from drumgen.pads import note_name
from drumgen.pattern import Pattern

MAX_PADS = 16
NAME_LENGTH = 32  # file-name part; short names sort and read well in a sampler's browser


class KitError(ValueError):
    """A kit that cannot be exported; the message names the pad and what to change."""


def safe_name(s: object, default: str = "pad", max_length: int = NAME_LENGTH) -> str:
    """A kit file-name part: drumgen.io.names.safe_part, lowercased (short names that sort in a sampler's browser);
    `default` (then 'pad') when nothing is left."""
    return names.safe_part(s, names.safe_part(default, "pad", max_length, lower=True), max_length, lower=True)


def unique_names(names: list[str]) -> list[str]:
    """Suffix repeats with _2, _3, ... so that no two names are equal."""
    seen: set[str] = set()
    out = []
    for n in names:
        candidate, k = n, 2
        while candidate in seen:
            candidate = f"{n}_{k}"
            k += 1
        seen.add(candidate)
        out.append(candidate)
    return out


def display_name(s: object, default: str) -> str:
    """A name fit for XML and text files (drumgen.io.names.display_text)."""
    return names.display_text(s, default)


# ------------------------------------------------------------------------------------------------ checks


def check(pads: list[KitPad], pattern: Pattern | None) -> None:
    """Raise KitError, naming the pad and field, for anything the zip or a bounce could not carry as heard."""
    if not 1 <= len(pads) <= MAX_PADS:
        raise KitError(f"pads: a kit holds 1 to {MAX_PADS} pads, got {len(pads)}")
    by_note: dict[int, int] = {}
    for i, p in enumerate(pads):
        where = f"pads[{i}] ({display_name(p.name, 'unnamed')!r})"
        _check_pad(p, where)
        if int(p.note) in by_note:
            j = by_note[int(p.note)]
            raise KitError(f"{where}: note {p.note} is already used by pads[{j}] "
                           f"({display_name(pads[j].name, 'unnamed')!r}); give each pad its own note")
        by_note[int(p.note)] = i
    if pattern is not None:
        for i, t in enumerate(pattern.tracks):
            if any(t.steps) and t.note not in by_note:
                raise KitError(f"pattern.tracks[{i}] ({t.name!r}) plays note {t.note}, which no pad has; "
                               f"pad notes: {sorted(by_note)}")


def _check_pad(p: KitPad, where: str) -> None:
    if isinstance(p.note, bool) or not isinstance(p.note, (int, np.integer)) or not 0 <= p.note <= 127:
        raise KitError(f"{where}: note must be an integer 0..127, got {_show(p.note)}")
    if isinstance(p.sample_rate, bool) or not isinstance(p.sample_rate, (int, np.integer)) \
            or not 1000 <= p.sample_rate <= 768_000:
        raise KitError(f"{where}: sample_rate must be an integer 1000..768000 Hz, got {_show(p.sample_rate)}")
    _check_audio(p.audio, p.sample_rate, where)
    if len(p.layers):
        rows = takes_of(p)
        if not 1 <= len(rows) <= MAX_LAYERS or len({len(r) for r in rows}) != 1 \
                or not 1 <= len(rows[0]) <= MAX_ROUND_ROBIN:
            raise KitError(f"{where}: layers must be 1..{MAX_LAYERS} velocity layers of the same number (1.."
                           f"{MAX_ROUND_ROBIN}) of round robins, got {[len(r) for r in rows]}")
        for j, row in enumerate(rows):
            for r, x in enumerate(row):
                _check_audio(x, p.sample_rate, f"{where} layer {j + 1} take {r + 1}")
    for knob, (lo, hi) in KNOBS.items():
        v = getattr(p, knob)
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) \
                or not lo <= float(v) <= hi:  # NaN fails this too
            raise KitError(f"{where}: {knob} must be a number {lo:g}..{hi:g}, got {_show(v)}")
    if not isinstance(p.mute, (bool, np.bool_)):
        raise KitError(f"{where}: mute must be true or false, got {_show(p.mute)}")


def _check_audio(x: object, sample_rate: int, where: str) -> None:
    a = np.asarray(x)
    if a.ndim != 1 or a.size == 0 or not np.issubdtype(a.dtype, np.number):
        raise KitError(f"{where}: audio must be a non-empty mono array [T], got shape {a.shape} {a.dtype}")
    if a.size > audio.MAX_SECONDS * sample_rate:
        raise KitError(f"{where}: {a.size / sample_rate:.1f} s is too long for a one-shot "
                       f"(limit {audio.MAX_SECONDS:g} s)")


def _show(v: object) -> str:
    if isinstance(v, int) and abs(v) > 10**15:
        return "a huge integer"  # str() of an int over 4300 digits raises
    return repr(v)[:40]


# ------------------------------------------------------------------------------------------------ the zip


def export_kit(name: str, pads: list[KitPad], pattern: Pattern | None = None, *, straight: bool = False) -> bytes:
    """Build the kit zip in memory (see the module docstring for its layout) and return its bytes.

    `straight=True` writes the pattern without swing, as the only .mid. Raises KitError for 0 or more than 16
    pads, two pads on one note, bad audio, a knob out of range, or a pattern that hits a note no pad plays.
    """
    pads = [KitPad(*p) for p in pads]
    check(pads, pattern)
    kit = safe_name(name, default="drumgen_kit")
    title = display_name(name, kit)
    titles = [display_name(p.name, note_name(int(p.note))) for p in pads]
    stems = unique_names([safe_name(p.name, default=note_name(int(p.note))) for p in pads])
    grids = [_file_grid(p, stem) for p, stem in zip(pads, stems, strict=True)]
    files = [g[0][0] if len(g) == len(g[0]) == 1 else f"{g[0][0]} .. {g[-1][-1]}" for g in grids]
    roles = [hat_role(p.name, int(p.note)) for p in pads]

    entries: dict[str, bytes] = {}
    for p, grid in zip(pads, grids, strict=True):
        for f, x in zip(_flat(grid), _flat(one_shots(p)), strict=True):
            entries[f] = audio.wav_bytes(x, audio.OUTPUT_RATE, bits=24)
    entries[f"{kit}.sfz"] = sfz_text(pads, grids, roles).encode()
    info = f"{title}: generated drum hits exported by drumgen. Notes and knobs are in the kit's README.txt."
    entries["drumkit.xml"] = drumkit_xml(kit, info, pads, titles, [_hydrogen_layers(g) for g in grids], roles)
    midi_files = _midi_files(kit, pads, pattern, straight)
    entries.update(midi_files)
    text = readme(title, kit, pads, titles, files, roles, pattern, list(midi_files))
    entries["README.txt"] = (text + takes_table(pads, grids)).encode()
    return _zip(kit, entries)


def _flat(grid: list[list]) -> list:
    return [v for row in grid for v in row]


def _file_grid(p: KitPad, stem: str) -> list[list[str]]:
    """WAV names [layer][round robin] that sort: 036_kick.wav for a one-take pad, else 036_kick_v2_rr3.wav."""
    rows = takes_of(p)
    if len(rows) == len(rows[0]) == 1:
        return [[f"{int(p.note):03d}_{stem}.wav"]]
    return [[f"{int(p.note):03d}_{stem}_v{j + 1}_rr{r + 1}.wav" for r in range(len(row))]
            for j, row in enumerate(rows)]


def _hydrogen_layers(grid: list[list[str]]) -> list[tuple[str, float, float]]:
    """(file, min, max) per Hydrogen layer: each take with its layer's velocity range in 0..1; round robins
    beyond Hydrogen's 16 layers an instrument are left out (the README says so)."""
    keep = hydrogen_takes(len(grid))
    ranges = velocity_ranges(len(grid))
    return [(f, 0.0 if lo == 0 else round(lo / 127, 4), round(hi / 127, 4))
            for row, (lo, hi) in zip(grid, ranges, strict=True) for f in row[:keep]]


def _zip(folder: str, entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    stamp = time.localtime()[:6]
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for path, data in entries.items():
            info = zipfile.ZipInfo(f"{folder}/{path}", date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16  # a regular file readable by all, whatever the umask of the unzipper
            z.writestr(info, data)
    return buf.getvalue()


def _midi_files(kit: str, pads: list[KitPad], pattern: Pattern | None, straight: bool) -> dict[str, bytes]:
    """<kit>.mid as played (muted pads' tracks left out) and, when it swings, <kit>_straight.mid beside it."""
    if pattern is None:
        return {}
    muted = {int(p.note) for p in pads if p.mute}
    played = dataclasses.replace(pattern, tracks=[t for t in pattern.tracks if t.note not in muted])
    if straight or pattern.swing <= 0.5:
        return {f"{kit}.mid": pattern_to_midi(played, straight=True)}
    return {f"{kit}.mid": pattern_to_midi(played), f"{kit}_straight.mid": pattern_to_midi(played, straight=True)}
