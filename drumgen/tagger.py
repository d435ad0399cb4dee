"""Train and run the drum tagger (drumgen.models.tagger): label a folder of hits, or learn a user's own tags.

    model, summary = train_tagger(x, y, labels, sample_rate)   # x [N, T] float32, y [N] class index
    labels, probs = predict(model, x, sample_rate)             # probs [N, C]
    feats = features(model, x, sample_rate)                    # [N, hidden], for metrics

`drumgen tag DIR` prints each file's tag and confidence, then per folder how sure it is (mean top probability,
share of hits under --low); `drumgen tag --train DIR --out CKPT` trains on a folder
whose sub-folder names are the tags (any tag set).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from drumgen import audio, checkpoint, synth
from drumgen.labels import CLASSES
from drumgen.metrics import confusion_matrix
from drumgen.models.tagger import Config, Tagger

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent.parent / "checkpoints" / "tagger"


class TaggerError(ValueError):
    """Bad input to the tagger (no files, one tag only, a checkpoint that is not a tagger)."""


# ---------------------------------------------------------------------------------------------------------------
# Save / load (a minimal safetensors checkpoint; drumgen.checkpoint will take over with the same layout)


def save(model: Tagger, directory: str | os.PathLike, summary: dict | None = None) -> Path:
    """Write directory/model.safetensors through drumgen.checkpoint (kind, config, labels, summary)."""
    checkpoint.save(model, directory, summary)
    return Path(directory)


def load(directory: str | os.PathLike) -> Tagger:
    """Load a tagger checkpoint (directory or its model.safetensors); never unpickles."""
    path = Path(directory)
    path = path.parent if path.name == checkpoint.MODEL_FILE else path
    if not (path / checkpoint.MODEL_FILE).is_file():
        raise TaggerError(f"no tagger checkpoint at {path}; train one with `drumgen tag --train DIR --out CKPT`")
    model = checkpoint.load(path)
    if model.kind != Tagger.kind:
        raise TaggerError(f"{path} holds a {model.kind!r} model, not a tagger")
    return model


# ---------------------------------------------------------------------------------------------------------------
# Inference


def _prepare(model: Tagger, x: np.ndarray, sample_rate: int) -> torch.Tensor:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2:
        raise TaggerError(f"expected hits as an array [N, T]; got shape {x.shape}")
    x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    rate = model.config.sample_rate
    if sample_rate != rate and x.shape[0]:
        x = audio.resample(np.ascontiguousarray(x.T), sample_rate, rate).T.reshape(x.shape[0], -1)
    return torch.from_numpy(np.ascontiguousarray(x[:, : model.config.length]))


@torch.no_grad()
def _batched(fn, model: Tagger, x: np.ndarray, sample_rate: int, batch: int) -> np.ndarray:
    model.eval()
    t = _prepare(model, x, sample_rate)
    if t.shape[0] == 0:
        return np.zeros((0, 0), np.float32)
    return torch.cat([fn(t[i:i + batch]) for i in range(0, t.shape[0], batch)]).numpy()


def predict_proba(model: Tagger, x: np.ndarray, sample_rate: int, batch: int = 64) -> np.ndarray:
    """Hits x [N, T] at `sample_rate` -> class probabilities [N, C] (columns in model.labels order)."""
    return _batched(lambda t: F.softmax(model(t), dim=1), model, x, sample_rate, batch)


def predict(model: Tagger, x: np.ndarray, sample_rate: int, batch: int = 64) -> tuple[list[str], np.ndarray]:
    """Hits x [N, T] -> (the winning tag of each hit [N], probabilities [N, C])."""
    probs = predict_proba(model, x, sample_rate, batch)
    return [model.labels[i] for i in probs.argmax(axis=1)], probs


def features(model: Tagger, x: np.ndarray, sample_rate: int, batch: int = 64) -> np.ndarray:
    """Penultimate-layer features [N, hidden] of hits x [N, T]: a learned embedding for Frechet distances."""
    return _batched(model.features, model, x, sample_rate, batch)


# ---------------------------------------------------------------------------------------------------------------
# Training


def _speed(x: torch.Tensor, speed: float, t: int) -> torch.Tensor:
    """Resample rows [B, T] by `speed` (pitch and length together), cut/zero-padded back to t samples."""
    x = F.interpolate(x[:, None], scale_factor=1 / speed, mode="linear", align_corners=False)[:, 0]
    return F.pad(x, (0, max(0, t - x.shape[1])))[:, :t]


def mix_second_hit(x: torch.Tensor, g: torch.Generator, sample_rate: int, share: float,
                   db: tuple[float, float] = (14.0, 30.0)) -> torch.Tensor:
    """On `share` of the rows of x [B, T], add another row of the batch `db` (peak to peak) down, 0-150 ms later:
    the bleed of other drums into a close mic, or a hit sliced from a beat. The label stays the loud hit's."""
    b, t = x.shape
    if share <= 0 or b < 2:
        return x
    r = lambda *s: torch.rand(*s, generator=g)  # noqa: E731
    other = x[(torch.arange(b) + 1 + torch.randint(0, b - 1, (1,), generator=g)) % b]  # never the row itself
    delay = int(r(1) * 0.15 * sample_rate)
    other = F.pad(other, (delay, 0))[:, :t]
    peak = lambda v: v.abs().amax(dim=1, keepdim=True).clamp_min(1e-6)  # noqa: E731
    level = 10 ** (-(db[0] + (db[1] - db[0]) * r(b, 1)) / 20) * (r(b, 1) < share)
    return x + other / peak(other) * peak(x) * level


