"""Score a folder of generated hits against real drums: the `drumgen eval` and `drumgen corpus` verbs.

    report = evaluate_hits(x_gen, sample_rate, reference)       # reference = load_reference(...) or from_corpus
    drumgen eval --gen out/ --ref corpus                        # shipped statistics of the Hydrogen corpus
    drumgen eval --gen out/ --ref real_kit/ --train my_hits/    # any folders
    drumgen eval resynth --input originals/ --output resynthesised/

Reference statistics (the mean/covariance of the embedding of the held-out kits, the training hits' embeddings
and their near-copy threshold) are stored in a small safetensors file, so `--ref corpus` works without the corpus.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

from drumgen import checkpoint
from drumgen.data import corpus
from drumgen.data.dataset import find_files
from drumgen.eval import metrics
from drumgen.io import audio

EVAL_RATE = 44100
EVAL_LENGTH = 44100  # the embedding looks at the first second
STATS_FILE = "reference_stats.safetensors"  # in the shipped checkpoints folder (checkpoint.default_dir())


class EvalError(ValueError):
    """Missing or unusable input to `drumgen eval`."""


# ---------------------------------------------------------------------------------------------------------------
# Loading hits


def read_folder(root: str | os.PathLike) -> tuple[list[str], list[np.ndarray | None], list[str]]:
    """Every audio file below root, decoded raw (mono, 44.1 kHz, not normalised, so garbage checks see it as it
    is): (relative paths, arrays or None when undecodable, reasons for the undecodable)."""
    root = Path(root)
    if not root.exists():
        raise EvalError(f"{root} does not exist")
    files = [root] if root.is_file() else find_files(root)
    if not files:
        raise EvalError(f"no audio files in {root}")
    base = root.parent if root.is_file() else root
    paths, xs, reasons = [], [], []
    for f in files:
        paths.append(f.relative_to(base).as_posix())
        try:
            x, rate = audio.read(f)
            xs.append(audio.resample(x, rate, EVAL_RATE))
            reasons.append("")
        except audio.AudioError as e:
            xs.append(None)
            reasons.append(e.reason)
    return paths, xs, reasons


def prepare_hits(raw: list[np.ndarray | None]) -> np.ndarray:
    """Raw hits -> [N, EVAL_LENGTH] one-shots as the corpus hits are prepared (onset-trimmed, 1 s, -1 dBFS);
    silent, too-short and undecodable hits are left out (the garbage checks count them)."""
    out = []
    for x in raw:
        if x is None or not np.all(np.isfinite(x)):
            continue
        try:
            out.append(audio.prepare(x, EVAL_RATE, EVAL_RATE, EVAL_LENGTH))
        except audio.AudioError:
            continue
    return np.stack(out) if out else np.zeros((0, EVAL_LENGTH), np.float32)


def load_hits(root: str | os.PathLike) -> np.ndarray:
    """A folder of hits -> prepared one-shots [N, 44100] at 44.1 kHz."""
    return prepare_hits(read_folder(root)[1])


# ---------------------------------------------------------------------------------------------------------------
# Reference statistics


def reference_stats(x_ref: np.ndarray, sample_rate: int, x_train: np.ndarray | None = None,
                    percentile: float = 5.0) -> dict[str, np.ndarray]:
    """Everything `evaluate_hits` needs from the real sounds: ref_mu [D], ref_cov [D, D], ref_diversity [1], and,
    with training hits, train_emb [N, D] and train_threshold [1] (the near-copy threshold)."""
    e_ref = metrics.embed(x_ref, sample_rate)
    mu, cov = metrics.gaussian(e_ref)
    stats = {"ref_mu": mu, "ref_cov": cov, "ref_diversity": np.array([metrics.diversity(e_ref)]),
             "ref_count": np.array([len(e_ref)])}
    if x_train is not None:
        e_train = metrics.embed(x_train, sample_rate)
        stats["train_emb"] = e_train
        stats["train_threshold"] = np.array([metrics.nearest_neighbour_threshold(e_train, percentile)])
    return stats


def save_reference_stats(path: str | os.PathLike, stats: dict[str, np.ndarray], info: dict | None = None) -> Path:
    """Write stats to a safetensors file; metadata records the embedding version and `info` (JSON)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"kind": "reference_stats", "embed_version": str(metrics.EMBED_VERSION), "info": json.dumps(info or {})}
    save_file({k: np.ascontiguousarray(v) for k, v in stats.items()}, str(path), metadata=meta)
    return path


