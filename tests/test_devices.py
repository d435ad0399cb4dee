"""The one device choice (`--device auto|cpu|cuda|cuda:N|mps`, drumgen.devices) on a machine without a GPU: auto
falls back to the CPU, an absent device is a clear one-line error from every verb, training records its device,
and a checkpoint loads onto another device than the one it was written from (the 'meta' device stands in for a
GPU here: placement without data)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from drumgen import checkpoint, devices, testing
from drumgen.cli import main
from drumgen.dsp import synth
from drumgen.engine import Engine
from drumgen.train import TrainOptions, train

ROOT = Path(__file__).resolve().parent.parent
NO_GPU = not torch.cuda.is_available()


def test_auto_and_cpu():
    assert devices.resolve("cpu") == torch.device("cpu")
    assert devices.resolve("auto").type == ("cuda" if torch.cuda.is_available() else
                                            "mps" if devices._mps_available() else "cpu")
    assert devices.resolve(None) == devices.resolve("auto")
    assert devices.backend(torch.device("cpu")) == "gloo" and devices.backend(torch.device("cuda", 0)) == "nccl"


@pytest.mark.skipif(not NO_GPU, reason="this machine has a GPU: the missing-device errors cannot happen")
@pytest.mark.parametrize("choice", ["cuda", "cuda:1", "mps", "gpu", "tpu:0"])
def test_absent_or_unknown_device_is_a_clear_error(choice):
    with pytest.raises(devices.DeviceError) as e:
        devices.resolve(choice)
    message = str(e.value)
    assert "\n" not in message and ("cpu" in message)


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory):
    root = tmp_path_factory.mktemp("ckpts")
    testing.make_tiny_checkpoints(root, labels=("kick", "snare"))
    return root


@pytest.mark.skipif(not NO_GPU, reason="needs a machine without CUDA")
def test_every_verb_refuses_an_absent_device(ckpts, tmp_path, capsys):
    hit = tmp_path / "hit.wav"
    from drumgen.io import audio

    audio.write_wav(hit, synth.hit("kick", 1), synth.SAMPLE_RATE)
    model = str(ckpts / "autoencoder-tiny")
    for argv in (["generate", "--model", model, "--out", str(tmp_path / "g")],
                 ["resynth", "--model", model, "--input", str(hit), "--out", str(tmp_path / "r")],
                 ["interpolate", "--model", model, "--a", str(hit), "--b", str(hit), "--out", str(tmp_path / "i")],
                 ["train", "--data", str(tmp_path), "--out", str(tmp_path / "t"), "--steps", "1"]):
        assert main([*argv, "--device", "cuda"]) == 1
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "no CUDA GPU" in err and "--device cpu" in err, err
    served = subprocess.run([sys.executable, "-m", "drumgen", "serve", "--port", "0", "--checkpoints", str(ckpts),
                             "--device", "cuda"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert served.returncode == 1 and "no CUDA GPU" in served.stderr


def test_generation_on_the_cpu_device_path(ckpts):
    e = Engine(ckpts, device="cpu")
    assert all(next(m.parameters()).device.type == "cpu" for m in e.models.values())
    a = e.sample("wavegan-tiny", 2, seed=5, label="kick")
    b = Engine(ckpts, device="auto").sample("wavegan-tiny", 2, seed=5, label="kick")
    for x, y in zip(a, b, strict=True):  # the same seed gives the same sound on any device choice
        assert abs(x.audio - y.audio).max() < 1e-4


def test_checkpoint_loads_onto_another_device(ckpts):
    """Files hold CPU tensors whatever trained them; load places them where asked (meta: no data, any shape)."""
    for name in ("autoencoder-tiny", "wavegan-tiny", "specgan-tiny"):
        on_cpu = checkpoint.load(ckpts / name)
        placed = checkpoint.load(ckpts / name, device="meta")
        assert {p.device.type for p in placed.parameters()} == {"meta"}
        assert [p.shape for p in placed.parameters()] == [p.shape for p in on_cpu.parameters()]
        assert placed.device.type == "meta" and on_cpu.device.type == "cpu"


def test_training_records_its_device(tmp_path):
    data = tmp_path / "hits"
    synth.write_folder(data, per_class=2, sample_rate=16000, classes=("kick", "snare"))
    summary = train(TrainOptions(data=str(data), out=str(tmp_path / "run"), kind="autoencoder", preset="tiny",
                                 steps=2, device="cpu", progress=False, cache_dir=str(tmp_path / "c")))
    assert summary["device"] == "cpu" and summary["steps"] == 2
    assert checkpoint.read_metadata(tmp_path / "run")["summary"]["device"] == "cpu"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc: Linux only")
def test_large_freed_blocks_are_reused_not_faulted_back_in():
    """A decode frees and asks again for blocks of 3-12 MB; by default glibc maps each anew and the first touch of
    every page faults. With devices.keep_freed_memory the heap keeps them: growing blocks (which defeat glibc's own
    adaptive threshold) cost only their growth."""
    import resource

    assert devices.keep_freed_memory()
    sizes = [(12 + k) << 18 for k in range(10)]  # 12 .. 21 MB of float32

    def faults() -> int:
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

    for n in sizes:  # the first round grows the heap
        torch.empty(n).fill_(1.0)
    before = faults()
    for n in sizes:  # the next finds it there (without the setting: about 42,000 faults, one per page)
        torch.empty(n).fill_(1.0)
    pages = sum(sizes) * 4 // 4096
    assert faults() - before < pages // 10
