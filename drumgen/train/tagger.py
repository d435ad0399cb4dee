"""Training the drum tagger: synthetic extra hits and the loop (its augmentation: drumgen.dsp.augment.kit_and_mic).

    model, summary = train_tagger(x, y, labels, sample_rate)   # x [N, T] float32, y [N] class index
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import torch
import torch.nn.functional as F

from drumgen.data.labels import CLASSES
from drumgen.dsp import augment, synth
from drumgen.engine.tagging import TaggerError, evaluate, prepare_input
from drumgen.io import audio
from drumgen.models.tagger import Config, Tagger


def synth_hits(per_class: int, sample_rate: int, length: int, seed: int,
               classes: tuple[str, ...] = CLASSES) -> tuple[np.ndarray, np.ndarray]:
    """`per_class` procedural hits of each class: x [C * per_class, length], y [C * per_class]."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for i, kind in enumerate(classes):
        for _ in range(per_class):
            xs.append(audio.fit_length(synth.hit(kind, rng, sample_rate), length, sample_rate))
            ys.append(i)
    return np.stack(xs).astype(np.float32), np.array(ys, dtype=np.int64)


def train_tagger(x: np.ndarray, y: np.ndarray, labels: list[str] | tuple[str, ...], sample_rate: int, *,
                 steps: int = 1500, batch: int = 32, lr: float = 3e-3, seed: int = 0,
                 config: Config | None = None, x_val: np.ndarray | None = None, y_val: np.ndarray | None = None,
                 eval_every: int = 250, keep_best: bool = False, strong_augment: bool = False,
                 groups: np.ndarray | None = None, kit_power: float = 0.5, mix: float = 0.0,
                 mix_db: tuple[float, float] = (14.0, 30.0), floor_share: float = 1.0,
                 floor_db: tuple[float, float] = (30.0, 70.0), ema: float = 0.0, log=print) -> tuple[Tagger, dict]:
    """Train a tagger on hits x [N, T] at `sample_rate` with class indices y [N] into `labels`.

    Batches are class-balanced (every tag is drawn equally often, so a rare tag is not ignored) and augmented
    (drumgen.dsp.augment.kit_and_mic). AdamW with a one-cycle learning rate. x_val/y_val are scored every `eval_every` steps and
    in the summary; only with keep_best is the best-scoring model kept (never do that when x_val is the test set:
    picking the best of many looks at the test set is training on it). `groups` [N] (e.g. the kit of each hit)
    spreads each tag's draws over its groups: a hit's weight within its tag goes as (hits of its group) ** -kit_power
    (1/sqrt by default; 1 gives every group of a tag the same share), so one big kit does not stand for the whole tag. `mix`: share of training hits given a second hit `mix_db` dB down. `ema` > 0: the model returned (and scored) is
    the exponential moving average of the weights with this decay per step, which is steadier than the last step. Returns (model in eval mode, summary dict with steps, seconds and metrics).
    """
    labels = list(labels)
    y = np.asarray(y, dtype=np.int64)
    present = sorted(set(y.tolist()))
    if len(present) < 2:
        raise TaggerError(f"a tagger needs hits of at least two tags; got {[labels[i] for i in present]}")
    torch.manual_seed(seed)
    config = dataclasses.replace(config or Config(), labels=labels)
    model = Tagger(config)
    xt = prepare_input(model, x, sample_rate)
    rate = config.sample_rate
    xt = F.pad(xt, (0, config.length - xt.shape[1]))
    g = torch.Generator().manual_seed(seed)
    counts = np.bincount(y, minlength=len(labels))
    within = np.ones(len(y))
    if groups is not None:
        groups = np.asarray(groups)
        pair = np.array([f"{a}|{b}" for a, b in zip(y, groups, strict=True)])
        _, inv, n_pair = np.unique(pair, return_inverse=True, return_counts=True)
        within = n_pair[inv].astype(float) ** -kit_power
    class_sum = np.bincount(y, weights=within, minlength=len(labels))
    weights = torch.from_numpy(within / class_sum[y])
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
    best, best_state, history = -1.0, None, []
    averaged = torch.optim.swa_utils.AveragedModel(
        model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(ema), use_buffers=True) if ema else None
    start = time.process_time()
    for step in range(1, steps + 1):
        model.train()
        idx = torch.multinomial(weights, batch, replacement=True, generator=g)
        xb = augment.kit_and_mic(xt[idx], g, rate, strong=strong_augment, mix=mix, mix_db=mix_db,
                                 floor_share=floor_share, floor_db=floor_db)
        loss = F.cross_entropy(model(xb), torch.from_numpy(y)[idx], label_smoothing=0.05)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if averaged is not None:
            averaged.update_parameters(model)
        if x_val is not None and y_val is not None and (step % eval_every == 0 or step == steps):
            result = evaluate(model, x_val, y_val, sample_rate)
            history.append({"step": step, "loss": float(loss.detach()), **{k: result[k] for k in ("accuracy", "balanced_accuracy")}})
            log(f"step {step}: loss {float(loss.detach()):.3f}, held-out accuracy {result['accuracy']:.3f} "
                f"(balanced {result['balanced_accuracy']:.3f})")
            if keep_best and result["balanced_accuracy"] > best:
                best, best_state = result["balanced_accuracy"], {k: v.clone() for k, v in model.state_dict().items()}
        elif step % eval_every == 0:
            log(f"step {step}: loss {float(loss.detach()):.3f}")
    if averaged is not None:  # the average replaces the last step's weights (batch-norm statistics averaged too)
        model.load_state_dict(averaged.module.state_dict())
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    summary = {"steps": steps, "batch": batch, "lr": lr, "seed": seed, "kit_power": kit_power, "mix": mix, "mix_db": list(mix_db),
               "floor_share": floor_share, "floor_db": list(floor_db), "ema": ema, "cpu_seconds": round(time.process_time() - start, 1),
               "train_hits": {labels[i]: int(c) for i, c in enumerate(counts)}, "history": history}
    if x_val is not None and y_val is not None:
        summary["heldout"] = evaluate(model, x_val, y_val, sample_rate)
    return model, summary


# ---------------------------------------------------------------------------------------------------------------
# Folders
