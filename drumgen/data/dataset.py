"""A folder of a user's hits -> an array of prepared one-shots, their labels, and a report of what was skipped.

`load_folder` walks a folder recursively, decodes every file (in threads: libsndfile and soxr release the GIL),
prepares each hit with `audio.prepare`, labels it from its names (`labels.label_from_path`), and remembers the
result in a cache keyed by path, size, modification time, sample rate and slice length, so a second run decodes
nothing. Every file that is not used is in the report with its reason.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from drumgen.data.labels import CLASSES, label_from_path
from drumgen.io import audio
from drumgen.io.files import atomic_write_bytes

CACHE_VERSION = 1
SPLIT_MAX_SECONDS = 20 * 60  # a recording longer than this is refused even with --split


@dataclass
class Loaded:
    path: str  # relative to the folder; "take.wav#3" for the 4th hit split out of a recording
    label: str | None
    seconds: float  # duration of the source file
    sample_rate: int  # rate of the source file
    channels: int


@dataclass
class Skipped:
    path: str
    reason: str  # a key of audio.REASONS, or "not-audio" for files with other extensions
    detail: str = ""


@dataclass
class Report:
    root: str
    sample_rate: int
    length: int
    loaded: list[Loaded] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    cached: int = 0  # how many files came from the cache

    def counts(self) -> dict[str, int]:
        c = Counter(item.label or "unlabelled" for item in self.loaded)
        return {k: c[k] for k in (*CLASSES, "unlabelled") if c[k]}

    def to_json(self) -> dict:
        return {
            "root": self.root,
            "sample_rate": self.sample_rate,
            "length": self.length,
            "loaded": [asdict(x) for x in self.loaded],
            "skipped": [asdict(x) for x in self.skipped],
            "counts": self.counts(),
            "reasons": dict(Counter(s.reason for s in self.skipped)),
            "cached": self.cached,
        }


@dataclass
class Dataset:
    """Prepared hits: x [N, length] float32 at `sample_rate`, y [N] class index (-1 unlabelled)."""

    x: np.ndarray
    y: np.ndarray
    labels: tuple[str, ...]
    sample_rate: int
    report: Report

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def labelled(self) -> bool:
        return bool(np.any(self.y >= 0))


class EmptyDatasetError(ValueError):
    """No usable hit was found; the message says what was found instead."""


def default_cache_dir() -> Path:
    env = os.environ.get("DRUMGEN_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "drumgen"


def find_files(root: Path) -> list[Path]:
    """All regular files below root, sorted, skipping hidden files and folders (.DS_Store, .git ...)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        out += [Path(dirpath) / f for f in sorted(filenames) if not f.startswith(".")]
    return out


def _cache_key(path: Path, sample_rate: int, length: int, split: bool) -> str:
    st = path.stat()
    raw = f"{CACHE_VERSION}|{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{sample_rate}|{length}|{split}"
    return hashlib.sha1(raw.encode()).hexdigest()


def _prepare_file(path: Path, rel: str, sample_rate: int, length: int, split: bool) -> tuple[list, list]:
    """Decode one file -> ([(Loaded, hit array)], [Skipped])."""
    if path.suffix.lower() not in audio.AUDIO_EXTENSIONS:
        return [], [Skipped(rel, "not-audio", f"extension {path.suffix or '(none)'} is not an audio format")]
    try:
        frames, rate, channels = audio.info(path)
        long_file = frames > audio.MAX_SECONDS * rate
        if long_file and split:
            x, rate = audio.read(path, max_seconds=SPLIT_MAX_SECONDS)
            pieces = audio.split_hits(x, rate)
        else:
            x, rate = audio.read(path)
            pieces = [x]
    except audio.AudioError as e:
        return [], [Skipped(rel, e.reason, e.detail)]
    label = label_from_path(rel)
    loaded, skipped = [], []
    for i, piece in enumerate(pieces):
        name = f"{rel}#{i}" if len(pieces) > 1 else rel
        try:
            hit = audio.prepare(piece, rate, sample_rate, length)
        except audio.AudioError as e:
            if len(pieces) == 1:
                skipped.append(Skipped(name, e.reason, e.detail))
            continue
        loaded.append((Loaded(name, label, round(frames / rate, 4), rate, channels), hit))
    return loaded, skipped


