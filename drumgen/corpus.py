"""Build a labelled corpus of real drum hits from Hydrogen drumkits (Debian's `hydrogen-drumkits` package).

Each kit folder holds a drumkit.xml that names its instruments ("Kick", "Hi Hat Closed", "Paiste Ride") and the
sample files of each instrument's velocity layers. Instrument names are mapped to the seven classes with
`drumgen.labels` (the file name is the fallback when the instrument name says nothing, e.g. "15"); hits whose
class cannot be told are reported and left out. A few whole kits are held out for evaluation, so the tagger and
the Frechet distance are measured on kits that training never saw.

Output:
    out/train/<kit>/<class>/<file>      symlinks to (or copies of) the kit's samples
    out/heldout/<kit>/<class>/<file>
    out/manifest.json                   per kit: split, licence, author, counts per class, unmapped instruments
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from drumgen import audio
from drumgen.labels import CLASSES, label_from_name

KITS_ROOT = "/usr/share/hydrogen/data/drumkits"
DEBIAN_COPYRIGHT = "/usr/share/doc/hydrogen-drumkits/copyright"
# Exactly the kits of Debian's hydrogen-drumkits package (2017.09.19; `dpkg -L hydrogen-drumkits`). The folder
# also receives kits of other packages: `hydrogen` pulls in hydrogen-data, whose GMRockKit and TR808EmulationKit
# are how drumgen is judged from outside, so they must never be read for training. From the Debian folder only
# these are taken; every other folder is left out and named in the manifest with the reason.
HYDROGEN_DRUMKITS = ("Audiophob", "BJA_Pacific", "ColomboAcousticDrumkit", "ElectricEmpireKit", "ForzeeStereo",
                     "Gimme A Hand 1.0", "HardElectro1", "Millo-Drums_v.1", "Millo_MultiLayered2",
                     "Millo_MultiLayered3", "The Black Pearl 1.0", "VariBreaks", "circAfrique v4", "rumpf_kit_z01_h2")
# Never read, whatever folder they are found in.
EVALUATION_KITS = {"GMRockKit": "hydrogen-data's kit, kept for evaluation: never trained on",
                   "TR808EmulationKit": "hydrogen-data's kit, kept for evaluation: never trained on"}
# Whole kits kept out of training: ~15% of the hits, all seven classes, acoustic (Colombo), electronic
# (HardElectro1), general-MIDI layouts (Audiophob, Millo-Drums) and hand drums (circAfrique). Gimme A Hand stays in
# training because it holds most of the claps. (Chosen from the stats `drumgen corpus hydrogen` prints.)
DEFAULT_HELDOUT = ("Audiophob", "ColomboAcousticDrumkit", "HardElectro1", "Millo-Drums_v.1", "circAfrique v4")


class CorpusError(ValueError):
    """The kits folder or a requested held-out kit is missing or unusable."""


@dataclass
class Hit:
    kit: str
    instrument: str
    label: str
    source: str  # absolute path of the kit's sample
    seconds: float
    sample_rate: int
    path: str  # relative to the corpus root: split/kit/class/file


@dataclass
class Kit:
    name: str  # the folder name (stable; the <name> element sometimes differs)
    title: str
    author: str
    license: str
    debian_license: str
    split: str
    counts: dict[str, int] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)  # instrument names whose class could not be told
    missing: list[str] = field(default_factory=list)  # sample files named in drumkit.xml but absent
    skipped: list[str] = field(default_factory=list)  # "file: reason" for samples that are no usable hit


def _local(tag: str) -> str:
    """'{http://www.hydrogen-music.org/drumkit}name' -> 'name' (older kits have no namespace)."""
    return tag.rsplit("}", 1)[-1]


def _child_text(elem: ET.Element, name: str) -> str:
    for child in elem:
        if _local(child.tag) == name:
            return (child.text or "").strip()
    return ""


def _children(elem: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in elem if _local(c.tag) == name]


def parse_drumkit(xml_path: str | os.PathLike) -> dict:
    """drumkit.xml -> {"name", "author", "license", "instruments": [{"name", "files": [str]}]}."""
    try:
        root = ET.parse(xml_path).getroot()
    except ET.ParseError as e:
        raise CorpusError(f"{xml_path} is not valid XML ({e}); is the kit damaged?") from None
    instruments = []
    for lst in _children(root, "instrumentList"):
        for inst in _children(lst, "instrument"):
            files = [_child_text(layer, "filename") for layer in inst.iter() if _local(layer.tag) == "layer"]
            # Old (0.9.3) kits name one file directly on the instrument instead of in layers.
            files += [_child_text(inst, "filename")] if not files else []
            instruments.append({"name": _child_text(inst, "name"), "files": [f for f in files if f]})
    return {"name": _child_text(root, "name"), "author": _child_text(root, "author"),
            "license": _child_text(root, "license"), "instruments": instruments}


def instrument_class(instrument: str, filename: str) -> str | None:
    """The class of one sample: from the instrument name, else from the sample's file name, else None."""
    return label_from_name(instrument) or label_from_name(Path(filename).name)


