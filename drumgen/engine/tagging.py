"""Run the drum tagger (drumgen.models.tagger): name hits, score it on a corpus split, tag and sort a folder.

    labels, probs = predict(model, x, sample_rate)             # x [N, T] float32 -> probs [N, C]
    feats = features(model, x, sample_rate)                    # [N, hidden], for metrics

Training it is drumgen/train/tagger.py; the `drumgen tag` verb is drumgen/cli/tag.py.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from drumgen import checkpoint
from drumgen.data.labels import CLASSES
from drumgen.eval.metrics import confusion_matrix
from drumgen.io import audio
from drumgen.models.tagger import Tagger

DEFAULT_CHECKPOINT = checkpoint.default_dir() / "tagger"  # the shipped one ($DRUMGEN_CHECKPOINTS holds)


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


def prepare_input(model: Tagger, x: np.ndarray, sample_rate: int) -> torch.Tensor:
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
    t = prepare_input(model, x, sample_rate)
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


NOISE_FLOOR_DBFS = -60.0  # a white noise floor this far under full scale, which nobody hears, must not change a class


def steadiness(model: Tagger, x: np.ndarray, sample_rate: int, floor_dbfs: float = NOISE_FLOOR_DBFS,
               names: list[str] | None = None) -> float:
    """The share of hits [N, T] whose class stays the same over a white noise floor `floor_dbfs` under full scale
    (a fixed noise, so it is reproducible). names: the tagger's classes for x, when already known."""
    noise = np.random.default_rng(0).standard_normal(x.shape).astype(np.float32) * 10 ** (floor_dbfs / 20)
    before = names if names is not None else predict(model, x, sample_rate)[0]
    after = predict(model, (x + noise).astype(np.float32), sample_rate)[0]
    return float(np.mean([a == b for a, b in zip(before, after, strict=True)]))


def evaluate_split(model: Tagger, corpus_dir: str | os.PathLike, split: str = "heldout") -> dict:
    """Score a built corpus's split (drumgen.data.corpus) sliced every way: {"n", "accuracy", "balanced_accuracy",
    "nll" (mean -log p of the true class: smoother than accuracy for choosing between runs on few hits),
    "steadiness" (see `steadiness`), "per_class", "per_source", "per_kit" (each name -> [accuracy, hits]),
    "confusion" (rows true, columns predicted, in CLASSES order)}. A predicted tag outside CLASSES (a user's
    tagger) counts as wrong and is left out of the matrix."""
    from drumgen.data import corpus

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
            "steadiness": steadiness(model, x, cfg.sample_rate, names=list(names)),
            "balanced_accuracy": float(np.mean([a for a, _ in per_class.values()])), "per_class": per_class,
            "per_source": slice_by(source), "per_kit": slice_by(kit_of),
            "confusion": confusion_matrix(y[known], pred[known], len(CLASSES)).tolist()}


def load_tagged_folder(root: str | os.PathLike, sample_rate: int, length: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """A folder whose sub-folders name the tags (root/<tag>/**/file) -> (x [N, length], y [N], tags).

    Any tag names work ("dusty-kicks", "808", ...). Files directly in root have no tag and are left out.
    """
    from drumgen.data.dataset import load_folder

    data = load_folder(root, sample_rate, length)
    tags = [Path(item.path).parts[0] if len(Path(item.path).parts) > 1 else None for item in data.report.loaded]
    names = sorted({t for t in tags if t is not None})
    if len(names) < 2:
        raise TaggerError(f"{root} needs at least two sub-folders of hits, one per tag (e.g. {root}/kick, "
                          f"{root}/snare); found {names or 'none'}")
    tagged = [(i, t) for i, t in enumerate(tags) if t is not None]
    keep = [i for i, _ in tagged]
    y = np.array([names.index(t) for _, t in tagged], dtype=np.int64)
    return data.x[keep], y, names


def tag_folder(model: Tagger, root: str | os.PathLike) -> list[dict]:
    """Tag every hit below `root`: [{"path", "label", "confidence"}] (paths as given, sorted), plus unusable files
    with label None and their reason."""
    from drumgen.data.dataset import load_folder

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
