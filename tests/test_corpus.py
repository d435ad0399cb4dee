"""The corpus builder on tiny fake sources: Hydrogen kits, Sonic Pi samples and a stand-in SoundFont renderer
(CI has none of the Debian packages; every sound is synthesised here)."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
import soundfile as sf

from drumgen.cli import corpus as corpus_verb
from drumgen.data import corpus, corpus_hydrogen, corpus_sonicpi, corpus_soundfont
from drumgen.data.labels import CLASSES
from drumgen.dsp import synth
from drumgen.eval import evaluate
from drumgen.io import audio

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
    m = corpus_hydrogen.build_hydrogen_corpus(tmp_path / "out", kits, heldout=("Electro",), copyright_file=tmp_path / "none")
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
    m = corpus_hydrogen.build_hydrogen_corpus(tmp_path / "out", kits, heldout=(), mode="wav", copyright_file=tmp_path / "x")
    first = tmp_path / "out" / m["hits"][0]["path"]
    assert first.is_file() and not first.is_symlink()
    with pytest.raises(corpus.CorpusError, match="not found"):
        corpus_hydrogen.build_hydrogen_corpus(tmp_path / "o2", kits, heldout=("Nope",))
    with pytest.raises(corpus.CorpusError, match="no drumkit.xml"):
        corpus_hydrogen.build_hydrogen_corpus(tmp_path / "o3", tmp_path / "empty")


def test_debian_copyright_parsing(tmp_path):
    f = tmp_path / "copyright"
    f.write_text("Format: x\n\nFiles:\n drumkits/Gimme?A?Hand?1.0.h2drumkit\n drumkits/B.h2drumkit\n"
                 "Copyright: G\nLicense: GPL-2\n\nFiles: drumkits/C.h2drumkit\nLicense: CC0\n")
    assert corpus_hydrogen.debian_licenses(f) == {"Gimme A Hand 1.0": "GPL-2", "B": "GPL-2", "C": "CC0"}


def test_cmd_corpus_writes_stats(tmp_path, kits, capsys):
    p = argparse.ArgumentParser()
    corpus_verb.add_args(p)
    args = p.parse_args(["hydrogen", "--out", str(tmp_path / "c"), "--kits-root", str(kits), "--heldout", "Electro",
                         "--stats", str(tmp_path / "ref.safetensors")])
    assert corpus_verb.run(args) == 0
    assert "TOTAL" in capsys.readouterr().out
    stats, info = evaluate.load_reference_stats(tmp_path / "ref.safetensors")
    assert stats["train_emb"].shape[0] == 4 and info["heldout"] == ["Electro"]


def test_evaluation_kits_are_never_read(tmp_path, kits, monkeypatch):
    """hydrogen-data's kits land in the same folder as hydrogen-drumkits' (installing Hydrogen pulls them in);
    they are how drumgen is judged, so the corpus leaves them out and says so. From Debian's folder, only the
    package's own kits are taken."""
    write_kit(kits, "GMRockKit", [("Kick", [("k.wav", "kick")])])
    write_kit(kits, "TR808EmulationKit", [("Snare", [("s.wav", "snare")])])
    m = corpus_hydrogen.build_hydrogen_corpus(tmp_path / "out", kits, heldout=("Electro",), copyright_file=tmp_path / "none")
    assert {k["name"] for k in m["kits"]} == {"Acoustic", "Electro"}
    assert set(m["left_out"]) == {"GMRockKit", "TR808EmulationKit"}
    assert not any("GMRock" in h["source"] or "TR808" in h["source"] for h in m["hits"])
    assert "left out GMRockKit" in corpus.format_stats(m)
    # the Debian folder: only the package's kits (here none of the fake ones is)
    monkeypatch.setattr(corpus_hydrogen, "KITS_ROOT", str(kits))
    keep, left_out = corpus_hydrogen._kit_folders(kits)
    assert keep == [] and left_out["Acoustic"] == "not a kit of the hydrogen-drumkits package"
    monkeypatch.setattr(corpus_hydrogen, "HYDROGEN_DRUMKITS", ("Acoustic",))
    keep, left_out = corpus_hydrogen._kit_folders(kits)
    assert [k.name for k in keep] == ["Acoustic"] and set(left_out) == {"Electro", "GMRockKit", "TR808EmulationKit"}


# ---------------------------------------------------------------------------------------------------------------
# Sonic Pi, SoundFonts, the split and near-duplicates (all sounds synthesised here; no system package is read)

