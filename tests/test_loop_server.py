"""POST /api/loop on a real server: a loop comes back as its tempo, pattern and pads (upload Sounds); bad loops
are 422 with a message."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from drumgen.dsp import synth
from drumgen.io import audio
from drumgen.pattern import Pattern
from tests.test_loop import SR, groove


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


@pytest.mark.parametrize("case", ["silence", "single", "long", "bpm40", "bpm250", "not-audio"])
def test_bad_loops_are_422(client, case):
    x = {"silence": np.zeros(SR * 2, np.float32), "single": np.concatenate([synth.hit("kick", 1), np.zeros(SR)]),
         "long": np.zeros(SR * 70, np.float32)}.get(case, groove(120, 0.5, 1)[0])
    data = {"bpm40": {"bpm": "40"}, "bpm250": {"bpm": "250"}}.get(case, {})
    content = b"not audio" if case == "not-audio" else audio.wav_bytes(np.asarray(x, np.float32), SR)
    r = client.post("/api/loop", files={"file": ("x.wav", content)}, data=data)
    assert r.status_code == 422 and isinstance(r.json()["detail"], str) and r.json()["detail"], r.text
