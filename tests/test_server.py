"""The drumgen server over real HTTP and WebSockets: a `drumgen serve` subprocess on 127.0.0.1 over tiny
untrained checkpoints. Every route, the errors users can cause, the safety checks and the load bounds."""

from __future__ import annotations

import asyncio
import io
import json
import socket
import threading
import time
import zipfile

import httpx
import mido
import numpy as np
import pytest
import soundfile as sf
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from drumgen.dsp import synth
from drumgen.io import audio, midi
from drumgen.io.midi_input import MidiRelay
from drumgen.testing import QueueInput


@pytest.fixture(scope="module")
def srv(server_factory):
    # a batch window wide enough that concurrent requests of test_batching surely meet
    # class-conditional tiny models here; the jobs tests' server has unconditional ones
    return server_factory(env={"DRUMGEN_BATCH_WINDOW_MS": "50"}, labels=("kick", "snare"))


@pytest.fixture(scope="module")
def client(srv):
    with httpx.Client(base_url=srv.url, timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def all_models(client) -> list[str]:
    return [m["name"] for m in client.get("/api/models").json()]


@pytest.fixture(scope="module")
def model(all_models):
    return all_models[0]


def sample(client, model, n=2, seed=7, **kw):
    r = client.post("/api/sample", json={"model": model, "n": n, "seed": seed, **kw})
    assert r.status_code == 200, r.text
    return r.json()["sounds"]


def wav(client, sound) -> tuple[np.ndarray, int]:
    r = client.get(sound["url"])
    assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
    x, rate = sf.read(io.BytesIO(r.content))
    return x, rate


def test_health_models_docs(client):
    health = client.get("/api/health").json()
    assert health["status"] == "ok" and health["models"] >= 1
    models = client.get("/api/models").json()
    assert len(models) == health["models"]
    for m in models:
        assert {"name", "kind", "sample_rate", "labels", "conditional", "can_encode", "latent_size"} <= set(m)
    assert client.get("/docs").status_code == 200
    home = client.get("/", follow_redirects=True)
    assert home.status_code == 200 and "<html" in home.text.lower()  # the drum machine, or the API docs
    assert "/api/sample" in client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize("which", range(3))
def test_sample_sound_and_wav(client, all_models, which):
    if which >= len(all_models):
        pytest.skip("fewer models")
    model = all_models[which]
    sounds = sample(client, model, n=3, seed=11)
    assert len(sounds) == 3 and len({s["id"] for s in sounds}) == 3
    m = client.get(f"/api/models/{model}").json()
    for s in sounds:
        assert s["url"] == f"/api/sounds/{s['id']}.wav" and s["model"] == model
        assert len(s["latent"]) == m["latent_size"] and len(s["peak"]) == 64 and s["name"]
        assert s["duration"] == pytest.approx(m["slice_length"] / m["sample_rate"], rel=1e-3)
        x, rate = wav(client, s)
        assert rate == m["sample_rate"] and x.ndim == 1  # the model's own rate: the WAV holds what the model does
        assert len(x) == pytest.approx(s["duration"] * rate, abs=2)
        assert max(s["peak"]) == pytest.approx(np.abs(x).max(), abs=0.1)
        up, up_rate = sf.read(io.BytesIO(client.get(s["url"] + "?rate=44100").content))  # asked to resample
        assert up_rate == 44100 and len(up) == pytest.approx(s["duration"] * 44100, abs=2)
        assert client.get(f"/api/sounds/{s['id']}").json()["id"] == s["id"]
    # same seed, same sounds: sound i of a seed does not depend on n
    again = sample(client, model, n=1, seed=12)
    assert again[0]["id"] == sounds[1]["id"]
    assert m["conditional"] and set(m["labels"]) == {"kick", "snare"}
    assert {s["label"] for s in sounds} <= {"kick", "snare"}
    snares = sample(client, model, n=2, seed=12, label="snare")
    assert [s["label"] for s in snares] == ["snare", "snare"]
    # one class per sound (a drum kit's pads); null leaves the class to the seed
    r = client.post("/api/sample", json={"model": model, "n": 3, "seed": 12, "labels": ["snare", "kick", None]})
    assert r.status_code == 200, r.text
    mixed = r.json()["sounds"]
    assert [s["label"] for s in mixed[:2]] == ["snare", "kick"] and mixed[2]["label"] in {"kick", "snare"}
    assert mixed[0]["id"] == snares[0]["id"]  # the same seed and class give the same sound either way


@pytest.mark.parametrize("which", range(3))
def test_decode_recreates_a_saved_sound(client, all_models, which):
    if which >= len(all_models):
        pytest.skip("fewer models")
    model = all_models[which]
    s = sample(client, model, n=1, seed=21)[0]
    r = client.post("/api/decode", json={"model": model, "latent": s["latent"], "label": s["label"]})
    assert r.status_code == 200, r.text
    d = r.json()["sound"]
    assert d["id"] == s["id"]
    assert np.array_equal(wav(client, d)[0], wav(client, s)[0])
    bad = client.post("/api/decode", json={"model": model, "latent": [0.1, 0.2]})
    assert bad.status_code == 422 and "latent" in bad.json()["detail"]


@pytest.mark.parametrize("which", range(3))
def test_interpolate_and_mix4(client, all_models, which):
    if which >= len(all_models):
        pytest.skip("fewer models")
    model = all_models[which]
    # one label: the model's own latent space (sounds of different classes would meet in the autoencoder's)
    a, b, c, d = sample(client, model, n=4, seed=31, label="kick")
    r = client.post("/api/interpolate", json={"a": a["id"], "b": b["id"], "t": 0.0})
    assert r.status_code == 200, r.text
    assert np.allclose(r.json()["sound"]["latent"], a["latent"], atol=1e-5)
    mid = client.post("/api/interpolate", json={"a": a["id"], "b": b["id"], "t": 0.5}).json()["sound"]
    assert mid["id"] not in (a["id"], b["id"])
    assert wav(client, mid)[1] == client.get(f"/api/models/{model}").json()["sample_rate"]
    r = client.post("/api/mix4", json={"a": a["id"], "b": b["id"], "c": c["id"], "d": d["id"], "x": 1, "y": 1})
    assert r.status_code == 200, r.text
    assert np.allclose(r.json()["sound"]["latent"], d["latent"], atol=1e-4)
    for t in (-0.1, 1.5):
        bad = client.post("/api/interpolate", json={"a": a["id"], "b": b["id"], "t": t})
        assert bad.status_code == 422 and "t" in bad.json()["detail"]
    bad = client.post("/api/mix4", json={"a": a["id"], "b": b["id"], "c": c["id"], "d": d["id"], "x": 2, "y": 0})
    assert bad.status_code == 422
    # across models: both sounds go through the autoencoder
    other = next((m for m in all_models if m != model), None)
    if other is not None and any(m["can_encode"] for m in client.get("/api/models").json()):
        o = sample(client, other, n=1, seed=5)[0]
        r = client.post("/api/interpolate", json={"a": a["id"], "b": o["id"], "t": 0.5})
        assert r.status_code == 200, r.text
        assert wav(client, r.json()["sound"])[1] == r.json()["sound"]["sample_rate"]
    gone = client.post("/api/interpolate", json={"a": "0" * 16, "b": b["id"], "t": 0.5})
    assert gone.status_code == 404 and "/api/decode" in gone.json()["detail"]


def test_concurrent_samples_share_a_decode_call(srv, client, model):
    stats = client.get("/api/health").json()["stats"]

    async def burst():
        async with httpx.AsyncClient(base_url=srv.url, timeout=30) as ac:
            return await asyncio.gather(*(ac.post("/api/sample", json={"model": model, "n": 2, "seed": i})
                                          for i in range(6)))

    answers = asyncio.run(burst())
    assert all(r.status_code == 200 for r in answers)
    # each request still gets its own sounds, as if sampled alone
    assert [r.json()["sounds"][0]["seed"] for r in answers] == list(range(6))
    after = client.get("/api/health").json()["stats"]
    batches, requests = after["batches"] - stats["batches"], after["sampled"] - stats["sampled"]
    assert requests == 6 and batches < 6, (batches, requests)


def test_user_mistakes_are_4xx_with_a_message(client, model):
    cases = [
        ("post", "/api/sample", {"model": "nope", "n": 1}, 404),
        ("post", "/api/sample", {"model": model, "n": 0}, 422),
        ("post", "/api/sample", {"model": model, "n": 65}, 422),
        ("post", "/api/sample", {"n": 1}, 422),
        ("post", "/api/sample", {"model": model, "n": 1, "label": "cowbell"}, 422),
        ("post", "/api/sample", {"model": model, "n": 2, "labels": ["kick", "cowbell"]}, 422),
        ("post", "/api/sample", {"model": model, "n": 2, "labels": ["kick"]}, 422),
        ("post", "/api/sample", {"model": model, "n": 1, "labels": ["kick"], "label": "kick"}, 422),
        ("post", "/api/decode", {"model": model, "latent": [float("1e9")] * 8}, 422),
        ("get", "/api/sounds/0123456789abcdef.wav", None, 404),
        ("get", "/api/sounds/..%2F..%2Fetc%2Fpasswd", None, 404),
        ("get", "/api/models/nope", None, 404),
        ("get", "/api/jobs/000000000000", None, 404),
    ]
    for method, path, body, status in cases:
        r = client.request(method, path, json=body)
        assert r.status_code == status, (path, body, r.text)
        assert isinstance(r.json()["detail"], str) and r.json()["detail"]
    r = client.post("/api/sample", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422


def _audio_file(kind="snare", seconds=None) -> bytes:
    x = synth.hit(kind, 1)
    if seconds:
        x = np.resize(x, int(seconds * synth.SAMPLE_RATE))
    return audio.wav_bytes(x, synth.SAMPLE_RATE)


def test_resynthesize(client, all_models):
    """Through every model: an autoencoder encodes, a GAN inverts (drumgen.engine.inversion)."""
    for name in all_models:
        r = client.post("/api/resynthesize", data={"model": name},
                        files={"file": ("../../my kick.wav", _audio_file("kick"))})
        assert r.status_code == 200, (name, r.text)
        body = r.json()
        assert body["sound"]["model"] == name and body["sound"]["origin"] == "resynth"
        assert body["original"]["origin"] == "upload"
        # the user's own sample is named by its file and came from no model; its re-synthesis keeps the name
        assert body["original"]["name"] == "my kick" and body["original"]["model"] is None
        assert body["original"]["latent"] == [] and body["sound"]["name"] == "my kick"
        assert wav(client, body["sound"])[1] == client.get(f"/api/models/{name}").json()["sample_rate"]
        assert wav(client, body["original"])[1] == 44100


def test_bad_uploads(client, model):
    def post(data: bytes, name="hit.wav"):
        return client.post("/api/resynthesize", data={"model": model}, files={"file": (name, data)})

    for junk in (b"", b"RIFF\x00\x00\x00\x00WAVEfmt garbage", b"hello, I am text", _audio_file()[:60]):
        r = post(junk)
        assert 400 <= r.status_code < 500, r.text
        assert r.json()["detail"]
    too_long = post(_audio_file(seconds=12))  # the test server allows 10 s
    assert too_long.status_code == 422 and "limit" in too_long.json()["detail"]
    big = post(b"\0" * (21 << 20))
    assert big.status_code == 413
    # chunked (no Content-Length): the limit is enforced while the body streams in
    def chunks():
        for _ in range(30):
            yield b"x" * (1 << 20)
    r = client.post("/api/sample", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert client.get("/api/health").status_code == 200  # and the server is still there


def test_export_midi(client):
    pattern = {"bpm": 100, "swing": 0.66, "steps": 16,
               "tracks": [{"name": "kick", "note": 36, "steps": [127, 0, 0, 0, 0, 0, 0, 0, 90, 0, 0, 0, 0, 0, 0, 0]},
                          {"name": "hat", "note": 42, "steps": [0, 64] * 8}]}
    for straight in (False, True):
        r = client.post("/api/export/midi", params={"straight": straight}, json=pattern)
        assert r.status_code == 200 and r.headers["content-type"] == "audio/midi"
        f = mido.MidiFile(file=io.BytesIO(r.content))
        assert f.type == 1 and f.ticks_per_beat == 480
        hits, now = [], 0
        for msg in mido.merge_tracks(f.tracks):
            now += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                assert msg.channel == 9
                hits.append((now, msg.note, msg.velocity))
        expected = sorted((midi.step_tick(i, 0.5 if straight else 0.66), t["note"], v)
                          for t in pattern["tracks"] for i, v in enumerate(t["steps"]) if v)
        assert sorted(hits) == expected
    assert expected[1][0] == 120 or straight  # the second 16th of the hat is delayed with swing


def test_malformed_patterns_422(client):
    good = {"bpm": 120, "swing": 0.5, "steps": 16, "tracks": [{"name": "k", "note": 36, "steps": [100] * 16}]}
    bads = [{**good, "bpm": 5}, {**good, "steps": 17}, {**good, "swing": 0.9}, {**good, "tracks": "x"},
            {**good, "tracks": [{"name": "k", "note": 200, "steps": [0] * 16}]},
            {**good, "tracks": [{"name": "k", "note": 36, "steps": [300] * 16}]},
            {**good, "tracks": [{"name": "k", "note": 36, "steps": [1] * 3}]}, [], "pattern", {}]
    for bad in bads:
        r = client.post("/api/export/midi", json=bad)
        assert r.status_code == 422, (bad, r.text)
        assert isinstance(r.json()["detail"], str)


def test_export_kit(client, model):
    sounds = sample(client, model, n=3, seed=41)
    pads = [{"sound": s["id"], "name": n, "note": note}
            for s, n, note in zip(sounds, ["kick", "snare", "closed hat"], [36, 38, 42], strict=True)]
    pattern = {"bpm": 90, "swing": 0.5, "steps": 16,
               "tracks": [{"name": p["name"], "note": p["note"], "steps": [100, 0, 0, 0] * 4} for p in pads]}
    r = client.post("/api/export/kit", json={"name": "../My Kit", "pads": pads, "pattern": pattern})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    z = zipfile.ZipFile(io.BytesIO(r.content))
    names = z.namelist()
    assert all(".." not in n and not n.startswith("/") for n in names)
    wavs = [n for n in names if n.endswith(".wav")]
    assert len(wavs) == 3
    for n in wavs:
        info = sf.info(io.BytesIO(z.read(n)))
        assert info.samplerate == 44100 and info.subtype == "PCM_24"
    sfz = z.read(next(n for n in names if n.endswith(".sfz"))).decode()
    folder = next(n for n in names if n.endswith(".sfz")).rsplit("/", 1)[0] if "/" in names[0] else ""
    keys = set()
    for line in sfz.splitlines():
        if "sample=" in line:
            sample_path = line.split("sample=")[1].split()[0]
            assert any(n.endswith(sample_path) for n in names), sample_path
        for token in line.split():
            if token.startswith("key="):
                keys.add(int(token[4:]))
    assert keys == {36, 38, 42}
    assert any(n.endswith("drumkit.xml") for n in names)
    mid = mido.MidiFile(file=io.BytesIO(z.read(next(n for n in names if n.endswith(".mid")))))
    notes = {m.note for t in mid.tracks for m in t if m.type == "note_on"}
    assert notes == keys
    assert folder is not None
    bad = client.post("/api/export/kit", json={"name": "k", "pads": [{"sound": "f" * 16, "name": "x", "note": 36}]})
    assert bad.status_code == 404


def test_foreign_host_and_origin_refused(srv, client, model):
    r = client.get("/api/health", headers={"Host": f"evil.example:{srv.port}"})
    assert r.status_code == 400
    r = client.get("/api/health", headers={"Host": "127.0.0.1:1"})
    assert r.status_code == 400
    assert client.get("/api/health", headers={"Host": f"localhost:{srv.port}"}).status_code == 200
    r = client.post("/api/sample", json={"model": model, "n": 1}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    ok = client.post("/api/sample", json={"model": model, "n": 1}, headers={"Origin": srv.url})
    assert ok.status_code == 200
    ws = srv.url.replace("http", "ws")
    for headers in ({"Origin": "https://evil.example"}, {"Host": "evil.example"}):
        with pytest.raises(InvalidStatus) as e:  # the handshake is refused
            with connect(f"{ws}/ws/midi", additional_headers=headers, open_timeout=5):
                pass
        assert e.value.response.status_code == 403
    with connect(f"{ws}/ws/midi", origin=srv.url, open_timeout=5) as c:
        assert json.loads(c.recv(timeout=5))["type"] == "hello"


def _uvicorn_in_thread(app_factory):
    """A real uvicorn on 127.0.0.1 in this process (so the test can feed its MIDI input); returns (url, stop)."""
    import uvicorn

    from drumgen.server.settings import Settings

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = app_factory(Settings(port=port))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)

    def stop():
        server.should_exit = True
        thread.join(10)

    return f"http://127.0.0.1:{port}", stop


def test_midi_relay_over_websocket(srv, tmp_path):
    from drumgen.engine import Engine
    from drumgen.server.app import create_app

    port = QueueInput("fake controller")
    url, stop = _uvicorn_in_thread(lambda s: create_app(Engine(srv.checkpoints), s, MidiRelay(port)))
    try:
        with connect(url.replace("http", "ws") + "/ws/midi", origin=url, open_timeout=5) as c:
            assert json.loads(c.recv(timeout=5)) == {"type": "hello", "input": "fake controller"}
            port.feed(mido.Message("note_on", note=38, velocity=99, channel=9))
            port.feed(mido.Message("control_change", control=1, value=5))
            port.feed(mido.Message("note_on", note=38, velocity=0, channel=9))
            assert json.loads(c.recv(timeout=5)) == {"type": "note_on", "note": 38, "velocity": 99, "channel": 9}
            assert json.loads(c.recv(timeout=5))["type"] == "note_off"
    finally:
        stop()


def test_queue_full_503_and_cache_eviction(server_factory):
    # also: a --midi-in port that does not exist is logged, and the server goes on without it
    busy = server_factory(env={"DRUMGEN_MAX_QUEUE": "1", "DRUMGEN_BATCH_WINDOW_MS": "200",
                               "DRUMGEN_CACHE_MB": "0.05"}, args=["--midi-in", "no such port"])
    assert any("MIDI input 'no such port' is not available" in line for line in busy.lines)
    with httpx.Client(base_url=busy.url, timeout=30) as c:
        model = c.get("/api/models").json()[0]["name"]
        first = c.post("/api/sample", json={"model": model, "n": 1, "seed": 1}).json()["sounds"][0]
        before = c.get(first["url"]).content

        async def burst():
            async with httpx.AsyncClient(base_url=busy.url, timeout=30) as ac:
                return await asyncio.gather(*(ac.post("/api/sample", json={"model": model, "n": 4})
                                              for _ in range(6)))

        answers = asyncio.run(burst())
        codes = sorted(r.status_code for r in answers)
        assert codes[0] == 200 and codes[-1] == 503, codes
        refused = next(r for r in answers if r.status_code == 503)
        assert int(refused.headers["Retry-After"]) >= 1 and refused.json()["detail"]
        # the tiny cache evicted the first sound's audio: it comes back identical, re-created from its latent
        for seed in range(2, 12):
            c.post("/api/sample", json={"model": model, "n": 2, "seed": seed * 10})
        assert c.get(first["url"]).content == before


def test_decoder_crash_and_hang_are_contained(tmp_path, monkeypatch):
    """A decoder that dies by a signal, or never finishes, costs its process only: the caller gets UploadError."""
    from drumgen.server import uploads
    from drumgen.server.settings import Settings

    (tmp_path / "crasher.py").write_text("import os, signal, sys\nsys.stdin.buffer.read()\n"
                                         "os.kill(os.getpid(), signal.SIGSEGV)\n")
    (tmp_path / "hanger.py").write_text("import time\ntime.sleep(60)\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    data = _audio_file()
    monkeypatch.setattr(uploads, "WORKER", "crasher")
    with pytest.raises(uploads.UploadError, match="crashed"):
        asyncio.run(uploads.decode_untrusted(data, Settings()))
    monkeypatch.setattr(uploads, "WORKER", "hanger")
    started = time.monotonic()
    with pytest.raises(uploads.UploadError, match="longer than"):
        asyncio.run(uploads.decode_untrusted(data, Settings(decode_timeout_s=1.0)))
    assert time.monotonic() - started < 10
    monkeypatch.setattr(uploads, "WORKER", "drumgen.server.decode_worker")
    x, rate = asyncio.run(uploads.decode_untrusted(data, Settings()))
    assert rate == 44100 and np.allclose(x, audio.read(data)[0])


def test_a_bfloat16_server_says_so_and_its_sounds_are_close_to_float32(server_factory, client):
    """`drumgen serve --precision bfloat16` (DRUMGEN_PRECISION): the decoders' convolutions in bfloat16; the same
    latent decodes to nearly the same sound as on a float32 server (SpecGAN's generator is not among them)."""
    fast = server_factory(env={"DRUMGEN_PRECISION": "bfloat16"}, labels=("kick", "snare"))
    with httpx.Client(base_url=fast.url, timeout=30) as c16:
        info = c16.get("/api/models").json()
        assert {m["precision"] for m in info} == {"bfloat16"}
        assert {m["precision"] for m in client.get("/api/models").json()} == {"float32"}
        for m in (m for m in info if m["kind"] in ("autoencoder", "wavegan")):
            sound = sample(client, m["name"], n=1)[0]
            body = {"model": m["name"], "latent": sound["latent"], "label": sound["label"]}
            want, got = (wav(c, c.post("/api/decode", json=body).json()["sound"])[0] for c in (client, c16))
            assert got.shape == want.shape and np.isfinite(got).all()
            err = np.sqrt(np.mean((got - want) ** 2)) / max(np.sqrt(np.mean(want ** 2)), 1e-9)
            assert 0 < err < 0.05, (m["name"], err)  # not the same numbers, within -26 dB (shipped AE: -45 dB)
