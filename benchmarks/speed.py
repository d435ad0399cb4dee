"""Where a kit's time goes, against what the machine can do: the first measure of the speed issue (#23).

    python benchmarks/speed.py [--checkpoints DIR] [--repeats 20] [--threads 2]

In one run: the machine's sgemm peak (2048 x 2048 float32 matrix products), then for every shipped model an 8-hit
kit as the server asks for it (one class per pad from drumgen.pads) split into its stages (latent sampling, the
decode, the tagger's pass, the rest), the decode's FLOPs (torch's FlopCounterMode) and the GFLOP/s it reaches as a
share of the peak, and the re-synthesis of a 1 s hit. Median of --repeats runs, after a warm-up. Prints a table and
appends it to RESULTS.md with the machine and load. The HTTP side is benchmarks/load.py.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import record, table  # noqa: E402

from drumgen import checkpoint, pads  # noqa: E402
from drumgen.dsp import synth  # noqa: E402
from drumgen.engine import Engine  # noqa: E402


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up: first calls allocate and pick kernels
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def sgemm_gflops(repeats: int, n: int = 2048) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    ms = median_ms(lambda: a @ b, repeats)
    return 2 * n**3 / (ms / 1000) / 1e9


def kit_labels(model) -> list[str | None] | None:
    """What the drum machine asks a class-conditional model for: each pad slot's first class the model knows."""
    if not model.config.labels:
        return None
    return [next((c for c in p.classes if c in model.config.labels), None) for p in pads.PADS]


def measure(engine: Engine, name: str, repeats: int) -> list:
    model = engine.get(name)
    labels = kit_labels(model)
    asked = labels or [None] * pads.COUNT
    y = engine._label_tensor(name, [a or model.config.labels[0] for a in asked]) if labels else None

    def latents() -> torch.Tensor:
        return torch.cat([model.sample_latents(1, torch.Generator().manual_seed(i), None if y is None else y[i:i + 1])
                          for i in range(pads.COUNT)])

    z = latents()
    x = engine._decode(name, z, y)
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model.decode(z.to(engine.device), None if y is None else y.to(engine.device))
    flops = counter.get_total_flops()
    kit = median_ms(lambda: engine.sample(name, pads.COUNT, seed=3, label=labels), repeats)
    sample = median_ms(latents, repeats)
    decode = median_ms(lambda: engine._decode(name, z, y), repeats)
    tag = median_ms(lambda: engine.hear(x, model.config.sample_rate), repeats)
    hit = synth.hit("snare", 1)
    resynth = median_ms(lambda: engine.resynthesize(name, hit, synth.SAMPLE_RATE), max(3, repeats // 4)) \
        if model.can_encode else float("nan")
    return [name, model.kind, round(kit, 1), round(sample, 1), round(decode, 1), round(tag, 1),
            round(kit - sample - decode - tag, 1), round(flops / 1e9, 2), round(flops / (decode / 1000) / 1e9, 1),
            round(resynth, 1)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoints", default=str(checkpoint.default_dir()), help="folder of models to measure")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2, help="torch threads (2 cores: 2)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    peak = sgemm_gflops(args.repeats)
    engine = Engine(args.checkpoints, device="cpu")
    rows = [measure(engine, name, args.repeats) for name in engine.ranked()]
    for r in rows:
        r.insert(9, f"{100 * r[8] / peak:.0f}%")
    text = table(["model", "kind", "8-hit kit ms", "latents ms", "decode ms", "tagger ms", "rest ms",
                  "decode GFLOP", "decode GFLOP/s", "of peak", "resynth 1 s hit ms"], rows)
    record("Speed: an 8-hit kit, stage by stage, against the sgemm peak", text,
           f"sgemm peak {peak:.0f} GFLOP/s ({args.threads} threads). 'rest' is the kit minus its measured stages "
           "(Sound objects, numpy copies, the fade-out). Median of "
           f"{args.repeats} runs after a warm-up; the kit asks one class per pad as the drum machine does.")
    if not np.isfinite(peak):
        raise SystemExit("could not measure the sgemm peak")


if __name__ == "__main__":
    main()
