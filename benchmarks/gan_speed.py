"""How fast WaveGAN and SpecGAN train and generate on this machine, per preset; and which Griffin-Lim to use.

For each preset of each GAN: seconds per training step (one critic update; every n_critic-th step also updates G,
so both kinds are timed and their mean over a cycle is reported), generation latency and real-time factor for 1
and for 8 hits (torch.no_grad, after a warm-up, median of several runs), the served checkpoint size and the
bandwidth the internal sample rate keeps. Then the spectral convergence of plain vs fast Griffin-Lim on
synthesized hits. Prints a markdown report and appends it to benchmarks/RESULTS.md.

    python benchmarks/gan_speed.py                 # every preset (paper: 1 step of each kind)
    python benchmarks/gan_speed.py --presets cpu tiny --threads 2 --no-append
"""

from __future__ import annotations

import argparse
import datetime
import os
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

import common
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drumgen import checkpoint  # noqa: E402
from drumgen.dsp import spectral, synth  # noqa: E402
from drumgen.io import audio  # noqa: E402
from drumgen.models import model_class  # noqa: E402
from drumgen.train import steps  # noqa: E402

KINDS = ("wavegan", "specgan")
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def synth_hits(n: int, sample_rate: int, length: int, seed: int = 0) -> np.ndarray:
    """n synthesized hits cycling through the classes: [n, length] float32."""
    rng = np.random.default_rng(seed)
    kinds = [synth.CLASSES[i % len(synth.CLASSES)] for i in range(n)]
    return np.stack([audio.fit_length(synth.hit(k, rng, sample_rate), length, sample_rate) for k in kinds])


