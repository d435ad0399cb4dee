"""Patterns as MIDI files, the General MIDI drum map, and controller input.

A Pattern is the sequencer's grid: `steps` 16th notes (one, two or four bars of 4/4) and, per track, a MIDI note and
one velocity per step (0 = no hit). `pattern_to_midi` writes it as a type-1 Standard MIDI File that every DAW
reads: 480 ticks per beat, a conductor track (tempo, 4/4) and one drum track on channel 10 (mido channel 9).
Swing has no MIDI event, so it is written into the note times with the MPC convention: the second 16th of each pair
starts at `pair_start + 2 * sixteenth * swing` (0.5 straight, 0.66 triplet feel, 0.75 hard shuffle).
`midi_to_pattern` reads such a file (or any drum MIDI file) back onto the grid.

`MidiRelay` turns a mido input port (a hardware controller through python-rtmidi, or any `mido.ports.BaseInput`)
into plain note dicts that the server forwards to browsers. python-rtmidi is optional (`pip install drumgen[midi]`):
without it, or without MIDI ports, opening a port raises `MidiUnavailable` and everything else still works.
"""

from __future__ import annotations

import collections
import io
import json
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import mido
from mido.ports import BaseInput

from drumgen.pads import PADS

TICKS_PER_BEAT = 480
SIXTEENTH = TICKS_PER_BEAT // 4  # 120 ticks
DRUM_CHANNEL = 9  # General MIDI channel 10, counted from 0 as mido does
STEP_CHOICES = (16, 32, 64)
MAX_TRACKS = 16
MAX_NAME = 64
BPM_RANGE = (30.0, 300.0)
SWING_RANGE = (0.5, 0.75)

# General MIDI percussion notes for the sounds a drum machine's pads hold (and the tagger's classes).
GM_DRUMS: dict[str, int] = {
    "kick": 36,
    "snare": 38,
    "closed_hat": 42,
    "open_hat": 46,
    "clap": 39,
    "rim": 37,
    "low_tom": 45,
    "crash": 49,
    # Class names of drumgen.labels, so a labelled sound gets a sensible note.
    "hihat": 42,
    "tom": 45,
    "cymbal": 49,
    "perc": 56,  # cowbell
    "pedal_hat": 44,
    "ride": 51,
    "mid_tom": 47,
    "high_tom": 50,
}
# The pads of a new drum machine, in pad order (pad 1 = kick): drumgen.pads is the one table.
DEFAULT_PADS: tuple[tuple[str, int], ...] = tuple((p.slot, p.note) for p in PADS)
# Names for notes when a MIDI file does not say what its notes are.
GM_NOTE_NAMES: dict[int, str] = {
    35: "kick_2", 36: "kick", 37: "rim", 38: "snare", 39: "clap", 40: "snare_2", 41: "floor_tom", 42: "closed_hat",
    43: "floor_tom_2", 44: "pedal_hat", 45: "low_tom", 46: "open_hat", 47: "mid_tom", 48: "high_mid_tom",
    49: "crash", 50: "high_tom", 51: "ride", 52: "china", 53: "ride_bell", 54: "tambourine", 55: "splash",
    56: "cowbell", 57: "crash_2", 59: "ride_2",
}


class PatternError(ValueError):
    """A pattern that cannot be played or written; the message names the field and the allowed values."""


class MidiUnavailable(RuntimeError):
    """No MIDI input could be opened (python-rtmidi missing, no ALSA sequencer, or no such port)."""


def note_name(note: int) -> str:
    """A short name for a drum note: its General MIDI name, else 'note_N'."""
    return GM_NOTE_NAMES.get(note, f"note_{note}")


# ---------------------------------------------------------------------------------------------------------------
# Pattern


@dataclass
class Track:
    """One row of the grid: a MIDI note and a velocity (0..127, 0 = rest) per step."""

    name: str
    note: int
    steps: list[int]