SONICPI_COPYRIGHT = """Format: x

Files: etc/samples/drum_bass_hard.flac
Copyright: 2010 menegass
Source: http://example.org/1
License: CC0

Files: etc/samples/elec_snare.flac
Copyright: 2005 looppool
License: CC0
"""


def test_sonicpi_table_labels_and_leaves_out(tmp_path, monkeypatch):
    # every entry of the reviewed table names a class or says why it is left out
    for stem, entry in corpus_sonicpi.SAMPLES.items():
        assert entry in CLASSES or (entry[0] is None and entry[1]), stem
    assert corpus_sonicpi.sample_class("drum_cymbal_closed") == ("hihat", "")
    assert corpus_sonicpi.sample_class("perc_snap")[0] == "clap"
    assert corpus_sonicpi.sample_class("loop_amen") == (None, corpus_sonicpi._LOOP)
    assert corpus_sonicpi.sample_class("brand_new_sound")[1].startswith("not in drumgen's reviewed table")
    root = tmp_path / "samples"
    root.mkdir()
    kinds = {"drum_bass_hard": "kick", "drum_cymbal_closed": "hihat", "tabla_na": "perc", "elec_snare": "snare",
             "elec_blip": "perc", "loop_amen": "kick", "ambi_choir": "cymbal", "brand_new_sound": "snare"}
    for i, (stem, kind) in enumerate(kinds.items()):
        sf.write(root / f"{stem}.flac", synth.hit(kind, i), 44100, format="FLAC")
    (root / "README.md").write_text("not audio")
    (tmp_path / "copyright").write_text(SONICPI_COPYRIGHT)
    src = corpus_sonicpi.sonicpi_source(root, tmp_path / "copyright")
    assert {(h.name, h.label, h.kit) for h in src.hits} == {
        ("drum_bass_hard.flac", "kick", "sonicpi-drum"), ("drum_cymbal_closed.flac", "hihat", "sonicpi-drum"),
        ("tabla_na.flac", "perc", "sonicpi-tabla"), ("elec_snare.flac", "snare", "sonicpi-elec")}
    assert set(src.left_out) == {"sonic-pi:elec_blip.flac", "sonic-pi:loop_amen.flac", "sonic-pi:ambi_choir.flac",
                                 "sonic-pi:brand_new_sound.flac"}
    m = corpus.build_corpus(tmp_path / "out", [src], heldout=corpus_sonicpi.DEFAULT_HELDOUT)
    by_kit = {k["name"]: k for k in m["kits"]}
    assert by_kit["sonicpi-elec"]["split"] == "heldout" and by_kit["sonicpi-drum"]["author"] == "menegass"
    assert by_kit["sonicpi-drum"]["license"] == "CC0" and by_kit["sonicpi-drum"]["source"] == "sonic-pi"
    hit = next(h for h in m["hits"] if h["path"].endswith("drum_bass_hard.flac"))
    assert hit["author"] == "menegass" and hit["license"] == "CC0"
    assert m["left_out"]["sonic-pi:loop_amen.flac"] == corpus_sonicpi._LOOP
    assert "a loop of many hits" in corpus.format_stats(m)
    with pytest.raises(corpus.CorpusError, match="sonic-pi-samples"):
        corpus_sonicpi.sonicpi_source(tmp_path / "nothing")


def test_gm_key_map():
    gm = corpus_soundfont.key_map("Standard")
    assert all(gm[k][1] == "kick" for k in (35, 36)) and all(gm[k][1] == "snare" for k in (37, 38, 40))
    assert all(gm[k][1] == "hihat" for k in (42, 44, 46)) and gm[39][1] == "clap"
    assert all(gm[k][1] == "tom" for k in (41, 43, 45, 47, 48, 50))
    assert all(gm[k][1] == "cymbal" for k in (49, 51, 52, 53, 55, 57, 59))
    assert all(gm[k][1] is None for k in (58, 71, 72, 73, 74, 78, 79, 84))  # no drum hit
    assert all(gm[k][1] == "perc" for k in (54, 56, 60, 64, 75, 76, 80, 81))
    assert set(range(35, 82)) <= set(gm) and all(c is None or c in CLASSES for _, c in gm.values())
    assert corpus_soundfont.key_map("Brush 1")[39][1] == "snare"  # brush slap, not a clap
    orchestra = corpus_soundfont.key_map("Orchestra Kit")
    assert orchestra[42][1] is None and orchestra[27][1] == "hihat"  # timpani on the tom and hat keys
    assert corpus_soundfont.kit_name("/x/FluidR3_GM.sf2", "Power 1") == "sf-fluidr3-power-1"


