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
