"""The kits of Debian's `hydrogen-drumkits` package as corpus kits (drumgen.data.corpus.Source).

Each kit folder holds a drumkit.xml that names its instruments ("Kick", "Hi Hat Closed", "Paiste Ride") and the
sample files of each instrument's velocity layers. Instrument names are mapped to the seven classes with
`drumgen.data.labels` (the file name is the fallback when the instrument name says nothing, e.g. "15"); hits whose
class cannot be told are reported and left out. Licences come from Debian's machine-readable copyright file.
From Debian's shared folder only the package's own kits are read, and the evaluation kits (EVALUATION_KITS) never
are, from any folder.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from drumgen.data.corpus import Candidate, CorpusError, Kit, Source, build_corpus
from drumgen.data.labels import label_from_name

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
# Validation kits (for choosing models; never held-out ones) when the hydrogen kits are part of `drumgen corpus
# all`. `drumgen corpus hydrogen` alone keeps none, as before: scripts/train_default_tagger.py --validate carves
# its own from the train kits.
DEFAULT_VALIDATION = ("ElectricEmpireKit", "rumpf_kit_z01_h2")


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


def hydrogen_source(kits_root: str | os.PathLike = KITS_ROOT, prefix: str = "",
                    copyright_file: str | os.PathLike = DEBIAN_COPYRIGHT) -> Source:
    """Every labelled sample of every kit under `kits_root` (kit names get `prefix`). Raises CorpusError if none."""
    kits_root = Path(kits_root)
    kit_dirs, left_out = _kit_folders(kits_root)
    if not kit_dirs:
        raise CorpusError(f"no drumkit.xml found under {kits_root}; install Debian's hydrogen-drumkits "
                          "(apt install hydrogen-drumkits) or pass the folder that holds your Hydrogen kits")
    licenses = debian_licenses(copyright_file)
    kits, hits = [], []
    for kit_dir in kit_dirs:
        info = parse_drumkit(kit_dir / "drumkit.xml")
        kit = Kit(prefix + kit_dir.name, info["name"], info["author"], info["license"],
                  licenses.get(kit_dir.name, ""))
        seen: set[str] = set()
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
                hits.append(Candidate(kit.name, inst["name"], label, src.name, str(src)))
        kits.append(kit)
    return Source("hydrogen", kits, hits, left_out, {"kits_root": str(kits_root)})


def build_hydrogen_corpus(out_dir: str | os.PathLike, kits_root: str | os.PathLike = KITS_ROOT,
                          heldout: tuple[str, ...] = DEFAULT_HELDOUT, mode: str = "link",
                          copyright_file: str | os.PathLike = DEBIAN_COPYRIGHT,
                          validation: tuple[str, ...] = ()) -> dict:
    """Label every hit of every kit under `kits_root`, lay them out by split/kit/class, write manifest.json.

    mode: "link" (symlinks: instant, no space; the kits must stay installed), "copy", or "wav" (decoded to
    44.1 kHz mono WAV). Returns the manifest (see `build_corpus`). Raises CorpusError if no kit is found or a
    held-out kit does not exist.
    """
    return build_corpus(out_dir, [hydrogen_source(kits_root, copyright_file=copyright_file)], heldout,
                        validation, mode=mode)
