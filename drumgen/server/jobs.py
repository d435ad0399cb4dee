"""Training jobs: each runs train.train in its own process (spawn), one at a time, the others queued.

Progress goes child -> multiprocessing queue -> a watcher thread here -> each WebSocket subscriber's asyncio
queue. A finished run's checkpoint is copied into the user's models folder (checkpoint.user_dir(), never the shipped
checkpoints/) under a fresh directory name
(written beside it, then renamed into place, so a reader never sees half a checkpoint) and added to the engine.
A job that crashes, however it crashes, is reported as failed; the server goes on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import multiprocessing as mp
import os
import queue
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from drumgen import checkpoint
from drumgen.engine.engine import Engine
from drumgen.server.uploads import safe_part

log = logging.getLogger("drumgen.server")
TERMINAL = ("done", "failed", "cancelled")


@dataclasses.dataclass
class Job:
    id: str
    kind: str
    name: str
    folder: Path  # data/ (the uploaded hits) and run/ (the training checkpoint) live here
    options: dict[str, Any]  # TrainOptions fields, except data/out
    state: str = "queued"
    step: int = 0
    total: int | None = None
    losses: dict[str, float] = dataclasses.field(default_factory=dict)
    eta: float | None = None
    fraction: float | None = None  # 0..1 of the budget (steps or minutes) used
    budget: float | None = None  # seconds, for a run limited by minutes
    error: str | None = None
    model: str | None = None
    files: int = 0
    previews: list[str] = dataclasses.field(default_factory=list)
    stop: Any = None  # multiprocessing Event while running
    subscribers: list[asyncio.Queue] = dataclasses.field(default_factory=list)

    def public(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("id", "state", "kind", "name", "step", "total", "losses", "eta",
                                               "fraction", "budget", "error", "model", "files", "previews")}


def run_job(options: dict[str, Any], kinds: dict[str, str], events, stop) -> None:
    """The child process: train, sending throttled progress (at most ~5 per second, previews always)."""
    import torch

    from drumgen import models, train

    models.KINDS.update(kinds)  # kinds registered at run time in the parent (plug-ins, test models)
    torch.set_num_threads(1)  # leave the other core to the server answering the drum machine
    last = 0.0

    def callback(event: dict) -> None:
        nonlocal last
        now = time.monotonic()
        if event.get("previews") or now - last > 0.2 or event.get("step") == event.get("total"):
            last = now
            events.put({**event, "losses": {k: float(v) for k, v in event.get("losses", {}).items()}})

    try:
        train.train(train.TrainOptions(**options), callback, stop.is_set)
    except Exception as e:  # reported to the user, who can fix the data or the budget
        events.put({"type": "error", "message": str(e) or type(e).__name__})
        raise SystemExit(1) from None
    events.put({"type": "finished"})


class JobManager:
    def __init__(self, engine: Engine, models_dir: Path, jobs_dir: Path):
        self.engine, self.models_dir, self.jobs_dir = engine, Path(models_dir), Path(jobs_dir)
        self.jobs: dict[str, Job] = {}
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._ctx = mp.get_context("spawn")
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._runner, name="drumgen-jobs", daemon=True)
        self._process: Any = None  # the running job's multiprocessing Process

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._thread.start()

    def close(self) -> None:
        for job in list(self.jobs.values()):
            if job.state in ("queued", "running"):
                self.cancel(job.id)
        self._queue.put(None)
        if self._process is not None and self._process.is_alive():
            self._process.terminate()

    def new_folder(self) -> tuple[str, Path]:
        job_id = uuid.uuid4().hex[:12]
        folder = self.jobs_dir / job_id
        (folder / "data").mkdir(parents=True)
        return job_id, folder

    def submit(self, job: Job) -> Job:
        self.jobs[job.id] = job
        self._queue.put(job)
        return job

    def pending(self) -> int:
        return sum(j.state in ("queued", "running") for j in self.jobs.values())

    def cancel(self, job_id: str) -> Job:
        job = self.jobs[job_id]
        with self._lock:
            if job.state == "queued":
                self._finish(job, "cancelled", error="cancelled before it started")
            elif job.state == "running":
                job.state = "cancelled"  # the runner sees it, stops the process and does not install the model
                if job.stop is not None:
                    job.stop.set()
        return job

    # -- events to WebSockets ------------------------------------------------------------------------------
    def subscribe(self, job: Job) -> asyncio.Queue:
        q: asyncio.Queue = asyncio.Queue(maxsize=1000)
        job.subscribers.append(q)
        return q

    def _publish(self, job: Job, event: dict) -> None:
        def deliver() -> None:
            for q in list(job.subscribers):
                try:
                    q.put_nowait(event)
                except asyncio.QueueFull:  # a stalled client misses progress, never the final message
                    if event["type"] != "progress":
                        q.get_nowait()
                        q.put_nowait(event)

        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(deliver)

    def _finish(self, job: Job, state: str, error: str | None = None) -> None:
        job.state, job.error = state, error
        if state == "done":
            self._publish(job, {"type": "done", "model": job.model})
        else:
            self._publish(job, {"type": "error", "message": error or state, "state": state})

    # -- the runner thread -----------------------------------------------------------------------------------
    def _runner(self) -> None:
        while (job := self._queue.get()) is not None:
            with self._lock:
                if job.state != "queued":
                    continue
                job.state = "running"
                job.stop = self._ctx.Event()
            try:
                self._run(job)
            except Exception as e:  # never let one job stop the runner
                log.exception("job %s", job.id)
                self._finish(job, "failed", f"the job could not run: {e}")

    def _run(self, job: Job) -> None:
        from drumgen import models

        events = self._ctx.Queue()
        options = {**job.options, "data": str(job.folder / "data"), "out": str(job.folder / "run"),
                   "progress": False, "cache_dir": str(job.folder / "cache")}
        proc = self._ctx.Process(target=run_job, args=(options, dict(models.KINDS), events, job.stop),
                                 name=f"drumgen-train-{job.id}", daemon=True)
        proc.start()
        self._process = proc
        outcome: dict | None = None
        stop_sent = None
        while True:
            try:
                event = events.get(timeout=0.2)
            except queue.Empty:
                event = None
            if event is not None:
                if event["type"] == "progress":
                    self._progress(job, event)
                else:
                    outcome = event
            if job.state == "cancelled" and stop_sent is None:
                stop_sent = time.monotonic()
            if stop_sent is not None and time.monotonic() - stop_sent > 10 and proc.is_alive():
                proc.terminate()  # it did not stop at a step boundary in time
            if event is None and not proc.is_alive():
                break
        proc.join()
        self._process = None
        for scratch in ("data", "cache"):  # the uploaded hits are not needed any more; previews stay for their urls
            shutil.rmtree(job.folder / scratch, ignore_errors=True)
        if job.state == "cancelled":
            self._finish(job, "cancelled", "cancelled")
        elif outcome is None or outcome["type"] != "finished":
            message = outcome["message"] if outcome else f"the training process died (exit code {proc.exitcode})"
            self._finish(job, "failed", message)
        else:
            job.model = self._install(job)
            self._finish(job, "done")

    def _progress(self, job: Job, event: dict) -> None:
        if job.state != "running":  # a cancelled job's last steps must not look like it goes on
            return
        job.step, job.total, job.eta = event["step"], event.get("total"), event.get("eta")
        job.fraction, job.budget = event.get("fraction"), event.get("budget")
        job.losses = event.get("losses", {})
        urls = [self._preview_url(job, p) for p in event.get("previews") or []]
        if urls:
            job.previews = urls
        self._publish(job, {"type": "progress", "step": job.step, "total": job.total, "losses": job.losses,
                            "eta": job.eta, "fraction": job.fraction, "budget": job.budget, "previews": urls})

    @staticmethod
    def _preview_url(job: Job, path: str) -> str:
        p = Path(path)
        step = int(p.parent.name.removeprefix("step_"))
        return f"/api/jobs/{job.id}/previews/{step}/{int(p.stem)}.wav"

    def preview_path(self, job: Job, step: int, index: int) -> Path:
        return job.folder / "run" / "previews" / f"step_{step:07d}" / f"{index}.wav"

    def _install(self, job: Job) -> str:
        """Copy the run's model into <models_dir>/<name> atomically (a directory renamed into place)."""
        self.models_dir.mkdir(parents=True, exist_ok=True)
        src = job.folder / "run"
        base = safe_part(job.name, job.kind)
        for i in range(1, 1000):
            name = base if i == 1 else f"{base}-{i}"
            target = self.models_dir / name
            if target.exists() or name in self.engine.models:
                continue
            tmp = self.models_dir / f".{name}.{job.id}.tmp"
            tmp.mkdir()
            for fname in (checkpoint.MODEL_FILE, "history.json"):
                if (src / fname).exists():
                    shutil.copyfile(src / fname, tmp / fname)
            with open(tmp / checkpoint.MODEL_FILE, "rb") as f:
                os.fsync(f.fileno())
            try:
                os.rename(tmp, target)  # fails if another server took the name meanwhile
            except OSError:
                shutil.rmtree(tmp, ignore_errors=True)
                continue
            added = self.engine.add(target, name=name)
            if added in self.engine.errors:
                raise checkpoint.CheckpointError(self.engine.errors[added])
            return added
        raise RuntimeError("no free checkpoint name")
