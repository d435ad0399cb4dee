"""kill -9 a real `drumgen train` at random moments, then --resume: every checkpoint on disk loads, at most one
save interval of work is lost, and the run finishes.

With --save-every 0 the resume state is written after every step, so a save is in progress for a good part of
the run and the kills often land inside one; one save interval is then exactly one step.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from drumgen import checkpoint
from drumgen.dsp import synth
from drumgen.models import model_class
from drumgen.train import steps

ROOT = Path(__file__).resolve().parent.parent
STEPS = 30


class Training:
    """`python -m drumgen train` in a child process whose progress bar is followed from its stderr."""

    def __init__(self, data: Path, out: Path, cache: Path, resume: bool):
        cmd = [sys.executable, "-m", "drumgen", "train", "--model", "autoencoder", "--preset", "tiny",
               "--data", str(data), "--out", str(out), "--steps", str(STEPS), "--save-every", "0",
               "--eval-every", "1000000", "--preview-every", "1000000", *(["--resume"] if resume else [])]
        env = {**os.environ, "PYTHONPATH": str(ROOT), "DRUMGEN_CACHE": str(cache), "OMP_NUM_THREADS": "1"}
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        self.text = ""
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while chunk := self.proc.stderr.read1(4096):  # type: ignore[union-attr]
            self.text += chunk.decode(errors="replace")

    def step(self) -> int:
        """The last step the bar showed: a lower bound on the steps finished."""
        seen = re.findall(rf"(\d+)/{STEPS}\b", self.text)
        return int(seen[-1]) if seen else 0

    def kill_at(self, step: int, extra_delay: float, timeout: float = 60) -> int:
        """SIGKILL once the bar reached `step` (+ a delay); returns the step the bar showed at the kill."""
        deadline = time.monotonic() + timeout
        while self.step() < step and self.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(extra_delay)
        seen = self.step()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.reader.join(5)
        return seen


def check_checkpoints(out: Path) -> int:
    """Every file the run left loads cleanly; returns the step of the resume state (0 if none yet)."""
    if (out / checkpoint.MODEL_FILE).exists():
        checkpoint.load(out)
    if not (out / checkpoint.STATE_FILE).exists():
        return 0
    kind, config = checkpoint.read_train_state_config(out)
    model = model_class(kind)(model_class(kind).Config.from_dict(config))
    step, extra, rng = checkpoint.load_train_state(out, model, steps.make_optimizers(model))
    assert "generator" in rng and "torch" in rng and "seconds" in extra
    return step


def test_kill_9_at_random_moments_then_resume(tmp_path):
    synth.write_folder(tmp_path / "hits", per_class=1, seed=1, sample_rate=22050)
    out, cache = tmp_path / "run", tmp_path / "cache"
    rng = random.Random(int(os.environ.get("DRUMGEN_FAULT_SEED", "7")))
    saved = 0
    # One kill mid-run, one during the end of the run (final evaluation, previews and saves); each process
    # start costs seconds, so more trials live in benchmarks/faults.py.
    for target in (rng.randint(2, STEPS - 1), STEPS):
        run = Training(tmp_path / "hits", out, cache, resume=saved > 0)
        seen = run.kill_at(target, rng.uniform(0, 0.3))
        assert seen >= min(target, STEPS), run.text[-2000:]
        before, saved = saved, check_checkpoints(out)
        assert saved >= seen - 1, f"killed after step {seen}, the resume state holds step {saved}"
        assert saved >= before
        leftovers = [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
        assert len(leftovers) <= 2, f"a kill leaves at most the file being written: {leftovers}"
    run = Training(tmp_path / "hits", out, cache, resume=True)
    assert run.proc.wait(timeout=90) == 0, run.text[-2000:]
    run.reader.join(5)
    assert check_checkpoints(out) == STEPS
    assert checkpoint.read_metadata(out)["summary"]["steps"] == STEPS