def debian_licenses(path: str | os.PathLike = DEBIAN_COPYRIGHT) -> dict[str, str]:
    """Kit folder name -> licence short name from Debian's machine-readable copyright file (empty if absent)."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    out: dict[str, str] = {}
    for para in re.split(r"\n\s*\n", text):
        files = re.search(r"^Files:(.*?)(?=^\S)", para + "\nEnd:", re.S | re.M)
        lic = re.search(r"^License:\s*(.+)$", para, re.M)
        if not files or not lic:
            continue
        for entry in files.group(1).split():
            kit = Path(entry).name.removesuffix(".h2drumkit").replace("?", " ")
            out[kit] = lic.group(1).strip()
    return out


def _find_sample(kit_dir: Path, filename: str) -> Path | None:
    path = kit_dir / filename
    if path.is_file():
        return path
    # Kits made on case-insensitive file systems sometimes differ in case from their xml.
    lowered = {p.name.lower(): p for p in kit_dir.rglob("*") if p.is_file()}
    return lowered.get(Path(filename).name.lower())


def _place(src: Path, dst: Path, mode: str) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists() or dst.is_symlink():
        dst.unlink()
    if mode == "link":
        dst.symlink_to(src)
    elif mode == "copy":
        shutil.copy2(src, dst)
    else:  # "wav": decode with drumgen.audio and write a 44.1 kHz mono WAV
        x, rate = audio.read(src)
        audio.write_wav(dst, x, rate)


def _kit_folders(kits_root: Path) -> tuple[list[Path], dict[str, str]]:
    """The kit folders to read under `kits_root`, and {folder: why it was left out} for the others. Debian's
    shared folder gives exactly the hydrogen-drumkits kits; any folder never gives the evaluation kits."""
    found = sorted(p.parent for p in kits_root.glob("*/drumkit.xml"))
    debian = kits_root.resolve() == Path(KITS_ROOT).resolve()
    keep, left_out = [], {}
    for d in found:
        if d.name in EVALUATION_KITS:
            left_out[d.name] = EVALUATION_KITS[d.name]
        elif debian and d.name not in HYDROGEN_DRUMKITS:
            left_out[d.name] = "not a kit of the hydrogen-drumkits package"
        else:
            keep.append(d)
    return keep, left_out


def build_hydrogen_corpus(out_dir: str | os.PathLike, kits_root: str | os.PathLike = KITS_ROOT,
                          heldout: tuple[str, ...] = DEFAULT_HELDOUT, mode: str = "link",
                          copyright_file: str | os.PathLike = DEBIAN_COPYRIGHT) -> dict:
    """Label every hit of every kit under `kits_root`, lay them out by split/kit/class, write manifest.json.

    mode: "link" (symlinks: instant, no space; the kits must stay installed), "copy", or "wav" (decoded to
    44.1 kHz mono WAV). Returns the manifest: {"kits_root", "heldout", "kits": [Kit], "totals": {split: {class:
    n}}, "hits": [Hit]}. Raises CorpusError if no kit is found or a held-out kit does not exist.
    """
    if mode not in ("link", "copy", "wav"):
        raise ValueError(f"mode must be 'link', 'copy' or 'wav'; got {mode!r}")
    kits_root, out = Path(kits_root), Path(out_dir)
    kit_dirs, left_out = _kit_folders(kits_root)
    if not kit_dirs:
        raise CorpusError(f"no drumkit.xml found under {kits_root}; install Debian's hydrogen-drumkits "
                          "(apt install hydrogen-drumkits) or pass the folder that holds your Hydrogen kits")
    names = {d.name for d in kit_dirs}
    unknown = [k for k in heldout if k not in names]
    if unknown:
        raise CorpusError(f"held-out kit(s) {unknown} not found under {kits_root}; available: {sorted(names)}")
    licenses = debian_licenses(copyright_file)
    kits: list[Kit] = []
    hits: list[Hit] = []
    for kit_dir in kit_dirs:
        info = parse_drumkit(kit_dir / "drumkit.xml")
        split = "heldout" if kit_dir.name in heldout else "train"
        kit = Kit(kit_dir.name, info["name"], info["author"], info["license"], licenses.get(kit_dir.name, ""), split)
        seen: set[str] = set()
        counts: Counter[str] = Counter()
        for inst in info["instruments"]:
            for filename in inst["files"]:
                label = instrument_class(inst["name"], filename)
                if label is None:
                    if inst["name"] not in kit.unmapped:
                        kit.unmapped.append(inst["name"] or f"(unnamed: {filename})")
                    continue
                src = _find_sample(kit_dir, filename)
                if src is None:
                    kit.missing.append(filename)
                    continue
                if str(src) in seen:  # one sample used by two instruments is one hit
                    continue
                seen.add(str(src))
                try:  # kits pad their instrument lists with placeholder samples such as emptySample.flac
                    x, rate = audio.read(src)
                    if audio.peak_db(x) < audio.SILENCE_DB:
                        raise audio.AudioError("silent")
                except audio.AudioError as e:
                    kit.skipped.append(f"{filename}: {e.reason}")
                    continue
                rel = Path(split) / kit_dir.name / label / src.name
                if mode == "wav":
                    rel = rel.with_suffix(".wav")
                _place(src.resolve(), out / rel, mode)
                hits.append(Hit(kit_dir.name, inst["name"], label, str(src), round(len(x) / rate, 3), rate,
                                rel.as_posix()))
                counts[label] += 1
        kit.counts = {c: counts[c] for c in CLASSES if counts[c]}
        kits.append(kit)
    totals = {s: {c: sum(k.counts.get(c, 0) for k in kits if k.split == s) for c in CLASSES}
              for s in ("train", "heldout")}
    manifest = {"kits_root": str(kits_root), "heldout": list(heldout), "mode": mode, "left_out": left_out,
                "kits": [asdict(k) for k in kits], "totals": totals, "hits": [asdict(h) for h in hits]}
    out.mkdir(parents=True, exist_ok=True)
    for split in ("train", "heldout"):  # labels for `drumgen train --data out/train` (a file name can mislead)
        rows = [(h.path.split("/", 1)[1], h.label) for h in hits if h.path.startswith(split + "/")]
        if rows:
            buf = io.StringIO()
            csv.writer(buf).writerows([("path", "label"), *rows])
            (out / split).mkdir(parents=True, exist_ok=True)
            audio.atomic_write_bytes(out / split / "labels.csv", buf.getvalue().encode())
    audio.atomic_write_bytes(out / "manifest.json", json.dumps(manifest, indent=1).encode())
    return manifest


def format_stats(manifest: dict) -> str:
    """A plain-text table: one row per kit (split, hits per class), totals per split, unmapped instruments."""
    head = f"{'kit':28} {'split':8}" + "".join(f"{c:>7}" for c in CLASSES) + f"{'total':>7}"
    lines = [head, "-" * len(head)]
    for k in manifest["kits"]:
        n = [k["counts"].get(c, 0) for c in CLASSES]
        lines.append(f"{k['name'][:28]:28} {k['split']:8}" + "".join(f"{v:>7}" for v in n) + f"{sum(n):>7}")
    lines.append("-" * len(head))
    for split, t in manifest["totals"].items():
        lines.append(f"{'TOTAL':28} {split:8}" + "".join(f"{t[c]:>7}" for c in CLASSES) + f"{sum(t.values()):>7}")
    for k in manifest["kits"]:
        if k["unmapped"]:
            lines.append(f"unmapped in {k['name']}: {', '.join(k['unmapped'])}")
    for name, why in manifest.get("left_out", {}).items():
        lines.append(f"left out {name}: {why}")
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
        raise CorpusError(f"no {split!r} hits in {corpus_dir}; splits are 'train' and 'heldout'")
    return np.stack(xs), np.array(ys, dtype=np.int64), paths