def augment(x: torch.Tensor, g: torch.Generator, sample_rate: int, strong: bool = False,
            mix: float = 0.0, mix_db: tuple[float, float] = (14.0, 30.0)) -> torch.Tensor:
    """Random variations of real hits [B, T] that keep their class: what differs between kits and mics.

    Speed (pitch and length together; +-8%, or with `strong` +-3 semitones in four groups per batch), time shift
    (-5..+15 ms), spectral tilt (+-4 dB/octave, other mics and EQ), an early fade on a third of the hits (choked or
    shortened samples), a faint noise floor. `strong` adds a random peaking EQ (+-9 dB, a tuned drum or another
    room) and, on a third of the hits, a short noise-reverb tail (20-200 ms decay). Gain and polarity are left
    out: the model peak-normalises and looks at magnitudes, so both would be no-ops. `mix` > 0 adds a quiet
    second hit to that share of the rows first (see `mix_second_hit`).
    """
    x = mix_second_hit(x, g, sample_rate, mix, mix_db)
    b, t = x.shape
    r = lambda *s: torch.rand(*s, generator=g)  # noqa: E731
    if strong:
        groups = torch.arange(b) % 4
        speeds = 2 ** ((r(4) * 6 - 3) / 12)  # +-3 semitones
        x = torch.cat([_speed(x[groups == k], float(speeds[k]), t) for k in range(4)])[torch.argsort(torch.argsort(groups, stable=True))]
    else:
        x = _speed(x, float(0.92 + 0.16 * r(1)), t)
    shifts = ((r(b) * 0.020 - 0.005) * sample_rate).long()
    x = torch.stack([torch.roll(F.pad(row, (0, abs(int(s)))), int(s))[:t] if s >= 0 else
                     F.pad(row[-int(s):], (0, -int(s))) for row, s in zip(x, shifts, strict=True)])
    n = 2 * t if strong else t  # room for the reverb tail before it is cut
    spec = torch.fft.rfft(x, n=n, dim=1)
    f = torch.fft.rfftfreq(n, 1 / sample_rate).clamp_min(20.0)
    tilt_db = r(b, 1) * 8 - 4  # dB per octave around 1 kHz: gain = tilt_db * log2(f / 1k) dB
    gain_db = tilt_db * torch.log2(f / 1000.0)
    if strong:
        centre = 2 ** (r(b, 1) * 8 + 6)  # 64 Hz .. 16 kHz
        width = 0.3 + r(b, 1) * 1.2  # octaves
        gain_db = gain_db + (r(b, 1) * 18 - 9) * torch.exp(-0.5 * (torch.log2(f / centre) / width) ** 2)
        tau = (0.02 + 0.18 * r(b, 1)) * sample_rate
        k = torch.arange(t)[None].float()
        ir = torch.randn(b, t, generator=g) * torch.exp(-k / tau)
        ir = ir / ir.norm(dim=1, keepdim=True) * (0.05 + 0.4 * r(b, 1)) * (r(b, 1) < 0.33)
        ir[:, 0] += 1.0  # dry path
        spec = spec * torch.fft.rfft(ir, n=n, dim=1)
    x = torch.fft.irfft(spec * 10 ** (gain_db / 20), n=n, dim=1)[:, :t]
    fade_at = (0.05 + 0.6 * r(b, 1)) * t
    idx = torch.arange(t)[None].float()
    fade = torch.where(idx > fade_at, torch.exp(-(idx - fade_at) / (0.05 * sample_rate)), torch.ones(()))
    x = torch.where(r(b, 1) < 0.33, x * fade, x)
    peak = x.abs().amax(dim=1, keepdim=True)
    return x + torch.randn(x.shape, generator=g) * peak * 10 ** (-(30 + 40 * r(b, 1)) / 20)


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


