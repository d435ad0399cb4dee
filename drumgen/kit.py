"""Kit export: pads (name, MIDI note, audio) -> a zip a DAW, a sampler and Hydrogen can load.

The zip holds one folder named after the kit:

    <kit>/samples/036_kick.wav   24-bit 44.1 kHz mono one-shots: onset at the start, short fade-out, peak -1 dBFS
    <kit>/<kit>.sfz              one region per pad on its note, one-shot, closed hats choke open hats
    <kit>/drumkit.xml            a Hydrogen 1.x drumkit (muteGroup 0 makes the hats choke each other)
    <kit>/<kit>.mid              the pattern, when one is given, on the same notes as the SFZ
    <kit>/README.txt             the note -> pad -> file table

Loading the SFZ in a sampler and the .mid in a DAW plays the beat with the kit. Names from clients never become
paths: every file name in the zip is built here from `safe_name` and the pad's note.
"""

from __future__ import annotations

import io
import re
import time
import unicodedata
import xml.etree.ElementTree as ET
import zipfile
from typing import NamedTuple

import numpy as np

from drumgen import audio, labels
from drumgen.midi import Pattern, note_name, pattern_to_midi

MAX_PADS = 16
NAME_LENGTH = 32  # file-name part; short names sort and read well in a sampler's browser
HYDROGEN_NS = "http://www.hydrogen-music.org/drumkit"
TAIL_DB = -60.0  # trailing audio this far below the peak is cut before the fade-out
# Windows refuses these as file or folder names, whatever the extension.
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}
_OPEN_HAT_WORDS = {"open", "opened", "oh", "ohh", "ohat", "openhat", "hatopen"}


class KitError(ValueError):
    """A kit that cannot be exported; the message names the pad and what to change."""


class KitPad(NamedTuple):
    """One pad: a display name, its MIDI note, mono float32 audio [T] and that audio's sample rate."""

    name: str
    note: int
    audio: np.ndarray
    sample_rate: int


def safe_name(s: object, default: str = "pad", max_length: int = NAME_LENGTH) -> str:
    """A file-name part made only of [a-z0-9_-]: lowercased, accents dropped, other runs -> '_', at most
    `max_length` characters, never empty (then `default`, then 'pad'), never '.' or '..' (no dots at all), never
    a Windows device name such as 'con' (those get a trailing '_')."""
    name = _slug(s, max_length) or _slug(default, max_length) or "pad"
    return f"{name}_" if name in _RESERVED else name


def _slug(s: object, max_length: int) -> str:
    text = unicodedata.normalize("NFKD", s if isinstance(s, str) else "")
    text = text.encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9_-]+", "_", text).strip("_-")[: max(1, max_length)].strip("_-")


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
    """A name fit for XML and text files: printable characters only (no surrogates), at most 64 of them."""
    text = s if isinstance(s, str) else ""
    text = "".join(c for c in text if c.isprintable() and not 0xD800 <= ord(c) <= 0xDFFF).strip()[:64]
    return text or default


