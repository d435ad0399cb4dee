"""drumgen.io.midi: pattern validation, pattern <-> SMF through mido, swing timing, controller relay."""

from __future__ import annotations

import copy
import io
import threading

import mido
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drumgen.io.midi import midi_to_pattern, pattern_to_midi
from drumgen.io.midi_input import MidiRelay, MidiUnavailable
from drumgen.pads import DEFAULT_PADS, GM_DRUMS
from drumgen.pattern import Pattern, PatternError
from drumgen.testing import QueueInput


def pattern_dict(steps: int = 16, swing: float = 0.5, bpm: float = 120) -> dict:
    tracks = [{"name": name, "note": note, "steps": [0] * steps} for name, note in DEFAULT_PADS]
    tracks[0]["steps"][0] = 127  # kick on 1
    tracks[0]["steps"][8] = 90  # and 3
    tracks[1]["steps"][4] = 100  # snare on 2
    tracks[1]["steps"][12] = 101  # and 4
    tracks[2]["steps"] = [60 + k for k in range(steps)]  # closed hat on every 16th, velocities 60, 61, ...
    return {"bpm": bpm, "swing": swing, "steps": steps, "tracks": tracks}


def note_events(data: bytes) -> tuple[mido.MidiFile, list[tuple[int, mido.Message]]]:
    """(file, [(absolute tick, message)]) of every note message in every track."""
    mid = mido.MidiFile(file=io.BytesIO(data))
    out = []
    for track in mid.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type in ("note_on", "note_off"):
                out.append((tick, msg))
    return mid, out


def onsets(data: bytes) -> list[tuple[int, int, int]]:
    """Sorted (tick, note, velocity) of every note-on with velocity > 0."""
    _, events = note_events(data)
    return sorted((t, m.note, m.velocity) for t, m in events if m.type == "note_on" and m.velocity > 0)


def test_gm_map_and_default_pads():
    # one pad table (drumgen.pads) for the browser, MIDI in and exports; GM notes throughout
    assert DEFAULT_PADS == (("kick", 36), ("snare", 38), ("closed_hat", 42), ("open_hat", 46), ("clap", 39),
                            ("low_tom", 45), ("high_tom", 50), ("crash", 49))
    for name, note in DEFAULT_PADS:
        assert GM_DRUMS[name] == note


def test_file_layout_tempo_and_time_signature():
    data = pattern_to_midi(Pattern.from_dict(pattern_dict(bpm=97)))
    mid = mido.MidiFile(file=io.BytesIO(data))
    assert mid.type == 1 and mid.ticks_per_beat == 480 and len(mid.tracks) == 2
    meta = {m.type: m for m in mid.tracks[0]}
    assert meta["set_tempo"].tempo == mido.bpm2tempo(97)
    ts = meta["time_signature"]
    assert (ts.numerator, ts.denominator) == (4, 4)
    # Both tracks end after the last bar: 16 sixteenths = 1920 ticks.
    for track in mid.tracks:
        assert track[-1].type == "end_of_track"
        assert sum(m.time for m in track) == 1920
    _, events = note_events(data)
    assert events and all(m.channel == 9 for _, m in events)


def test_straight_round_trip_notes_times_velocities():
    d = pattern_dict()
    data = pattern_to_midi(Pattern.from_dict(d))
    want = sorted((120 * s, t["note"], v) for t in d["tracks"] for s, v in enumerate(t["steps"]) if v)
    assert onsets(data) == want
    assert midi_to_pattern(data).to_dict() == Pattern.from_dict(d).to_dict()


@pytest.mark.parametrize("swing, offbeat", [(0.5, 120), (0.66, 158), (0.665, 160), (0.75, 180)])
def test_swing_delays_every_second_sixteenth(swing, offbeat):
    data = pattern_to_midi(Pattern.from_dict(pattern_dict(swing=swing)))
    hats = [t for t, note, _ in onsets(data) if note == 42]
    assert len(hats) == 16
    delay = offbeat - 120  # 2 * 120 * swing rounded to a tick: 38 ticks late at 0.66 (158.4), 40 at 0.665 (159.6)
    assert hats == [120 * s + (delay if s % 2 else 0) for s in range(16)]
    if swing == 0.66:
        assert hats[1] == 158 and hats[3] == 240 + 158
    # On-beat hits never move.
    assert [t for t, note, _ in onsets(data) if note == 36] == [0, 960]
    back = midi_to_pattern(data)
    assert back.swing == swing and back.tracks[2].steps == list(range(60, 76))


