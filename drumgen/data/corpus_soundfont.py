"""The General MIDI drum kits of a SoundFont as corpus kits (drumgen.data.corpus.Source): one rendered hit per key.

Every preset of bank 128 (Standard, Room, Power, Electronic, TR-808, Jazz, Brush, Orchestra, and their variants) is
one kit. Each key of the GM percussion map is rendered with tinysoundfont (note-on, held 0.2 s, note-off, until the
tail falls 60 dB below the peak or 3 s) at velocities 127, 80 and 40; a softer layer is kept only when it differs
from the louder ones beyond gain (fingerprint similarity below corpus.DUPLICATE_SIMILARITY), so velocity copies
are not counted as hits. Keys that sound nothing are skipped. Presets that reuse another preset's samples are
dropped by the corpus's near-duplicate check (all hits of one SoundFont form one group).

The class of a key comes from GM_KEYS; sounds that are no drum hit (whistles, guiros, cuicas, metronome clicks,
scratches, a vibraslap's rattle, a bell tree's glissando) are left out and listed. The GS Brush and Orchestra kits
use some keys for other sounds (BRUSH_KEYS, ORCHESTRA_KEYS).

Rendering needs the optional `corpus` extra: pip install "drumgen[corpus]" (tinysoundfont; its pyaudio dependency
builds against portaudio: apt-get install portaudio19-dev).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from drumgen.data.corpus import DUPLICATE_SIMILARITY, Candidate, CorpusError, Kit, Source, fingerprint
from drumgen.io import audio

# The two SoundFonts `drumgen corpus all` reads: named one by one, never found by listing their folder (other
# packages put SoundFonts there that are kept for evaluation).
FLUIDR3 = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
TIMGM6MB = "/usr/share/sounds/sf2/TimGM6mb.sf2"
# file name -> (title, author, licence) from each package's /usr/share/doc/<package>/copyright.
FONT_CREDITS = {
    "FluidR3_GM.sf2": ("Fluid (R3) General MIDI SoundFont", "Frank Wen and contributors", "MIT"),
    "TimGM6mb.sf2": ("TimGM6mb SoundFont (MuseScore 1.3)", "Tim Brechbill", "GPL-2"),
}
# One GM kit per SoundFont kept out of training, with its variants. Most presets reuse Standard's samples
# (FluidR3's Jazz, Room and Brush kits hold no sound of their own), and a shared sound stays in train, so the
# held-out kits are ones with many sounds of their own: FluidR3's Power kits and TimGM6mb's TR 808.
DEFAULT_HELDOUT = {"FluidR3_GM.sf2": ("Power", "Power 1", "Power 2", "Power 3"), "TimGM6mb.sf2": ("TR 808",)}
DEFAULT_VALIDATION = {"FluidR3_GM.sf2": ("Electronic",), "TimGM6mb.sf2": ()}

# GM (and GS 27-34, 82-87) percussion keys -> (sound, class or None when the sound is no drum hit).
GM_KEYS: dict[int, tuple[str, str | None]] = {
    27: ("High Q", None), 28: ("Slap", "perc"), 29: ("Scratch Push", None), 30: ("Scratch Pull", None),
    31: ("Sticks", "perc"), 32: ("Square Click", None), 33: ("Metronome Click", None),
    34: ("Metronome Bell", None),
    35: ("Acoustic Bass Drum", "kick"), 36: ("Bass Drum 1", "kick"), 37: ("Side Stick", "snare"),
    38: ("Acoustic Snare", "snare"), 39: ("Hand Clap", "clap"), 40: ("Electric Snare", "snare"),
    41: ("Low Floor Tom", "tom"), 42: ("Closed Hi-Hat", "hihat"), 43: ("High Floor Tom", "tom"),
    44: ("Pedal Hi-Hat", "hihat"), 45: ("Low Tom", "tom"), 46: ("Open Hi-Hat", "hihat"),
    47: ("Low-Mid Tom", "tom"), 48: ("Hi-Mid Tom", "tom"), 49: ("Crash Cymbal 1", "cymbal"),
    50: ("High Tom", "tom"), 51: ("Ride Cymbal 1", "cymbal"), 52: ("Chinese Cymbal", "cymbal"),
    53: ("Ride Bell", "cymbal"), 54: ("Tambourine", "perc"), 55: ("Splash Cymbal", "cymbal"),
    56: ("Cowbell", "perc"), 57: ("Crash Cymbal 2", "cymbal"), 58: ("Vibraslap", None),
    59: ("Ride Cymbal 2", "cymbal"), 60: ("Hi Bongo", "perc"), 61: ("Low Bongo", "perc"),
    62: ("Mute Hi Conga", "perc"), 63: ("Open Hi Conga", "perc"), 64: ("Low Conga", "perc"),
    65: ("High Timbale", "perc"), 66: ("Low Timbale", "perc"), 67: ("High Agogo", "perc"),
    68: ("Low Agogo", "perc"), 69: ("Cabasa", "perc"), 70: ("Maracas", "perc"), 71: ("Short Whistle", None),
    72: ("Long Whistle", None), 73: ("Short Guiro", None), 74: ("Long Guiro", None), 75: ("Claves", "perc"),
    76: ("Hi Wood Block", "perc"), 77: ("Low Wood Block", "perc"), 78: ("Mute Cuica", None),
    79: ("Open Cuica", None), 80: ("Mute Triangle", "perc"), 81: ("Open Triangle", "perc"),
    82: ("Shaker", "perc"), 83: ("Jingle Bell", "perc"), 84: ("Belltree", None), 85: ("Castanets", "perc"),
    86: ("Mute Surdo", "perc"), 87: ("Open Surdo", "perc"),
}
# GS Brush kit: brushes on the snare keys (the swirl is a sustained sweep, not a hit).
BRUSH_KEYS = {38: ("Brush Tap", "snare"), 39: ("Brush Slap", "snare"), 40: ("Brush Swirl", None)}
# GS Orchestra kit: hats and a ride on 27-30, timpani (tuned orchestral drums, no class of ours) on 41-53,
# concert snare / bass drum / cymbals on the usual keys, applause on 88.
ORCHESTRA_KEYS = {27: ("Closed Hi-Hat", "hihat"), 28: ("Pedal Hi-Hat", "hihat"), 29: ("Open Hi-Hat", "hihat"),
                  30: ("Ride Cymbal", "cymbal"), 38: ("Concert Snare", "snare"),
                  **{k: (f"Timpani {k}", None) for k in range(41, 54) if k not in (49, 51)},
                  49: ("Concert Cymbal 2", "cymbal"), 51: ("Concert Cymbal 1", "cymbal"), 88: ("Applause", None)}
VELOCITIES = (127, 80, 40)
HOLD_SECONDS = 0.2
MAX_SECONDS = 3.0
TAIL_DB = -60.0
RATE = audio.OUTPUT_RATE


def key_map(preset_name: str) -> dict[int, tuple[str, str | None]]:
    """The key -> (sound, class or None) map of one drum preset, by its name."""
    name = preset_name.lower()
    if "brush" in name:
        return {**GM_KEYS, **BRUSH_KEYS}
    if "orchestra" in name:
        return {**GM_KEYS, **ORCHESTRA_KEYS}
    return GM_KEYS


def font_slug(path: str | os.PathLike) -> str:
    """'FluidR3_GM.sf2' -> 'fluidr3', 'TimGM6mb.sf2' -> 'timgm6mb'."""
    stem = re.sub(r"[^a-z0-9]+", "-", Path(path).stem.lower()).strip("-")
    return stem.removesuffix("-gm") or "font"


def kit_name(path: str | os.PathLike, preset_name: str) -> str:
    """'FluidR3_GM.sf2', 'Power 1' -> 'sf-fluidr3-power-1'."""
    return f"sf-{font_slug(path)}-" + re.sub(r"[^a-z0-9]+", "-", preset_name.lower()).strip("-")


class FontRenderer:
    """Renders single drum notes of one SoundFont with tinysoundfont (a maintained TinySoundFont binding)."""

    def __init__(self, path: str | os.PathLike):
        try:
            import tinysoundfont
        except ImportError:
            raise CorpusError('rendering SoundFonts needs tinysoundfont: pip install "drumgen[corpus]" '
                              "(first apt-get install portaudio19-dev, which its pyaudio dependency builds "
                              "against)") from None
        self.synth = tinysoundfont.Synth(gain=-6, samplerate=RATE)
        try:
            self.sfid = self.synth.sfload(str(path))
        except Exception as e:  # tinysoundfont raises its own exception type for unreadable files
            raise CorpusError(f"{path} could not be loaded as a SoundFont ({e})") from None

    def presets(self) -> list[tuple[int, str]]:
        """[(preset number, name)] of bank 128, the drum kits."""
        names = [(p, self.synth.sfpreset_name(self.sfid, 128, p)) for p in range(128)]
        return [(p, n) for p, n in names if n]

    def render(self, preset: int, key: int, velocity: int) -> np.ndarray:
        """One note -> mono float32 at RATE: held HOLD_SECONDS, then released until the tail is TAIL_DB below
        the peak (checked every 50 ms) or MAX_SECONDS."""
        s, block = self.synth, RATE // 20
        s.program_select(9, self.sfid, 128, preset, True)
        s.noteon(9, key, velocity)
        parts = [np.frombuffer(s.generate(int(HOLD_SECONDS * RATE)), np.float32)]
        s.noteoff(9, key)
        peak = float(np.abs(parts[0]).max())
        while sum(p.size for p in parts) < 2 * MAX_SECONDS * RATE:
            b = np.frombuffer(s.generate(block), np.float32)
            parts.append(b)
            peak = max(peak, float(np.abs(b).max()))
            if peak > 0 and np.abs(b).max() < peak * 10 ** (TAIL_DB / 20):
                break
        s.sounds_off()  # cut what rings on, so the next note starts from silence
        s.generate(block)
        return np.concatenate(parts).reshape(-1, 2).mean(axis=1)


def render_layers(render, preset: int, key: int, threshold: float = DUPLICATE_SIMILARITY) -> list[tuple[int, np.ndarray]]:
    """[(velocity, onset-trimmed hit)] of one key: the loudest layer, and each softer one that differs from the
    kept ones beyond gain. Empty when the key is silent."""
    kept, fps = [], []
    for v in VELOCITIES:
        x = render(preset, key, v)
        if x.size == 0 or audio.peak_db(x) < audio.SILENCE_DB:
            continue
        fp = fingerprint(x, RATE)
        if any(float(fp @ f) > threshold for f in fps):
            continue
        kept.append((v, audio.trim_onset(x, RATE)))
        fps.append(fp)
    return kept


def soundfont_source(path: str | os.PathLike, threshold: float = DUPLICATE_SIMILARITY) -> Source:
    """The labelled hits of every drum preset of the SoundFont at `path`. Raises CorpusError if it has none."""
    path = Path(path)
    if not path.is_file():
        raise CorpusError(f"SoundFont {path} not found; for the GM fonts: apt-get install fluid-soundfont-gm "
                          "timgm6mb-soundfont")
    renderer = FontRenderer(path)
    presets = renderer.presets()
    if not presets:
        raise CorpusError(f"{path} has no drum kits (no presets in bank 128)")
    title, author, lic = FONT_CREDITS.get(path.name, (path.stem, "unknown: see the SoundFont's documentation",
                                                      "unknown: see the SoundFont's documentation"))
    kits, hits = [], []
    for preset, name in presets:
        kit = Kit(kit_name(path, name), f"{title}: {name} (bank 128, preset {preset})", author, lic, lic,
                  source="soundfont")
        for key, (sound, label) in sorted(key_map(name).items()):
            if label is None:
                kit.left_out.append(f"key {key} {sound}: not a drum hit")
                continue
            layers = render_layers(renderer.render, preset, key, threshold)
            if not layers:
                kit.skipped.append(f"key {key} {sound}: silent")
            for v, x in layers:
                hits.append(Candidate(kit.name, sound, label, f"k{key}-v{v}.wav",
                                      f"{path.name} 128:{preset} key {key} vel {v}", x, RATE, group=str(path)))
        kits.append(kit)
    return Source(f"soundfont:{path.name}", kits, hits, {}, {})


def default_splits(path: str | os.PathLike, kits: list[Kit]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(held-out, validation) kit names of a known SoundFont (none for another), among the kits it has."""
    names = {k.name for k in kits}

    def pick(presets: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(n for n in (kit_name(path, p) for p in presets) if n in names)

    return pick(DEFAULT_HELDOUT.get(Path(path).name, ())), pick(DEFAULT_VALIDATION.get(Path(path).name, ()))