@dataclass
class Pattern:
    """A drum pattern: `steps` 16th notes at `bpm`, swing in [0.5, 0.75], up to 16 tracks with distinct notes."""

    bpm: float
    swing: float = 0.5
    steps: int = 16
    tracks: list[Track] = field(default_factory=list)

    @classmethod
    def from_dict(cls, d: Any) -> Pattern:
        """Validate a JSON-like dict (as the HTTP API receives it) and build a Pattern.

        Raises PatternError naming the first bad field, e.g. "tracks[2].steps[5]: velocity must be 0..127, got 300".
        Keys the pattern does not know are ignored; `swing` defaults to 0.5 and a track's `name` to its note's name.
        """
        if not isinstance(d, dict):
            raise PatternError(f"pattern: expected an object with bpm, swing, steps and tracks, got {_kind(d)}")
        bpm = _number(d, "bpm", "bpm", *BPM_RANGE)
        swing = _number(d, "swing", "swing", *SWING_RANGE, default=0.5)
        steps = d.get("steps")
        if "steps" not in d:
            raise PatternError("steps: missing; give the number of 16th notes: 16, 32 or 64")
        if not _is_int(steps) or steps not in STEP_CHOICES:
            raise PatternError(f"steps: must be 16, 32 or 64 (one, two or four bars of 16ths), got {_show(steps)}")
        tracks = d.get("tracks")
        if not isinstance(tracks, list):
            raise PatternError(f"tracks: expected a list of {{name, note, steps}}, got {_kind(tracks)}")
        if len(tracks) > MAX_TRACKS:
            raise PatternError(f"tracks: at most {MAX_TRACKS} tracks, got {len(tracks)}")
        built = [_track(t, i, steps) for i, t in enumerate(tracks)]
        seen: dict[int, int] = {}
        for i, t in enumerate(built):
            if t.note in seen:
                raise PatternError(
                    f"tracks[{i}].note: note {t.note} is already used by tracks[{seen[t.note]}]; "
                    "give each track its own note")
            seen[t.note] = i
        return cls(bpm=bpm, swing=swing, steps=int(steps), tracks=built)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form that `from_dict` accepts."""
        return {
            "bpm": self.bpm,
            "swing": self.swing,
            "steps": self.steps,
            "tracks": [{"name": t.name, "note": t.note, "steps": list(t.steps)} for t in self.tracks],
        }


def default_pattern(bpm: float = 120.0, steps: int = 16) -> Pattern:
    """The eight default pads with an empty grid."""
    return Pattern(bpm=bpm, swing=0.5, steps=steps,
                   tracks=[Track(name, note, [0] * steps) for name, note in DEFAULT_PADS])


def _track(t: Any, i: int, steps: int) -> Track:
    where = f"tracks[{i}]"
    if not isinstance(t, dict):
        raise PatternError(f"{where}: expected an object {{name, note, steps}}, got {_kind(t)}")
    if "note" not in t:
        raise PatternError(f"{where}.note: missing; give a MIDI note 0..127 (36 = kick in General MIDI)")
    note = t["note"]
    if not _is_int(note) or not 0 <= note <= 127:
        raise PatternError(f"{where}.note: must be an integer 0..127, got {_show(note)}")
    name = t.get("name")
    if name is None:
        name = note_name(note)
    if not isinstance(name, str):
        raise PatternError(f"{where}.name: must be a string, got {_kind(name)}")
    if len(name) > MAX_NAME:
        raise PatternError(f"{where}.name: at most {MAX_NAME} characters, got {len(name)}")
    if not name.isprintable():
        raise PatternError(f"{where}.name: must hold printable characters only (no newlines or control codes)")
    vel = t.get("steps")
    if not isinstance(vel, list):
        raise PatternError(f"{where}.steps: expected a list of {steps} velocities 0..127, got {_kind(vel)}")
    if len(vel) != steps:
        raise PatternError(f"{where}.steps: expected {steps} velocities (the pattern's steps), got {len(vel)}")
    for j, v in enumerate(vel):
        if not _is_int(v):
            raise PatternError(f"{where}.steps[{j}]: velocity must be an integer 0..127, got {_show(v)}")
        if not 0 <= v <= 127:
            raise PatternError(f"{where}.steps[{j}]: velocity must be 0..127, got {_show(v)}")
    return Track(name=name, note=int(note), steps=[int(v) for v in vel])


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _number(d: dict, key: str, where: str, lo: float, hi: float, default: float | None = None) -> float:
    if key not in d:
        if default is not None:
            return default
        raise PatternError(f"{where}: missing; give a number {lo:g}..{hi:g}")
    v = d[key]
    # isinstance(int) first: math.isfinite overflows on a huge JSON integer such as 1e400 written out in digits.
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and not math.isfinite(v)):
        raise PatternError(f"{where}: must be a number {lo:g}..{hi:g}, got {_show(v)}")
    if not lo <= v <= hi:
        raise PatternError(f"{where}: must be {lo:g}..{hi:g}, got {_show(v)}")
    return float(v)


def _kind(v: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", type(None): "null", bool: "a boolean"}.get(
        type(v), type(v).__name__)


def _show(v: Any) -> str:
    if isinstance(v, int) and abs(v) > 10**15:
        return "a huge integer"  # and str() of an int over 4300 digits raises ValueError
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


# ---------------------------------------------------------------------------------------------------------------
# Pattern -> MIDI file


def step_tick(step: int, swing: float) -> int:
    """Start of a 16th step in ticks: even steps on the grid, odd ones at pair_start + 2 * sixteenth * swing."""
    pair_start = (step // 2) * 2 * SIXTEENTH
    if step % 2 == 0:
        return pair_start
    return pair_start + round(2 * SIXTEENTH * swing)


def pattern_to_midi(pattern: Pattern, straight: bool = False) -> bytes:
    """Write a pattern as a type-1 SMF (bytes): conductor track (tempo, 4/4) + one drum track on channel 9.

    Each hit lasts a 16th, shortened so that it ends before the next hit of the same note and before the end of the
    pattern. `straight=True` writes the grid without swing. Pad names (and the swing, which timing alone cannot
    show when no off-beat step is hit) go into text events so `midi_to_pattern` recovers the pattern exactly.
    """
    swing = 0.5 if straight else pattern.swing
    end = pattern.steps * SIXTEENTH

    conductor = mido.MidiTrack()
    conductor.append(mido.MetaMessage("track_name", name="drumgen", time=0))
    conductor.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, clocks_per_click=24,
                                      notated_32nd_notes_per_beat=8, time=0))
    conductor.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(pattern.bpm), time=0))
    conductor.append(mido.MetaMessage("text", text=f"drumgen swing={swing!r}", time=0))
    conductor.append(mido.MetaMessage("end_of_track", time=end))

    # (tick, order, message): note-offs sort before note-ons at the same tick so a re-hit is never cut short.
    events: list[tuple[int, int, mido.Message | mido.MetaMessage]] = []
    for t in pattern.tracks:
        # json.dumps keeps the text ASCII (MIDI text is Latin-1) and lets any printable name survive the trip.
        events.append((0, 0, mido.MetaMessage("text", text=f"pad {t.note} {json.dumps(t.name)}")))
        hits = [(step_tick(s, swing), v) for s, v in enumerate(t.steps) if v > 0]
        for k, (tick, velocity) in enumerate(hits):
            stop = min(tick + SIXTEENTH, hits[k + 1][0] if k + 1 < len(hits) else end, end)
            events.append((tick, 2, mido.Message("note_on", channel=DRUM_CHANNEL, note=t.note, velocity=velocity)))
            events.append((stop, 1, mido.Message("note_off", channel=DRUM_CHANNEL, note=t.note, velocity=0)))
    events.sort(key=lambda e: (e[0], e[1], getattr(e[2], "note", -1)))

    drums = mido.MidiTrack()
    drums.append(mido.MetaMessage("track_name", name="Drums", time=0))
    now = 0
    for tick, _, msg in events:  # absolute ticks -> deltas
        msg.time = tick - now  # each message was made for this track alone, so setting its delta is safe
        drums.append(msg)
        now = tick
    drums.append(mido.MetaMessage("end_of_track", time=end - now))

    mid = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    mid.tracks.extend([conductor, drums])
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------------------------
# MIDI file -> Pattern


def midi_to_pattern(data: bytes) -> Pattern:
    """Read a MIDI file (bytes) onto a 16th-note grid.

    Works for files this module writes (names, notes and swing come back exactly) and for other drum files: notes on
    channel 10 are used if there are any, else notes on every channel; times are scaled to 480 ticks per beat; each
    hit goes to the nearest step allowing for swing (an off-beat 16th may lie anywhere up to a 16th late); the
    swing is read from the text event, else estimated from the off-beat hits. Only the first four bars (64 steps)
    are kept. Raises PatternError when the bytes are not a MIDI file or hold no notes and no pads.
    """
    try:
        mid = mido.MidiFile(file=io.BytesIO(data))
    except Exception as e:  # mido raises many kinds on damaged files; all mean "not a MIDI file we can read"
        raise PatternError(f"midi: not a readable Standard MIDI File ({e})") from None
    if mid.type == 2:
        raise PatternError("midi: type-2 files (independent sequences) are not supported; save as type 0 or 1")
    scale = TICKS_PER_BEAT / mid.ticks_per_beat
    tempo: int | None = None
    swing_text: float | None = None
    pads: dict[int, str] = {}
    notes: list[tuple[int, int, int, int]] = []
    last = 0
    for track in mid.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            last = max(last, tick)
            if msg.type == "set_tempo" and tempo is None:  # the first tempo is the pattern's
                tempo = msg.tempo
            elif msg.type == "text":
                swing_text, pads = _read_text(msg.text, swing_text, pads)
            elif msg.type == "note_on" and msg.velocity > 0:
                notes.append((round(tick * scale), msg.channel, msg.note, msg.velocity))
    if any(ch == DRUM_CHANNEL for _, ch, _, _ in notes):
        notes = [n for n in notes if n[1] == DRUM_CHANNEL]
    if not notes and not pads and swing_text is None:  # an empty drumgen pattern still has its swing text
        raise PatternError("midi: the file holds no notes")

    swing = swing_text if swing_text is not None else _estimate_swing([t for t, *_ in notes])
    placed = [(_nearest_step(t), note, vel) for t, _, note, vel in notes]
    needed = max([s + 1 for s, _, _ in placed] + [math.ceil(round(last * scale) / SIXTEENTH)])
    steps = next((s for s in STEP_CHOICES if s >= needed), STEP_CHOICES[-1])

    order = list(pads) + sorted({n for _, n, _ in placed} - set(pads))
    grid = {n: [0] * steps for n in order}
    for s, note, vel in placed:
        if s < steps:
            grid[note][s] = max(grid[note][s], vel)
    bpm = round(mido.tempo2bpm(tempo or 500_000), 2)  # 500000 us per beat (120 BPM) is the SMF default
    bpm = min(max(bpm, BPM_RANGE[0]), BPM_RANGE[1])
    tracks = [Track(pads.get(n, note_name(n)), n, grid[n]) for n in order][:MAX_TRACKS]
    return Pattern(bpm=bpm, swing=swing, steps=steps, tracks=tracks)


def _read_text(text: str, swing: float | None, pads: dict[int, str]) -> tuple[float | None, dict[int, str]]:
    """Parse the text events pattern_to_midi writes; anything else is ignored."""
    try:
        if text.startswith("drumgen swing="):
            s = float(text.split("=", 1)[1])
            if SWING_RANGE[0] <= s <= SWING_RANGE[1]:
                swing = s
        elif text.startswith("pad "):
            _, note, name = text.split(" ", 2)
            name = json.loads(name)
            if isinstance(name, str) and 0 <= int(note) <= 127 and len(name) <= MAX_NAME and name.isprintable():
                pads.setdefault(int(note), name)
    except ValueError:
        pass
    return swing, pads


def _nearest_step(tick: int) -> int:
    """Step of a hit: within a pair (240 ticks) an on-beat 16th sits at 0 and an off-beat one between 120 (straight)
    and 180 (swing 0.75), so 0..59 is the on-beat, 60..209 the off-beat, 210.. the next pair's on-beat."""
    pair, pos = divmod(tick, 2 * SIXTEENTH)
    if pos < SIXTEENTH // 2:
        return 2 * pair
    if pos < 2 * SIXTEENTH - SIXTEENTH // 4:
        return 2 * pair + 1
    return 2 * pair + 2


