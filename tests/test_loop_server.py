"""POST /api/loop on a real server: a loop comes back as its tempo, pattern and pads (upload Sounds), and the
synthesized grooves of tests/test_loop.py meet the same marks through it (tempo, onsets, steps, classes,
velocities, kick and hat on one step); bad loops are 422 with a message."""

from __future__ import annotations

from types import SimpleNamespace

import httpx
import numpy as np
import pytest

from drumgen.dsp import synth
from drumgen.io import audio
from drumgen.pattern import Pattern
from tests.test_loop import CASES, SR, groove, match


@pytest.fixture(scope="module")
def client(server_factory):
    srv = server_factory(labels=("kick", "snare"))
    with httpx.Client(base_url=srv.url, timeout=120) as c:
        yield c


def _post(client, x, **data):
    return client.post("/api/loop", files={"file": ("My Beat.wav", audio.wav_bytes(x, SR))},
                       data={k: str(v) for k, v in data.items()})


def test_loop_becomes_pads_and_a_pattern(client):
    x, truth = groove(100, 0.58, 2)
    r = _post(client, x)
    assert r.status_code == 200, r.text
    body = r.json()
    assert abs(body["bpm"] - 100) <= 1 and body["bars"] == 2
    Pattern.from_dict(body["pattern"])
    assert {p["label"] for p in body["pads"]} >= {"kick", "snare", "hihat"}
    for p in body["pads"]:
        assert p["sound"]["origin"] == "upload" and p["sound"]["name"].startswith("My Beat")
        assert client.get(p["sound"]["url"]).status_code == 200
    times = np.array([o["time"] for o in body["onsets"]])
    near = [np.min(np.abs(times - t)) <= 0.01 for t, *_ in truth]
    assert np.mean(near) >= 0.95
    known = _post(client, x, bpm=100, bars=2, steps=32)
    assert known.status_code == 200 and known.json()["bpm"] == 100 and known.json()["pattern"]["steps"] == 64


@pytest.fixture(scope="module")
def served(client):
    """Each groove of tests/test_loop.py through /api/loop -> {bpm: (body, onsets as test_loop.match reads
    them, truth, swing)}."""
    out = {}
    for bpm, swing, seed in CASES:
        x, truth = groove(bpm, swing, seed)
        r = _post(client, x)
        assert r.status_code == 200, r.text
        body = r.json()
        found = [SimpleNamespace(time=o["time"], label=body["pads"][o["pad"]]["label"], step=o["step"],
                                 velocity=o["velocity"]) for o in body["onsets"]]
        out[bpm] = (body, SimpleNamespace(onsets=found), truth, swing)
    return out


@pytest.mark.parametrize("bpm", [c[0] for c in CASES])
def test_grooves_through_the_api(served, bpm):
    body, r, truth, swing = served[bpm]
    assert abs(body["bpm"] - bpm) <= 1.0, body["bpm"]
    pairs, f1 = match(r, truth)
    assert f1 >= 0.95, f1
    assert all(o.step == t[3] for t, o in pairs), [(t, o.step) for t, o in pairs if o.step != t[3]]
    assert sum(o.label == t[1] for t, o in pairs) >= 0.9 * len(truth)
    assert abs(body["swing"] - swing) < 0.04
    for c in ("kick", "snare", "hihat"):
        got = [(t[2], o.velocity) for t, o in pairs if t[1] == c and o.label == c]
        loud = [v for g, v in got if g == max(g for g, _ in got)]
        soft = [v for g, v in got if g == min(g for g, _ in got)]
        assert min(loud) > max(soft), (c, got)


def test_kick_and_hat_together_through_the_api(served):
    both = found = 0
    for _, r, truth, _ in served.values():
        pairs, _ = match(r, truth)
        for s in {t[3] for t in truth if t[1] == "kick"}:
            both += 1
            found += {"kick", "hihat"} <= {o.label for t, o in pairs if t[3] == s}
    assert found >= 0.8 * both, (found, both)


@pytest.mark.parametrize("case", ["silence", "single", "long", "bpm40", "bpm250", "not-audio"])
def test_bad_loops_are_422(client, case):
    x = {"silence": np.zeros(SR * 2, np.float32), "single": np.concatenate([synth.hit("kick", 1), np.zeros(SR)]),
         "long": np.zeros(SR * 70, np.float32)}.get(case, groove(120, 0.5, 1)[0])
    data = {"bpm40": {"bpm": "40"}, "bpm250": {"bpm": "250"}}.get(case, {})
    content = b"not audio" if case == "not-audio" else audio.wav_bytes(np.asarray(x, np.float32), SR)
    r = client.post("/api/loop", files={"file": ("x.wav", content)}, data=data)
    assert r.status_code == 422 and isinstance(r.json()["detail"], str) and r.json()["detail"], r.text