def evaluate(model: Tagger, x: np.ndarray, y: np.ndarray, sample_rate: int) -> dict:
    """Accuracy overall, per class, mean over classes, and the confusion matrix (rows true, columns predicted)."""
    probs = predict_proba(model, x, sample_rate)
    pred = probs.argmax(axis=1)
    cm = confusion_matrix(y, pred, len(model.labels))
    per_class = {name: (float(cm[i, i] / cm[i].sum()) if cm[i].sum() else None) for i, name in enumerate(model.labels)}
    seen = [v for v in per_class.values() if v is not None]
    return {"accuracy": float((pred == y).mean()), "balanced_accuracy": float(np.mean(seen)),
            "per_class": per_class, "confusion": cm.tolist(), "n": int(len(y))}


def source_of(kit: dict) -> str:
    """A corpus kit's source for reports: hydrogen, sonic-pi, or the soundfont (sf-fluidr3, sf-timgm6mb)."""
    return "-".join(kit["name"].split("-")[:2]) if kit["source"] == "soundfont" else kit["source"]


def evaluate_split(model: Tagger, corpus_dir: str | os.PathLike, split: str = "heldout") -> dict:
    """Score a built corpus's split (drumgen.corpus) sliced every way: {"n", "accuracy", "balanced_accuracy",
    "nll" (mean -log p of the true class: smoother than accuracy for choosing between runs on few hits),
    "per_class", "per_source", "per_kit" (each name -> [accuracy, hits]), "confusion" (rows true, columns
    predicted, in CLASSES order)}. A predicted tag outside CLASSES (a user's tagger) counts as wrong and is left
    out of the matrix."""
    from drumgen import corpus

    cfg = model.config
    x, y, paths = corpus.load_split(corpus_dir, split, cfg.sample_rate, cfg.length)
    kits = {k["name"]: k for k in json.loads((Path(corpus_dir) / "manifest.json").read_text())["kits"]}
    names = predict(model, x, cfg.sample_rate)[0]  # map by name: a tagger's label order may differ from CLASSES
    pred = np.array([CLASSES.index(p) if p in CLASSES else -1 for p in names])
    hit = pred == y
    probs = predict_proba(model, x, cfg.sample_rate)
    true = [model.labels.index(CLASSES[i]) if CLASSES[i] in model.labels else -1 for i in y]
    nll = float(np.mean([-np.log(max(float(probs[n, j]), 1e-6)) if j >= 0 else np.log(1e6) for n, j in enumerate(true)]))
    kit_of = np.array([p.split("/")[1] for p in paths])
    source = np.array([source_of(kits[k]) for k in kit_of])
    slice_by = lambda keys: {str(k): [float(hit[keys == k].mean()), int((keys == k).sum())] for k in sorted(set(keys))}  # noqa: E731
    per_class = {c: [float(hit[y == i].mean()), int((y == i).sum())] for i, c in enumerate(CLASSES) if (y == i).any()}
    known = pred >= 0
    return {"split": split, "n": int(len(y)), "accuracy": float(hit.mean()), "nll": nll,
            "balanced_accuracy": float(np.mean([a for a, _ in per_class.values()])), "per_class": per_class,
            "per_source": slice_by(source), "per_kit": slice_by(kit_of),
            "confusion": confusion_matrix(y[known], pred[known], len(CLASSES)).tolist()}


