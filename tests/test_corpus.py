"""The corpus builder on a tiny fake Hydrogen kit tree (CI has no hydrogen-drumkits package)."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from drumgen import audio, corpus, evaluate, synth

NS = 'xmlns="http://www.hydrogen-music.org/drumkit"'


def write_kit(root, name, instruments, namespaced=True, license_="GPL"):
    """instruments: [(instrument name, [(file, kind or None for a missing file)])]"""
    kit = root / name
    kit.mkdir(parents=True)
    parts = []
    for i, (inst, layers) in enumerate(instruments):
        xml_layers = ""
        for j, (fname, kind) in enumerate(layers):
            if kind is not None:
                audio.write_wav(kit / fname, synth.hit(kind, i * 10 + j), 44100)
            xml_layers += f"<layer><filename>{fname}</filename><min>0</min><max>1</max></layer>"
        parts.append(f"<instrument><id>{i}</id><name>{inst}</name>{xml_layers}</instrument>")
    ns = NS if namespaced else ""
    (kit / "drumkit.xml").write_text(
        f'<?xml version="1.0" encoding="UTF-8"?><drumkit_info {ns}><name>{name} kit</name><author>A. Drummer'
        f"</author><license>{license_}</license><instrumentList>{''.join(parts)}</instrumentList></drumkit_info>")


@pytest.fixture
def kits(tmp_path):
    root = tmp_path / "drumkits"
    write_kit(root, "Acoustic", [("Kick", [("tom-0105.wav", "kick"), ("k2.wav", "kick")]),
                                 ("Hi Hat Closed", [("hh.wav", "hihat")]),
                                 ("Djembe Bass", [("dj.wav", "perc")]),
                                 ("17", [("placeholder.wav", "snare")]),
                                 ("Snare", [("missing.wav", None)])])
    write_kit(root, "Electro", [("Snare 1", [("s.wav", "snare")]), ("Clap", [("c.wav", "clap")]),
                                ("Closed HH", [("hh.wav", "hihat")])], namespaced=False, license_="CC0")
    (root / "Electro" / "silent.wav").parent.mkdir(exist_ok=True)
    audio.write_wav(root / "Electro" / "silent.wav", np.zeros(4410, np.float32), 44100)
    xml = (root / "Electro" / "drumkit.xml").read_text()
    (root / "Electro" / "drumkit.xml").write_text(xml.replace(
        "</instrumentList>", "<instrument><name>Crash</name><layer><filename>silent.wav</filename></layer>"
        "</instrument></instrumentList>"))
    return root


def test_build_labels_from_instrument_names_and_splits(tmp_path, kits):
    m = corpus.build_hydrogen_corpus(tmp_path / "out", kits, heldout=("Electro",), copyright_file=tmp_path / "none")
    by_kit = {k["name"]: k for k in m["kits"]}
    acoustic, electro = by_kit["Acoustic"], by_kit["Electro"]
    # "Kick" wins over the file name tom-0105.wav; the hand drum is perc, not a kick.
    assert acoustic["counts"] == {"kick": 2, "hihat": 1, "perc": 1}
    assert acoustic["unmapped"] == ["17"] and acoustic["missing"] == ["missing.wav"]
    assert electro["split"] == "heldout" and electro["license"] == "CC0" and electro["author"] == "A. Drummer"
    assert electro["skipped"] == ["silent.wav: silent"]
    assert m["totals"]["heldout"]["clap"] == 1 and m["totals"]["train"]["kick"] == 2
    out = tmp_path / "out"
    assert (out / "train" / "Acoustic" / "kick" / "tom-0105.wav").resolve() == (kits / "Acoustic" / "tom-0105.wav")
    assert json.loads((out / "manifest.json").read_text())["heldout"] == ["Electro"]
    x, y, paths = corpus.load_split(out, "train", 22050, 11025)
    assert x.shape == (4, 11025) and sorted(y.tolist()) == [0, 0, 2, 6]
    assert "Kick" in corpus.format_stats(m) or "Acoustic" in corpus.format_stats(m)


def test_copy_mode_and_errors(tmp_path, kits):
    m = corpus.build_hydrogen_corpus(tmp_path / "out", kits, heldout=(), mode="wav", copyright_file=tmp_path / "x")
    first = tmp_path / "out" / m["hits"][0]["path"]
    assert first.is_file() and not first.is_symlink()
    with pytest.raises(corpus.CorpusError, match="not found"):
        corpus.build_hydrogen_corpus(tmp_path / "o2", kits, heldout=("Nope",))
    with pytest.raises(corpus.CorpusError, match="no drumkit.xml"):
        corpus.build_hydrogen_corpus(tmp_path / "o3", tmp_path / "empty")


def test_debian_copyright_parsing(tmp_path):
    f = tmp_path / "copyright"
    f.write_text("Format: x\n\nFiles:\n drumkits/Gimme?A?Hand?1.0.h2drumkit\n drumkits/B.h2drumkit\n"
                 "Copyright: G\nLicense: GPL-2\n\nFiles: drumkits/C.h2drumkit\nLicense: CC0\n")
    assert corpus.debian_licenses(f) == {"Gimme A Hand 1.0": "GPL-2", "B": "GPL-2", "C": "CC0"}


def test_cmd_corpus_writes_stats(tmp_path, kits, capsys):
    p = argparse.ArgumentParser()
    evaluate.add_corpus_args(p)
    args = p.parse_args(["hydrogen", "--out", str(tmp_path / "c"), "--kits-root", str(kits), "--heldout", "Electro",
                         "--stats", str(tmp_path / "ref.safetensors")])
    assert evaluate.cmd_corpus(args) == 0
    assert "TOTAL" in capsys.readouterr().out
    stats, info = evaluate.load_reference_stats(tmp_path / "ref.safetensors")
    assert stats["train_emb"].shape[0] == 4 and info["heldout"] == ["Electro"]


def test_evaluation_kits_are_never_read(tmp_path, kits, monkeypatch):
    """hydrogen-data's kits land in the same folder as hydrogen-drumkits' (installing Hydrogen pulls them in);
    they are how drumgen is judged, so the corpus leaves them out and says so. From Debian's folder, only the
    package's own kits are taken."""
    write_kit(kits, "GMRockKit", [("Kick", [("k.wav", "kick")])])
    write_kit(kits, "TR808EmulationKit", [("Snare", [("s.wav", "snare")])])
    m = corpus.build_hydrogen_corpus(tmp_path / "out", kits, heldout=("Electro",), copyright_file=tmp_path / "none")
    assert {k["name"] for k in m["kits"]} == {"Acoustic", "Electro"}
    assert set(m["left_out"]) == {"GMRockKit", "TR808EmulationKit"}
    assert not any("GMRock" in h["source"] or "TR808" in h["source"] for h in m["hits"])
    assert "left out GMRockKit" in corpus.format_stats(m)
    # the Debian folder: only the package's kits (here none of the fake ones is)
    monkeypatch.setattr(corpus, "KITS_ROOT", str(kits))
    keep, left_out = corpus._kit_folders(kits)
    assert keep == [] and left_out["Acoustic"] == "not a kit of the hydrogen-drumkits package"
    monkeypatch.setattr(corpus, "HYDROGEN_DRUMKITS", ("Acoustic",))
    keep, left_out = corpus._kit_folders(kits)
    assert [k.name for k in keep] == ["Acoustic"] and set(left_out) == {"Electro", "GMRockKit", "TR808EmulationKit"}
