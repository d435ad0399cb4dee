"""Checkpoints under attack and under faults: a tampered, truncated or foreign file is a CheckpointError with a
clear message (never unpickled, never a huge allocation); a full disk during a save, or two processes saving into
one directory at once, leave a checkpoint that loads."""

from __future__ import annotations

import errno
import json
import os
import pickle
import struct
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drumgen import checkpoint
from drumgen.checkpoint import CheckpointError
from drumgen.models import model_class
from drumgen.models.wavegan import PRESETS
from drumgen.train import steps

ROOT = Path(__file__).resolve().parent.parent
FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _model(seed: int = 0):
    torch.manual_seed(seed)
    cls = model_class("wavegan")
    return cls(cls.Config.from_dict(PRESETS["tiny"]))


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> tuple[Path, bytes, bytes]:
    """A real WaveGAN (tiny preset) checkpoint with its resume state: (dir, model bytes, state bytes)."""
    d = tmp_path_factory.mktemp("ckpt")
    m = _model()
    checkpoint.save(m, d, {"steps": 3})
    checkpoint.save_train_state(d, m, steps.make_optimizers(m), 3, {"best": 1.0}, {"torch": torch.get_rng_state()})
    return d, (d / checkpoint.MODEL_FILE).read_bytes(), (d / checkpoint.STATE_FILE).read_bytes()


def _write(tmp_path: Path, data: bytes, name: str = checkpoint.MODEL_FILE) -> Path:
    d = tmp_path / "bad"
    d.mkdir(exist_ok=True)
    (d / name).write_bytes(data)
    return d


def _rewrite(data: bytes, header: dict) -> bytes:
    """The file with its JSON header replaced (tensor bytes kept)."""
    n = struct.unpack("<Q", data[:8])[0]
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data[8 + n:]


def _header(data: bytes) -> dict:
    n = struct.unpack("<Q", data[:8])[0]
    return json.loads(data[8:8 + n])


def _refused(d: Path, *words: str) -> str:
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError) as e:
            checkpoint.load(d)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 200e6, f"refusing a bad checkpoint peaked at {peak / 1e6:.0f} MB"
    for w in words:
        assert w in str(e.value), str(e.value)
    return str(e.value)


def test_the_untampered_checkpoint_loads(saved):
    d, _, _ = saved
    assert checkpoint.load(d).kind == "wavegan"


@FUZZ
@given(cut=st.floats(0, 0.999))
def test_truncated_anywhere(saved, tmp_path, cut):
    _, data, _ = saved
    _refused(_write(tmp_path, data[: int(cut * len(data))]))


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(0, 600), st.integers(0, 255)), min_size=1, max_size=4))
def test_flipped_header_bytes(saved, tmp_path, flips):
    """A flipped byte in the length or the JSON header: a CheckpointError, or (when the JSON stays valid and
    consistent, e.g. a digit of the summary) a model that loads; nothing else."""
    _, data, _ = saved
    b = bytearray(data)
    for where, value in flips:
        b[where] = value
    try:
        checkpoint.load(_write(tmp_path, bytes(b)))
    except CheckpointError:
        pass


@pytest.mark.parametrize("length", [2**63 - 1, 2**40, 10**9, 0, 1])
def test_header_length_claiming_huge_sizes(saved, tmp_path, length):
    _, data, _ = saved
    _refused(_write(tmp_path, struct.pack("<Q", length) + data[8:]), "not a readable safetensors file")


def test_tensor_offsets_claiming_huge_sizes(saved, tmp_path):
    _, data, _ = saved
    h = _header(data)
    name = next(k for k in h if k != "__metadata__")
    h[name] = {**h[name], "shape": [2**31, 2**31], "data_offsets": [0, 2**62]}
    _refused(_write(tmp_path, _rewrite(data, h)), "not a readable safetensors file")


def test_nan_weights(saved, tmp_path):
    d, _, _ = saved
    m = _model()
    with torch.no_grad():
        next(iter(m.parameters()))[0] = float("nan")
    checkpoint.save(m, tmp_path / "nan")
    _refused(tmp_path / "nan", "NaN or infinite weights")


@pytest.mark.parametrize("kind, words", [("autoencoder", "does not match"), ("specgan", "does not match"),
                                         ("nonexistent", "unknown model kind"), ("os:system", "unknown model kind"),
                                         ("tagger", "does not match")])
def test_wrong_kind_metadata(saved, tmp_path, kind, words):
    _, data, _ = saved
    h = _header(data)
    h["__metadata__"]["kind"] = kind
    _refused(_write(tmp_path, _rewrite(data, h)), words)


@pytest.mark.parametrize("change, words", [
    ({"d": 100_000}, "does not match"),  # would be a 10^5-channel network: refused before allocating it
    ({"d": -1}, "cannot build"), ({"d": 0}, ""), ({"slice_length": 7}, ""), ({"slice_length": 0}, ""),
    ({"d": "x"}, ""), ({"sample_rate": None}, ""), ({"d": 1e300}, ""),
])
def test_tampered_config(saved, tmp_path, change, words):
    _, data, _ = saved
    h = _header(data)
    h["__metadata__"]["config"] = json.dumps({**json.loads(h["__metadata__"]["config"]), **change})
    start = time.monotonic()
    _refused(_write(tmp_path, _rewrite(data, h)), words)
    assert time.monotonic() - start < 10


@pytest.mark.parametrize("meta", [{}, {"format": "drumgen-1"}, {"format": "other", "kind": "wavegan"},
                                  {"format": "drumgen-1", "kind": "wavegan", "config": "{"}])
