"""Hydrogen drumkit.xml for an exported kit, in the format Hydrogen 1.2 writes and validates (its drumkit.xsd).

Hydrogen finds a layer's sample by joining the kit folder to the file name alone (a `samples/` prefix is dropped),
so the WAVs lie next to drumkit.xml. Songs and `h2cli -k` refer to a kit by its `<name>`, which must equal the kit
folder's name. A pad with velocity layers and round robins becomes one `layer` per take, with its velocity
range as min/max (0..1); where one range holds several takes the instrument's `sampleSelectionAlgo` is
ROUND_ROBIN (Hydrogen 1.2 then turns through the layers whose range holds the note's velocity), else VELOCITY.
The kit zip installs as it is with `h2cli -i <kit>.zip`; `h2cli -c` and the import dialog want the
.h2drumkit extension, which the same zip satisfies when renamed (Hydrogen reads archives with libarchive).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Protocol

HYDROGEN_NS = "http://www.hydrogen-music.org/drumkit"
# A pad's samples: one file (velocity 0..1), or (file, min velocity, max velocity) per layer.
Layers = str | Sequence[tuple[str, float, float]]


class Instrument(Protocol):
    """What drumkit.xml needs of a pad (drumgen.kit.pad.KitPad has it), read-only."""

    @property
    def note(self) -> int: ...
    @property
    def volume(self) -> float: ...
    @property
    def pan(self) -> float: ...


def drumkit_xml(kit: str, info: str, pads: Sequence[Instrument], titles: list[str],
                files: Sequence[Layers], roles: list[str | None]) -> bytes:
    """drumkit.xml: one drumkit component and, per pad, an instrument (elements in schema order) with one
    instrumentComponent holding its layers. `kit` is the folder name (Hydrogen's kit name), `info` free text,
    `files` per pad the WAV name next to drumkit.xml or its (file, min, max) layers, `roles` the hi-hat roles
    ('closed', 'open' or None)."""
    ET.register_namespace("", HYDROGEN_NS)
    root = ET.Element(f"{{{HYDROGEN_NS}}}drumkit_info")
    for tag, value in (("name", kit), ("author", "drumgen"), ("info", info), ("license", "unspecified"),
                       ("image", ""), ("imageLicense", "")):
        _sub(root, tag, value)
    component = _sub(_sub(root, "componentList"), "drumkitComponent")
    for tag, value in (("id", "0"), ("name", "Main"), ("volume", "1")):
        _sub(component, tag, value)
    instruments = _sub(root, "instrumentList")
    for i, (p, title, f, role) in enumerate(zip(pads, titles, files, roles, strict=True)):
        _instrument(instruments, i, p, title, f, role)
    ET.indent(root, space=" ")
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True)


def _sub(parent: ET.Element, tag: str, text: object = None) -> ET.Element:
    e = ET.SubElement(parent, f"{{{HYDROGEN_NS}}}{tag}")
    if text is not None:
        e.text = str(text)
    return e


def _number(v: float) -> str:
    return f"{float(v):.6g}"


def _instrument(parent: ET.Element, i: int, p: Instrument, title: str, file: Layers, role: str | None) -> None:
    layers = [(file, 0.0, 1.0)] if isinstance(file, str) else list(file)
    ranges = [(lo, hi) for _, lo, hi in layers]
    algo = "ROUND_ROBIN" if len(set(ranges)) < len(ranges) else "VELOCITY"
    ins = _sub(parent, "instrument")
    for tag, value in (
        # volume is the mixer fader (linear, as the browser's GainNode); pan -1 (left) .. 1 (right). A muted pad
        # stays playable here: only the exported .mid leaves it out.
        ("id", i), ("name", title), ("volume", _number(p.volume)), ("isMuted", "false"), ("isSoloed", "false"),
        ("pan", _number(p.pan)), ("pitchOffset", 0), ("randomPitchFactor", 0), ("gain", 1),
        ("applyVelocity", "true"), ("filterActive", "false"), ("filterCutoff", 1), ("filterResonance", 0),
        ("Attack", 0), ("Decay", 0), ("Sustain", 1), ("Release", 1000),
        # Hydrogen's mute group: a hit stops the other instruments of its group (both hats: group 0).
        ("muteGroup", 0 if role else -1), ("midiOutChannel", -1), ("midiOutNote", int(p.note)),
        ("isStopNote", "false"), ("sampleSelectionAlgo", algo), ("isHihat", -1), ("lower_cc", 0),
        ("higher_cc", 127), ("FX1Level", 0), ("FX2Level", 0), ("FX3Level", 0), ("FX4Level", 0),
    ):
        _sub(ins, tag, value)
    part = _sub(ins, "instrumentComponent")
    _sub(part, "component_id", 0)
    _sub(part, "gain", 1)
    for f, lo, hi in layers:
        layer = _sub(part, "layer")
        # pitch 0: a pad's tune is already rendered into its WAV; gain 1: a layer's level is in its WAV too.
        for tag, value in (("filename", f), ("min", _number(lo)), ("max", _number(hi)), ("gain", 1), ("pitch", 0)):
            _sub(layer, tag, value)