def prepare_one_shot(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mono audio [T] at `sample_rate` -> a one-shot [T'] at 44.1 kHz: resampled, onset trimmed (audio.trim_onset
    keeps at most 1 ms before the onset), silent tail cut, 10 ms fade-out, peak -1 dBFS. Silence stays silence."""
    x = np.nan_to_num(np.asarray(x, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    x = audio.resample(x, sample_rate, audio.OUTPUT_RATE)
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak == 0.0:
        return x
    x = audio.trim_onset(x, audio.OUTPUT_RATE)
    loud = np.flatnonzero(np.abs(x) >= peak * 10 ** (TAIL_DB / 20))
    x = audio.fade_out(x[: int(loud[-1]) + 1], audio.OUTPUT_RATE)
    return audio.normalize(x)


def hat_role(name: str, note: int) -> str | None:
    """'closed', 'open' or None: which pads take part in the hi-hat choke (closed cuts open)."""
    if labels.label_from_name(name) == "hihat":
        return "open" if _OPEN_HAT_WORDS & set(labels.words(name)) else "closed"
    return {42: "closed", 44: "closed", 46: "open"}.get(note)


def _check(pads: list[KitPad], pattern: Pattern | None) -> None:
    if not 1 <= len(pads) <= MAX_PADS:
        raise KitError(f"pads: a kit holds 1 to {MAX_PADS} pads, got {len(pads)}")
    by_note: dict[int, int] = {}
    for i, p in enumerate(pads):
        where = f"pads[{i}] ({display_name(p.name, 'unnamed')!r})"
        if isinstance(p.note, bool) or not isinstance(p.note, (int, np.integer)) or not 0 <= p.note <= 127:
            raise KitError(f"{where}: note must be an integer 0..127, got {_show(p.note)}")
        if int(p.note) in by_note:
            j = by_note[int(p.note)]
            raise KitError(f"{where}: note {p.note} is already used by pads[{j}] "
                           f"({display_name(pads[j].name, 'unnamed')!r}); give each pad its own note")
        by_note[int(p.note)] = i
        if isinstance(p.sample_rate, bool) or not isinstance(p.sample_rate, (int, np.integer)) \
                or not 1000 <= p.sample_rate <= 768_000:
            raise KitError(f"{where}: sample_rate must be an integer 1000..768000 Hz, got {_show(p.sample_rate)}")
        a = np.asarray(p.audio)
        if a.ndim != 1 or a.size == 0 or not np.issubdtype(a.dtype, np.number):
            raise KitError(f"{where}: audio must be a non-empty mono array [T], got shape {a.shape} {a.dtype}")
        if a.size > audio.MAX_SECONDS * p.sample_rate:
            raise KitError(f"{where}: {a.size / p.sample_rate:.1f} s is too long for a one-shot "
                           f"(limit {audio.MAX_SECONDS:g} s)")
    if pattern is not None:
        for i, t in enumerate(pattern.tracks):
            if any(t.steps) and t.note not in by_note:
                raise KitError(f"pattern.tracks[{i}] ({t.name!r}) plays note {t.note}, which no pad has; "
                               f"pad notes: {sorted(by_note)}")


def _show(v: object) -> str:
    if isinstance(v, int) and abs(v) > 10**15:
        return "a huge integer"  # str() of an int over 4300 digits raises
    return repr(v)[:40]


def export_kit(name: str, pads: list[KitPad], pattern: Pattern | None = None) -> bytes:
    """Build the kit zip in memory (see the module docstring for its layout) and return its bytes.

    Raises KitError for 0 or more than 16 pads, two pads on one note, bad audio, or a pattern that hits a note no
    pad plays.
    """
    pads = [KitPad(*p) for p in pads]
    _check(pads, pattern)
    kit = safe_name(name, default="drumgen_kit")
    titles = [display_name(p.name, note_name(int(p.note))) for p in pads]
    stems = unique_names([safe_name(p.name, default=note_name(int(p.note))) for p in pads])
    files = [f"{int(p.note):03d}_{stem}.wav" for p, stem in zip(pads, stems, strict=True)]
    roles = [hat_role(p.name, int(p.note)) for p in pads]

    entries: dict[str, bytes] = {}
    for p, f in zip(pads, files, strict=True):
        x = prepare_one_shot(p.audio, int(p.sample_rate))
        entries[f"samples/{f}"] = audio.wav_bytes(x, audio.OUTPUT_RATE, bits=24)
    entries[f"{kit}.sfz"] = _sfz(pads, files, roles).encode()
    entries["drumkit.xml"] = _hydrogen(display_name(name, kit), pads, titles, files, roles)
    if pattern is not None:
        entries[f"{kit}.mid"] = pattern_to_midi(pattern)
    entries["README.txt"] = _readme(display_name(name, kit), kit, pads, titles, files, roles, pattern).encode()

    buf = io.BytesIO()
    stamp = time.localtime()[:6]
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for path, data in entries.items():
            info = zipfile.ZipInfo(f"{kit}/{path}", date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16  # a regular file readable by all, whatever the umask of the unzipper
            z.writestr(info, data)
    return buf.getvalue()


def _sfz(pads: list[KitPad], files: list[str], roles: list[str | None]) -> str:
    # Only built names and numbers go into the SFZ: a client's name with a newline could otherwise add opcodes.
    lines = [
        "// drumkit made with drumgen; play it with the kit's .mid (notes below)",
        "<control>",
        "default_path=samples/",
        "",
        "<global>",
        "loop_mode=one_shot",
        "",
    ]
    for p, f, role in zip(pads, files, roles, strict=True):
        # SFZ choke: starting a region of group 1 stops every region with off_by=1. Both hats are in group 1 and
        # only the open hat has off_by, so a closed hat (or a new open hat) cuts a ringing open hat.
        choke = {"closed": " group=1", "open": " group=1 off_by=1"}.get(role or "", "")
        lines.append(f"<region> key={int(p.note)} sample={f}{choke}")
    return "\n".join(lines) + "\n"


def _hydrogen(title: str, pads: list[KitPad], titles: list[str], files: list[str], roles: list[str | None]) -> bytes:
    """drumkit.xml in the format Hydrogen 1.x writes and validates (its drumkit.xsd): one drumkit component and,
    per instrument, the elements in schema order with one instrumentComponent holding one layer. Hydrogen 1.x also
    reads the older component-less kits that Debian ships, so both generations load it."""
    ET.register_namespace("", HYDROGEN_NS)

    def sub(parent: ET.Element, tag: str, text: object = None) -> ET.Element:
        e = ET.SubElement(parent, f"{{{HYDROGEN_NS}}}{tag}")
        if text is not None:
            e.text = str(text)
        return e

    root = ET.Element(f"{{{HYDROGEN_NS}}}drumkit_info")
    sub(root, "name", title)
    sub(root, "author", "drumgen")
    sub(root, "info", "Generated drum hits exported by drumgen. Notes follow the kit's README.txt.")
    sub(root, "license", "unspecified")
    component = sub(sub(root, "componentList"), "drumkitComponent")
    for tag, value in (("id", 0), ("name", "Main"), ("volume", 1)):
        sub(component, tag, value)
    instruments = sub(root, "instrumentList")
    for i, (p, t, f, role) in enumerate(zip(pads, titles, files, roles, strict=True)):
        ins = sub(instruments, "instrument")
        for tag, value in (
            ("id", i), ("name", t), ("volume", 1), ("isMuted", "false"), ("pan_L", 1), ("pan_R", 1),
            ("randomPitchFactor", 0), ("gain", 1), ("applyVelocity", "true"), ("filterActive", "false"),
            ("filterCutoff", 1), ("filterResonance", 0), ("Attack", 0), ("Decay", 0), ("Sustain", 1),
            ("Release", 1000),
            # Hydrogen's mute group: a hit stops the other instruments of its group (both hats: group 0).
            ("muteGroup", 0 if role else -1), ("midiOutChannel", -1), ("midiOutNote", int(p.note)),
            ("isStopNote", "false"), ("sampleSelectionAlgo", "VELOCITY"), ("isHihat", -1), ("lower_cc", 0),
            ("higher_cc", 127), ("FX1Level", 0), ("FX2Level", 0), ("FX3Level", 0), ("FX4Level", 0),
        ):
            sub(ins, tag, value)
        part = sub(ins, "instrumentComponent")
        sub(part, "component_id", 0)
        sub(part, "gain", 1)
        layer = sub(part, "layer")
        for tag, value in (("filename", f"samples/{f}"), ("min", 0), ("max", 1), ("gain", 1), ("pitch", 0)):
            sub(layer, tag, value)
    ET.indent(root, space=" ")
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True)


def _readme(title: str, kit: str, pads: list[KitPad], titles: list[str], files: list[str],
            roles: list[str | None], pattern: Pattern | None) -> str:
    rows = [f"  {int(p.note):>4}  {note_name(int(p.note)):<14} {t:<32} samples/{f}"
            + ("  (choke: closed hat cuts open hat)" if r == "open" else "")
            for p, t, f, r in zip(pads, titles, files, roles, strict=True)]
    parts = [
        f"{title}: a drum kit exported by drumgen",
        "",
        "  note  GM name        pad                              file",
        *rows,
        "",
        *_files_table(kit, pattern),
    ]
    parts += ["", "Samples: 44.1 kHz, 24-bit mono WAV, onset at the start, peak -1 dBFS.", ""]
    return "\n".join(parts)


def _files_table(kit: str, pattern: Pattern | None) -> list[str]:
    files = [(f"{kit}.sfz", "load in an SFZ sampler (sfizz, Sforzando, ...): one-shot regions on the notes above"),
             ("drumkit.xml", "a Hydrogen drumkit: copy this folder into ~/.hydrogen/data/drumkits/")]
    if pattern is not None:
        files.append((f"{kit}.mid", f"the beat ({pattern.bpm:g} BPM, {pattern.steps} steps, swing {pattern.swing:g}) "
                                    "on channel 10; put it on the sampler's track"))
    width = max(len(f) for f, _ in files) + 2
    return [f"{f:<{width}}{what}" for f, what in files]
