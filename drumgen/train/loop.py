"""One training loop for every model kind: data -> steps.train_step -> previews, best checkpoint, resume state.

The loop owns everything around a kind's training step (steps.py): the budget (--steps / --minutes), a progress
bar, fixed-latent audio previews and spectrogram grids, periodic resume state, keeping the best checkpoint by a
quality measure (Frechet distance of generated hits to the training hits, metrics.py), fine-tuning from a base
checkpoint, and data-parallel training over processes started by torchrun.

Fine-tuning a GAN on a small kit fits latents instead (`fit`, steps.latent_fit_step): each step reconstructs a
batch of the kit's own hits from their latents, and those latents become the model's sampling prior.

Data parallelism: each process draws its own batches from its own shard of the hits, on its own device (one GPU
per rank, drumgen.devices), and gradients are averaged with torch.distributed all-reduce before every optimizer
step (steps.optimize: DistributedDataParallel done by hand, as steps.py says why).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from drumgen import checkpoint, devices
from drumgen.data.dataset import load_folder
from drumgen.dsp import augment
from drumgen.eval import pictures
from drumgen.io import audio
from drumgen.io.files import atomic_write_bytes
from drumgen.losses import ClassLoss
from drumgen.models import model_class
from drumgen.train import steps
from drumgen.train.options import (
    TrainingError,
    TrainOptions,
    build_config,
    check_budget,
    choose_fit,
    choose_labels,
)

PREVIEW_COUNT = 8
EVAL_COUNT = 64  # generated hits per quality measurement


def _rank() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def init_distributed(device: torch.device) -> bool:
    """Join the process group when started by torchrun (WORLD_SIZE > 1): gloo for CPU tensors, NCCL for gradients
    on GPUs. Returns True when this call joined it (the caller then leaves it)."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        dist.init_process_group(devices.backend(device))
        return True
    return False


