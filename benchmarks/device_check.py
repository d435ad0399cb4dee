"""Training and generation speed on a device against the CPU, and whether a seed gives the same sound on both.

    python benchmarks/device_check.py --device cuda --seconds 120     # what scripts/gpu_check.sh runs
    python benchmarks/device_check.py --device cpu --seconds 20       # the same measure on the CPU alone

For each model kind and preset: train for `--seconds` on synthesized hits on the device (and for a tenth of that on
the CPU) and report steps per second on both; then load the result on both and compare the audio of the same
seeds (max abs difference, which must stay under 1e-4), and time an 8-hit kit on each. Prints a table and appends
it to RESULTS.md with the machine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import record, table  # noqa: E402

from drumgen import devices  # noqa: E402
from drumgen.dsp import synth  # noqa: E402
from drumgen.engine import Engine  # noqa: E402
from drumgen.train import TrainOptions, train  # noqa: E402

RUNS = (("autoencoder", "cpu"), ("wavegan", "cpu"), ("specgan", "cpu"), ("wavegan", "paper"))


def steps_per_second(kind: str, preset: str, data: Path, out: Path, device: str, seconds: float) -> float:
    summary = train(TrainOptions(data=str(data), out=str(out), kind=kind, preset=preset, minutes=seconds / 60,
                                 device=device, progress=False, eval_every=10**9, preview_every=10**9))
    return summary["steps"] / max(summary["seconds"], 1e-9)


def kit_ms(engine: Engine, name: str, repeats: int = 5) -> float:
    engine.sample(name, 8, seed=0)  # warm-up (cuDNN picks its kernels here)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        engine.sample(name, 8, seed=1)
        if engine.device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return 1000 * best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cuda", help="the device to measure against the CPU (default cuda)")
    ap.add_argument("--seconds", type=float, default=120, help="training time per model on the device")
    ap.add_argument("--runs", default=",".join(f"{k}:{p}" for k, p in RUNS), help="kind:preset,... to measure")
    args = ap.parse_args()
    device = devices.resolve(args.device)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "hits"
        synth.write_folder(data, per_class=8, seed=3, sample_rate=44100)
        for item in args.runs.split(","):
            kind, preset = item.split(":")
            out = Path(tmp) / f"{kind}-{preset}"
            fast = steps_per_second(kind, preset, data, out, str(device), args.seconds)
            slow = steps_per_second(kind, preset, data, Path(tmp) / f"{kind}-{preset}-cpu", "cpu",
                                    max(10.0, args.seconds / 10)) if device.type != "cpu" else fast
            on_cpu, name_c = Engine.of(out, device="cpu", tagger=False)
            on_dev, name_d = Engine.of(out, device=str(device), tagger=False)
            a = np.stack([s.audio for s in on_cpu.sample(name_c, 8, seed=11)])
            b = np.stack([s.audio for s in on_dev.sample(name_d, 8, seed=11)])
            rows.append([kind, preset, round(fast, 2), round(slow, 2), round(fast / slow, 1),
                         float(np.abs(a - b).max()), round(kit_ms(on_dev, name_d), 1), round(kit_ms(on_cpu, name_c), 1)])
    text = table(["kind", "preset", f"steps/s {device}", "steps/s cpu", "speed-up", "max |cpu - dev| audio",
                  f"8-hit kit ms {device}", "8-hit kit ms cpu"], rows)
    record(f"Device check: {device} against the CPU", text,
           f"{args.seconds:g} s of training per model on {device}, a tenth of that on the CPU; synthesized hits.")
    bad = [r for r in rows if r[5] > 1e-4]
    if bad:
        print(f"FAIL: the same seed sounds different on {device} and the CPU for {[r[0] for r in bad]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