class FakeRenderer:
    """Stands in for tinysoundfont (which cannot write a SoundFont to test with): preset 1 reuses preset 0's
    samples, preset 16 has sounds of its own; key 36 has a real soft layer, the others only velocity copies;
    key 50 is silent."""

    def __init__(self, path):
        self.path = path

    def presets(self):
        return [(0, "Standard"), (1, "Standard 1"), (16, "Power")]

    def render(self, preset, key, velocity):
        if key == 50:
            return np.zeros(4410, np.float32)
        kind = corpus_soundfont.GM_KEYS[key][1]
        seed = key + (1000 if preset == 16 and key != 42 else 0)  # Power shares only its closed hat
        if key == 36 and velocity == 40:
            return synth.hit("kick", seed + 500) * 0.1
        return synth.hit(kind, seed) * velocity / 127


def test_soundfont_source_renders_labels_and_dedups(tmp_path, monkeypatch):
    monkeypatch.setattr(corpus_soundfont, "FontRenderer", FakeRenderer)
    monkeypatch.setattr(corpus_soundfont, "GM_KEYS", {k: corpus_soundfont.GM_KEYS[k] for k in (36, 38, 39, 42, 50, 71)})
    font = tmp_path / "Fake_GM.sf2"
    font.write_bytes(b"RIFF")
    src = corpus_soundfont.soundfont_source(font)
    std = [h for h in src.hits if h.kit == "sf-fake-standard"]
    # key 36: the loud layer and the soft one that differs; 80 is a velocity copy of 127
    assert sorted(h.name for h in std) == ["k36-v127.wav", "k36-v40.wav", "k38-v127.wav", "k39-v127.wav",
                                           "k42-v127.wav"]
    kit = next(k for k in src.kits if k.name == "sf-fake-standard")
    assert kit.skipped == ["key 50 High Tom: silent"] and kit.left_out == ["key 71 Short Whistle: not a drum hit"]
    m = corpus.build_corpus(tmp_path / "out", [src], heldout=("sf-fake-power",))
    counts = {k["name"]: sum(k["counts"].values()) for k in m["kits"]}
    # Standard 1 is all copies of Standard (same SoundFont, same split); Power's hat is Standard's, which wins
    # (two train copies against one held-out)
    assert counts == {"sf-fake-standard": 5, "sf-fake-standard-1": 0, "sf-fake-power": 4}
    dropped = {d["hit"]: d for d in m["near_duplicates"]}
    assert dropped["sf-fake-power/k42-v127.wav"]["similar_split"] == "train"
    x, y, _ = corpus.load_split(tmp_path / "out", "heldout", 22050, 11025)
    assert len(y) == 4 and (tmp_path / "out" / "heldout" / "sf-fake-power" / "kick" / "k36-v127.wav").is_file()


def _fps(x):
    return np.stack([corpus.fingerprint(h, 44100) for h in x])


def test_near_duplicates_stay_on_one_side(tmp_path):
    """A sound planted in a held-out kit and a train kit ends up on one side only; no held-out hit keeps a
    near-copy in train."""
    planted = synth.hit("snare", 7)
    train = [("kick", 1), ("hihat", 2), ("perc", 3)]
    held = [("clap", 4), ("tom", 5)]

    def cands(kit, kinds, extra):
        out = [corpus.Candidate(kit, k, k, f"{k}{s}.wav", f"synth {k} {s}", synth.hit(k, s)) for k, s in kinds]
        return out + [corpus.Candidate(kit, "snare", "snare", f"planted{i}.wav", "planted", planted * g)
                      for i, g in enumerate(extra)]

    kits = [corpus.Kit(n, n, "me", "CC0", "", source="test") for n in ("A", "B", "H")]
    hits = cands("A", train, [1.0]) + cands("B", [], [0.5]) + cands("H", held, [0.3])
    m = corpus.build_corpus(tmp_path / "out", [corpus.Source("test", kits, hits)], heldout=("H",))
    assert [d["hit"] for d in m["near_duplicates"]] == ["H/planted0.wav"]  # two train copies beat one
    assert m["near_duplicates"][0]["similar_split"] == "train"
    xt, _, _ = corpus.load_split(tmp_path / "out", "train", 44100, 22050)
    xh, _, _ = corpus.load_split(tmp_path / "out", "heldout", 44100, 22050)
    assert (_fps(xh) @ _fps(xt).T).max() < corpus.DUPLICATE_SIMILARITY
    # one copy on each side: train keeps it; with validation and held-out copies only, held-out keeps it
    splits, fps = ["train", "heldout", "train"], _fps([planted, planted * 0.5, synth.hit("kick", 1)])
    assert [d["index"] for d in corpus.resolve_duplicates(splits, ["", "", ""], fps, ["a", "b", "c"])] == [1]
    d = corpus.resolve_duplicates(["validation", "heldout"], ["", ""], fps[:2], ["a", "b"])
    assert [x["index"] for x in d] == [0] and d[0]["similar_split"] == "heldout"
    # a velocity copy within one group and split is kept once; without a group both stay
    assert [x["index"] for x in corpus.resolve_duplicates(["train"] * 2, ["g", "g"], fps[:2], ["a", "b"])] == [1]
    assert corpus.resolve_duplicates(["train"] * 2, ["", ""], fps[:2], ["a", "b"]) == []