def train_tagger(x: np.ndarray, y: np.ndarray, labels: list[str] | tuple[str, ...], sample_rate: int, *,
                 steps: int = 1500, batch: int = 32, lr: float = 3e-3, seed: int = 0,
                 config: Config | None = None, x_val: np.ndarray | None = None, y_val: np.ndarray | None = None,
                 eval_every: int = 250, keep_best: bool = False, strong_augment: bool = False,
                 groups: np.ndarray | None = None, kit_power: float = 0.5, mix: float = 0.0,
                 mix_db: tuple[float, float] = (14.0, 30.0), ema: float = 0.0, log=print) -> tuple[Tagger, dict]:
    """Train a tagger on hits x [N, T] at `sample_rate` with class indices y [N] into `labels`.

    Batches are class-balanced (every tag is drawn equally often, so a rare tag is not ignored) and augmented
    (see `augment`). AdamW with a one-cycle learning rate. x_val/y_val are scored every `eval_every` steps and
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
    xt = _prepare(model, x, sample_rate)
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
        xb = augment(xt[idx], g, rate, strong=strong_augment, mix=mix, mix_db=mix_db)
        loss = F.cross_entropy(model(xb), torch.from_numpy(y)[idx], label_smoothing=0.05)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if averaged is not None:
            averaged.update_parameters(model)
        if x_val is not None and (step % eval_every == 0 or step == steps):
            result = evaluate(model, x_val, y_val, sample_rate)
            history.append({"step": step, "loss": float(loss.detach()), **{k: result[k] for k in ("accuracy", "balanced_accuracy")}})
            log(f"step {step}: loss {float(loss.detach()):.3f}, held-out accuracy {result['accuracy']:.3f} "
                f"(balanced {result['balanced_accuracy']:.3f})")
            if keep_best and result["balanced_accuracy"] > best:
                best, best_state = result["balanced_accuracy"], {k: v.clone() for k, v in model.state_dict().items()}
        elif step % eval_every == 0:
            log(f"step {step}: loss {float(loss):.3f}")
    if averaged is not None:  # the average replaces the last step's weights (batch-norm statistics averaged too)
        model.load_state_dict(averaged.module.state_dict())
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    summary = {"steps": steps, "batch": batch, "lr": lr, "seed": seed, "kit_power": kit_power, "mix": mix, "mix_db": list(mix_db), "ema": ema, "cpu_seconds": round(time.process_time() - start, 1),
               "train_hits": {labels[i]: int(c) for i, c in enumerate(counts)}, "history": history}
    if x_val is not None:
        summary["heldout"] = evaluate(model, x_val, y_val, sample_rate)
    return model, summary


# ---------------------------------------------------------------------------------------------------------------
# Folders


def load_tagged_folder(root: str | os.PathLike, sample_rate: int, length: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """A folder whose sub-folders name the tags (root/<tag>/**/file) -> (x [N, length], y [N], tags).

    Any tag names work ("dusty-kicks", "808", ...). Files directly in root have no tag and are left out.
    """
    from drumgen.dataset import load_folder

    data = load_folder(root, sample_rate, length)
    tags = [Path(item.path).parts[0] if len(Path(item.path).parts) > 1 else None for item in data.report.loaded]
    names = sorted({t for t in tags if t is not None})
    if len(names) < 2:
        raise TaggerError(f"{root} needs at least two sub-folders of hits, one per tag (e.g. {root}/kick, "
                          f"{root}/snare); found {names or 'none'}")
    keep = [i for i, t in enumerate(tags) if t is not None]
    y = np.array([names.index(tags[i]) for i in keep], dtype=np.int64)
    return data.x[keep], y, names


def tag_folder(model: Tagger, root: str | os.PathLike) -> list[dict]:
    """Tag every hit below `root`: [{"path", "label", "confidence"}] (paths as given, sorted), plus unusable files
    with label None and their reason."""
    from drumgen.dataset import load_folder

    rate, length = model.config.sample_rate, model.config.length
    root = Path(root)
    data = load_folder(root, rate, length)
    labels, probs = predict(model, data.x, rate)
    base = root if root.is_dir() else root.parent
    rows = [{"path": str(base / item.path), "label": lab, "confidence": round(float(p.max()), 4)}
            for item, lab, p in zip(data.report.loaded, labels, probs, strict=True)]
    rows += [{"path": str(base / s.path), "label": None, "confidence": 0.0, "skipped": s.reason}
             for s in data.report.skipped]
    return sorted(rows, key=lambda r: r["path"])


def folder_confidence(rows: list[dict], low: float = 0.6) -> list[dict]:
    """Per folder of tag_folder's rows, how sure the tagger is: [{"folder", "hits", "mean_confidence",
    "low_share" (share of hits whose top probability is under `low`), "labels" (tag -> count)}], least sure
    first, so a producer sees where to check and correct the tags."""
    by: dict[str, list[dict]] = {}
    for r in rows:
        if r["label"] is not None:
            by.setdefault(str(Path(r["path"]).parent), []).append(r)
    out = []
    for folder, rs in by.items():
        conf = np.array([r["confidence"] for r in rs])
        counts: dict[str, int] = {}
        for r in rs:
            counts[r["label"]] = counts.get(r["label"], 0) + 1
        out.append({"folder": folder, "hits": len(rs), "mean_confidence": round(float(conf.mean()), 4),
                    "low_share": round(float((conf < low).mean()), 4), "labels": counts})
    return sorted(out, key=lambda f: (f["mean_confidence"], f["folder"]))


def format_confidence(folders: list[dict], low: float = 0.6) -> str:
    """folder_confidence's list as a few aligned lines for the terminal."""
    width = max((len(f["folder"]) for f in folders), default=6)
    lines = [f"{'folder':{width}}  hits  mean confidence  under {low:.2f}  tags"]
    for f in folders:
        tags = ", ".join(f"{k} {v}" for k, v in sorted(f["labels"].items(), key=lambda kv: -kv[1]))
        lines.append(f"{f['folder']:{width}}  {f['hits']:4d}  {f['mean_confidence']:15.2f}  "
                     f"{f['low_share']:9.0%}  {tags}")
    return "\n".join(lines)


