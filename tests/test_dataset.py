"""dataset.py and `drumgen inspect` on a messy folder: every good file loads, every bad one is skipped with its reason."""

import json

import numpy as np
import pytest
import soundfile as sf

from drumgen.cli import main
from drumgen.data.dataset import EmptyDatasetError, load_folder
from drumgen.data.labels import label_from_path
from drumgen.dsp import synth


@pytest.fixture
def messy(tmp_path):
    root = tmp_path / "My Samples"
    (root / "Kicks").mkdir(parents=True)
    (root / "misc").mkdir()
    rng = np.random.default_rng(0)
    kick = synth.hit("kick", rng)
    sf.write(root / "Kicks" / "Big Kick 01.wav", np.stack([synth.hit("kick", rng, 96000)] * 2, 1), 96000, subtype="FLOAT")
    sf.write(root / "Kicks" / "lofi kick.wav", synth.hit("kick", rng, 11025), 11025, subtype="PCM_U8")
    sf.write(root / "misc" / "SNARE_tight.aiff", synth.hit("snare", rng), 44100, format="AIFF", subtype="PCM_24")
    sf.write(root / "misc" / "ClosedHat.flac", synth.hit("hihat", rng), 44100, format="FLAC")
    sf.write(root / "misc" / "crash ride.ogg", synth.hit("cymbal", rng), 44100, format="OGG")
    sf.write(root / "misc" / "clap.mp3", synth.hit("clap", rng), 44100, format="MP3")
    sf.write(root / "misc" / "mystery.wav", synth.hit("perc", rng), 44100)
    # the bad ones
    (root / "misc" / "empty.wav").write_bytes(b"")
    (root / "misc" / "notes.wav").write_text("these are my notes, not audio\n" * 10)
    (root / "misc" / "corrupt.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + rng.bytes(300))
    sf.write(root / "misc" / "silence.wav", np.zeros(22050, np.float32), 22050)
    sf.write(root / "misc" / "whole take.wav", np.tile(kick, 40 * 60 * 10 // 10)[: 44100 * 600 // 10], 4410)
    full = root / "misc" / "cut snare.wav"
    sf.write(full, synth.hit("snare", rng), 44100)
    data = full.read_bytes()
    full.write_bytes(data[: len(data) // 2])
    (root / "misc" / "readme.txt").write_text("hello")
    return root


EXPECTED_SKIPS = {"misc/empty.wav": "empty", "misc/notes.wav": "not-audio", "misc/corrupt.wav": "unreadable",
                  "misc/silence.wav": "silent", "misc/whole take.wav": "too-long", "misc/cut snare.wav": "unreadable",
                  "misc/readme.txt": "not-audio"}


def test_messy_folder_loads_the_good_and_explains_the_bad(messy, tmp_path):
    ds = load_folder(messy, 22050, 8192, cache_dir=tmp_path / "cache")
    loaded = {i.path: i for i in ds.report.loaded}
    assert set(loaded) == {"Kicks/Big Kick 01.wav", "Kicks/lofi kick.wav", "misc/SNARE_tight.aiff",
                           "misc/ClosedHat.flac", "misc/crash ride.ogg", "misc/clap.mp3", "misc/mystery.wav"}
    assert {s.path: s.reason for s in ds.report.skipped} == EXPECTED_SKIPS
    assert [loaded[p].label for p in sorted(loaded)] == ["kick", "kick", "hihat", "snare", "clap", "cymbal", None]
    assert loaded["Kicks/Big Kick 01.wav"].sample_rate == 96000 and loaded["Kicks/Big Kick 01.wav"].channels == 2
    assert ds.x.shape == (7, 8192) and ds.x.dtype == np.float32 and np.all(np.isfinite(ds.x))
    assert np.allclose(np.abs(ds.x).max(axis=1), 10 ** (-1 / 20), atol=1e-4)


def test_second_load_comes_from_the_cache(messy, tmp_path):
    first = load_folder(messy, 16000, 4096, cache_dir=tmp_path / "cache")
    second = load_folder(messy, 16000, 4096, cache_dir=tmp_path / "cache")
    assert first.report.cached == 0 and second.report.cached == 14
    assert np.array_equal(first.x, second.x) and first.report.to_json() | {"cached": 0} == second.report.to_json() | {"cached": 0}
    (messy / "misc" / "mystery.wav").unlink()  # a change in the folder is seen
    assert len(load_folder(messy, 16000, 4096, cache_dir=tmp_path / "cache")) == 6


def test_empty_and_useless_folders_say_why(tmp_path):
    (tmp_path / "none").mkdir()
    with pytest.raises(EmptyDatasetError, match="no files found"):
        load_folder(tmp_path / "none", 16000, 4096, cache_dir=False)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "a.wav").write_bytes(b"")
    (tmp_path / "bad" / "b.wav").write_text("text")
    with pytest.raises(EmptyDatasetError, match="1 empty, 1 not-audio"):
        load_folder(tmp_path / "bad", 16000, 4096, cache_dir=False)


def test_split_option_turns_a_recording_into_hits(tmp_path):
    sr = 22050
    gap = np.zeros(sr // 2, np.float32)
    hits = [synth.hit(k, 5, sr)[: sr // 3] for k in ("kick", "snare", "hihat")]
    take = np.concatenate([np.concatenate([h, gap]) for h in hits] * 25)  # 62 s
    (tmp_path / "takes").mkdir()
    sf.write(tmp_path / "takes" / "snare session.wav", take, sr)
    ds = load_folder(tmp_path / "takes", sr, 4096, split=True, cache_dir=False)
    assert len(ds) == 75 and ds.report.loaded[3].path == "snare session.wav#3"


@pytest.mark.parametrize("path,label", [
    ("Kicks/hard.wav", "kick"), ("BD_808.wav", "kick"), ("SnareRim_02.wav", "snare"), ("kit/OpenHat.wav", "hihat"),
    ("Ride Bell.wav", "cymbal"), ("cowbell.aif", "perc"), ("Tom Floor 2.wav", "tom"), ("handclap.wav", "clap"),
    ("808/Kick Drum.wav", "kick"), ("untitled 3.wav", None), ("Snares/bd_like.wav", "kick"),
])
def test_labels_from_names(path, label):
    assert label_from_path(path) == label


def test_inspect_cli_reports_text_and_json(messy, capsys):
    assert main(["inspect", str(messy)]) == 0
    out = capsys.readouterr().out
    assert "7 hits loaded, 7 files skipped" in out and "misc/notes.wav: the file is not an audio format" in out
    assert main(["inspect", str(messy), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {s["path"]: s["reason"] for s in doc["skipped"]} == EXPECTED_SKIPS
    assert {"path", "label", "seconds", "sample_rate", "channels"} <= set(doc["loaded"][0])


def test_inspect_cli_errors_without_traceback(tmp_path, capsys):
    assert main(["inspect", str(tmp_path / "nope")]) == 1
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["inspect", str(tmp_path / "empty")]) == 1


def test_labels_csv_wins_over_names(tmp_path):
    root = tmp_path / "kit"
    (root / "Kick").mkdir(parents=True)
    sf.write(root / "Kick" / "tom-0105.wav", synth.hit("kick", 1), 44100)  # a kit's kick with a tom's file name
    sf.write(root / "other.wav", synth.hit("snare", 2), 44100)
    assert {i.label for i in load_folder(root, 16000, 4096, cache_dir=False).report.loaded} == {"tom", None}
    (root / "labels.csv").write_text(f"path,label,confidence\nKick/tom-0105.wav,kick,1\n{root / 'other.wav'},snare,0.9\n")
    ds = load_folder(root, 16000, 4096, cache_dir=False)
    assert {i.path: i.label for i in ds.report.loaded} == {"Kick/tom-0105.wav": "kick", "other.wav": "snare"}
    assert len(ds.report.skipped) == 0  # labels.csv itself is not reported as a bad audio file
