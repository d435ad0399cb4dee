"""benchmarks/finetune.py: several --kit folders make one kit, every hit of each with its class."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

from drumgen import audio, synth
from drumgen.dataset import load_folder

ROOT = Path(__file__).resolve().parent.parent


def load_finetune():
    sys.path.insert(0, str(ROOT / "benchmarks"))  # finetune.py imports its neighbour common.py
    try:
        spec = importlib.util.spec_from_file_location("finetune_under_test", ROOT / "benchmarks" / "finetune.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


def test_two_kit_folders_make_one_kit_of_all_their_hits(tmp_path):
    finetune = load_finetune()
    kits = []
    for name, classes in (("KitA", ("kick", "snare")), ("KitB", ("kick", "hihat", "clap"))):
        for i, label in enumerate(classes):
            (tmp_path / name / label).mkdir(parents=True)
            audio.write_wav(tmp_path / name / label / f"{i}.wav", synth.hit(label, i), synth.SAMPLE_RATE)
        kits.append(tmp_path / name)
    assert finetune.one_kit(kits[:1]) == (kits[0], "KitA")
    folder, name = finetune.one_kit(kits)
    assert name == "KitA + KitB" and folder not in kits
    try:
        data = load_folder(folder, 16000, 8192, cache_dir=False)
    finally:
        shutil.rmtree(folder)
    assert sorted(data.labels[i] for i in data.y) == ["clap", "hihat", "kick", "kick", "snare"]