def load_reference_stats(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """(stats, info) from `save_reference_stats`; refuses statistics of another embedding version."""
    path = Path(path)
    if not path.is_file():
        raise EvalError(f"no reference statistics at {path}; build them with "
                        "`drumgen corpus hydrogen --out DIR --stats FILE`")
    with safe_open(str(path), "np") as f:
        meta = f.metadata() or {}
    if meta.get("embed_version") != str(metrics.EMBED_VERSION):
        raise EvalError(f"{path} was made with embedding version {meta.get('embed_version')}, this drumgen uses "
                        f"{metrics.EMBED_VERSION}; rebuild it with `drumgen corpus hydrogen --out DIR --stats {path}`")
    return load_file(str(path)), json.loads(meta.get("info", "{}"))


def resolve_reference(ref: str, train: str | None = None) -> tuple[dict[str, np.ndarray], str]:
    """--ref as given on the command line: 'corpus' (the shipped statistics), a .safetensors statistics file, a
    built corpus folder (held-out kits as reference, train kits for near-copies), or any folder of hits."""
    if ref == "corpus":
        stats, _ = load_reference_stats(checkpoint.default_dir() / STATS_FILE)
        desc = f"shipped corpus statistics ({STATS_FILE})"
    elif ref.endswith(".safetensors"):
        stats, _ = load_reference_stats(ref)
        desc = ref
    elif (Path(ref) / "manifest.json").is_file():
        x_ref, _, _ = corpus.load_split(ref, "heldout", EVAL_RATE, EVAL_LENGTH)
        x_train = None if train else corpus.load_split(ref, "train", EVAL_RATE, EVAL_LENGTH)[0]
        stats, desc = reference_stats(x_ref, EVAL_RATE, x_train), f"{ref} (held-out kits)"
    else:
        x_ref = load_hits(ref)
        if len(x_ref) < 2:
            raise EvalError(f"{ref} holds fewer than 2 usable hits; a reference set needs more")
        stats, desc = reference_stats(x_ref, EVAL_RATE), ref
    if train:
        x_train = load_hits(train)
        stats["train_emb"] = metrics.embed(x_train, EVAL_RATE)
        stats["train_threshold"] = np.array([metrics.nearest_neighbour_threshold(stats["train_emb"])])
    return stats, desc


# ---------------------------------------------------------------------------------------------------------------
# Evaluation


def evaluate_hits(x_gen: np.ndarray, sample_rate: int, stats: dict[str, np.ndarray], tagger=None,
                  raw: list[np.ndarray | None] | None = None) -> dict:
    """All measures of generated hits x_gen [N, T] against reference `stats` (see `reference_stats`).

    tagger: a drumgen.models.tagger.Tagger for class histogram, inception-style score, confidence and coverage.
    raw: the undecoded/unprepared hits for the garbage checks (defaults to x_gen).
    """
    out: dict = {"count": int(len(x_gen))}
    out["garbage"] = _garbage_ragged(raw) if raw is not None else metrics.garbage(x_gen)
    if len(x_gen) < 2:
        out["error"] = "fewer than 2 usable hits: nothing to measure"
        return out
    emb = metrics.embed(x_gen, sample_rate)
    out["frechet"] = metrics.frechet_from_stats(*metrics.gaussian(emb), stats["ref_mu"], stats["ref_cov"])
    out["diversity"] = metrics.diversity(emb)
    out["diversity_ratio"] = out["diversity"] / float(stats["ref_diversity"][0])
    if "train_emb" in stats:
        out["near_copy_rate"] = metrics.near_copy_rate(emb, stats["train_emb"], float(stats["train_threshold"][0]))
    if tagger is not None:
        from drumgen.engine.tagging import predict_proba

        probs = predict_proba(tagger, x_gen, sample_rate)
        out["tagger"] = {"histogram": metrics.class_histogram(probs, tagger.labels),
                         "inception_score": metrics.inception_score(probs),
                         "mean_confidence": metrics.mean_confidence(probs),
                         "coverage": metrics.class_coverage(probs, tagger.labels)}
    return out


MEASURE_HITS = 250  # generated (and real) hits per measurement of a model against the held-out kits
MEASURE_SEED = 2024
DRAW_STEP = 10007  # seeds between draws of measure_model (more than any draw's n)


def measure_model(checkpoint_dir: str | os.PathLike, stats: dict[str, np.ndarray], tagger=None,
                  n: int = MEASURE_HITS, seed: int = MEASURE_SEED, draws: int = 1) -> dict:
    """Score one checkpoint: n hits sampled through the Engine (sound i comes from seed + i, and conditional
    models draw their class from that seed, as the app samples) measured by `evaluate_hits` against `stats`.

    With a tagger and a class-conditional model, `tagger_agreement` is the fraction of hits the tagger files
    under the class the model was asked for. draws > 1: as many draws of n hits (seeds seed, seed + DRAW_STEP,
    ...); `frechet` is then their mean and `frechet_draws` each one (one draw of 250 moves by about +-2 between
    seeds, as much as two models differ), the other measures are the first draw's. Returns evaluate_hits' dict
    (plus tagger_agreement)."""
    from drumgen import checkpoint
    from drumgen.engine.engine import Engine

    try:
        engine, name = Engine.of(checkpoint_dir, tagger=False)
    except checkpoint.CheckpointError as e:
        raise EvalError(f"cannot load {checkpoint_dir}: {e}") from None
    model = engine.get(name)
    rate = engine.output_rate(name)  # the model's own, or 44.1 kHz where the engine extends its band
    result: dict = {}
    scores = []
    for d in range(max(1, draws)):
        sounds = engine.sample(name, n, seed=seed + DRAW_STEP * d)
        x = np.stack([s.audio for s in sounds])  # [n, T] at `rate`, as the app hands them out
        if d:
            scores.append(evaluate_hits(x, rate, stats).get("frechet", float("nan")))
            continue
        result = evaluate_hits(x, rate, stats, tagger)
        scores.append(result.get("frechet", float("nan")))
        if tagger is not None and model.config.labels:
            from drumgen.engine.tagging import predict

            labels, _ = predict(tagger, x, rate)
            asked = [s.label for s in sounds]
            result["tagger_agreement"] = float(np.mean([a == b for a, b in zip(asked, labels, strict=True)]))
    if draws > 1:
        result["frechet"], result["frechet_draws"] = float(np.mean(scores)), [float(v) for v in scores]
    return result


def real_floor(corpus_dir: str | os.PathLike, stats: dict[str, np.ndarray], tagger=None,
               n: int = MEASURE_HITS) -> dict:
    """n real hits of a built corpus's train kits (a fixed draw) measured exactly as generated hits are: the
    score a perfect generator of the training data would get, the floor to compare models with."""
    x, _, _ = corpus.load_split(corpus_dir, "train", EVAL_RATE, EVAL_LENGTH)
    pick = np.random.default_rng(0).choice(len(x), min(n, len(x)), replace=False)
    return evaluate_hits(x[pick], EVAL_RATE, stats, tagger)


def _garbage_ragged(raw: list[np.ndarray | None]) -> dict:
    """garbage() over hits of different lengths; undecodable files count as 'nan'."""
    keys = ("silent", "clipped", "nan", "dc_offset")
    counts = dict.fromkeys(keys, 0)
    for x in raw:
        if x is None:
            counts["nan"] += 1
            continue
        for k in keys:
            counts[k] += metrics.garbage(x[None])[k]["count"]
    n = max(len(raw), 1)
    return {k: {"count": v, "fraction": v / n} for k, v in counts.items()}


def resynth_errors(input_dir: str | os.PathLike, output_dir: str | os.PathLike) -> dict:
    """Pair files by name (without extension) in two folders; per-pair and mean re-synthesis error."""
    a_paths, a_raw, _ = read_folder(input_dir)
    b_paths, b_raw, _ = read_folder(output_dir)
    b_by_stem = {str(Path(p).with_suffix("")): x for p, x in zip(b_paths, b_raw, strict=True)}
    pairs, unpaired = [], []
    for p, x in zip(a_paths, a_raw, strict=True):
        y = b_by_stem.get(str(Path(p).with_suffix("")))
        if x is None or y is None:
            unpaired.append(p)
            continue
        pairs.append({"path": p, **metrics.resynthesis_error(x, y)})
    if not pairs:
        raise EvalError(f"no file of {input_dir} has a decodable partner of the same name in {output_dir}")
    mean = {k: float(np.mean([q[k] for q in pairs])) for k in ("log_mag_db", "spectral_convergence")}
    return {"pairs": pairs, "mean": mean, "unpaired": unpaired}


def load_tagger(spec: str):
    """'default' (the shipped tagger, None when a fresh clone lacks it), 'none', or a checkpoint path."""
    from drumgen.engine import tagging as tagger

    if spec == "none":
        return None
    path = checkpoint.default_dir() / "tagger" if spec == "default" else Path(spec)
    if spec == "default" and not (path / "model.safetensors").is_file():
        return None  # a fresh clone without the checkpoint still gets the other measures
    return tagger.load(path)
