"""benchmarks/finetune.py: several --kit folders make one kit, every hit of each with its class."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

from drumgen.data.dataset import load_folder
from drumgen.dsp import synth
from drumgen.io import audio

ROOT = Path(__file__).resolve().parent.parent


def load_bench(name: str):
    """benchmarks/<name>.py as a module (it imports its neighbours, common.py and finetune.py)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        spec = importlib.util.spec_from_file_location(f"{name}_under_test", ROOT / "benchmarks" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


def test_two_kit_folders_make_one_kit_of_all_their_hits(tmp_path):
    finetune = load_bench("finetune")
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


def test_bank_noise_measures_one_row_per_noise_and_restores_the_sampler(tmp_path, monkeypatch):
    """benchmarks/bank_noise.py: a model holding a 6-hit kit's latents, measured at two noises against the kit;
    the table has a row per noise, and the noise is the measured copy's config knob (nothing global changes)."""
    from drumgen import checkpoint
    from drumgen.models import prior
    from drumgen.models.autoencoder import PRESETS, Autoencoder, Config
    from drumgen.train import steps

    bank_noise = load_bench("bank_noise")
    kit = tmp_path / "kit"
    synth.write_folder(kit, per_class=2, seed=3, classes=("kick", "snare", "hihat"))
    model = Autoencoder(Config(**PRESETS["tiny"]))
    hits = load_folder(kit, model.config.sample_rate, model.config.slice_length, cache_dir=False)
    steps.fit_latent_prior(model, hits.x, None)
    checkpoint.save(model, tmp_path / "model")
    monkeypatch.setattr(sys.modules["finetune"], "N", 24)  # 250 in real runs
    monkeypatch.setattr(sys.modules["common"], "RESULTS", tmp_path / "RESULTS.md")
    monkeypatch.setattr(sys, "argv", ["bank_noise.py", str(tmp_path / "model"), "--kit", str(kit), "--noise", "0.5,3"])
    shipped = prior.SMALL_BANK_NOISE
    bank_noise.main()
    assert prior.SMALL_BANK_NOISE == shipped and checkpoint.load(tmp_path / "model").config.prior_small_bank_noise == 1.5
    text = (tmp_path / "RESULTS.md").read_text()
    assert "6 stored latents" in text
    rows = [line for line in text.splitlines() if line.startswith("| 0.5") or line.startswith("| 3 ")]
    assert len(rows) == 2