def test_straight_flag_ignores_swing():
    swung = Pattern.from_dict(pattern_dict(swing=0.7))
    assert onsets(pattern_to_midi(swung, straight=True)) == onsets(pattern_to_midi(Pattern.from_dict(pattern_dict())))
    assert onsets(pattern_to_midi(swung)) != onsets(pattern_to_midi(swung, straight=True))


def test_notes_never_overlap_the_next_hit_or_the_end():
    d = pattern_dict(swing=0.75, steps=32)
    data = pattern_to_midi(Pattern.from_dict(d))
    _, events = note_events(data)
    open_at: dict[int, int] = {}
    for tick, m in events:
        if m.type == "note_on" and m.velocity > 0:
            assert m.note not in open_at, f"note {m.note} re-triggered at {tick} before its note-off"
            open_at[m.note] = tick
        else:
            length = tick - open_at.pop(m.note)
            assert 0 < length <= 120
            assert tick <= 32 * 120
    assert not open_at
    # At swing 0.75 an off-beat hat starts at 180 and the next at 240: it is cut to 60 ticks.
    hat = [(t, m.type) for t, m in events if m.note == 42][:4]
    assert hat == [(0, "note_on"), (120, "note_off"), (180, "note_on"), (240, "note_off")]


@pytest.mark.parametrize("steps", [16, 32, 64])
def test_lengths(steps):
    data = pattern_to_midi(Pattern.from_dict(pattern_dict(steps=steps)))
    mid = mido.MidiFile(file=io.BytesIO(data))
    assert sum(m.time for m in mid.tracks[1]) == steps * 120
    assert midi_to_pattern(data).steps == steps


def test_names_survive_including_unicode_and_empty_tracks():
    d = pattern_dict()
    d["tracks"][3]["name"] = 'ouvert "é" 🥁'
    d["tracks"][7]["name"] = ""
    back = midi_to_pattern(pattern_to_midi(Pattern.from_dict(d)))
    assert [t.name for t in back.tracks] == [t["name"] for t in d["tracks"]]
    assert [t.note for t in back.tracks] == [n for _, n in DEFAULT_PADS]


def test_import_foreign_file_other_resolution_and_channel():
    """A file from elsewhere: 96 ticks per beat, notes on channel 1, no drumgen text, slightly late off-beats."""
    mid = mido.MidiFile(type=0, ticks_per_beat=96)
    tr = mido.MidiTrack()
    tr.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(90)))
    # 96 ticks per beat: a 16th is 24 ticks; hits at steps 0 (kick), 1 (hat, swung to 32 of 48), 4 (snare).
    for tick, note, vel in [(0, 36, 100), (32, 42, 70), (96, 38, 110)]:
        tr.append(mido.Message("note_on", channel=0, note=note, velocity=vel, time=tick - sum(m.time for m in tr)))
    tr.append(mido.Message("note_on", channel=0, note=36, velocity=0, time=10))
    mid.tracks.append(tr)
    buf = io.BytesIO()
    mid.save(file=buf)
    p = midi_to_pattern(buf.getvalue())
    assert p.bpm == 90 and p.steps == 16
    grid = {t.note: t.steps for t in p.tracks}
    assert grid[36][0] == 100 and grid[42][1] == 70 and grid[38][4] == 110
    assert {t.name for t in p.tracks} == {"kick", "closed_hat", "snare"}
    assert p.swing == pytest.approx(0.67)  # 32 of 48 ticks


def test_import_rejects_garbage():
    for data in (b"", b"not a midi file", b"MThd\x00\x00\x00\x06\x00\x01\x00\x02"):
        with pytest.raises(PatternError, match="midi"):
            midi_to_pattern(data)


# ----------------------------------------------------------------------------------------------- validation


def broken(path: str, value, steps: int = 16) -> dict:
    """pattern_dict() with one field replaced: path like 'bpm' or 'tracks.2.steps.5'; value None deletes it."""
    d = pattern_dict(steps)
    *parents, last = path.split(".")
    node = d
    for p in parents:
        node = node[int(p)] if isinstance(node, list) else node[p]
    key = int(last) if isinstance(node, list) else last
    if value is DELETE:
        del node[key]
    else:
        node[key] = value
    return d


DELETE = object()


