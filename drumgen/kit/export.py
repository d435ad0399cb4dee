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

from drumgen.data import labels
from drumgen.io import audio, names
from drumgen.io.midi import pattern_to_midi
from drumgen.kit.hydrogen import drumkit_xml
from drumgen.pads import note_name
from drumgen.pattern import Pattern

MAX_PADS = 16
MAX_LAYERS = 4  # velocity layers per pad
MAX_ROUND_ROBIN = 8  # takes per velocity layer
HYDROGEN_MAX_LAYERS = 16  # Hydrogen 1.2 omits an instrument's layers past its maxLayers setting (default 16)
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
    # [layer][round robin] takes, soft to hard, each mono [T] at sample_rate with its level rendered in; empty:
    # the one take `audio`. Every layer has the same number of takes.
    layers: tuple = ()


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


def takes_of(p: KitPad) -> list[list[np.ndarray]]:
    """The pad's takes [layer][round robin]: its `layers`, or [[audio]]."""
    return [list(row) for row in p.layers] if len(p.layers) else [[p.audio]]


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
    _check(pads, pattern)
    kit = safe_name(name, default="drumgen_kit")
    title = display_name(name, kit)
    titles = [display_name(p.name, note_name(int(p.note))) for p in pads]
    stems = unique_names([safe_name(p.name, default=note_name(int(p.note))) for p in pads])
    grids = [_file_grid(p, stem) for p, stem in zip(pads, stems, strict=True)]
    files = [g[0][0] if len(g) == len(g[0]) == 1 else f"{g[0][0]} .. {g[-1][-1]}" for g in grids]
    roles = [hat_role(p.name, int(p.note)) for p in pads]

    entries: dict[str, bytes] = {}
    for p, grid in zip(pads, grids, strict=True):
        for f, x in zip(_flat(grid), _flat(_one_shots(p)), strict=True):
            entries[f] = audio.wav_bytes(x, audio.OUTPUT_RATE, bits=24)
    entries[f"{kit}.sfz"] = _sfz(pads, grids, roles).encode()
    info = f"{title}: generated drum hits exported by drumgen. Notes and knobs are in the kit's README.txt."
    entries["drumkit.xml"] = drumkit_xml(kit, info, pads, titles, [_hydrogen_layers(g) for g in grids], roles)
    midi_files = _midi_files(kit, pads, pattern, straight)
    entries.update(midi_files)
    readme = _readme(title, kit, pads, titles, files, roles, pattern, list(midi_files))
    entries["README.txt"] = (readme + _takes_table(pads, grids)).encode()
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


def _one_shots(p: KitPad) -> list[list[np.ndarray]]:
    """The pad's takes as one-shots. Each is normalised by prepare_one_shot, then turned down by its own peak
    relative to the pad's loudest take: soft layers stay soft, and the loudest take peaks at -1 dBFS."""
    rows = takes_of(p)
    peaks = [[float(np.max(np.abs(np.nan_to_num(np.asarray(x, np.float32))))) for x in row] for row in rows]
    top = max(_flat(peaks)) or 1.0
    return [[prepare_one_shot(x, int(p.sample_rate), float(p.tune), float(p.decay)) * np.float32(peak / top)
             for x, peak in zip(row, row_peaks, strict=True)] for row, row_peaks in zip(rows, peaks, strict=True)]


def _hydrogen_layers(grid: list[list[str]]) -> list[tuple[str, float, float]]:
    """(file, min, max) per Hydrogen layer: each take with its layer's velocity range in 0..1; round robins
    beyond Hydrogen's 16 layers an instrument are left out (the README says so)."""
    keep = max(1, HYDROGEN_MAX_LAYERS // len(grid))
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


def volume_db(volume: float) -> float:
    """A linear gain 0..1 in dB, -144 (the SFZ floor) for silence."""
    return max(SILENT_DB, 20 * math.log10(volume)) if volume > 0 else SILENT_DB


def _sfz(pads: list[KitPad], grids: list[list[list[str]]], roles: list[str | None]) -> str:
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


def _takes_table(pads: list[KitPad], grids: list[list[list[str]]]) -> str:
    """README lines for the pads with velocity layers or round robins: each WAV, its velocity range and take."""
    lines = []
    for p, grid in zip(pads, grids, strict=True):
        if len(grid) == len(grid[0]) == 1:
            continue
        dropped = len(grid[0]) - max(1, HYDROGEN_MAX_LAYERS // len(grid))
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