def _estimate_swing(ticks: list[int]) -> float:
    offbeat = [t % (2 * SIXTEENTH) for t in ticks if _nearest_step(t) % 2 == 1]
    if not offbeat:
        return 0.5
    offbeat.sort()
    s = round(offbeat[len(offbeat) // 2] / (2 * SIXTEENTH), 2)
    return min(max(s, SWING_RANGE[0]), SWING_RANGE[1])


# ---------------------------------------------------------------------------------------------------------------
# Controller input


def message_to_event(msg: mido.Message) -> dict[str, int | str] | None:
    """A note message as {"type": "note_on"|"note_off", "note", "velocity", "channel"}; None for anything else.

    A note_on with velocity 0 is a note_off (running-status controllers send those).
    """
    if msg.type not in ("note_on", "note_off"):
        return None
    kind = "note_on" if msg.type == "note_on" and msg.velocity > 0 else "note_off"
    return {"type": kind, "note": int(msg.note), "velocity": int(msg.velocity), "channel": int(msg.channel)}


def input_names() -> list[str]:
    """Names of the MIDI inputs on this machine. Raises MidiUnavailable without python-rtmidi or a MIDI system."""
    try:
        return list(mido.get_input_names())
    except Exception as e:  # ImportError without rtmidi; rtmidi's SystemError without an ALSA sequencer
        raise MidiUnavailable(_unavailable(e)) from None


def _unavailable(e: Exception) -> str:
    if isinstance(e, ImportError):
        return ("MIDI input needs python-rtmidi: pip install 'drumgen[midi]' (building it needs the ALSA headers, "
                f"apt install libasound2-dev) ({e})")
    return f"no MIDI system is available on this machine ({type(e).__name__}: {e})"


class MidiRelay:
    """Note events from a mido input port, as dicts, without threads of its own.

    Give it any `mido.ports.BaseInput` (a hardware port, a `QueueInput` in tests) or use `MidiRelay.open(name)`.
    The server calls `receive(timeout)` in a worker thread and forwards each dict over a WebSocket; `poll()` and
    `iter_pending()` never block.
    """

    def __init__(self, port: BaseInput):
        if not isinstance(port, BaseInput):
            raise TypeError(f"MidiRelay needs a mido input port, got {type(port).__name__}")
        self.port = port

    @classmethod
    def open(cls, name: str | None = None) -> MidiRelay:
        """Open the named input (None: the system's default). Raises MidiUnavailable listing the inputs there are."""
        names = input_names()
        if name is not None and name not in names:
            known = ", ".join(repr(n) for n in names) or "none"
            raise MidiUnavailable(f"no MIDI input named {name!r}; inputs on this machine: {known}")
        try:
            return cls(mido.open_input(name))
        except Exception as e:
            raise MidiUnavailable(f"could not open MIDI input {name!r}: {_unavailable(e)}") from None

    @property
    def name(self) -> str:
        return str(self.port.name)

    def poll(self) -> dict[str, int | str] | None:
        """The next pending note event, or None; non-note messages (clock, CC, sysex) are skipped."""
        while True:
            msg = self.port.poll()
            if msg is None:
                return None
            event = message_to_event(msg)
            if event is not None:
                return event

    def iter_pending(self) -> Iterator[dict[str, int | str]]:
        """Every note event pending now."""
        while (event := self.poll()) is not None:
            yield event

    def receive(self, timeout: float | None = None, interval: float = 0.001) -> dict[str, int | str] | None:
        """Wait up to `timeout` seconds (None: forever) for a note event; None on timeout or when the port closed.

        Polls every `interval` seconds rather than blocking inside mido, so a caller's stop flag is honoured within
        `timeout` and a closed port never hangs the thread.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            event = self.poll()
            if event is not None:
                return event
            if self.port.closed or (deadline is not None and time.monotonic() >= deadline):
                return None
            time.sleep(interval)

    def close(self) -> None:
        self.port.close()

    def __enter__(self) -> MidiRelay:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class QueueInput(BaseInput):
    """An in-memory MIDI input: `feed(msg)` from any thread, read through the port API. For tests and demos."""

    def __init__(self, name: str = "drumgen-queue", messages: list[mido.Message] | None = None):
        self._queue: collections.deque[mido.Message] = collections.deque(messages or [])
        self._feed_lock = threading.Lock()
        super().__init__(name)

    def feed(self, msg: mido.Message) -> None:
        with self._feed_lock:
            self._queue.append(msg)

    def _receive(self, block: bool = True) -> mido.Message | None:
        with self._feed_lock:
            return self._queue.popleft() if self._queue else None
