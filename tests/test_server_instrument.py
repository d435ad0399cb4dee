"""What the drum machine relies on from the server, over real HTTP: one pad table, uploads that come back as
themselves, sounds named by what was asked for, training progress for time-limited runs, and users' models kept
out of the shipped checkpoints folder."""

from __future__ import annotations

import base64
import io
import json
import shutil

import httpx
import pytest
import soundfile as sf
from websockets.sync.client import connect

from drumgen import pads
from drumgen.data.labels import CLASSES
from drumgen.dsp import synth
from drumgen.io import audio
from drumgen.pattern import default_pattern


@pytest.fixture(scope="module")
def srv(server_factory):
    return server_factory(labels=("kick", "snare"), env={"DRUMGEN_MAX_N": "6"})  # typed settings from the env


@pytest.fixture(scope="module")
def client(srv):
    with httpx.Client(base_url=srv.url, timeout=30) as c:
        yield c


def test_one_pad_table_for_browser_midi_and_exports(client):
    table = client.get("/api/pads").json()["pads"]
    assert table == pads.table() and len(table) == pads.COUNT == 8
    # GM notes: kick 36, snare 38, closed hat 42 ...; the default pattern plays the same notes in the same order
    assert [p["note"] for p in table][:3] == [36, 38, 42]
    assert [t.note for t in default_pattern().tracks] == [p["note"] for p in table]
    assert len({p["note"] for p in table}) == 8


def test_upload_is_the_users_own_sound(client):
    x = synth.hit("kick", 3)
    r = client.post("/api/uploads", files={"file": ("Kicks/Ludwig Kick 02.wav", audio.wav_bytes(x, synth.SAMPLE_RATE))})
    assert r.status_code == 200, r.text
    s = r.json()["sound"]
    assert s["name"] == "Ludwig Kick 02" and s["origin"] == "upload" and s["model"] is None and s["latent"] == []
    back, rate = sf.read(io.BytesIO(client.get(s["url"]).content))
    assert rate == 44100 and abs(len(back) / rate - len(x) / synth.SAMPLE_RATE) < 0.01
    # the same audio is the same sound; other audio is another
    again = client.post("/api/uploads", files={"file": ("other name.wav", audio.wav_bytes(x, synth.SAMPLE_RATE))})
    assert again.json()["sound"]["id"] == s["id"]
    other = client.post("/api/uploads", files={"file": ("s.wav", audio.wav_bytes(synth.hit("snare", 1),
                                                                                 synth.SAMPLE_RATE))})
    assert other.json()["sound"]["id"] != s["id"]
    bad = client.post("/api/uploads", files={"file": ("x.wav", b"not audio")})
    assert bad.status_code == 422 and bad.json()["detail"]


def test_sounds_are_named_by_the_asked_class(client):
    model = next(m for m in client.get("/api/models").json() if m["conditional"])
    r = client.post("/api/sample", json={"model": model["name"], "n": 4, "seed": 3,
                                         "labels": ["kick", "snare", "kick", "snare"]})
    for s, asked in zip(r.json()["sounds"], ["kick", "snare", "kick", "snare"], strict=True):
        assert s["label"] == asked and s["name"].startswith(asked + " "), s  # the tagger's opinion is only `heard`


def test_time_limited_training_reports_its_fraction(client):
    files = [("files", (f"{c}/{c}{i}.wav", audio.wav_bytes(synth.hit(c, i), synth.SAMPLE_RATE), "audio/wav"))
             for c in ("kick", "snare") for i in range(3)]
    job = client.post("/api/train", files=files, data={"kind": "autoencoder", "minutes": "0.05", "preset": "tiny",
                                                       "name": "frac"}).json()["job"]
    url = client.base_url.copy_with(scheme="ws", path=f"/ws/jobs/{job['id']}")
    progress = []
    with connect(str(url), additional_headers={"Origin": str(client.base_url)}, open_timeout=10) as ws:
        while True:
            m = json.loads(ws.recv(timeout=120))
            if m["type"] == "progress":
                progress.append(m)
            if m["type"] in ("done", "error"):
                break
    assert m["type"] == "done", m
    assert progress and all(p["total"] is None and p["budget"] == pytest.approx(3.0) for p in progress)
    fractions = [p["fraction"] for p in progress]
    assert fractions == sorted(fractions) and 0 < fractions[-1] <= 1


def test_users_models_live_beside_the_defaults(srv, client, tmp_path):
    """A model in the user's models folder is served with the defaults; the shipped folder holds none of it."""
    models = client.get("/api/models").json()
    trained = [m["name"] for m in models if m["name"] == "frac"]
    assert trained and (srv.models_dir / "frac" / "model.safetensors").is_file()
    assert not (srv.checkpoints / "frac").exists()
    # it survives a restart: a new server on the same folders serves it again
    from drumgen.testing import ServerProcess

    again = ServerProcess(srv.checkpoints, env={"DRUMGEN_MODELS_DIR": str(srv.models_dir),
                                                "DRUMGEN_JOBS_DIR": str(tmp_path / "jobs")})
    try:
        names = [m["name"] for m in httpx.get(f"{again.url}/api/models", timeout=30).json()]
        assert "frac" in names and set(names) >= {m["name"] for m in models}
    finally:
        again.stop()
    shutil.rmtree(srv.models_dir / "frac")


