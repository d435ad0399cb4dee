"""Re-synthesis benchmark: how close does a model bring back hits it never saw, how fast, how smooth are morphs.

    python benchmarks/autoencoder_bench.py --model CKPT [--data DIR] [--gan CKPT] [--threads 1]

For every hit in --data (default: synthesized hits of every class, a seed no training run here uses) it reports,
at the model's rate, the mean log-spectral distance (dB, drumgen.dsp.spectral.log_spectral_distance_db) and spectral
convergence of
  - the model's re-synthesis (encode -> decode, or GAN inversion for decode-only models),
  - the input low-passed at 4 kHz (what the autoencoder must beat),
  - a different hit of the same class (what it must beat by far);
the latency of encode + decode of one hit and of GAN inversion (on --gan, or on the model's own decoder used as a
decode-only model when no GAN is given); and interpolation smoothness: along K-step paths between pairs of hits,
the distance in the drumgen.eval.metrics embedding to each endpoint should move monotonically, without jumps.
Prints a table and appends it to benchmarks/RESULTS.md with the date, machine and exact command.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import record, table  # noqa: E402

from drumgen import checkpoint  # noqa: E402
from drumgen.data.dataset import find_files  # noqa: E402
from drumgen.data.labels import label_from_path  # noqa: E402
from drumgen.dsp import synth  # noqa: E402
from drumgen.dsp.spectral import (
    log_spectral_distance_db,  # noqa: E402
    magnitude,  # noqa: E402
)
from drumgen.engine import (  # noqa: E402
    Engine,
    Sound,
    inversion,  # noqa: E402
)
from drumgen.eval import metrics  # noqa: E402
from drumgen.io import audio  # noqa: E402


def spectral_convergence(x: torch.Tensor, y: torch.Tensor, fft_sizes=(2048, 512, 128)) -> torch.Tensor:
    """||Y| - |X||_F / ||Y||_F averaged over STFT sizes, per item: [B, T] x2 -> [B] (y is the reference)."""
    out = []
    for n in fft_sizes:
        mx, my = magnitude(x, n), magnitude(y, n)
        out.append(torch.linalg.norm(my - mx, dim=(1, 2)) / torch.linalg.norm(my, dim=(1, 2)).clamp_min(1e-9))
    return torch.stack(out).mean(0)


def lowpass(x: np.ndarray, rate: int, cutoff: float = 4000.0) -> np.ndarray:
    """Band-limit to `cutoff` by resampling down to 2 * cutoff and back (soxr's filter), same length."""
    y = audio.resample(audio.resample(x, rate, int(2 * cutoff)), int(2 * cutoff), rate)
    return audio.fit_length(y, x.shape[0], rate, fade_seconds=0.0) if y.shape[0] != x.shape[0] else y


def load_hits(root: Path, rate: int, length: int) -> tuple[list[Path], np.ndarray, np.ndarray, list[str | None]]:
    files, raw, ready, labels = [], [], [], []
    for f in find_files(root):
        if f.suffix.lower() not in audio.AUDIO_EXTENSIONS:
            continue
        try:
            x, r = audio.read(f)
            ready.append(audio.prepare(x, r, rate, length))
        except audio.AudioError:
            continue
        files.append(f)
        raw.append((x, r))
        labels.append(label_from_path(f, root))
    if not files:
        raise SystemExit(f"no usable hits in {root}")
    return files, raw, np.stack(ready), labels


def same_class_other(labels: list[str | None]) -> list[int]:
    """For each hit, another hit of the same class (or the next hit when it is alone in its class)."""
    out = []
    for i, lbl in enumerate(labels):
        same = [j for j, other in enumerate(labels) if other == lbl and j != i]
        out.append(same[0] if same else (i + 1) % len(labels))
    return out


def timed(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def smoothness(engine: Engine, name: str, sounds: list[Sound], rate: int, steps: int, pairs: int):
    """(fraction of paths whose endpoint distances move monotonically, worst jump as a share of the path)."""
    rng = np.random.default_rng(0)
    monotone, worst = [], 0.0
    for _ in range(pairs):
        i, j = rng.choice(len(sounds), 2, replace=False)
        path = np.stack([engine.interpolate(sounds[i], sounds[j], t).audio for t in np.linspace(0, 1, steps)])
        e = metrics.embed(path, rate)
        d_a, d_b = np.linalg.norm(e - e[0], axis=1), np.linalg.norm(e - e[-1], axis=1)
        tol = 0.02 * max(d_a[-1], 1e-9)  # allow wobbles under 2% of the endpoints' distance
        monotone.append(bool(np.all(np.diff(d_a) >= -tol) and np.all(np.diff(d_b) <= tol)))
        hops = np.linalg.norm(np.diff(e, axis=0), axis=1)
        worst = max(worst, float(hops.max() / max(hops.sum(), 1e-9)))
    return float(np.mean(monotone)), worst


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, metavar="CKPT", help="autoencoder (or GAN) checkpoint")
    p.add_argument("--data", metavar="DIR", help="hits the model never saw (default: synthesized ones)")
    p.add_argument("--gan", metavar="CKPT", help="a decode-only checkpoint to time inversion on")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--steps", type=int, default=9, help="points along each interpolation path")
    p.add_argument("--pairs", type=int, default=8, help="interpolation paths to measure")
    p.add_argument("--invert-seconds", type=float, default=2.0, help="inversion budget (default 2 s)")
    p.add_argument("--no-append", action="store_true", help="print only; leave RESULTS.md alone")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        engine, name = Engine.of(checkpoint.resolve(args.model), "model", tagger=False)
        model = engine.get(name)
        rate, length = model.config.sample_rate, model.config.slice_length
        data = Path(args.data) if args.data else Path(tmp) / "hits"
        if not args.data:
            synth.write_folder(data, per_class=4, seed=777)
        files, raw, x, labels = load_hits(data, rate, length)

        # -- re-synthesis error ---------------------------------------------------------------------------
        resyn = np.stack([engine.resynthesize(name, xr, r).audio for xr, r in raw])
        lp = np.stack([lowpass(h, rate) for h in x])
        other = x[same_class_other(labels)]
        ref = torch.from_numpy(x)
        rows = {}
        for label, y in (("model re-synthesis", resyn), ("input low-passed at 4 kHz", lp),
                         ("other hit, same class", other)):
            yt = torch.from_numpy(np.ascontiguousarray(y))
            rows[label] = (float(log_spectral_distance_db(yt, ref).mean()), float(spectral_convergence(yt, ref).mean()))

        # -- latency ----------------------------------------------------------------------------------------
        one = torch.from_numpy(x[:1])
        if model.can_encode:
            with torch.no_grad():
                t_codec = timed(lambda: model.decode(model.encode(one)), 20)
        else:
            t_codec = float("nan")
        gan = checkpoint.load(args.gan) if args.gan else model
        gan_x = torch.from_numpy(audio.prepare(*raw[0], gan.config.sample_rate, gan.config.slice_length))[None]
        t0 = time.perf_counter()
        inversion.invert(gan, gan_x, seconds=args.invert_seconds, label=gan.label_index(None, 1))
        t_inv = time.perf_counter() - t0

        # -- interpolation smoothness ------------------------------------------------------------------------
        uploads = [Sound("upload", np.zeros(1, np.float32), xr, r, origin="upload") for xr, r in raw]
        frac, jump = smoothness(engine, name, uploads, rate, args.steps, min(args.pairs, len(uploads) // 2))

    summary = model.summary or {}
    rows_out = [[k, v[0], v[1]] for k, v in rows.items()]
    text = table(["re-synthesis of unseen hits", "log-spectral distance (dB)", "spectral convergence"], rows_out)
    notes = "\n".join([
        f"Model: {model.kind} preset {model.config.preset}, {summary.get('steps', '?')} steps, "
        f"{summary.get('seconds', '?')} s of training; data: {args.data or 'synthesized hits (seed 777)'}, "
        f"{len(files)} hits at {rate} Hz; {args.threads} torch thread(s).",
        f"Latency: encode + decode of one {length / rate:.2f} s hit {1000 * t_codec:.1f} ms (median of 20); "
        f"inversion of one hit ({'--gan' if args.gan else 'the model decoder used as decode-only'}, budget "
        f"{args.invert_seconds} s) {t_inv:.2f} s.",
        f"Interpolation ({args.steps} steps): {100 * frac:.0f}% of paths move monotonically away from A and "
        f"towards B in the embedding; worst single step {100 * jump:.0f}% of the path length "
        f"(even steps: {100 / (args.steps - 1):.0f}%).",
    ])
    if args.no_append:
        print(text + "\n\n" + notes)
    else:
        record("Autoencoder re-synthesis", text, notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
