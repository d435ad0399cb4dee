"""Kit export: pads (name, MIDI note, audio, mixer knobs) -> a zip a DAW, sfizz and Hydrogen play as the browser did.

The zip holds one folder named after the kit (`safe_name` of its name); Hydrogen's kit name is that folder name:

    <kit>/036_kick.wav           24-bit 44.1 kHz mono one-shots: the pad's tune and decay rendered in, onset at the
                                 start, 1 ms fade-in, short fade-out, peak -1 dBFS (a decayed pad keeps its level)
    <kit>/<kit>.sfz              one region per pad on its note: volume (dB) and pan, one-shot, hats choke
    <kit>/drumkit.xml            a Hydrogen 1.2 drumkit: volume and pan per instrument, muteGroup 0 chokes the hats
    <kit>/<kit>.mid              the pattern as played (swung when its swing > 0.5), muted pads left out
    <kit>/<kit>_straight.mid     the same without swing (only when the pattern swings and straight=False)
    <kit>/README.txt             the note -> pad -> file -> knobs table and the list of files

The WAVs lie next to drumkit.xml because Hydrogen joins the kit folder to a layer's bare file name.

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
import math
import time
import zipfile
from typing import NamedTuple

import numpy as np

from drumgen import audio, labels, names
from drumgen.kit_hydrogen import drumkit_xml
from drumgen.midi import Pattern, note_name, pattern_to_midi

MAX_PADS = 16
NAME_LENGTH = 32  # file-name part; short names sort and read well in a sampler's browser
TAIL_DB = -60.0  # trailing audio this far below the peak is cut before the fade-out
FADE_IN_SECONDS = 0.001  # a hit that starts on a non-zero sample clicks; this ramp removes the click
HOLD_SECONDS = 0.005  # the browser's decay envelope holds this long before it falls
MIN_DECAY_SECONDS = 0.01  # and never ends sooner than this
SILENT_DB = -144.0  # SFZ volume for a pad at volume 0 (the opcode's lower limit)
# The browser's knob ranges (web/js/pads.js), tune widened to the two octaves the contract allows.
KNOBS = {"volume": (0.0, 1.0), "pan": (-1.0, 1.0), "tune": (-24.0, 24.0), "decay": (0.05, 1.0)}
_OPEN_HAT_WORDS = {"open", "opened", "oh", "ohh", "ohat", "openhat", "hatopen"}


class KitError(ValueError):
    """A kit that cannot be exported; the message names the pad and what to change."""


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


def safe_name(s: object, default: str = "pad", max_length: int = NAME_LENGTH) -> str:
    """A kit file-name part: drumgen.names.safe_part, lowercased (short names that sort in a sampler's browser);
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
    """A name fit for XML and text files (drumgen.names.display_text)."""
    return names.display_text(s, default)


# ------------------------------------------------------------------------------------------------ one-shots


def prepare_one_shot(x: np.ndarray, sample_rate: int, tune: float = 0.0, decay: float = 1.0) -> np.ndarray:
    """Mono audio [T] at `sample_rate` -> the one-shot [T'] at 44.1 kHz that the browser plays: resampled (by
    2**(tune/12) too), the decay envelope applied, onset trimmed (audio.trim_onset keeps at most 1 ms before the
    onset), silent tail cut, 10 ms fade-out, 1 ms fade-in unless it starts at zero. Peak -1 dBFS before the
    envelope, so a shortened tail is not made louder. Silence stays silence."""
    x = np.nan_to_num(np.asarray(x, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    x = audio.resample(x, sample_rate * 2 ** (tune / 12), audio.OUTPUT_RATE)  # played faster = fewer samples
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak == 0.0:
        return x
    x = audio.trim_onset(decay_envelope(x, audio.OUTPUT_RATE, decay), audio.OUTPUT_RATE)
    loud = np.flatnonzero(np.abs(x) >= peak * 10 ** (TAIL_DB / 20))
    x = audio.fade_out(x[: int(loud[-1]) + 1] if loud.size else x[:1], audio.OUTPUT_RATE)
    return (fade_in(x, audio.OUTPUT_RATE) * (audio.PEAK / peak)).astype(np.float32)


def decay_envelope(x: np.ndarray, sample_rate: int, decay: float) -> np.ndarray:
    """The browser's decay knob on x [T] (as played, so T / sample_rate is its played length L): gain 1 for 5 ms,
    then exp(-(t - 5 ms) / tau) with tau = D / 5, cut at D + 5 ms, where D = max(10 ms, decay * L)."""
    if decay >= 1.0:
        return x
    ring = max(MIN_DECAY_SECONDS, decay * x.shape[0] / sample_rate)
    t = np.arange(min(x.shape[0], round((ring + HOLD_SECONDS) * sample_rate))) / sample_rate
    gain = np.exp(-np.maximum(t - HOLD_SECONDS, 0.0) / (ring / 5))
    return (x[: t.shape[0]] * gain).astype(np.float32)


def fade_in(x: np.ndarray, sample_rate: int, seconds: float = FADE_IN_SECONDS) -> np.ndarray:
    """A copy of x [T] whose first `seconds` ramp up linearly from zero, unless x already starts at zero."""
    x = np.array(x, dtype=np.float32)
    if x.size and x[0] != 0.0:
        n = min(x.shape[0], max(2, int(seconds * sample_rate)))
        x[:n] *= np.linspace(0.0, 1.0, n, dtype=np.float32)
    return x


def hat_role(name: str, note: int) -> str | None:
    """'closed', 'open' or None: which pads take part in the hi-hat choke (closed cuts open)."""
    if labels.label_from_name(name) == "hihat":
        return "open" if _OPEN_HAT_WORDS & set(labels.words(name)) else "closed"
    return {42: "closed", 44: "closed", 46: "open"}.get(note)


# ------------------------------------------------------------------------------------------------ checks


def _check(pads: list[KitPad], pattern: Pattern | None) -> None:
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
    a = np.asarray(p.audio)
    if a.ndim != 1 or a.size == 0 or not np.issubdtype(a.dtype, np.number):
        raise KitError(f"{where}: audio must be a non-empty mono array [T], got shape {a.shape} {a.dtype}")
    if a.size > audio.MAX_SECONDS * p.sample_rate:
        raise KitError(f"{where}: {a.size / p.sample_rate:.1f} s is too long for a one-shot "
                       f"(limit {audio.MAX_SECONDS:g} s)")
    for knob, (lo, hi) in KNOBS.items():
        v = getattr(p, knob)
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) \
                or not lo <= float(v) <= hi:  # NaN fails this too
            raise KitError(f"{where}: {knob} must be a number {lo:g}..{hi:g}, got {_show(v)}")
    if not isinstance(p.mute, (bool, np.bool_)):
        raise KitError(f"{where}: mute must be true or false, got {_show(p.mute)}")


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
    _check(pads, pattern)
    kit = safe_name(name, default="drumgen_kit")
    title = display_name(name, kit)
    titles = [display_name(p.name, note_name(int(p.note))) for p in pads]
    stems = unique_names([safe_name(p.name, default=note_name(int(p.note))) for p in pads])
    files = [f"{int(p.note):03d}_{stem}.wav" for p, stem in zip(pads, stems, strict=True)]
    roles = [hat_role(p.name, int(p.note)) for p in pads]

    entries: dict[str, bytes] = {}
    for p, f in zip(pads, files, strict=True):
        x = prepare_one_shot(p.audio, int(p.sample_rate), float(p.tune), float(p.decay))
        entries[f] = audio.wav_bytes(x, audio.OUTPUT_RATE, bits=24)
    entries[f"{kit}.sfz"] = _sfz(pads, files, roles).encode()
    info = f"{title}: generated drum hits exported by drumgen. Notes and knobs are in the kit's README.txt."
    entries["drumkit.xml"] = drumkit_xml(kit, info, pads, titles, files, roles)
    midi_files = _midi_files(kit, pads, pattern, straight)
    entries.update(midi_files)
    entries["README.txt"] = _readme(title, kit, pads, titles, files, roles, pattern, list(midi_files)).encode()
    return _zip(kit, entries)


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


def volume_db(volume: float) -> float:
    """A linear gain 0..1 in dB, -144 (the SFZ floor) for silence."""
    return max(SILENT_DB, 20 * math.log10(volume)) if volume > 0 else SILENT_DB


def _sfz(pads: list[KitPad], files: list[str], roles: list[str | None]) -> str:
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
    for p, f, role in zip(pads, files, roles, strict=True):
        # SFZ choke: starting a region of group 1 stops every region with off_by=1. Both hats are in group 1 and
        # only the open hat has off_by, so a closed hat (or a new open hat) cuts a ringing open hat.
        choke = {"closed": " group=1", "open": " group=1 off_by=1"}.get(role or "", "")
        mix = f" volume={volume_db(p.volume):.2f}" if p.volume != 1 else ""
        mix += f" pan={100 * p.pan:.1f}" if p.pan != 0 else ""
        lines.append(f"<region> key={int(p.note)} sample={f}{mix}{choke}")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------ README


def _readme(title: str, kit: str, pads: list[KitPad], titles: list[str], files: list[str],
            roles: list[str | None], pattern: Pattern | None, midi_files: list[str]) -> str:
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
