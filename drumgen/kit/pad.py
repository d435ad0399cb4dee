"""A kit pad: its note, audio and knobs, its takes by velocity layer and round robin, and its part in the hat choke.

Velocity layers split MIDI velocity into ranges (velocity_ranges: the same bounds in the SFZ, in drumkit.xml and in
web/js/audio.js); drumgen.engine.variations makes the softer layers with layer_velocity.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from drumgen.data import labels

MAX_LAYERS = 4  # velocity layers per pad
MAX_ROUND_ROBIN = 8  # takes per velocity layer
HYDROGEN_MAX_LAYERS = 16  # Hydrogen 1.2 omits an instrument's layers past its maxLayers setting (default 16)
# The browser's knob ranges (web/js/pads.js), tune widened to the two octaves the contract allows.
KNOBS = {"volume": (0.0, 1.0), "pan": (-1.0, 1.0), "tune": (-24.0, 24.0), "decay": (0.05, 1.0)}
_OPEN_HAT_WORDS = {"open", "opened", "oh", "ohh", "ohat", "openhat", "hatopen"}


class KitPad(NamedTuple):
    """One pad: a display name, its MIDI note, mono float audio [T] at `sample_rate`, and the browser's knobs."""

    name: str
    note: int
    audio: np.ndarray
    sample_rate: int
    volume: float = 1.0  # linear gain 0..1 (the pad strip's GainNode.gain)
    pan: float = 0.0  # -1 (left) .. 1 (right), as a StereoPannerNode
    tune: float = 0.0  # semitones; the browser plays at playbackRate 2**(tune/12)
    decay: float = 1.0  # 0.05..1, the fraction of the played length the envelope lets ring
    mute: bool = False  # silent in the browser (muted, or another pad soloed): its notes leave the .mid
    # [layer][round robin] takes, soft to hard, each mono [T] at sample_rate with its level rendered in; empty:
    # the one take `audio`. Every layer has the same number of takes.
    layers: tuple = ()


def takes_of(p: KitPad) -> list[list[np.ndarray]]:
    """The pad's takes [layer][round robin]: its `layers`, or [[audio]]."""
    return [list(row) for row in p.layers] if len(p.layers) else [[p.audio]]


def velocity_ranges(k: int) -> list[tuple[int, int]]:
    """The MIDI velocity range (lovel, hivel) of each of k layers, soft to hard. The hardest layer answers
    101..127 (the sequencer's accents, 127), the others share 0..100 equally (its plain steps, 100, play the
    second-hardest): k=3 gives 0-50, 51-100, 101-127. web/js/audio.js picks a layer by the same bounds."""
    if k <= 1:
        return [(0, 127)]
    tops = [100 * (j + 1) // (k - 1) for j in range(k - 1)] + [127]
    return [(0 if j == 0 else tops[j - 1] + 1, top) for j, top in enumerate(tops)]


def layer_velocity(k: int, j: int) -> float:
    """How hard layer j of k is played, 0..1: the middle of its range / 127, and 1 for the hardest layer."""
    lo, hi = velocity_ranges(k)[j]
    return 1.0 if j == k - 1 else (lo + hi) / 2 / 127


def hydrogen_takes(k: int) -> int:
    """How many round robins of each of k layers a Hydrogen instrument keeps (HYDROGEN_MAX_LAYERS in all)."""
    return max(1, HYDROGEN_MAX_LAYERS // k)


def hat_role(name: str, note: int) -> str | None:
    """'closed', 'open' or None: which pads take part in the hi-hat choke (closed cuts open)."""
    if labels.label_from_name(name) == "hihat":
        return "open" if _OPEN_HAT_WORDS & set(labels.words(name)) else "closed"
    return {42: "closed", 44: "closed", 46: "open"}.get(note)