def test_splits_validation_and_errors(tmp_path, kits):
    m = corpus_hydrogen.build_hydrogen_corpus(tmp_path / "out", kits, heldout=("Electro",), validation=("Acoustic",),
                                     copyright_file=tmp_path / "none")
    assert set(m["totals"]) == {"train", "validation", "heldout"} and m["validation"] == ["Acoustic"]
    assert (tmp_path / "out" / "validation" / "labels.csv").is_file()
    x, y, _ = corpus.load_split(tmp_path / "out", "validation", 22050, 11025)
    assert len(y) == 4
    with pytest.raises(corpus.CorpusError, match="both held out and for validation"):
        corpus_hydrogen.build_hydrogen_corpus(tmp_path / "o2", kits, heldout=("Electro",), validation=("Electro",))


def test_cmd_corpus_sources(tmp_path, kits, monkeypatch, capsys):
    """`drumgen corpus all` puts the three sources in one corpus, kits named by source."""
    monkeypatch.setattr(corpus_soundfont, "FontRenderer", FakeRenderer)
    monkeypatch.setattr(corpus_soundfont, "GM_KEYS", {k: corpus_soundfont.GM_KEYS[k] for k in (36, 38, 42)})
    monkeypatch.setattr(corpus_hydrogen, "DEFAULT_HELDOUT", ("Electro",))
    monkeypatch.setattr(corpus_hydrogen, "DEFAULT_VALIDATION", ())
    monkeypatch.setattr(corpus_sonicpi, "COPYRIGHT", str(tmp_path / "none"))
    for name in ("FluidR3_GM.sf2", "TimGM6mb.sf2"):
        (tmp_path / name).write_bytes(b"RIFF")
    monkeypatch.setattr(corpus_soundfont, "FLUIDR3", str(tmp_path / "FluidR3_GM.sf2"))
    monkeypatch.setattr(corpus_soundfont, "TIMGM6MB", str(tmp_path / "TimGM6mb.sf2"))
    samples = tmp_path / "sp"
    samples.mkdir()
    for i, stem in enumerate(("bd_fat", "elec_hi_snare")):
        sf.write(samples / f"{stem}.flac", synth.hit("kick" if i == 0 else "snare", 40 + i), 44100, format="FLAC")
    p = argparse.ArgumentParser()
    corpus_verb.add_args(p)
    out = tmp_path / "all"
    args = p.parse_args(["all", "--out", str(out), "--kits-root", str(kits), "--samples-dir", str(samples), "--json"])
    assert corpus_verb.run(args) == 0
    m = json.loads(capsys.readouterr().out)
    split = {k["name"]: k["split"] for k in m["kits"]}
    assert split["h2-Electro"] == "heldout" and split["h2-Acoustic"] == "train"
    assert split["sonicpi-elec"] == "heldout" and split["sf-fluidr3-power"] == "heldout"
    assert {k["source"] for k in m["kits"]} == {"hydrogen", "sonic-pi", "soundfont"}
    assert (out / "train" / "labels.csv").is_file()
    for bad in (["soundfont", "--out", str(out)], ["hydrogen", "x.sf2", "--out", str(out)]):
        with pytest.raises(corpus.CorpusError):
            corpus_verb.run(p.parse_args(bad))