def test_kit_export_is_what_the_user_hears(client):
    """Knobs, mute and straight go through HTTP into the kit (drumgen.kit renders them; tests/test_kit*.py check
    the files in Hydrogen, sfizz and fluidsynth)."""
    import zipfile

    import mido

    model = client.get("/api/models").json()[0]["name"]
    sounds = client.post("/api/sample", json={"model": model, "n": 2, "seed": 1}).json()["sounds"]
    pads_in = [{"sound": sounds[0]["id"], "name": "kick", "note": 36, "tune": -12, "decay": 0.5, "volume": 0.5},
               {"sound": sounds[1]["id"], "name": "snare", "note": 38, "mute": True}]
    pattern = {"bpm": 100, "swing": 0.6, "steps": 16,
               "tracks": [{"name": "kick", "note": 36, "steps": [100, 0, 0, 0] * 4},
                          {"name": "snare", "note": 38, "steps": [0, 0, 0, 0, 100, 0, 0, 0] * 2}]}

    def export(**extra):
        r = client.post("/api/export/kit", json={"name": "Heard", "pads": pads_in, "pattern": pattern, **extra})
        assert r.status_code == 200, r.text
        return zipfile.ZipFile(io.BytesIO(r.content))

    z = export()
    names = set(z.namelist())
    assert {"heard/heard.mid", "heard/heard_straight.mid", "heard/drumkit.xml", "heard/heard.sfz"} <= names
    notes = {m.note for m in mido.MidiFile(file=io.BytesIO(z.read("heard/heard.mid"))).play() if m.type == "note_on"}
    assert notes == {36}  # the muted snare's notes are left out, its sound stays in the kit
    assert any(n.startswith("heard/038_") for n in names)
    assert "volume=-6.0" in z.read("heard/heard.sfz").decode()
    straight = export(straight=True)
    assert "heard/heard_straight.mid" not in straight.namelist()
    bad = client.post("/api/export/kit", json={"name": "x", "pads": [{**pads_in[0], "tune": 99}]})
    assert bad.status_code == 422 and "tune" in bad.json()["detail"]


def test_settings_limits_are_read(client):
    model = client.get("/api/models").json()[0]["name"]
    r = client.post("/api/sample", json={"model": model, "n": 7})
    assert r.status_code == 422 and "at most 6" in r.json()["detail"]
    assert client.post("/api/sample", json={"model": model, "n": 6}).status_code == 200


def test_a_new_kit_comes_before_the_taggers_hint_which_follows_on_request(server_factory):
    srv = server_factory(labels=("kick", "snare"), tagger=True)
    with httpx.Client(base_url=srv.url, timeout=30) as c:
        model = next(m["name"] for m in c.get("/api/models").json() if m["kind"] == "autoencoder")
        sounds = c.post("/api/sample", json={"model": model, "n": 3, "seed": 5,
                                             "labels": ["kick", "snare", "kick"]}).json()["sounds"]
        assert [s["label"] for s in sounds] == ["kick", "snare", "kick"]
        assert all(s["heard"] is None for s in sounds), "the tagger is off a conditional model's kit path"
        for s in sounds:  # the WAVs were made with the decode: served at once
            r = c.get(s["url"])
            assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
        ids = [s["id"] for s in sounds]
        heard = c.post("/api/heard", json={"ids": ids}).json()["heard"]
        assert set(heard) == set(ids) and all(h in CLASSES for h in heard.values()), heard
        # the hint stays with the sound: the same sound asked for again, and its JSON, carry it
        again = c.post("/api/sample", json={"model": model, "n": 3, "seed": 5,
                                            "labels": ["kick", "snare", "kick"]}).json()["sounds"]
        assert [s["heard"] for s in again] == [heard[i] for i in ids]
        assert c.get(f"/api/sounds/{ids[0]}").json()["heard"] == heard[ids[0]]
        # a dropped sample's re-synthesis too plays before the tagger listens
        r = c.post("/api/resynthesize", data={"model": model},
                   files={"file": ("hit.wav", audio.wav_bytes(synth.hit("snare", 2), synth.SAMPLE_RATE))})
        assert r.status_code == 200 and r.json()["sound"]["heard"] is None, r.text
        rid = r.json()["sound"]["id"]
        assert c.post("/api/heard", json={"ids": [rid]}).json()["heard"][rid] in CLASSES
        # mistakes: an id never made here is a 404, a malformed one a 422, each with a message
        gone = c.post("/api/heard", json={"ids": ["0123456789abcdef"]})
        assert gone.status_code == 404 and "unknown sound" in gone.json()["detail"]
        bad = c.post("/api/heard", json={"ids": ["../etc/passwd"]})
        assert bad.status_code == 422 and bad.json()["detail"]


def test_a_kit_and_its_wavs_in_one_round_trip(client):
    info = client.get("/api/models").json()[0]
    model = info["name"]
    sounds = client.post("/api/sample", json={"model": model, "n": 2, "seed": 9, "audio": True}).json()["sounds"]
    for s in sounds:
        inline = base64.b64decode(s["wav"])
        assert inline == client.get(s["url"]).content  # the same file the url serves
        x, rate = sf.read(io.BytesIO(inline))
        assert rate == info["sample_rate"] and x.size > 0
    plain = client.post("/api/sample", json={"model": model, "n": 2, "seed": 9}).json()["sounds"]
    assert [s["id"] for s in plain] == [s["id"] for s in sounds] and all(s["wav"] is None for s in plain)


def test_a_resynthesis_and_its_original_in_one_round_trip(client):
    model = next(m["name"] for m in client.get("/api/models").json() if m["can_encode"])
    hit = audio.wav_bytes(synth.hit("tom", 3), synth.SAMPLE_RATE)
    r = client.post("/api/resynthesize", data={"model": model, "audio": "true"}, files={"file": ("tom.wav", hit)})
    assert r.status_code == 200, r.text
    for s in r.json().values():
        assert base64.b64decode(s["wav"]) == client.get(s["url"]).content
    plain = client.post("/api/resynthesize", data={"model": model}, files={"file": ("tom.wav", hit)}).json()
    assert plain["sound"]["wav"] is None and plain["sound"]["id"] == r.json()["sound"]["id"]
