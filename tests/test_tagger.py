"""The tagger learns: trained for seconds on synthesized hits it tags other synthesized hits far above chance."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from drumgen.cli import tag as tag_verb
from drumgen.data.labels import CLASSES
from drumgen.dsp import augment, synth
from drumgen.engine import tagging as tagger
from drumgen.models.tagger import Config, Tagger
from drumgen.train import tagger as tagger_training

TINY = Config(sample_rate=16000, length=8000, n_fft=512, hop=128, n_mels=32, channels=[8, 16, 16], hidden=32,
              segments_ms=[30, 100, 500], envelope_points=8, freq_mask=4, time_mask=4)


@pytest.fixture(scope="module")
def trained():
    torch.manual_seed(0)
    x, y = tagger_training.synth_hits(10, TINY.sample_rate, TINY.length, seed=0)
    groups = np.arange(len(y)) % 3  # three pretend kits: exercises the kit-spread sampling
    model, summary = tagger_training.train_tagger(x, y, CLASSES, TINY.sample_rate, steps=80, batch=24, config=TINY,
                                         strong_augment=True, groups=groups, log=lambda s: None)
    return model, summary


def test_model_shapes_and_size():
    model = Tagger(Config())
    x = torch.randn(3, 30000)  # longer than config.length: cut
    assert model(x).shape == (3, 7)
    assert model.features(x).shape == (3, Config().hidden)
    assert sum(p.numel() for p in model.parameters()) * 4 < 1_000_000
    assert model.kind == "tagger" and model.labels == list(CLASSES)


def test_summary_branch_and_masks():
    model = Tagger(TINY)
    x = torch.randn(4, 9000)
    stats = model.summary_stats(model.spectrogram(x))
    assert stats.shape == (4, 3 * TINY.n_mels + 8) and torch.isfinite(stats).all()
    model.train()
    spec = model.spectrogram(x)
    masked = model._mask(spec)
    assert masked.shape == spec.shape and (masked != spec).any()
    model.eval()  # no masking at inference: the same input gives the same output
    assert torch.equal(model(x), model(x))


def test_strong_augment_keeps_shape_and_level():
    x, _ = tagger_training.synth_hits(2, 22050, 8000, seed=3)
    out = augment.kit_and_mic(torch.from_numpy(x), torch.Generator().manual_seed(0), 22050, strong=True)
    assert out.shape == x.shape and torch.isfinite(out).all()
    assert (out.abs().amax(dim=1) > 0.05).all()  # no hit turned to silence
    assert not torch.allclose(out, torch.from_numpy(x))


def test_tiny_tagger_beats_chance_on_unseen_synth_hits(trained):
    model, summary = trained
    x, y = tagger_training.synth_hits(6, 44100, 44100, seed=123)  # other hits, another rate: resampled inside predict
    result = tagger.evaluate(model, x, y, 44100)
    assert result["accuracy"] > 0.6, result  # chance is 1/7
    assert summary["steps"] == 80 and summary["cpu_seconds"] > 0
    labels, probs = tagger.predict(model, x[:3], 44100)
    assert len(labels) == 3 and probs.shape == (3, 7) and np.allclose(probs.sum(1), 1, atol=1e-5)
    assert tagger.features(model, x[:3], 44100).shape == (3, TINY.hidden)


def test_steadiness_is_the_share_of_classes_a_noise_floor_leaves_alone(trained):
    """A -60 dBFS noise floor, which nobody hears, should not change what the tagger hears; a floor as loud as the
    hits may. The fixed noise makes the measure reproducible."""
    model, _ = trained
    x, _ = tagger_training.synth_hits(4, TINY.sample_rate, TINY.length, seed=7)
    quiet = tagger.steadiness(model, x, TINY.sample_rate)
    assert 0.0 <= quiet <= 1.0 and quiet == tagger.steadiness(model, x, TINY.sample_rate)
    assert tagger.steadiness(model, x, TINY.sample_rate, floor_dbfs=0.0) < quiet


def test_save_load_same_output(tmp_path, trained):
    model, summary = trained
    tagger.save(model, tmp_path / "ck", {"steps": summary["steps"]})
    again = tagger.load(tmp_path / "ck")
    x, _ = tagger_training.synth_hits(1, TINY.sample_rate, TINY.length, seed=5)
    assert np.allclose(tagger.predict_proba(model, x, TINY.sample_rate), tagger.predict_proba(again, x, TINY.sample_rate))
    assert again.config == model.config and again.summary == {"steps": 80}
    with pytest.raises(tagger.TaggerError, match="no tagger checkpoint"):
        tagger.load(tmp_path / "missing")


def run_tag(argv: list[str], capsys) -> str:
    p = argparse.ArgumentParser()
    tag_verb.add_args(p)
    assert tag_verb.run(p.parse_args(argv)) == 0
    return capsys.readouterr().out


def test_cmd_tag_json_csv_and_sort_into(tmp_path, trained, capsys):
    model, _ = trained
    tagger.save(model, tmp_path / "ck")
    hits = tmp_path / "hits"
    paths = synth.write_folder(hits, per_class=1, seed=7)
    (hits / "notes.txt").write_text("not audio")
    before = {p: p.read_bytes() for p in paths}
    out = run_tag([str(hits), "--checkpoint", str(tmp_path / "ck"), "--json", "--csv", str(tmp_path / "t.csv"),
                   "--sort-into", str(tmp_path / "sorted")], capsys)
    rows = json.loads(out)
    assert len(rows) == 7 and {r["label"] for r in rows} <= set(CLASSES)
    assert all(set(r) == {"path", "label", "confidence"} and 0 < r["confidence"] <= 1 for r in rows)
    with open(tmp_path / "t.csv") as f:
        assert len(list(csv.DictReader(f))) == 8  # 7 hits + the skipped text file
    copied = sorted((tmp_path / "sorted").rglob("*.wav"))
    assert len(copied) == 7 and all(c.parent.name in CLASSES for c in copied)
    assert {p: p.read_bytes() for p in paths} == before  # originals untouched
    table = run_tag([str(hits), "--checkpoint", str(tmp_path / "ck")], capsys)
    assert "kick_000.wav" in table and "skipped" in table


def test_cmd_tag_trains_on_user_tags(tmp_path, capsys):
    root = tmp_path / "library"
    synth.write_folder(root / "boomy", per_class=6, seed=1, classes=("kick",))
    synth.write_folder(root / "sizzle", per_class=6, seed=2, classes=("hihat",))
    out = run_tag(["--train", str(root), "--out", str(tmp_path / "mine"), "--steps", "8", "--json"], capsys)
    assert json.loads(out)["tags"] == ["boomy", "sizzle"]
    assert tagger.load(tmp_path / "mine").labels == ["boomy", "sizzle"]
    with pytest.raises(tagger.TaggerError, match="at least two sub-folders"):
        tagger.load_tagged_folder(root / "boomy", 22050, 22050)


def test_per_folder_confidence_report(tmp_path, trained, capsys):
    rows = [{"path": "/k/a/1.wav", "label": "kick", "confidence": 0.9},
            {"path": "/k/a/2.wav", "label": "snare", "confidence": 0.5},
            {"path": "/k/b/1.wav", "label": "hihat", "confidence": 0.95},
            {"path": "/k/b/bad.txt", "label": None, "confidence": 0.0, "skipped": "not audio"}]
    folders = tagger.folder_confidence(rows, low=0.6)
    assert [f["folder"] for f in folders] == ["/k/a", "/k/b"]  # least sure first; skipped files left out
    assert folders[0] == {"folder": "/k/a", "hits": 2, "mean_confidence": 0.7, "low_share": 0.5,
                          "labels": {"kick": 1, "snare": 1}}
    assert folders[1]["hits"] == 1 and folders[1]["low_share"] == 0.0
    model, _ = trained
    tagger.save(model, tmp_path / "ck")
    synth.write_folder(tmp_path / "hits" / "one", per_class=2, seed=7, classes=("kick", "snare"))  # one/kick, one/snare
    synth.write_folder(tmp_path / "hits", per_class=1, seed=8, classes=("hihat",))
    table = run_tag([str(tmp_path / "hits"), "--checkpoint", str(tmp_path / "ck"), "--low", "0.99"], capsys)
    report = table.split("per folder")[1].splitlines()[2:]  # after the heading and the column names
    assert "mean confidence" in table and "under 0.99" in table
    assert sorted(Path(line.split()[0]).relative_to(tmp_path / "hits").as_posix() for line in report) == \
        ["hihat", "one/kick", "one/snare"]  # each hit's own folder
    p = argparse.ArgumentParser()
    tag_verb.add_args(p)
    assert tag_verb.run(p.parse_args([str(tmp_path / "hits"), "--checkpoint", str(tmp_path / "ck"), "--json"])) == 0
    out, err = capsys.readouterr()
    assert len(json.loads(out)) == 5  # stdout stays the rows
    folders = json.loads(err.strip().splitlines()[-1])["folders"]
    assert {Path(f["folder"]).name: f["hits"] for f in folders} == {"kick": 2, "snare": 2, "hihat": 1}
    assert [f["mean_confidence"] for f in folders] == sorted(f["mean_confidence"] for f in folders)
    assert all(0 < f["mean_confidence"] <= 1 and 0 <= f["low_share"] <= 1 for f in folders)


def test_an_ensemble_averages_its_members_and_round_trips(tmp_path, trained):
    """Seeds of one recipe disagree as much as recipes do (the shipped tagger's card); an ensemble of them shares
    the log-mel front end and averages the members' class probabilities, and saves and loads as one tagger."""
    model, _ = trained
    torch.manual_seed(5)
    other = Tagger(TINY)  # an untrained member: the mean must still be the mean
    joined = Tagger.ensemble([model, other])
    x, _ = tagger_training.synth_hits(2, TINY.sample_rate, TINY.length, seed=9)
    want = (tagger.predict_proba(model, x, TINY.sample_rate) + tagger.predict_proba(other, x, TINY.sample_rate)) / 2
    got = tagger.predict_proba(joined, x, TINY.sample_rate)
    assert np.allclose(got, want, atol=1e-5)
    assert tagger.features(joined, x, TINY.sample_rate).shape == (len(x), 2 * TINY.hidden)
    tagger.save(joined, tmp_path / "ens")
    back = tagger.load(tmp_path / "ens")
    assert back.config.members == 2 and np.allclose(tagger.predict_proba(back, x, TINY.sample_rate), got, atol=1e-6)
    with pytest.raises(ValueError, match="same config"):
        Tagger.ensemble([model, Tagger(Config())])