def _cached_prepare(path: Path, rel: str, sample_rate: int, length: int, split: bool, cache: Path | None):
    """_prepare_file through the cache. The cache keeps samples and facts, never names: labels and relative
    paths are recomputed, so renaming a folder relabels its hits without decoding them again."""
    if cache is None:
        return (*_prepare_file(path, rel, sample_rate, length, split), False)
    key = _cache_key(path, sample_rate, length, split)
    meta_path, data_path = cache / f"{key}.json", cache / f"{key}.npy"
    if meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text())
            hits = np.load(data_path, allow_pickle=False) if meta["loaded"] else []
            label = label_from_path(rel)
            loaded = [(Loaded(rel + m["suffix"], label, m["seconds"], m["sample_rate"], m["channels"]), h)
                      for m, h in zip(meta["loaded"], hits, strict=True)]
            return loaded, [Skipped(rel, s["reason"], s["detail"]) for s in meta["skipped"]], True
        except (OSError, ValueError, KeyError, TypeError):
            pass  # a damaged cache entry is rebuilt below
    loaded, skipped = _prepare_file(path, rel, sample_rate, length, split)
    try:
        cache.mkdir(parents=True, exist_ok=True)
        if loaded:
            tmp = cache / f".{key}.{os.getpid()}.{threading.get_ident()}.npy"
            np.save(tmp, np.stack([h for _, h in loaded]))
            os.replace(tmp, data_path)
        facts = [{"suffix": m.path[len(rel):], "seconds": m.seconds, "sample_rate": m.sample_rate,
                  "channels": m.channels} for m, _ in loaded]
        atomic_write_bytes(meta_path, json.dumps({
            "loaded": facts, "skipped": [{"reason": s.reason, "detail": s.detail} for s in skipped]}).encode())
    except OSError:
        pass  # a read-only cache only costs speed
    return loaded, skipped, False


def load_folder(root: str | os.PathLike, sample_rate: int, length: int, *, split: bool = False,
                cache_dir: str | os.PathLike | None | bool = None, workers: int = 4,
                progress: bool = False) -> Dataset:
    """Load every hit below `root`, prepared at `sample_rate` and `length` samples.

    cache_dir: None for the default (~/.cache/drumgen/hits), False to not cache.
    Raises EmptyDatasetError when no hit could be used, FileNotFoundError for a missing folder.
    """
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"{root} does not exist")
    files = [root] if root.is_file() else [f for f in find_files(root) if f.name != LABEL_FILE]
    base = root.parent if root.is_file() else root
    cache = None if cache_dir is False else Path(cache_dir) if cache_dir else default_cache_dir() / "hits"
    report = Report(str(root), sample_rate, length)

    def work(path: Path):
        return _cached_prepare(path, path.relative_to(base).as_posix(), sample_rate, length, split, cache)

    with ThreadPoolExecutor(max(1, workers)) as pool:
        results = pool.map(work, files)
        if progress:
            from tqdm import tqdm

            results = tqdm(results, total=len(files), desc="decoding", unit="file", leave=False)
        results = list(results)

    hits = []
    for loaded, skipped, was_cached in results:
        report.cached += int(was_cached)
        report.skipped += skipped
        for item, hit in loaded:
            report.loaded.append(item)
            hits.append(hit)
    if not hits:
        raise EmptyDatasetError(_empty_message(root, files, report))
    _apply_label_file(root, base, report)
    y = np.array([CLASSES.index(i.label) if i.label else -1 for i in report.loaded], dtype=np.int64)
    return Dataset(np.stack(hits).astype(np.float32), y, CLASSES, sample_rate, report)


LABEL_FILE = "labels.csv"


def read_label_file(root: Path) -> dict[Path, str]:
    """Labels from root/labels.csv (columns path,label[,...]; paths absolute or relative to root), e.g. written
    by `drumgen tag DIR --csv DIR/labels.csv`. They win over labels guessed from names. Unknown classes are
    ignored, so a CSV of a user's own tags does not break training."""
    path = root / LABEL_FILE
    if not path.is_file():
        return {}
    import csv

    out = {}
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            name, label = (row.get("path") or "").strip(), (row.get("label") or "").strip().lower()
            if name and label in CLASSES:
                out[(root / name).resolve()] = label
    return out


def _apply_label_file(root: Path, base: Path, report: Report) -> None:
    labels = read_label_file(root) if root.is_dir() else {}
    for item in report.loaded:
        label = labels.get((base / item.path.split("#")[0]).resolve())
        if label:
            item.label = label


def _empty_message(root: Path, files: list[Path], report: Report) -> str:
    if not files:
        return f"no files found in {root}: point drumgen at a folder of drum hits (WAV, AIFF, FLAC, OGG or MP3)"
    reasons = Counter(s.reason for s in report.skipped)
    listed = ", ".join(f"{n} {r}" for r, n in reasons.most_common())
    return (f"none of the {len(files)} files in {root} could be used as a drum hit ({listed}); "
            f"run `drumgen inspect {root}` to see each file's reason")


def inspect_folder(root: str | os.PathLike, sample_rate: int = 44100, length: int | None = None,
                   split: bool = False, cache_dir=None) -> Report:
    """The report alone (for `drumgen inspect`); an empty folder gives a report, not an error."""
    try:
        return load_folder(root, sample_rate, length or sample_rate, split=split, cache_dir=cache_dir).report
    except EmptyDatasetError:
        root = Path(root)
        files = [root] if root.is_file() else find_files(root)
        base = root.parent if root.is_file() else root
        report = Report(str(root), sample_rate, length or sample_rate)
        for f in files:
            report.skipped += _prepare_file(f, f.relative_to(base).as_posix(), sample_rate, length or sample_rate, split)[1]
        return report