@pytest.mark.parametrize("path, value, message", [
    ("bpm", 29, "bpm: must be 30..300, got 29"),
    ("bpm", 301, "bpm: must be 30..300"),
    ("bpm", "120", "bpm: must be a number"),
    ("bpm", True, "bpm: must be a number"),
    ("bpm", float("nan"), "bpm: must be a number"),
    ("bpm", 10**400, "bpm: must be 30..300, got a huge integer"),
    ("tracks.2.steps.5", 10**400, "tracks[2].steps[5]: velocity must be 0..127, got a huge integer"),
    ("tracks.2.note", -(10**400), "tracks[2].note: must be an integer 0..127, got a huge integer"),
    ("bpm", DELETE, "bpm: missing"),
    ("swing", 0.49, "swing: must be 0.5..0.75"),
    ("swing", 0.8, "swing: must be 0.5..0.75"),
    ("swing", None, "swing: must be a number"),
    ("steps", 24, "steps: must be 16, 32 or 64"),
    ("steps", 16.0, "steps: must be 16, 32 or 64"),
    ("steps", DELETE, "steps: missing"),
    ("tracks", {}, "tracks: expected a list"),
    ("tracks", DELETE, "tracks: expected a list"),
    ("tracks.2", [1, 2], "tracks[2]: expected an object"),
    ("tracks.2.note", 128, "tracks[2].note: must be an integer 0..127, got 128"),
    ("tracks.2.note", -1, "tracks[2].note: must be an integer 0..127"),
    ("tracks.2.note", 42.0, "tracks[2].note: must be an integer"),
    ("tracks.2.note", DELETE, "tracks[2].note: missing"),
    ("tracks.2.note", 36, "tracks[2].note: note 36 is already used by tracks[0]"),
    ("tracks.2.name", 5, "tracks[2].name: must be a string"),
    ("tracks.2.name", "x" * 65, "tracks[2].name: at most 64 characters"),
    ("tracks.2.name", "hat\nsnare", "tracks[2].name: must hold printable characters"),
    ("tracks.2.steps", "x" * 16, "tracks[2].steps: expected a list"),
    ("tracks.2.steps", [0] * 15, "tracks[2].steps: expected 16 velocities"),
    ("tracks.2.steps", [0] * 17, "tracks[2].steps: expected 16 velocities"),
    ("tracks.2.steps.5", 300, "tracks[2].steps[5]: velocity must be 0..127, got 300"),
    ("tracks.2.steps.5", -1, "tracks[2].steps[5]: velocity must be 0..127, got -1"),
    ("tracks.2.steps.5", 1.5, "tracks[2].steps[5]: velocity must be an integer"),
    ("tracks.2.steps.5", None, "tracks[2].steps[5]: velocity must be an integer"),
    ("tracks.2.steps.5", False, "tracks[2].steps[5]: velocity must be an integer"),
])
def test_validation_errors_name_the_field(path, value, message):
    with pytest.raises(PatternError) as e:
        Pattern.from_dict(broken(path, value))
    assert message in str(e.value)


def test_integers_too_long_to_print():
    """Python refuses str() of an int over 4300 digits; the error message must not trip on it."""
    for path in ("bpm", "tracks.2.note", "tracks.2.steps.5"):
        with pytest.raises(PatternError, match="a huge integer"):
            Pattern.from_dict(broken(path, 10**5000))


def test_validation_other_errors():
    with pytest.raises(PatternError, match="pattern: expected an object"):
        Pattern.from_dict([1, 2])
    d = pattern_dict()
    d["tracks"] = [{"name": f"t{i}", "note": i, "steps": [0] * 16} for i in range(17)]
    with pytest.raises(PatternError, match="tracks: at most 16 tracks, got 17"):
        Pattern.from_dict(d)
    assert issubclass(PatternError, ValueError)


def test_defaults_and_extra_keys():
    d = pattern_dict()
    del d["swing"]
    del d["tracks"][0]["name"]
    d["extra"] = "ignored"
    p = Pattern.from_dict(d)
    assert p.swing == 0.5 and p.tracks[0].name == "kick"
    assert Pattern.from_dict(p.to_dict()) == p
    empty = Pattern.from_dict({"bpm": 120, "steps": 16, "tracks": []})
    assert onsets(pattern_to_midi(empty)) == []


# ----------------------------------------------------------------------------------------------- properties