def sort_into(rows: list[dict], out: str | os.PathLike, link: bool = False) -> int:
    """Copy (or symlink) each tagged file into out/<label>/; never moves or deletes the originals."""
    out = Path(out)
    n = 0
    for r in rows:
        if r["label"] is None or "#" in r["path"]:
            continue
        src = Path(r["path"]).resolve()
        dst = out / r["label"] / src.name
        if dst.resolve() == src:
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        k = 1
        while dst.exists() or dst.is_symlink():  # two files of one name from different folders: keep both
            dst = dst.with_name(f"{src.stem}_{k}{src.suffix}")
            k += 1
        dst.symlink_to(src) if link else shutil.copy2(src, dst)
        n += 1
    return n


# ---------------------------------------------------------------------------------------------------------------
# CLI verb: drumgen tag


def add_tag_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", nargs="?", help="folder (or file) of hits to tag")
    p.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT), help="tagger checkpoint folder")
    p.add_argument("--json", action="store_true", help='print [{"path", "label", "confidence"}] as JSON')
    p.add_argument("--csv", metavar="FILE", help="also write path,label,confidence to a CSV file")
    p.add_argument("--sort-into", metavar="DIR", help="copy each hit into DIR/<label>/ (originals untouched)")
    p.add_argument("--link", action="store_true", help="with --sort-into: symlink instead of copying")
    p.add_argument("--train", metavar="DIR", help="train a tagger on DIR/<tag>/... (folder names are the tags)")
    p.add_argument("--out", metavar="CKPT", help="with --train: where to write the new tagger")
    p.add_argument("--steps", type=int, default=1500, help="with --train: training steps")
    p.add_argument("--low", type=float, default=0.6,
                   help="the per-folder report counts hits whose top probability is under this (default 0.6)")


def cmd_tag(args: argparse.Namespace) -> int:
    if args.train:
        if not args.out:
            raise TaggerError("--train needs --out CKPT, the folder to write the new tagger to")
        cfg = Config()
        x, y, names = load_tagged_folder(args.train, cfg.sample_rate, cfg.length)
        model, summary = train_tagger(x, y, names, cfg.sample_rate, steps=args.steps,
                                      log=lambda s: print(s, file=sys.stderr))
        summary["data"] = str(args.train)
        save(model, args.out, summary)
        result = {"checkpoint": str(args.out), "tags": names, "hits": len(y), "cpu_seconds": summary["cpu_seconds"]}
        print(json.dumps(result) if args.json else f"trained a tagger for {', '.join(names)} on {len(y)} hits "
              f"in {summary['cpu_seconds']:.0f} CPU-s -> {args.out}")
        return 0
    if not args.dir:
        raise TaggerError("give a folder of hits to tag (drumgen tag DIR), or --train DIR --out CKPT")
    rows = tag_folder(load(args.checkpoint), args.dir)
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["path", "label", "confidence"])
            w.writerows([r["path"], r["label"] or "", r["confidence"]] for r in rows)
    if args.sort_into:
        n = sort_into(rows, args.sort_into, link=args.link)
        print(f"{'linked' if args.link else 'copied'} {n} files into {args.sort_into}", file=sys.stderr)
    folders = folder_confidence(rows, args.low)
    if args.json:  # stdout stays the list of rows; the per-folder report goes beside it, on stderr
        print(json.dumps([{k: r[k] for k in ("path", "label", "confidence")} for r in rows if r["label"]]))
        print(json.dumps({"folders": folders, "low": args.low}), file=sys.stderr)
    else:
        width = max((len(r["path"]) for r in rows), default=4)
        for r in rows:
            tag = r["label"] or f"(skipped: {r['skipped']})"
            print(f"{r['path']:{width}}  {tag:8}  {r['confidence']:.2f}" if r["label"] else f"{r['path']:{width}}  {tag}")
        if folders:
            print(f"\nHow sure the tagger is, per folder (least sure first; check the tags of hits under {args.low:.2f}):")
            print(format_confidence(folders, args.low))
    return 0
