"""kill -9 a real `drumgen train` at random moments, many times, with a fixed budget; then finish the run.

    python benchmarks/faults.py [--minutes 5] [--steps 60] [--save-every 0] [--seed 0]

Each trial resumes the same run (--resume), waits for a random step (seen on its progress bar) plus a random
delay, and sends SIGKILL. After every kill: model.safetensors and train_state.safetensors must load, and the resume
state must hold at least the last step the bar showed minus what one save interval allows. With --save-every 0
(the default here) the state is saved after every step, so most kills land in or near a save and one interval is
one step. The run is then finished and checked. Prints a table and appends it to RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import record, table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from drumgen import checkpoint  # noqa: E402
from drumgen.dsp import synth  # noqa: E402
from drumgen.models import model_class  # noqa: E402
from drumgen.train import steps  # noqa: E402


def start(data: Path, out: Path, steps: int, save_every: float, resume: bool) -> tuple[subprocess.Popen, list[str]]:
    cmd = [sys.executable, "-m", "drumgen", "train", "--model", "autoencoder", "--preset", "tiny", "--data",
           str(data), "--out", str(out), "--steps", str(steps), "--save-every", str(save_every),
           "--eval-every", "1000000", "--preview-every", "1000000", *(["--resume"] if resume else [])]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DRUMGEN_CACHE": str(out.parent / "cache"), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    text: list[str] = [""]

    def read() -> None:
        while chunk := proc.stderr.read1(4096):  # type: ignore[union-attr]
            text[0] += chunk.decode(errors="replace")

    threading.Thread(target=read, daemon=True).start()
    return proc, text


def bar_step(text: str, steps: int) -> int:
    seen = re.findall(rf"(\d+)/{steps}\b", text)
    return int(seen[-1]) if seen else 0


def saved_step(out: Path) -> int:
    if (out / checkpoint.MODEL_FILE).exists():
        checkpoint.load(out)
    if not (out / checkpoint.STATE_FILE).exists():
        return 0
    kind, config = checkpoint.read_train_state_config(out)
    model = model_class(kind)(model_class(kind).Config.from_dict(config))
    return checkpoint.load_train_state(out, model, steps.make_optimizers(model))[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--save-every", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="drumgen-faults-"))
    synth.write_folder(work / "hits", per_class=1, seed=1, sample_rate=22050)
    out = work / "run"
    rows, problems = [], []
    stop_at = time.monotonic() + args.minutes * 60
    saved, trial = 0, 0
    while time.monotonic() < stop_at:
        if saved >= args.steps:  # finished: start a fresh run so that kills keep landing mid-run
            import shutil

            shutil.rmtree(out)
            saved = 0
        proc, text = start(work / "hits", out, args.steps, args.save_every, resume=saved > 0)
        target = rng.randint(saved + 1, args.steps)
        while bar_step(text[0], args.steps) < target and proc.poll() is None:
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.3))
        seen = bar_step(text[0], args.steps)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        trial += 1
        try:
            now = saved_step(out)
            state = "loads"
        except (checkpoint.CheckpointError, OSError, ValueError) as e:
            now, state = saved, f"CORRUPT: {e}"
            problems.append(f"trial {trial}: {e}")
        lost = seen - now
        if lost > 1 and args.save_every == 0:
            problems.append(f"trial {trial}: killed after step {seen}, resume state at {now}")
        temp = len([p for p in out.iterdir() if p.name.endswith(".tmp")]) if out.exists() else 0
        rows.append([trial, target, seen, now, lost, state, temp])
        print(rows[-1], flush=True)
        saved = now
    proc, text = start(work / "hits", out, args.steps, args.save_every, resume=saved > 0)
    finished = proc.wait() == 0 and saved_step(out) == args.steps
    text_table = table(["trial", "kill at step", "bar showed", "resume state", "steps lost", "files",
                        "temp files left"], rows)
    notes = (f"{trial} kills of `drumgen train --model autoencoder --preset tiny --steps {args.steps} "
             f"--save-every {args.save_every:g}` in {args.minutes:g} min (seed {args.seed}); corrupt checkpoints: "
             f"{sum(1 for r in rows if r[5] != 'loads')}; most steps lost: {max((r[4] for r in rows), default=0)}; "
             f"final --resume finished the run: {finished}."
             + ("\n\nProblems:\n" + "\n".join(f"- {p}" for p in problems[:20]) if problems else ""))
    record(f"Faults: kill -9 during training, {args.minutes:g} min", text_table, notes)
    print(notes)
    raise SystemExit(1 if problems or not finished else 0)


if __name__ == "__main__":
    main()