@st.composite
def valid_patterns(draw) -> dict:
    steps = draw(st.sampled_from([16, 32, 64]))
    notes = draw(st.lists(st.integers(0, 127), min_size=0, max_size=16, unique=True))
    names = st.text(st.characters(codec="utf-8", exclude_categories=("C", "Z")), max_size=64)
    return {
        "bpm": draw(st.one_of(st.integers(30, 300), st.floats(30, 300).map(lambda b: round(b, 2)))),
        "swing": draw(st.floats(0.5, 0.75).map(lambda s: round(s, 3))),
        "steps": steps,
        "tracks": [{"name": draw(names), "note": n,
                    "steps": draw(st.lists(st.integers(0, 127), min_size=steps, max_size=steps))} for n in notes],
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_patterns(), st.booleans())
def test_any_valid_pattern_round_trips(d, straight):
    p = Pattern.from_dict(d)
    data = pattern_to_midi(p, straight=straight)
    back = midi_to_pattern(data)
    assert back.bpm == pytest.approx(p.bpm, abs=0.01)
    assert back.swing == (0.5 if straight else p.swing)
    assert back.steps == p.steps
    assert [(t.name, t.note, t.steps) for t in back.tracks] == [(t.name, t.note, t.steps) for t in p.tracks]
    # Onsets are exactly where the swing formula puts them.
    swing = 0.5 if straight else p.swing
    tick = [240 * (s // 2) + (round(240 * swing) if s % 2 else 0) for s in range(p.steps)]
    want = sorted((tick[s], t.note, v) for t in p.tracks for s, v in enumerate(t.steps) if v)
    assert onsets(data) == want


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | st.integers() | st.sampled_from([10**400, -(10**400)])
    | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=6), children, max_size=5),
    max_leaves=30,
)


@st.composite
def mutated_patterns(draw) -> object:
    """Mostly-valid patterns with one random part replaced by random JSON, plus wholly random JSON."""
    if draw(st.booleans()):
        return draw(json_values)
    d = draw(valid_patterns())
    paths = [("bpm",), ("swing",), ("steps",), ("tracks",)]
    for i, t in enumerate(d["tracks"]):
        paths += [("tracks", i), ("tracks", i, "name"), ("tracks", i, "note"), ("tracks", i, "steps")]
        paths += [("tracks", i, "steps", j) for j in range(0, len(t["steps"]), 7)]
    path = draw(st.sampled_from(paths))
    node = d
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = draw(json_values)
    return d


@settings(max_examples=200, deadline=None)
@given(mutated_patterns())
def test_random_input_validates_or_raises_pattern_error(d):
    original = copy.deepcopy(d)
    try:
        p = Pattern.from_dict(d)
    except PatternError as e:
        assert str(e).split(":")[0]  # names a field
        return
    assert d == original  # from_dict does not modify its input
    midi_to_pattern(pattern_to_midi(p))


# ----------------------------------------------------------------------------------------------- controller


class ListInput(mido.ports.BaseInput):
    """A fake controller: a plain BaseInput subclass, as a test of a third-party port would write."""

    def __init__(self, messages):
        self._pending = list(messages)
        super().__init__("fake controller")

    def _receive(self, block=True):
        return self._pending.pop(0) if self._pending else None


def test_relay_turns_notes_into_dicts():
    msgs = [
        mido.Message("note_on", channel=0, note=36, velocity=100),
        mido.Message("clock"),
        mido.Message("control_change", channel=0, control=1, value=5),
        mido.Message("note_on", channel=9, note=38, velocity=0),  # running-status note-off
        mido.Message("note_off", channel=2, note=42, velocity=64),
        mido.Message("sysex", data=[1, 2, 3]),
    ]
    relay = MidiRelay(ListInput(msgs))
    assert relay.name == "fake controller"
    assert list(relay.iter_pending()) == [
        {"type": "note_on", "note": 36, "velocity": 100, "channel": 0},
        {"type": "note_off", "note": 38, "velocity": 0, "channel": 9},
        {"type": "note_off", "note": 42, "velocity": 64, "channel": 2},
    ]
    assert relay.poll() is None
    assert relay.receive(timeout=0.01) is None
    relay.close()
    assert relay.receive(timeout=None) is None  # a closed port never hangs the caller


def test_relay_receive_from_another_thread():
    port = QueueInput()
    with MidiRelay(port) as relay:
        timer = threading.Timer(0.05, port.feed, [mido.Message("note_on", note=40, velocity=7, channel=3)])
        timer.start()
        event = relay.receive(timeout=5)
        timer.join()
    assert event == {"type": "note_on", "note": 40, "velocity": 7, "channel": 3}
    assert port.closed


def test_relay_needs_an_input_port():
    with pytest.raises(TypeError, match="mido input port"):
        MidiRelay(object())  # type: ignore[arg-type]


def test_open_without_midi_system_is_a_clear_error():
    """On this machine there is no python-rtmidi or no ALSA sequencer, or at least no port by this name."""
    with pytest.raises(MidiUnavailable) as e:
        MidiRelay.open("drumgen-test-no-such-port")
    assert "rtmidi" in str(e.value) or "MIDI" in str(e.value)
