"""Training options, validated once for the CLI and the server's jobs: the budget, the model kind a fine-tune may
take, and the model Config a run builds (from its resume state, its base checkpoint, or a preset), with the labels
and the GAN latent-fit choice that follow from the data."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import numpy as np

from drumgen import checkpoint
from drumgen.data.dataset import Dataset
from drumgen.models import model_class
from drumgen.models.layers import LATENT_FIT_MAX_HITS
from drumgen.models.prior import MAX_PRIOR_SIZE


@dataclasses.dataclass
class TrainOptions:
    data: str | None = None  # folder of hits
    out: str | None = None  # checkpoint directory to write
    kind: str | None = None  # None: the base's kind when fine-tuning (--init), else autoencoder
    preset: str | None = None  # one of the model's PRESETS; None = its default
    steps: int | None = None
    minutes: float | None = None
    batch_size: int | None = None
    resume: bool = False
    init: str | None = None  # checkpoint to fine-tune from
    fit: str = "auto"  # GANs: "adversarial", "latent" (fit latents to the hits), "auto" (latent for a fine-tune
    #                    on at most LATENT_FIT_MAX_HITS hits); ignored by a resumed run (its config decides)
    conditional: bool = True  # condition on class labels when the data has them
    augment: bool = True
    seed: int = 0
    preview_every: int = 500
    eval_every: int = 250
    save_every: float = 120.0  # seconds between resume-state saves
    dry_run: bool = False
    progress: bool = True
    cache_dir: str | None = None
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps (drumgen.devices); under torchrun each rank its own GPU
    config_overrides: dict[str, Any] = dataclasses.field(default_factory=dict)
    tagger: str | None = None  # the tagger judging an autoencoder's class_weight loss; None: the shipped one


class TrainingError(ValueError):
    """Training cannot start or continue; the message says why and what to do."""


def choose_kind(kind: str | None, base_kind: str | None, base: str | None = None) -> str:
    """The model kind of a run: the asked one, else the base's (a fine-tune keeps its base's architecture), else
    the autoencoder. The CLI and the server's training jobs both ask here."""
    if base_kind and kind and kind != base_kind:
        raise TrainingError(f"the base model {base or ''} is a {base_kind}; train kind {base_kind} to fine-tune "
                            f"it, or choose another base".replace("  ", " "))
    return kind or base_kind or "autoencoder"


def check_budget(steps: int | None, minutes: float | None) -> None:
    """A run is limited by steps or by minutes: exactly one of them, and positive."""
    if (steps is None) == (minutes is None):
        raise TrainingError("give a training budget: either steps or minutes (not both)")
    if (steps is not None and steps <= 0) or (minutes is not None and not minutes > 0):
        raise TrainingError("the training budget must be positive")


MAX_BATCH_SIZE = 4096


def build_config(opts: TrainOptions):
    """The model config for this run: from the resume state, the base checkpoint, or a preset; a batch size asked
    for replaces the base's or the preset's (a resumed run keeps its own)."""
    if opts.batch_size is not None and not 1 <= opts.batch_size <= MAX_BATCH_SIZE:
        raise TrainingError(f"the batch size is a number of hits per step, 1 to {MAX_BATCH_SIZE}; "
                            f"got {opts.batch_size}")
    sized = {} if opts.batch_size is None else {"batch_size": opts.batch_size}
    out = Path(opts.out) if opts.out else None
    if opts.resume and out and (out / checkpoint.STATE_FILE).exists():
        kind, stored = checkpoint.read_train_state_config(out)
        return kind, model_class(kind).Config.from_dict(stored)
    if opts.resume and not opts.dry_run:
        raise TrainingError(f"--resume: no {checkpoint.STATE_FILE} in {out}; start without --resume")
    if opts.init:
        info = checkpoint.read_metadata(checkpoint.resolve(opts.init))
        choose_kind(opts.kind, info["kind"], opts.init)
        cfg = model_class(info["kind"]).Config.from_dict({**info["config"], **opts.config_overrides, **sized})
        return info["kind"], cfg
    kind = choose_kind(opts.kind, None)
    cls = model_class(kind)
    module = sys.modules[cls.__module__]  # a model file's PRESETS and DEFAULT_PRESET live beside its Config
    presets = getattr(module, "PRESETS", {})
    name = opts.preset or getattr(module, "DEFAULT_PRESET", None)
    if name is not None and name not in presets:
        raise TrainingError(f"unknown preset {name!r} for {kind}; choose one of {', '.join(presets)}")
    values = {**(presets.get(name, {}) if name else {}), **opts.config_overrides}
    if name:
        values["preset"] = name
    return kind, cls.Config.from_dict({**values, **sized})


def choose_labels(data: Dataset, cfg, opts: TrainOptions) -> Dataset:
    """Set cfg.labels from the data (conditional runs) and drop unlabelled hits from a conditional run."""
    if opts.init or opts.resume:
        labels = tuple(cfg.labels)
    elif opts.conditional and data.labelled and "labels" in {f.name for f in dataclasses.fields(cfg)}:
        present = sorted({int(i) for i in data.y if i >= 0})
        labels = tuple(data.labels[i] for i in present)
        cfg.labels = labels
    else:
        labels = ()
        cfg.labels = ()
    if not labels:
        return dataclasses.replace(data, y=np.full_like(data.y, -1))
    mapping = {data.labels.index(name): i for i, name in enumerate(labels)}
    y = np.array([mapping.get(int(i), -1) for i in data.y], dtype=np.int64)
    keep = y >= 0
    if not keep.any():
        raise TrainingError(f"the base model is conditioned on {', '.join(labels)} and none of the hits in "
                            f"{data.report.root} carries one of those labels (name files or folders by class)")
    return dataclasses.replace(data, x=data.x[keep], y=y[keep])


def choose_fit(cfg, opts: TrainOptions, hits: int, out: Path) -> bool:
    """Decide (and write into cfg) whether this GAN run fits latents to the hits; True when it does."""
    if "fit" not in {f.name for f in dataclasses.fields(cfg)}:
        if opts.fit == "latent":
            raise TrainingError("--fit latent is for the GANs; an autoencoder finds a hit's latent by encoding it")
        return False
    if opts.resume and (out / checkpoint.STATE_FILE).exists():
        if cfg.fit == "latent" and hits != cfg.prior_size:
            raise TrainingError(f"this run fitted a latent to each of {cfg.prior_size} hits and {opts.data} now "
                                f"holds {hits}: resume it on the same hits, or start a new run")
        return cfg.fit == "latent"
    if opts.fit not in ("auto", "adversarial", "latent"):
        raise TrainingError(f"unknown --fit {opts.fit!r}; choose auto, adversarial or latent")
    latent = opts.fit == "latent" or (opts.fit == "auto" and bool(opts.init) and hits <= LATENT_FIT_MAX_HITS)
    if latent and hits > MAX_PRIOR_SIZE:
        raise TrainingError(f"--fit latent keeps one latent per hit, at most {MAX_PRIOR_SIZE}; {opts.data} holds "
                            f"{hits} hits: use --fit adversarial")
    cfg.fit = "latent" if latent else "adversarial"
    cfg.prior_size = hits if latent else cfg.prior_size
    return latent
