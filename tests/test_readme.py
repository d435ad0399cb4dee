"""The README is the spec: its Python example runs, its two set-up commands are what CI runs."""

import re
import subprocess
import sys
from pathlib import Path

import soundfile as sf

from drumgen import testing

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_python_api_example_runs(tmp_path):
    code = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    testing.make_tiny_checkpoints(tmp_path / "checkpoints", labels=("kick", "snare", "hihat"))  # as the defaults
    env = {"DRUMGEN_CHECKPOINTS": str(tmp_path / "checkpoints"), "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, check=True, timeout=120)
    info = sf.info(tmp_path / "hit0.wav")
    assert info.samplerate == 44100 and info.frames > 1000


def test_ci_runs_the_readme_test_command():
    commands = re.findall(r"^(bash scripts/\S+)", README, re.M)
    assert commands == ["bash scripts/run-app.sh", "bash scripts/run-tests.sh"]
    assert "bash scripts/run-tests.sh" in (ROOT / ".ci" / "run").read_text()


def test_layout_tree_names_every_module():
    """The annotated file tree is how a newcomer finds where a change goes: every module and package is in it,
    the modules of drumgen's folders (apart from cli/, server/, models/, train/, which say their files inline)
    under their folder."""
    tree = README.split("## Layout", 1)[1].split("```")[1]
    listed = set(re.findall(r"^\s+(\S+?)/?\s", tree, re.M))
    package = ROOT / "drumgen"
    ours = {p.name for p in package.glob("*.py") if p.name not in ("__init__.py", "__main__.py", "testing.py")}
    folders = [p for p in package.iterdir() if p.is_dir() and (p / "__init__.py").exists()]
    ours |= {p.name for p in folders}
    assert sorted(ours - listed) == []
    for folder in folders:
        if folder.name in ("cli", "server", "models", "train"):
            continue
        after = tree.split(f"\n  {folder.name}/", 1)[1].split("\n")[1:]
        block = []
        for line in after:  # the folder's own lines: indented deeper than a top-level entry
            if not line.startswith("    "):
                break
            block.append(line)
        lines = {m.group(1) for line in block if (m := re.match(r"^    (\S+\.py)\s", line))}
        modules = {p.name for p in folder.glob("*.py") if p.name != "__init__.py"}
        assert sorted(modules - lines) == [], folder.name


def test_readme_note_map_is_the_pad_table():
    from drumgen import pads

    sentence = ", ".join(f"{i + 1} {p.name.lower()} {p.note}" for i, p in enumerate(pads.PADS))
    assert sentence.replace("1 kick", "pad 1 kick") in " ".join(README.split())
