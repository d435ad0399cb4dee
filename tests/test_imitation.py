"""drumgen.engine.imitation and POST /api/loop/drums: a hit that imitates a drum (a beatboxed "b", "k", "ts") ->
the generated drum of its class that sounds most like it."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from drumgen.dsp import synth
from drumgen.engine import Engine, EngineError
from drumgen.engine.imitation import drums_for
from drumgen.io import audio
from drumgen.testing import make_tiny_checkpoints
from tests.test_loop import SR, groove

LABELS = ("kick", "snare", "hihat")


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> Engine:
    folder = tmp_path_factory.mktemp("tiny")
    make_tiny_checkpoints(folder, labels=LABELS)
    return Engine(folder)


@pytest.mark.parametrize("model", ["autoencoder-tiny", "wavegan-tiny"])
def test_the_nearest_candidate_of_the_class_wins(engine, model):
    pool = engine.sample(model, 8, seed=40, label="snare")
    target = pool[5]
    chosen, distances = drums_for(engine, model, target.audio, target.sample_rate, "snare", candidates=8, seed=40)
    assert chosen.seed == target.seed and chosen.label == "snare"  # the imitation is that very candidate
    assert distances.shape == (8,) and distances[5] == pytest.approx(distances.min()) and distances[5] < 1e-3
    again, _ = drums_for(engine, model, target.audio, target.sample_rate, "snare", candidates=8, seed=40)
    assert np.array_equal(again.audio, chosen.audio)


def test_any_imitation_gets_a_drum_of_the_asked_class(engine):
    voice = synth.hit("hihat", 3)  # stands in for a "ts"
    chosen, distances = drums_for(engine, "autoencoder-tiny", voice, synth.SAMPLE_RATE, "hihat", candidates=6)
    assert chosen.label == "hihat" and chosen.model == "autoencoder-tiny" and len(distances) == 6


@pytest.mark.parametrize("x, candidates, match", [
    (np.zeros(1000, np.float32), 4, "silent"), (np.full(100, np.nan, np.float32), 4, "NaN"),
    (np.ones(100, np.float32), 0, "candidates"), (np.ones(100, np.float32), 65, "candidates")])
def test_bad_imitations_are_clear_errors(engine, x, candidates, match):
    with pytest.raises(EngineError, match=match):
        drums_for(engine, "autoencoder-tiny", x, 22050, "kick", candidates=candidates)


def test_loop_drums_over_http(server_factory):
    srv = server_factory(labels=LABELS)
    x, _ = groove(110, 0.5, 3)
    with httpx.Client(base_url=srv.url, timeout=120) as client:
        r = client.post("/api/loop", files={"file": ("beatbox.wav", audio.wav_bytes(x, SR))})
        assert r.status_code == 200, r.text
        pads = [p for p in r.json()["pads"] if p["label"] in LABELS]
        body = {"sounds": [p["sound"]["id"] for p in pads], "labels": [p["label"] for p in pads],
                "model": "autoencoder-tiny", "candidates": 4, "seed": 9}
        made = client.post("/api/loop/drums", json=body)
        assert made.status_code == 200, made.text
        sounds = made.json()["sounds"]
        assert [s["label"] for s in sounds] == body["labels"]
        assert all(s["model"] == "autoencoder-tiny" and client.get(s["url"]).status_code == 200 for s in sounds)
        assert client.post("/api/loop/drums", json=body).json()["sounds"] == sounds  # same seed, same drums
        bad = client.post("/api/loop/drums", json={**body, "labels": body["labels"][:1] + body["labels"]})
        assert bad.status_code == 422 and "one class" in bad.json()["detail"]
        gone = client.post("/api/loop/drums", json={**body, "sounds": ["f" * 32] * len(pads)})
        assert gone.status_code in (404, 410) and gone.json()["detail"]
        unknown = client.post("/api/loop/drums", json={**body, "model": "nope"})
        assert unknown.status_code == 404 and "nope" in unknown.json()["detail"]
