"""Training jobs through the real server: upload hits, follow progress over /ws/jobs/{id} to a new model, cancel,
failures reported, archives unpacked safely."""

from __future__ import annotations

import io
import json
import time
import zipfile

import httpx
import pytest
from websockets.sync.client import connect

from drumgen.dsp import synth
from drumgen.io import audio


@pytest.fixture(scope="module")
def srv(server_factory):
    return server_factory()


@pytest.fixture(scope="module")
def client(srv):
    with httpx.Client(base_url=srv.url, timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def kind(client):
    return client.get("/api/models").json()[0]["kind"]


def hits(per_class=2, classes=("kick", "snare", "hihat")) -> list[tuple[str, bytes]]:
    return [(f"{c}_{i}.wav", audio.wav_bytes(synth.hit(c, i), synth.SAMPLE_RATE))
            for c in classes for i in range(per_class)]


def follow(srv, job_id: str, until=("done", "error"), timeout=120) -> list[dict]:
    """Messages of /ws/jobs/{id} up to and including the first of type `until`."""
    seen = []
    with connect(srv.url.replace("http", "ws") + f"/ws/jobs/{job_id}", origin=srv.url, open_timeout=10) as ws:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = json.loads(ws.recv(timeout=deadline - time.monotonic()))
            seen.append(msg)
            if msg["type"] in until:
                return seen
    raise AssertionError(f"no {until} within {timeout} s: {seen[-3:]}")


def test_train_to_a_new_model(srv, client, kind):
    files = [("files", (name, data)) for name, data in hits()]
    r = client.post("/api/train", data={"kind": kind, "steps": "3", "preset": "tiny", "name": "my kit/../x"},
                    files=files)
    assert r.status_code == 200, r.text
    job = r.json()["job"]
    assert job["state"] in ("queued", "running") and job["files"] == 6 and "/" not in job["name"]
    messages = follow(srv, job["id"])
    assert messages[0]["type"] == "state"
    progress = [m for m in messages if m["type"] == "progress"]
    assert progress and progress[-1]["step"] == 3 and progress[-1]["total"] == 3 and progress[-1]["losses"]
    done = messages[-1]
    assert done["type"] == "done", messages[-3:]
    assert done["model"] in [m["name"] for m in client.get("/api/models").json()]
    # a user's model goes to their models folder, never beside the shipped defaults
    assert (srv.models_dir / done["model"] / "model.safetensors").is_file()
    assert not (srv.checkpoints / done["model"]).exists()
    assert not [p for p in srv.checkpoints.iterdir() if p.name.startswith(".")]  # no temporary left behind
    state = client.get(f"/api/jobs/{job['id']}").json()
    assert state["state"] == "done" and state["model"] == done["model"] and state["step"] == 3
    r = client.post("/api/sample", json={"model": done["model"], "n": 2})
    assert r.status_code == 200
    # a finished job's socket answers with its outcome at once
    assert follow(srv, job["id"])[-1] == done
    assert client.delete(f"/api/jobs/{job['id']}").status_code == 409


def _zip(entries: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_zip_upload_and_cancel(srv, client, kind):
    entries = {f"pack/{name.split('_')[0]}/{name}": data for name, data in hits()}
    entries["../../../../tmp/escape.wav"] = hits(1, ("clap",))[0][1]
    entries["notes.txt"] = b"not audio"
    r = client.post("/api/train", data={"kind": kind, "steps": "100000", "preset": "tiny"},
                    files={"files": ("My Pack.zip", _zip(entries))})
    assert r.status_code == 200, r.text
    job = r.json()["job"]
    assert job["files"] == 7  # 6 hits + the escapee, kept inside the job folder; the text file skipped
    # wait until it trains, then cancel
    seen = follow(srv, job["id"], until=("progress", "error", "done"))
    assert seen[-1]["type"] == "progress", seen
    r = client.delete(f"/api/jobs/{job['id']}")
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    end = follow(srv, job["id"])[-1]
    assert end["type"] == "error" and end["state"] == "cancelled"
    deadline = time.monotonic() + 30
    while client.get(f"/api/jobs/{job['id']}").json()["state"] != "cancelled" and time.monotonic() < deadline:
        time.sleep(0.2)
    names = [m["name"] for m in client.get("/api/models").json()]
    assert not any(n.startswith(f"{kind}-{job['id'][:6]}") for n in names)
    import pathlib

    assert not pathlib.Path("/tmp/escape.wav").exists()


def test_failed_job_is_reported_and_server_goes_on(srv, client, kind):
    files = [("files", (f"kick_{i}.wav", b"RIFF\x00\x00\x00\x00WAVEjunk" * 10)) for i in range(3)]
    r = client.post("/api/train", data={"kind": kind, "steps": "2", "preset": "tiny"}, files=files)
    assert r.status_code == 200, r.text
    end = follow(srv, r.json()["job"]["id"])[-1]
    assert end["type"] == "error" and end["message"]
    assert client.get(f"/api/jobs/{r.json()['job']['id']}").json()["state"] == "failed"
    assert client.get("/api/health").json()["status"] == "ok"


def test_bad_training_requests(client, kind):
    one = [("files", hits(1, ("kick",))[0])]
    cases = [
        ({"kind": "nope", "steps": "2"}, one, 422),
        ({"kind": kind}, one, 422),  # no budget
        ({"kind": kind, "steps": "2", "minutes": "1"}, one, 422),
        ({"kind": kind, "steps": "-1"}, one, 422),
        ({"kind": kind, "steps": "2", "base": "nope"}, one, 404),
        ({"kind": kind, "steps": "2"}, [("files", ("readme.txt", b"hello"))], 422),
        ({"kind": kind, "steps": "2"}, [("files", ("x.zip", b"PK\x03\x04 not a zip"))], 422),
        # a zip bomb: 60 MB of zeros deflates to ~60 kB
        ({"kind": kind, "steps": "2"}, [("files", ("bomb.zip", _zip({"kick.wav": b"\0" * (60 << 20)})))], 422),
    ]
    for data, files, status in cases:
        r = client.post("/api/train", data=data, files=files)
        assert r.status_code == status, (data, r.text)
        assert isinstance(r.json()["detail"], str) and r.json()["detail"]
    assert client.get("/api/jobs/zzz").status_code == 422


def test_fine_tune_base_must_be_of_the_chosen_kind(client):
    loaded = {m["name"]: m["kind"] for m in client.get("/api/models").json()}
    base, base_kind = next(iter(loaded.items()))
    other = next(k for k in loaded.values() if k != base_kind)
    one = [("files", hits(1, ("kick",))[0])]
    r = client.post("/api/train", data={"kind": other, "steps": "2", "base": base}, files=one)
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == (f"the base model {base!r} is a {base_kind}; train kind {base_kind} to fine-tune "
                                  "it, or choose another base")
    r = client.post("/api/train", data={"steps": "2", "base": "nope"}, files=one)
    assert r.status_code == 404 and "loaded models" in r.json()["detail"]