class Run:
    """The state of one training run; `train()` drives it."""

    def __init__(self, opts: TrainOptions, callback: Callable[[dict], None] | None = None,
                 should_stop: Callable[[], bool] | None = None):
        self.opts, self.callback, self.should_stop = opts, callback, should_stop or (lambda: False)
        self.device = devices.resolve(opts.device)
        self.rank, self.world = _rank()
        if not opts.data:
            raise TrainingError("give the folder of hits to train on with --data DIR")
        if not opts.out and not opts.dry_run:
            raise TrainingError("give the checkpoint directory to write with --out DIR")
        self.out = Path(opts.out) if opts.out else Path(tempfile.mkdtemp(prefix="drumgen-dry-"))
        self.kind, self.cfg = build_config(opts)
        torch.manual_seed(opts.seed)
        data = load_folder(opts.data, self.cfg.sample_rate, self.cfg.slice_length, cache_dir=opts.cache_dir,
                           progress=opts.progress and self.rank == 0)
        self.data = choose_labels(data, self.cfg, opts)
        self.fitting_latents = choose_fit(self.cfg, opts, len(self.data), self.out)
        self.model = model_class(self.kind)(self.cfg)
        self.step, self.best, self.seconds = 0, math.inf, 0.0
        self.history: list[dict[str, Any]] = []
        self.g = torch.Generator().manual_seed(opts.seed * 1000 + self.rank)
        if opts.init and not (opts.resume and (self.out / checkpoint.STATE_FILE).exists()):
            self._load_base(checkpoint.resolve(opts.init))
        elif not opts.resume or opts.dry_run:
            self.model.fit_statistics(self.data.x)
        devices.prepare(self.device)
        self.model.to(self.device)  # before the optimizers are made: they hold the parameters they update
        self.judge = self._judge()
        self.opt = steps.make_optimizers(self.model)
        if opts.resume and (self.out / checkpoint.STATE_FILE).exists():
            self._resume()
        if self.rank:  # all processes start from the same weights (seeded above); each draws its own z and noise
            torch.manual_seed(opts.seed + 1000 * self.rank + self.step)
        self.preview_y = self._labels_for(PREVIEW_COUNT, torch.Generator().manual_seed(1234))
        self.preview_z = self.model.sample_latents(PREVIEW_COUNT, torch.Generator().manual_seed(1234), self.preview_y)
        self._reference: np.ndarray | None = None

    def _load_base(self, base: Path) -> None:
        """Fine-tuning: start from the base model's weights (and its discriminator, when its run left one; a latent
        fit has no use for it). The base's stored latents are not carried over: they belong to its own data."""
        served = checkpoint.load(base)
        state = {k: v for k, v in served.state_dict().items() if not k.startswith("prior.")}
        self.model.load_state_dict(state, strict=False)
        if (base / checkpoint.STATE_FILE).exists() and not self.fitting_latents:
            full = model_class(self.kind)(self.cfg)
            checkpoint.load_train_state(base, full, steps.make_optimizers(full))
            self.model.load_state_dict(full.state_dict())

    def _judge(self) -> ClassLoss | None:
        """The frozen tagger of an autoencoder's class-keeping loss (config class_weight > 0), on the device."""
        if not getattr(self.cfg, "class_weight", 0.0):
            return None
        from drumgen.engine import tagging

        try:
            tagger = tagging.load(self.opts.tagger or tagging.DEFAULT_CHECKPOINT)
        except (tagging.TaggerError, ValueError) as e:
            raise TrainingError(f"the class-keeping loss needs a tagger: {e}") from e
        return ClassLoss(tagger, self.cfg.sample_rate).to(self.device)

    def _resume(self) -> None:
        self.step, extra, rng = checkpoint.load_train_state(self.out, self.model, self.opt)
        self.best = extra.get("best", math.inf)
        self.history = extra.get("history", [])
        self.seconds = extra.get("seconds", 0.0)
        if "generator" in rng:
            self.g.set_state(rng["generator"])
        if "torch" in rng:
            torch.set_rng_state(rng["torch"])

    def _labels_for(self, n: int, g: torch.Generator) -> torch.Tensor | None:
        if not self.cfg.labels:
            return None
        return torch.arange(n) % len(self.cfg.labels)

    def batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        _, x, y = self.indexed_batch()
        if self.opts.augment:
            x = augment.gain_polarity_delay(x, self.g)
        return x, y

    def indexed_batch(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Random hits as they are: their indices in the data [B], audio [B, T], classes [B] or None."""
        size = max(1, self.cfg.batch_size // self.world)
        # each process draws from its own shard of the hits (every world-th one), so under torchrun the ranks
        # see different hits; with one process the shard is all of them
        shard = torch.arange(self.rank, len(self.data), self.world) if len(self.data) >= self.world \
            else torch.arange(len(self.data))
        idx = shard[torch.randint(0, len(shard), (size,), generator=self.g)]
        x = torch.from_numpy(self.data.x[idx.numpy()])
        y = torch.from_numpy(self.data.y[idx.numpy()]) if self.cfg.labels else None
        return idx, x, y

    def to_device(self, *tensors: torch.Tensor | None) -> list[torch.Tensor | None]:
        """Batches are drawn and augmented on the CPU (seeded, the same on every device), then moved."""
        pin = self.device.type == "cuda"
        return [None if t is None else (t.pin_memory() if pin else t).to(self.device, non_blocking=pin)
                for t in tensors]

    def step_once(self) -> dict[str, float]:
        """One training step: the kind's own update, or a latent-fit update on hits as they are."""
        if self.fitting_latents:
            if not self.model.has_stored_prior:  # a fresh fit: each hit's starting latent (counted as step time)
                start = torch.Generator().manual_seed(self.opts.seed)  # the same on every process
                steps.start_latent_fit(self.model, self.data.x, self.data.y if self.cfg.labels else None, start)
                self.preview_z = self.model.sample_latents(PREVIEW_COUNT, torch.Generator().manual_seed(1234),
                                                           self.preview_y)
            idx, x, y = self.to_device(*self.indexed_batch())
            assert idx is not None and x is not None
            return steps.latent_fit_step(self.model, idx, x, y, self.opt)
        x, y = self.to_device(*self.batch())
        assert x is not None
        return steps.train_step(self.model, x, y, self.opt, self.step, self.judge)

    # -- outputs -------------------------------------------------------------------------------------------
    @torch.no_grad()
    def generate(self, z: torch.Tensor, y: torch.Tensor | None) -> np.ndarray:
        self.model.eval()
        try:
            z_dev, y_dev = self.to_device(z, y)
            assert z_dev is not None
            return self.model.decode(z_dev, y_dev).float().cpu().numpy()
        finally:
            self.model.train()

    @property
    def measure(self) -> str:
        """What 'best' means for this model: re-synthesis error for models with an encoder (their first job is
        to play a user's hit back), Frechet distance of sampled hits to the training hits for the others."""
        return "resynth_db" if self.model.can_encode else "frechet"

    def quality(self) -> float:
        """The run's keep-best score (lower is better): see `measure`."""
        if self.measure == "resynth_db":
            return self.resynthesis_error()
        return self.frechet()

    @torch.no_grad()
    def resynthesis_error(self) -> float:
        """Mean multi-resolution log-spectral distance (dB) of encode -> decode over 32 fixed training hits."""
        from drumgen.dsp.spectral import log_spectral_distance_db

        pick = np.random.default_rng(0).choice(len(self.data), min(len(self.data), 32), replace=False)
        x = torch.from_numpy(self.data.x[pick]).to(self.device)
        self.model.eval()
        try:
            y = self.model.decode(self.model.encode(x), None)
        finally:
            self.model.train()
        if not torch.isfinite(y).all():
            return math.inf
        return float(log_spectral_distance_db(y.float(), x).mean())

    def frechet(self) -> float:
        """Frechet distance between generated hits and the training hits (lower is better)."""
        from drumgen.eval import metrics

        if self._reference is None:
            pick = np.random.default_rng(0).choice(len(self.data), min(len(self.data), 512), replace=False)
            self._reference = metrics.embed(self.data.x[pick], self.cfg.sample_rate)
        g = torch.Generator().manual_seed(99)
        y = self._labels_for(EVAL_COUNT, g)
        x = self.generate(self.model.sample_latents(EVAL_COUNT, g, y), y)
        if not np.all(np.isfinite(x)) or np.max(np.abs(x)) < 1e-4:
            return math.inf
        return float(metrics.frechet_distance(metrics.embed(x, self.cfg.sample_rate), self._reference))

    def preview(self) -> list[str]:
        folder = self.out / "previews" / f"step_{self.step:07d}"
        x = self.generate(self.preview_z, self.preview_y)
        paths = [str(audio.write_wav(folder / f"{i}.wav", hit, self.cfg.sample_rate)) for i, hit in enumerate(x)]
        atomic_write_bytes(folder / "spectrograms.png", pictures.spectrogram_grid_png(x, self.cfg.sample_rate))
        return paths

    def summary(self) -> dict[str, Any]:
        report = self.data.report
        return {
            "data": {"root": report.root, "hits": len(self.data), "counts": report.counts()},
            "preset": self.cfg.preset, "steps": self.step, "seconds": round(self.seconds, 1),
            "device": str(self.device), "processes": self.world, "measure": self.measure,
            "best_score": None if math.isinf(self.best) else self.best,
            "base": self.opts.init, "torch": torch.__version__,
            **({"class_tagger": str(self.opts.tagger or "the shipped tagger")} if self.judge is not None else {}),
        }

    def save_state(self) -> None:
        extra = {"best": self.best, "history": self.history[-2000:], "seconds": self.seconds}
        rng = {"generator": self.g.get_state(), "torch": torch.get_rng_state()}
        checkpoint.save_train_state(self.out, self.model, self.opt, self.step, extra, rng)

    def evaluate_and_keep_best(self) -> float:
        """Measure the model and save it when it is the run's best; a class-keeping fine-tune (a judge) keeps its
        latest instead: it trades a little of the re-synthesis error `quality` measures for what the tagger hears."""
        score = self.quality()
        if score < self.best or self.judge is not None or not (self.out / checkpoint.MODEL_FILE).exists():
            self.best = min(self.best, score)
            self.save_checkpoint({**self.summary(), "best_score": score})
        return score

    def save_checkpoint(self, summary: dict[str, Any]) -> None:
        """Write the served checkpoint, its latent prior fitted to the training hits first."""
        steps.fit_latent_prior(self.model, self.data.x, self.data.y if self.cfg.labels else None)
        checkpoint.save(self.model, self.out, summary)


def train(opts: TrainOptions, callback: Callable[[dict], None] | None = None,
          should_stop: Callable[[], bool] | None = None) -> dict[str, Any]:
    """Run (or continue) training; returns the summary stored in the checkpoint."""
    joined = init_distributed(devices.resolve(opts.device))
    run = Run(opts, callback, should_stop)
    if run.rank == 0:
        run.out.mkdir(parents=True, exist_ok=True)
    if not opts.dry_run:
        check_budget(opts.steps, opts.minutes)
    total = 1 if opts.dry_run else opts.steps
    deadline = time.monotonic() + opts.minutes * 60 if opts.minutes and not opts.dry_run else None
    bar = None
    if opts.progress and run.rank == 0:
        from tqdm import tqdm

        bar = tqdm(total=total, initial=min(run.step, total or run.step), unit="step", dynamic_ncols=True,
                   desc=f"{run.kind} {run.cfg.preset}")
    start_step, started, last_save = run.step, time.monotonic(), time.monotonic()
    losses: dict[str, float] = {}
    try:
        while not run.should_stop():
            if total is not None and run.step >= total:
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
            t0 = time.monotonic()
            losses = run.step_once()
            if not all(math.isfinite(v) for v in losses.values()):
                raise TrainingError(f"training diverged at step {run.step} (losses {losses}); the best checkpoint "
                                    f"in {run.out} is kept: lower the learning rate or resume from it")
            run.step += 1
            run.seconds += time.monotonic() - t0
            if run.rank != 0:
                continue
            record = {"step": run.step, **{k: round(v, 5) for k, v in losses.items()}}
            run.history.append(record)
            previews: list[str] = []
            if run.step % opts.eval_every == 0:
                record[run.measure] = run.evaluate_and_keep_best()
            if run.step % opts.preview_every == 0:
                previews = run.preview()
            if time.monotonic() - last_save > opts.save_every:
                run.save_state()
                last_save = time.monotonic()
            eta = _eta(run.step - start_step, time.monotonic() - started, total and total - run.step, deadline)
            if bar is not None:
                bar.update(1)
                bar.set_postfix({k: f"{v:.3g}" for k, v in list(losses.items())[:4]}, refresh=False)
            if run.callback:
                elapsed = time.monotonic() - started
                budget = opts.minutes * 60 if opts.minutes and deadline is not None else None
                # how far along the budget is, whichever limits the run: steps, or minutes (then total is None)
                fraction = run.step / total if total else elapsed / budget if budget else 0.0
                run.callback({"type": "progress", "step": run.step, "total": total, "losses": losses,
                              "eta": eta, "previews": previews, "elapsed": round(elapsed, 2), "budget": budget,
                              "fraction": round(min(1.0, max(0.0, fraction)), 4)})
    finally:
        if bar is not None:
            bar.close()
    if run.rank == 0:
        if run.step > 0:
            score = run.evaluate_and_keep_best()
            run.history.append({"step": run.step, run.measure: score})
            run.preview()
        run.save_state()
        if not (run.out / checkpoint.MODEL_FILE).exists():
            run.save_checkpoint(run.summary())
        (run.out / "history.json").write_text(json.dumps(run.history[-2000:]))
    summary = run.summary()
    if opts.dry_run:
        x = run.generate(run.preview_z[:1], None if run.preview_y is None else run.preview_y[:1])
        summary["dry_run"] = {"batch": list(run.batch()[0].shape), "generated": list(x.shape), "losses": losses}
        if not opts.out:
            shutil.rmtree(run.out, ignore_errors=True)
    if dist.is_initialized():
        dist.barrier()
        if joined:
            # Leave the group explicitly: a process exiting with gloo's threads still running can abort
            # ("terminate called without an active exception") after its work is done.
            dist.destroy_process_group()
    return summary


def trained_seconds(out: str | os.PathLike) -> float:
    """Training seconds (summed step time) already spent by the run whose resume state is in `out`; 0 without one."""
    state = checkpoint.read_train_state_metadata(out)  # read, never memory-mapped (see checkpoint._read)
    return float(state.get("extra", {}).get("seconds", 0.0))


def _eta(done: int, elapsed: float, remaining_steps: int | None, deadline: float | None) -> float | None:
    if deadline is not None:
        return max(0.0, deadline - time.monotonic())
    if remaining_steps is None or done == 0:
        return None
    return elapsed / done * remaining_steps