def test_foreign_or_damaged_metadata(saved, tmp_path, meta):
    _, data, _ = saved
    h = _header(data)
    h["__metadata__"] = meta
    _refused(_write(tmp_path, _rewrite(data, h)))


class _Boom:
    """Unpickling this would create a file: the proof that a checkpoint is never unpickled."""

    def __init__(self, sentinel: str):
        self.sentinel = sentinel

    def __reduce__(self):
        return (open, (self.sentinel, "w"))


def test_a_pickle_renamed_model_safetensors_is_never_unpickled(tmp_path):
    sentinel = tmp_path / "pwned"
    _refused(_write(tmp_path, pickle.dumps({"weights": _Boom(str(sentinel))})), "not a readable safetensors")
    assert not sentinel.exists()
    buf = tmp_path / "torch.pt"
    torch.save(_model().state_dict(), buf)  # torch's own zip+pickle format
    _refused(_write(tmp_path, buf.read_bytes()), "not a readable safetensors")


def test_a_damaged_resume_state(saved, tmp_path):
    d, data, state = saved
    h = _header(state)
    h["__metadata__"]["optimizers"] = json.dumps({"g": {"param_groups": "x", "plain": {}},
                                                  "d": {"param_groups": [], "plain": {"x": 1}}})
    bad = _write(tmp_path, _rewrite(state, h), checkpoint.STATE_FILE)
    m = _model()
    with pytest.raises(CheckpointError, match="optimizer"):
        checkpoint.load_train_state(bad, m, steps.make_optimizers(m))
    h = _header(state)
    h["__metadata__"]["config"] = json.dumps({"d": 100_000})
    (bad / checkpoint.STATE_FILE).write_bytes(_rewrite(state, h))
    with pytest.raises(CheckpointError, match="does not match"):
        checkpoint.read_train_state_config(bad)
    (bad / checkpoint.STATE_FILE).write_bytes(state[: len(state) // 2])
    with pytest.raises(CheckpointError, match="truncated or tampered"):
        checkpoint.read_train_state_config(bad)


@pytest.mark.parametrize("target", ["fsync", "write", "replace"])
def test_full_disk_during_a_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch, target):
    """ENOSPC while writing the temporary file, or while renaming it: the old files stay whole, no temp file."""
    old = _model(0)
    checkpoint.save(old, tmp_path, {"steps": 1})
    checkpoint.save_train_state(tmp_path, old, steps.make_optimizers(old), 1)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    new = _model(1)
    with monkeypatch.context() as m:
        if target == "write":  # half the bytes reach the temporary file, then the disk is full
            real_fdopen = os.fdopen

            class HalfFull:
                def __init__(self, fd, *args, **kwargs):
                    self.f = real_fdopen(fd, *args, **kwargs)

                def __enter__(self):
                    return self

                def __exit__(self, *exc):
                    self.f.close()

                def fileno(self):
                    return self.f.fileno()

                def write(self, data):
                    self.f.write(data[: len(data) // 2])
                    self.f.flush()
                    full()

            m.setattr(os, "fdopen", HalfFull)
        else:
            m.setattr(os, target, full)
        with pytest.raises(OSError, match="No space left"):
            checkpoint.save(new, tmp_path, {"steps": 2})
        with pytest.raises(OSError, match="No space left"):
            checkpoint.save_train_state(tmp_path, new, steps.make_optimizers(new), 2)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before, "a temp file was left or a file changed"
    loaded = checkpoint.load(tmp_path)
    assert loaded.summary == {"steps": 1}
    served = old.serving_state_dict() if hasattr(old, "serving_state_dict") else old.state_dict()
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in served.items())


SAVER = """
import sys, torch
from drumgen import checkpoint
from drumgen.models import model_class
from drumgen.models.wavegan import PRESETS
from drumgen.train import steps
seed, out, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
torch.manual_seed(seed)
cls = model_class("wavegan")
m = cls(cls.Config.from_dict(PRESETS["tiny"]))
print("ready", flush=True)
for i in range(n):
    checkpoint.save(m, out, {"writer": seed, "i": i})
    checkpoint.save_train_state(out, m, steps.make_optimizers(m), i, {"writer": seed})
"""


def test_two_processes_saving_into_one_directory(tmp_path):
    """Two servers or runs writing the same checkpoint directory: every read in between loads a whole file,
    written by one of them; no temporary file stays behind."""
    out = tmp_path / "shared"
    out.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, "-c", SAVER, str(seed), str(out), "15"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for seed in (1, 2)]
    expected = {}
    for seed in (1, 2):
        torch.manual_seed(seed)
        expected[seed] = _model(seed).state_dict()
    reads, writers = 0, set()
    while any(p.poll() is None for p in procs) or reads == 0:
        if (out / checkpoint.MODEL_FILE).exists():
            m = checkpoint.load(out)  # raises on any torn file
            w = m.summary["writer"]
            assert all(torch.equal(a, expected[w][k]) for k, a in m.serving_state_dict().items())
            kind, _ = checkpoint.read_train_state_config(out) if (out / checkpoint.STATE_FILE).exists() else ("", 0)
            writers.add(w)
            reads += 1
        time.sleep(0.01)
    for p in procs:
        assert p.wait() == 0, p.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
    assert reads > 3 and writers <= {1, 2}
    assert sorted(p.name for p in out.iterdir()) == [checkpoint.MODEL_FILE, checkpoint.STATE_FILE]
