"""Patterns as MIDI files, and the General MIDI drum map (controller input: drumgen.io.midi_input).

A Pattern is the sequencer's grid: `steps` 16th notes (one, two or four bars of 4/4) and, per track, a MIDI note and
one velocity per step (0 = no hit). `pattern_to_midi` writes it as a type-1 Standard MIDI File that every DAW
reads: 480 ticks per beat, a conductor track (tempo, 4/4) and one drum track on channel 10 (mido channel 9).
Swing has no MIDI event, so it is written into the note times with the MPC convention: the second 16th of each pair
starts at `pair_start + 2 * sixteenth * swing` (0.5 straight, 0.66 triplet feel, 0.75 hard shuffle).
`midi_to_pattern` reads such a file (or any drum MIDI file) back onto the grid.
"""

from __future__ import annotations

import io
import json
import math

import mido

from drumgen.pads import note_name
from drumgen.pattern import (
    BPM_RANGE,
    MAX_NAME,
    MAX_TRACKS,
    STEP_CHOICES,
    SWING_RANGE,
    Pattern,
    PatternError,
    Track,
)

TICKS_PER_BEAT = 480
SIXTEENTH = TICKS_PER_BEAT // 4  # 120 ticks
DRUM_CHANNEL = 9  # General MIDI channel 10, counted from 0 as mido does

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