class Clock:
    """Wall and CPU seconds of one call. On a shared machine the wall time includes waiting for a core; the
    CPU time of this process (with --threads 1) is what the same call costs on an idle machine."""

    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def stop(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


def median2(pairs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)


def timed(fn, repeats: int) -> tuple[float, float]:
    """Median (wall, cpu) seconds of `repeats` calls."""
    pairs = []
    for _ in range(repeats):
        c = Clock()
        fn()
        pairs.append(c.stop())
    return median2(pairs)


def build(kind: str, preset: str):
    cls = model_class(kind)
    module = sys.modules[cls.__module__]
    torch.manual_seed(0)
    return cls(cls.Config.from_dict({**module.PRESETS[preset], "preset": preset}))


def bench_training(model, x: np.ndarray, quick: bool) -> tuple[tuple[float, float], tuple[float, float]]:
    """(wall, cpu) seconds of a critic-only step and of a critic + generator step, medians."""
    cfg = model.config
    opt = steps.make_optimizers(model)
    batch = torch.from_numpy(x[np.arange(cfg.batch_size) % len(x)])
    model.train()
    d_times, g_times = [], []
    cycles = 1 if quick else 3
    timed_steps = [0, cfg.n_critic - 1] if quick else list(range(cfg.n_critic * cycles))
    if not quick:
        steps.train_step(model, batch, None, opt, 0)  # warm-up
    for step in timed_steps:
        c = Clock()
        steps.train_step(model, batch, None, opt, step)
        (g_times if (step + 1) % cfg.n_critic == 0 else d_times).append(c.stop())
    return median2(d_times), median2(g_times)


@torch.no_grad()
def bench_generation(model, n: int, repeats: int) -> tuple[float, float]:
    model.eval()
    z = model.sample_latents(n, torch.Generator().manual_seed(n))
    model.decode(z)  # warm-up
    return timed(lambda: model.decode(z), repeats)


def served_size_mb(model) -> float:
    with tempfile.TemporaryDirectory() as d:
        return checkpoint.save(model, d).stat().st_size / 1e6


def bench_model(kind: str, preset: str, repeats: int) -> dict:
    model = build(kind, preset)
    cfg = model.config
    x = synth_hits(max(cfg.batch_size, 16), cfg.sample_rate, cfg.slice_length)
    model.fit_statistics(x)
    d_step, g_step = bench_training(model, x, quick=preset == "paper")
    seconds = cfg.slice_length / cfg.sample_rate
    gen1 = bench_generation(model, 1, repeats)
    gen8 = bench_generation(model, 8, max(3, repeats // 2))
    step = tuple(((cfg.n_critic - 1) * d + g) / cfg.n_critic for d, g in zip(d_step, g_step, strict=True))
    return {
        "model": kind, "preset": preset, "d": cfg.d, "batch": cfg.batch_size, "rate": cfg.sample_rate,
        "seconds": seconds, "g_params": sum(p.numel() for p in model.G.parameters()) / 1e6,
        "d_step": d_step, "g_step": g_step, "step": step, "n_critic": cfg.n_critic,
        "gen1_ms": tuple(t * 1e3 for t in gen1), "gen8_ms": tuple(t * 1e3 for t in gen8),
        "rtf1": tuple(seconds / t for t in gen1), "rtf8": tuple(8 * seconds / t for t in gen8),
        "size_mb": served_size_mb(model),
    }


def griffin_lim_table(sample_rates=(16000, 22050), iters=(16, 32, 100)) -> list[str]:
    """Spectral convergence ||S - |STFT(x_rec)||| / ||S|| over 28 synthesized hits (4 per class)."""
    lines = ["| rate | iterations | plain GL (momentum 0) | fast GL (momentum 0.99) |", "|---|---|---|---|"]
    for sr in sample_rates:
        rng = np.random.default_rng(0)
        x = torch.from_numpy(np.stack([audio.fit_length(synth.hit(k, rng, sr), 16384, sr)
                                       for k in synth.CLASSES for _ in range(4)]))
        mag = spectral.magnitude(x, 256, 128)
        for n in iters:
            cells = []
            for momentum in (0.0, 0.99):
                y = spectral.griffin_lim(mag, 256, 128, n, 16384, momentum)
                r = spectral.magnitude(y, 256, 128)
                sc = torch.linalg.norm(r - mag, dim=(1, 2)) / torch.linalg.norm(mag, dim=(1, 2))
                cells.append(f"{sc.mean().item():.3f}")
            lines.append(f"| {sr} | {n} | {cells[0]} | {cells[1]} |")
    return lines


def machine() -> str:
    return f"{common.machine()}, {torch.get_num_threads()} threads"


def report(rows: list[dict], gl: list[str], command: str, header: str) -> str:
    out = [f"## GAN speed, {datetime.date.today().isoformat()}", "", header, "", f"Command: `{command}`", "",
           "Step = one critic update; every n_critic-th step also updates G. `step` is the mean over a cycle.",
           "Each timing is `wall / cpu`: wall-clock, and this process's CPU time (what it costs on an idle "
           "machine when run with --threads 1). Real-time factors use the CPU time.",
           "", "| model | preset | d | batch | rate (keeps up to) | G params | critic step s | critic+G step s "
           "| mean step s | 1 hit ms | x real time | 8 hits ms | x real time | served MB |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        def pair(v, fmt):
            return f"{v[0]:{fmt}} / {v[1]:{fmt}}"

        out.append(f"| {r['model']} | {r['preset']} | {r['d']} | {r['batch']} | {r['rate']} "
                   f"({r['rate'] / 2000:.2f} kHz) | {r['g_params']:.2f} M | {pair(r['d_step'], '.3f')} "
                   f"| {pair(r['g_step'], '.3f')} | {pair(r['step'], '.3f')} | {pair(r['gen1_ms'], '.1f')} "
                   f"| {r['rtf1'][1]:.0f} | {pair(r['gen8_ms'], '.1f')} | {r['rtf8'][1]:.0f} | {r['size_mb']:.1f} |")
    out += ["", "Targets: a new 8-pad kit under 100 ms; each hit at least 100x faster than real time. Output is "
            "resampled to 44.1 kHz WAV; everything above half the internal rate is lost.", "",
            "Griffin-Lim spectral convergence (lower is better), window 256 / hop 128, 16384-sample synth hits:",
            "", *gl, ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    p.add_argument("--presets", nargs="+", default=["tiny", "cpu", "paper"])
    p.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    p.add_argument("--repeats", type=int, default=9, help="timed generation runs per measurement (median)")
    p.add_argument("--no-append", action="store_true", help="print only; do not append to RESULTS.md")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    header = f"Machine: {machine()}."
    rows = []
    for kind in args.kinds:
        for preset in args.presets:
            rows.append(bench_model(kind, preset, args.repeats))
            print(f"{kind} {preset}: {rows[-1]}", file=sys.stderr, flush=True)
    text = report(rows, griffin_lim_table(), "python " + " ".join(map(shlex.quote, sys.argv)), header)
    print(text)
    if not args.no_append:
        with RESULTS.open("a") as f:
            f.write(("\n" if RESULTS.exists() and RESULTS.stat().st_size else "") + text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
