"""Patterns from clients: any JSON value given to Pattern.from_dict gives a PatternError or a pattern that plays,
writes a MIDI file and reads back; never another exception."""

from __future__ import annotations

import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drumgen.io import midi
from drumgen.pattern import MAX_TRACKS, Pattern, PatternError

FUZZ = settings(max_examples=200, deadline=1000, suppress_health_check=[HealthCheck.too_slow], derandomize=True)

scalars = (st.none() | st.booleans() | st.integers() | st.integers(-(10**30), 10**30) | st.floats()
           | st.text(max_size=80) | st.sampled_from([16, 32, 64, 0, 127, 128, -1, 0.5, 0.75, 120, 1e308, "16"]))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=6)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=6), max_leaves=40)
KEYS = ["bpm", "swing", "steps", "tracks", "name", "note"]


@st.composite
def near_valid(draw):
    """A valid pattern dict with a few fields replaced by arbitrary JSON values: reaches the deep checks."""
    steps = draw(st.sampled_from([16, 32, 64]))
    notes = draw(st.lists(st.integers(0, 127), unique=True, max_size=17))
    d = {"bpm": draw(st.floats(20, 300)), "swing": draw(st.floats(0.5, 0.75)), "steps": steps,
         "tracks": [{"name": draw(st.text(max_size=40)), "note": n,
                     "steps": draw(st.lists(st.integers(0, 127), min_size=steps, max_size=steps))} for n in notes]}
    for _ in range(draw(st.integers(0, 3))):
        value = draw(json_values)
        tracks = d["tracks"] if isinstance(d["tracks"], list) else []
        tracks = [t for t in tracks if isinstance(t, dict)]
        if tracks and draw(st.booleans()):
            t = tracks[draw(st.integers(0, len(tracks) - 1))]
            if draw(st.booleans()) and isinstance(t.get("steps"), list) and t["steps"]:
                t["steps"][draw(st.integers(0, len(t["steps"]) - 1))] = value
            else:
                t[draw(st.sampled_from(["name", "note", "steps", "extra"]))] = value
        else:
            d[draw(st.sampled_from(KEYS))] = value
    return d


def check(d) -> None:
    try:
        p = Pattern.from_dict(d)
    except PatternError as e:
        assert str(e) and len(str(e)) < 400, "a PatternError says briefly what is wrong"
        return
    assert 20 <= p.bpm <= 300 and math.isfinite(p.bpm) and p.steps in (16, 32, 64)
    assert len({t.note for t in p.tracks}) == len(p.tracks) <= MAX_TRACKS
    assert all(len(t.steps) == p.steps and all(0 <= v <= 127 for v in t.steps) for t in p.tracks)
    assert Pattern.from_dict(json.loads(json.dumps(p.to_dict()))) == p  # the JSON form round-trips
    data = midi.pattern_to_midi(p)
    if any(any(t.steps) for t in p.tracks):
        back = midi.midi_to_pattern(data)
        assert back.steps == p.steps and abs(back.bpm - p.bpm) < 0.5


@FUZZ
@given(json_values)
def test_any_json_value(value):
    check(value)


@FUZZ
@given(st.dictionaries(st.sampled_from(KEYS + ["x"]), json_values, max_size=6))
def test_any_object_with_pattern_keys(d):
    check(d)


@FUZZ
@given(near_valid())
def test_valid_patterns_with_a_few_fields_spoiled(d):
    check(d)


def test_hostile_values_named_in_the_error():
    cases = [
        ({"bpm": 10**5000, "steps": 16, "tracks": []}, "bpm"),
        ({"bpm": float("nan"), "steps": 16, "tracks": []}, "bpm"),
        ({"bpm": 120, "steps": 16, "tracks": [{"note": 36, "steps": [10**400] * 16}]}, "tracks[0].steps[0]"),
        ({"bpm": 120, "steps": 16, "tracks": [{"note": 36, "name": "a\nb", "steps": [0] * 16}]}, "name"),
        ({"bpm": 120, "steps": 16, "tracks": [{"note": 36, "steps": [0] * 16}] * 2}, "already used"),
        ({"bpm": 120, "steps": 10**6, "tracks": []}, "steps"),
        ({"bpm": 120, "steps": 16, "tracks": [{}] * 10_000}, "at most"),
        ({"bpm": 120, "steps": 16, "tracks": [{"note": 36, "steps": [0] * 10**6}]}, "expected 16"),
    ]
    for d, words in cases:
        try:
            Pattern.from_dict(d)
        except PatternError as e:
            assert words in str(e), (words, str(e))
        else:
            raise AssertionError(f"accepted {str(d)[:60]}")
