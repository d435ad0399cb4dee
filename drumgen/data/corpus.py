"""Build a labelled corpus of real drum hits, split by whole kits into train / validation / held-out.

Sources (each gives kits of labelled one-shots with their licence and author):
    hydrogen    Debian's hydrogen-drumkits (drumgen.data.corpus_hydrogen: drumkit.xml instrument names -> class)
    sonic-pi    Debian's sonic-pi-samples (drumgen.data.corpus_sonicpi: a reviewed table of file names)
    soundfont   the General MIDI drum kits of a SoundFont (drumgen.data.corpus_soundfont: rendered, GM key map)

Whole kits are held out for evaluation (and optionally set aside for validation), so the tagger and the Frechet
distance are measured on kits that training never saw. Kits of different sources can share a sample (two
SoundFonts, two presets, velocity copies): `build_corpus` fingerprints every hit (`fingerprint`) and drops the
copies that would put one sound on two sides of the split, listing each in the manifest.

Output:
    out/train/<kit>/<class>/<file>      symlinks to (or copies of) the kit's samples; rendered hits as WAV
    out/validation/<kit>/<class>/<file> (only when validation kits are given)
    out/heldout/<kit>/<class>/<file>
    out/<split>/labels.csv              path,label for `drumgen train --data out/train`
    out/manifest.json                   per kit: source, split, licence, author, counts per class, what was left
                                        out and why; near-duplicates dropped; every hit
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from drumgen.data.labels import CLASSES
from drumgen.dsp import spectral
from drumgen.io import audio
from drumgen.io.files import atomic_write_bytes

SPLITS = ("train", "validation", "heldout")
# Near-duplicates: cosine similarity of two hits' fingerprints above this means one sound (a velocity copy, the
# same sample in two presets or SoundFonts). Measured on the real sources: copies of one sample in two presets
# score above 0.999 (19245 of the 22284 same-font pairs above 0.98); distinct samples of different Hydrogen kits
# reach 0.98 in 35 of 178562 pairs and 0.99 in 6 (kits that share samples), so 0.98 would drop distinct hits.
DUPLICATE_SIMILARITY = 0.99


class CorpusError(ValueError):
    """The kits folder or a requested held-out kit is missing or unusable."""


@dataclass
class Hit:
    kit: str
    instrument: str
    label: str
    source: str  # absolute path of the kit's sample, or what was rendered ("FluidR3_GM.sf2 128:16 key 36 vel 127")
    seconds: float
    sample_rate: int
    path: str  # relative to the corpus root: split/kit/class/file
    license: str = ""  # set where a source's hits differ in licence or author (Sonic Pi); else see the kit
    author: str = ""


@dataclass
class Kit:
    name: str  # the folder name (stable; the <name> element sometimes differs)
    title: str
    author: str
    license: str
    debian_license: str
    split: str = "train"
    source: str = "hydrogen"  # hydrogen | sonic-pi | soundfont
    counts: dict[str, int] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)  # instrument names whose class could not be told
    missing: list[str] = field(default_factory=list)  # sample files named in drumkit.xml but absent
    skipped: list[str] = field(default_factory=list)  # "file: reason" for samples that are no usable hit
    left_out: list[str] = field(default_factory=list)  # "name: reason" for sounds of the source that are no drum hit


@dataclass
class Candidate:
    """One hit a source offers: a file to read (`samples` None) or rendered mono audio. `group`: hits of one group (one
    SoundFont) that are near-copies of each other are kept once even within a split."""
    kit: str
    instrument: str
    label: str
    name: str  # file name in the corpus
    source: str
    samples: np.ndarray | None = None
    sample_rate: int = audio.OUTPUT_RATE
    group: str = ""
    license: str = ""
    author: str = ""


@dataclass
class Source:
    """What one source gives: its kits, their candidate hits, and {folder or file: why it was not read}."""
    name: str
    kits: list[Kit]
    hits: list[Candidate]
    left_out: dict[str, str] = field(default_factory=dict)
    info: dict = field(default_factory=dict)  # e.g. {"kits_root": ...}


# ---------------------------------------------------------------------------------------------------------------
# Near-duplicates

FINGERPRINT_RATE = 22050
FINGERPRINT_SECONDS = 0.5
_FP_FFT, _FP_HOP, _FP_MELS, _FP_FLOOR_DB = 1024, 256, 40, -80.0
_FP_BANK = spectral.mel_filterbank(FINGERPRINT_RATE, _FP_FFT, _FP_MELS, 30.0).numpy()


def fingerprint(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """A hit's timbre and envelope as a unit vector [frames * mels]: log-mel of its first 0.5 s after the onset,
    peak-normalised (so gain does not count), floored at -80 dB and mean-removed. The dot product of two is their
    similarity; a velocity copy or the same sample played elsewhere scores above DUPLICATE_SIMILARITY."""
    x = np.asarray(x, np.float32)
    x = x.mean(axis=1) if x.ndim == 2 else x
    n = int(FINGERPRINT_SECONDS * FINGERPRINT_RATE)
    x = audio.prepare(x, sample_rate, FINGERPRINT_RATE, n)
    padded = torch.from_numpy(np.pad(x, (0, _FP_FFT)).astype(np.float32))[None]
    power = spectral.power(padded, _FP_FFT, _FP_HOP, center=False)[0, :, : n // _FP_HOP].T.numpy()  # [frames, K]
    db = 10 * np.log10(power @ _FP_BANK.T + 1e-10)
    v = np.maximum(db - db.max(), _FP_FLOOR_DB).ravel()
    v = v - v.mean()
    return (v / (np.linalg.norm(v) + 1e-9)).astype(np.float32)


def _components(edges: np.ndarray, n: int) -> np.ndarray:
    """Connected components of an undirected graph: edges [E, 2] -> the root index of each of n nodes."""
    root = np.arange(n)

    def find(i: int) -> int:
        while root[i] != i:
            root[i] = root[root[i]]
            i = root[i]
        return i

    for i, j in edges:
        root[find(i)] = find(j)
    return np.array([find(i) for i in range(n)], dtype=np.int64)


def resolve_duplicates(splits: list[str], groups: list[str], fps: np.ndarray, names: list[str],
                       threshold: float = DUPLICATE_SIMILARITY) -> list[dict]:
    """Which hits to drop so no sound sits on two sides of the split, and none twice in one group.

    Hits whose fingerprints are more similar than `threshold` are copies of one sound. A sound found in several
    splits stays in the split that holds most of its copies (ties: train, then heldout, then validation); its
    copies in the other splits are dropped, so no held-out hit has a near-copy in train: a held-out kit that
    reuses the samples of train kits keeps only its own sounds. Only hits that are themselves near-copies of a
    kept one are dropped (a chain of merely similar hits drops nothing). Within one split, a later hit of the same
    non-empty group (one SoundFont's presets) that copies an earlier kept one is dropped too.
    fps: [N, D] unit fingerprints. Returns [{"index", "hit", "split", "similar_to", "similar_split",
    "similarity"}], one per dropped hit, naming its most similar kept hit.
    """
    n = len(splits)
    if n == 0:
        return []
    sim = fps @ fps.T
    np.fill_diagonal(sim, -1.0)
    near = sim > threshold
    split_id = np.array([SPLITS.index(s) for s in splits])
    prefer = {"train": 3, "heldout": 2, "validation": 1}
    drop: set[int] = set()
    while True:  # each round drops at least one hit; stops when no near-copy crosses a split
        kept = np.array([i not in drop for i in range(n)])
        cross = near & kept[:, None] & kept[None, :] & (split_id[:, None] != split_id[None, :])
        if not cross.any():
            break
        live = near & kept[:, None] & kept[None, :]
        comp = _components(np.argwhere(np.triu(live, 1)), n)
        before = len(drop)
        for c in np.unique(comp[np.flatnonzero(cross.any(axis=1))]):
            members = list(np.flatnonzero(comp == c))
            votes = [splits[i] for i in members]
            win = max(set(votes), key=lambda s: (votes.count(s), prefer[s]))
            winners = [i for i in members if splits[i] == win]
            # only hits that are themselves near-copies of a winner go (no dropping through a chain)
            drop.update(i for i in members if splits[i] != win and near[i, winners].any())
        if len(drop) == before:  # copies only between two losing splits: the less preferred side goes
            for i, j in np.argwhere(cross):
                if i not in drop and j not in drop:
                    drop.add(int(i) if prefer[splits[i]] < prefer[splits[j]] else int(j))
    for i in range(n):  # copies within one group and split: keep the first
        if i not in drop and groups[i]:
            earlier = [j for j in np.flatnonzero(sim[i, :i] > threshold)
                       if j not in drop and groups[j] == groups[i] and splits[j] == splits[i]]
            if earlier:
                drop.add(i)
    out = []
    kept_idx = np.array([j for j in range(n) if j not in drop])
    for i in sorted(drop):
        j = int(kept_idx[np.argmax(sim[i, kept_idx])]) if kept_idx.size else i
        out.append({"index": i, "hit": names[i], "split": splits[i], "similar_to": names[j],
                    "similar_split": splits[j], "similarity": round(float(sim[i, j]), 4)})
    return out


# ---------------------------------------------------------------------------------------------------------------
# Building


def _split_of(kits: list[Kit], heldout: tuple[str, ...], validation: tuple[str, ...]) -> None:
    names = {k.name for k in kits}
    for what, wanted in (("held-out", heldout), ("validation", validation)):
        unknown = [k for k in wanted if k not in names]
        if unknown:
            raise CorpusError(f"{what} kit(s) {unknown} not found; available: {sorted(names)}")
    both = set(heldout) & set(validation)
    if both:
        raise CorpusError(f"kit(s) {sorted(both)} are both held out and for validation; choose one")
    for k in kits:
        k.split = "heldout" if k.name in heldout else "validation" if k.name in validation else "train"


def _read(c: Candidate) -> tuple[np.ndarray, int]:
    """A candidate's audio; AudioError('silent') when there is none (kits pad with placeholder samples)."""
    x, rate = (c.samples, c.sample_rate) if c.samples is not None else audio.read(c.source)
    if audio.peak_db(x) < audio.SILENCE_DB:
        raise audio.AudioError("silent")
    return x, rate


def _place(src: Path, dst: Path, mode: str) -> None:
    """A file hit into the corpus by `mode`: a symlink to src, a copy, or decoded to a 44.1 kHz mono WAV."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists() or dst.is_symlink():
        dst.unlink()
    if mode == "link":
        dst.symlink_to(src)
    elif mode == "copy":
        shutil.copy2(src, dst)
    else:  # "wav": decode with drumgen.io.audio and write a 44.1 kHz mono WAV
        x, rate = audio.read(src)
        audio.write_wav(dst, x, rate)


def build_corpus(out_dir: str | os.PathLike, sources: list[Source], heldout: tuple[str, ...] = (),
                 validation: tuple[str, ...] = (), mode: str = "link",
                 threshold: float = DUPLICATE_SIMILARITY) -> dict:
    """Split the sources' kits, drop near-duplicates across the split, lay the hits out, write manifest.json.

    mode: how file hits are placed ("link", "copy", "wav"); rendered hits are always written as WAV. Returns the
    manifest: {"sources", "heldout", "validation", "mode", "left_out", "kits": [Kit], "totals": {split: {class:
    n}}, "near_duplicates": [...], "hits": [Hit]} (and "kits_root" for a hydrogen source).
    """
    if mode not in ("link", "copy", "wav"):
        raise ValueError(f"mode must be 'link', 'copy' or 'wav'; got {mode!r}")
    out = Path(out_dir)
    kits = [k for s in sources for k in s.kits]
    _split_of(kits, tuple(heldout), tuple(validation))
    by_name = {k.name: k for k in kits}
    cands, fps = [], []
    for c in (c for s in sources for c in s.hits):
        try:
            x, rate = _read(c)
            fps.append(fingerprint(x, rate))
        except audio.AudioError as e:
            by_name[c.kit].skipped.append(f"{c.name}: {e.reason}")
            continue
        cands.append((c, round(x.shape[0] / rate, 3), rate))
    splits = [by_name[c.kit].split for c, _, _ in cands]
    names = [f"{c.kit}/{c.name}" for c, _, _ in cands]
    fp = np.stack(fps) if fps else np.zeros((0, 1), np.float32)
    dups = resolve_duplicates(splits, [c.group for c, _, _ in cands], fp, names, threshold)
    drop = {d.pop("index") for d in dups}
    hits: list[Hit] = []
    for i, (c, seconds, rate) in enumerate(cands):
        if i in drop:
            continue
        kit = by_name[c.kit]
        rel = Path(kit.split) / kit.name / c.label / c.name
        if c.samples is not None:
            audio.write_wav(out / rel, c.samples, c.sample_rate)
        else:
            rel = rel.with_suffix(".wav") if mode == "wav" else rel
            _place(Path(c.source).resolve(), out / rel, mode)
        hits.append(Hit(c.kit, c.instrument, c.label, c.source, seconds, rate, rel.as_posix(), c.license, c.author))
    for k in kits:
        n = Counter(h.label for h in hits if h.kit == k.name)
        k.counts = {c: n[c] for c in CLASSES if n[c]}
    used = [s for s in SPLITS if s != "validation" or validation]
    totals = {s: {c: sum(k.counts.get(c, 0) for k in kits if k.split == s) for c in CLASSES} for s in used}
    manifest = {**{k: v for s in sources for k, v in s.info.items()}, "sources": [s.name for s in sources],
                "heldout": list(heldout), "validation": list(validation), "mode": mode,
                "left_out": {k: v for s in sources for k, v in s.left_out.items()},
                "kits": [asdict(k) for k in kits], "totals": totals, "near_duplicates": dups,
                "hits": [asdict(h) for h in hits]}
    _write_index(out, hits, manifest)
    return manifest


SOURCES = ("hydrogen", "sonic-pi", "soundfont", "all")


def named_sources(source: str, soundfont: str | os.PathLike | None = None, kits_root: str | os.PathLike | None = None,
                  samples_dir: str | os.PathLike | None = None) -> tuple[list[Source], tuple[str, ...], tuple[str, ...]]:
    """A source by its CLI name -> (sources, default held-out kits, default validation kits). "all": the Hydrogen
    kits (prefixed h2-), the Sonic Pi samples, and the GM kits of FluidR3_GM and TimGM6mb, in one corpus."""
    from drumgen.data import corpus_hydrogen, corpus_sonicpi, corpus_soundfont  # they build on this module

    kits_root = kits_root or corpus_hydrogen.KITS_ROOT

    if source == "hydrogen":
        return [corpus_hydrogen.hydrogen_source(kits_root)], corpus_hydrogen.DEFAULT_HELDOUT, ()
    if source == "sonic-pi":
        src = corpus_sonicpi.sonicpi_source(samples_dir or corpus_sonicpi.SAMPLES_DIR)
        return [src], corpus_sonicpi.DEFAULT_HELDOUT, corpus_sonicpi.DEFAULT_VALIDATION
    if source == "soundfont":
        if soundfont is None:
            raise CorpusError("give the SoundFont: drumgen corpus soundfont FILE --out DIR")
        src = corpus_soundfont.soundfont_source(soundfont)
        return [src], *corpus_soundfont.default_splits(soundfont, src.kits)
    if source != "all":
        raise CorpusError(f"unknown source {source!r}; choose one of {', '.join(SOURCES)}")
    sources = [corpus_hydrogen.hydrogen_source(kits_root, prefix="h2-"),
               corpus_sonicpi.sonicpi_source(samples_dir or corpus_sonicpi.SAMPLES_DIR)]
    heldout = [f"h2-{k}" for k in corpus_hydrogen.DEFAULT_HELDOUT] + list(corpus_sonicpi.DEFAULT_HELDOUT)
    validation = [f"h2-{k}" for k in corpus_hydrogen.DEFAULT_VALIDATION] + list(corpus_sonicpi.DEFAULT_VALIDATION)
    for font in (corpus_soundfont.FLUIDR3, corpus_soundfont.TIMGM6MB):
        sources.append(corpus_soundfont.soundfont_source(font))
        h, v = corpus_soundfont.default_splits(font, sources[-1].kits)
        heldout, validation = heldout + list(h), validation + list(v)
    return sources, tuple(heldout), tuple(validation)


def _write_index(out: Path, hits: list[Hit], manifest: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for split in SPLITS:  # labels for `drumgen train --data out/train` (a file name can mislead)
        rows = [(h.path.split("/", 1)[1], h.label) for h in hits if h.path.startswith(split + "/")]
        if rows:
            buf = io.StringIO()
            csv.writer(buf).writerows([("path", "label"), *rows])
            (out / split).mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(out / split / "labels.csv", buf.getvalue().encode())
    atomic_write_bytes(out / "manifest.json", json.dumps(manifest, indent=1).encode())


def format_stats(manifest: dict) -> str:
    """A plain-text table: one row per kit (split, hits per class), totals per split, what was left out."""
    head = f"{'kit':32} {'split':10}" + "".join(f"{c:>7}" for c in CLASSES) + f"{'total':>7}"
    lines = [head, "-" * len(head)]
    for k in sorted(manifest["kits"], key=lambda k: (SPLITS.index(k["split"]), k["name"])):
        n = [k["counts"].get(c, 0) for c in CLASSES]
        lines.append(f"{k['name'][:32]:32} {k['split']:10}" + "".join(f"{v:>7}" for v in n) + f"{sum(n):>7}")
    lines.append("-" * len(head))
    for split, t in manifest["totals"].items():
        lines.append(f"{'TOTAL':32} {split:10}" + "".join(f"{t[c]:>7}" for c in CLASSES) + f"{sum(t.values()):>7}")
    for k in manifest["kits"]:
        if k["unmapped"]:
            lines.append(f"unmapped in {k['name']}: {', '.join(k['unmapped'])}")
    left_out = manifest.get("left_out", {})
    kit_left = [(k["name"], s.split(": ", 1)[-1]) for k in manifest["kits"] for s in k.get("left_out", [])]
    for name, why in left_out.items():
        if ":" not in name:  # kit folders; single sounds are summed up by reason below
            lines.append(f"left out {name}: {why}")
    reasons = Counter([why for name, why in left_out.items() if ":" in name] + [why for _, why in kit_left])
    for why, n in sorted(reasons.items(), key=lambda r: -r[1]):
        lines.append(f"left out {n} sounds: {why}")
    dups = manifest.get("near_duplicates", [])
    if dups:
        moved = Counter(f"{d['split']} (copy of {d['similar_split']})" for d in dups)
        lines.append("near-duplicates dropped: " + ", ".join(f"{n} from {w}" for w, n in sorted(moved.items())))
    return "\n".join(lines)


def load_split(corpus_dir: str | os.PathLike, split: str, sample_rate: int, length: int,
               labels: tuple[str, ...] = CLASSES) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Hits of one split of a built corpus: (x [N, length] float32 one-shots at `sample_rate`, y [N] class index,
    paths [N] relative to the corpus). Labels come from manifest.json, not from file names (a kit's "Kick" may use
    a file called tom-0105.wav)."""
    corpus_dir = Path(corpus_dir)
    manifest_path = corpus_dir / "manifest.json"
    if not manifest_path.is_file():
        raise CorpusError(f"{manifest_path} not found; build the corpus first: drumgen corpus hydrogen --out {corpus_dir}")
    manifest = json.loads(manifest_path.read_text())
    xs, ys, paths = [], [], []
    for h in manifest["hits"]:
        if not h["path"].startswith(split + "/"):
            continue
        try:
            xs.append(audio.load(corpus_dir / h["path"], sample_rate, length))
        except audio.AudioError:
            continue  # reported when the corpus was built
        ys.append(labels.index(h["label"]))
        paths.append(h["path"])
    if not xs:
        raise CorpusError(f"no {split!r} hits in {corpus_dir}; splits are {', '.join(SPLITS)}")
    return np.stack(xs), np.array(ys, dtype=np.int64), paths
