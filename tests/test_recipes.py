"""benchmarks/recipes.py on a tiny fake Hydrogen corpus: marks are trained, scored, reported, and resumed."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from PIL import Image

from drumgen.data import corpus_hydrogen
from drumgen.data.labels import CLASSES
from drumgen.dsp import synth
from drumgen.io import audio
from drumgen.train import trained_seconds

ROOT = Path(__file__).resolve().parent.parent


def load_recipes():
    spec = importlib.util.spec_from_file_location("recipes_under_test", ROOT / "benchmarks" / "recipes.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_kits(root: Path) -> Path:
    """Three Hydrogen-style kits of synthesized hits, one instrument per class with two velocity layers."""
    for k, name in enumerate(("KitA", "KitB", "Held")):
        kit = root / name
        kit.mkdir(parents=True)
        parts = []
        for i, cls in enumerate(CLASSES):
            layers = ""
            for j in range(2):
                fname = f"{cls}{j}.wav"
                audio.write_wav(kit / fname, synth.hit(cls, 100 * k + 10 * i + j), 44100)
                layers += f"<layer><filename>{fname}</filename></layer>"
            parts.append(f"<instrument><id>{i}</id><name>{cls.title()}</name>{layers}</instrument>")
        (kit / "drumkit.xml").write_text(f"<drumkit_info><name>{name}</name><instrumentList>{''.join(parts)}"
                                         "</instrumentList></drumkit_info>")
    return root


@pytest.fixture
def setup(tmp_path, monkeypatch):
    recipes = load_recipes()
    corpus_hydrogen.build_hydrogen_corpus(tmp_path / "corpus", fake_kits(tmp_path / "kits"), heldout=("Held",),
                                 copyright_file=tmp_path / "none")
    recipes.register("tiny-test", kind="wavegan", preset="tiny", eval_every=10_000, preview_every=10_000,
                     about="test only")
    monkeypatch.setattr(recipes.common, "RESULTS", tmp_path / "RESULTS.md")
    monkeypatch.setattr(recipes, "HITS", 64)  # 250 in real runs; the measures are the same code
    return recipes, tmp_path


def test_run_marks_report_and_resume(setup, capsys):
    recipes, tmp = setup
    runs, corpus_dir, plot = tmp / "runs", tmp / "corpus", tmp / "recipes.png"
    common = ["--corpus", str(corpus_dir), "--runs", str(runs)]
    assert recipes.main(["run", "tiny-test", "--marks", "0.05,0.1", *common]) == 0
    run = runs / "tiny-test"
    doc = json.loads((run / "scores.json").read_text())
    assert [m["mark"] for m in doc["marks"]] == [0.05, 0.1]
    for m in doc["marks"]:
        assert m["minutes"] * 60 >= m["mark"] * 60 - 1.01 and m["frechet"] > 0 and m["steps"] > 0
        assert 0 <= m["near_copy_rate"] <= 1 and m["diversity_ratio"] > 0 and len(m["load_average"]) == 3
        assert "coverage" in m["tagger"] and m["latest"]["frechet"] > 0 and m["checkpoint_steps"] <= m["steps"]
    assert doc["marks"][1]["steps"] > doc["marks"][0]["steps"]
    for name in ("mark_000.05", "mark_000.10"):
        assert (run / name / "model.safetensors").is_file() and (run / name / "latest" / "model.safetensors").is_file()

    # Calling again with the same marks trains and scores nothing.
    seconds = trained_seconds(run / "train")
    stamp = (run / "mark_000.10" / "model.safetensors").stat().st_mtime_ns
    assert recipes.main(["run", "tiny-test", "--marks", "0.05,0.1", *common]) == 0
    assert "already scored" in capsys.readouterr().out
    assert trained_seconds(run / "train") == seconds
    assert (run / "mark_000.10" / "model.safetensors").stat().st_mtime_ns == stamp
    assert json.loads((run / "scores.json").read_text()) == doc

    # A later mark continues the same run from where it stopped.
    assert recipes.main(["run", "tiny-test", "--marks", "0.05,0.1,0.12", *common]) == 0
    doc2 = json.loads((run / "scores.json").read_text())
    assert doc2["marks"][:2] == doc["marks"] and doc2["marks"][2]["mark"] == 0.12
    assert doc2["marks"][2]["steps"] > doc["marks"][1]["steps"]
    assert trained_seconds(run / "train") < seconds + 0.04 * 60  # resumed, not retrained from zero

    assert recipes.main(["report", "--plot", str(plot), *common]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| tiny-test")]
    assert [r.split("|")[2].strip() for r in rows] == ["0.05", "0.1", "0.12"]
    assert "real train-kit hits (floor)" in out
    assert "tiny-test" in (tmp / "RESULTS.md").read_text()
    assert Image.open(plot).size == (900, 560)
    assert (runs / "floor.json").is_file()


def test_bad_input(setup, capsys):
    recipes, tmp = setup
    assert recipes.main(["run", "no-such-recipe", "--runs", str(tmp / "r")]) == 2
    assert "unknown recipe" in capsys.readouterr().err
    assert recipes.main(["run", "tiny-test", "--marks", "ten", "--runs", str(tmp / "r")]) == 2
    assert "--marks" in capsys.readouterr().err
    assert recipes.main(["run", "tiny-test", "--corpus", str(tmp / "nowhere"), "--runs", str(tmp / "r")]) == 2
    assert "no built corpus" in capsys.readouterr().err
    with pytest.raises(recipes.RecipeError, match="unknown option"):
        recipes.register("x", kind="wavegan", learning_rate=1)
    assert recipes.main(["report", "--runs", str(tmp / "empty"), "--corpus", str(tmp / "corpus")]) == 2
    assert "no scored recipes" in capsys.readouterr().err


def test_every_registered_recipe_builds(setup):
    """Each registry entry names a real kind and preset (a typo would only show hours into a benchmark)."""
    from drumgen.train import build_config

    recipes, tmp = setup
    for name in recipes.RECIPES:
        kind, cfg = build_config(recipes.options_for(name, tmp / "corpus" / "train", tmp / "out" / name, 1.0))
        assert kind == recipes.RECIPES[name]["kind"] and cfg.preset == recipes.RECIPES[name].get("preset", cfg.preset)
