"""Kit export: WAVs, SFZ, Hydrogen drumkit.xml and MIDI that play as the browser did.

    data = export_kit("my kit", [KitPad("kick", 36, x, 44100, volume=0.8)], pattern)   # the zip's bytes

The flow, one module a step:
    pad.py         KitPad (note, audio, knobs, takes) and its velocity ranges and hat-choke role
    one_shots.py   each take rendered as the browser plays it (tune, decay, onset, fades, -1 dBFS)
    sfz.py         the .sfz text;   hydrogen.py  drumkit.xml;   readme.py  README.txt
    export.py      the checks, the file names, the .mid files and the zip (export_kit)
"""

from drumgen.kit.export import KitError, export_kit
from drumgen.kit.pad import KitPad, layer_velocity, velocity_ranges

__all__ = ["KitError", "KitPad", "export_kit", "layer_velocity", "velocity_ranges"]
