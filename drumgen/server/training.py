"""Training jobs over HTTP: upload hits (files or one zip) -> a queued job; progress over /ws/jobs/{id}."""

from __future__ import annotations

import asyncio
import shutil
from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Path, UploadFile, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse

from drumgen import models
from drumgen.server.deps import Svc, _services
from drumgen.server.jobs import TERMINAL, Job
from drumgen.server.schemas import JobEnvelope, JobOut
from drumgen.server.uploads import UploadError, extract_zip, safe_part, safe_relative_path
from drumgen.train import check_budget, choose_kind

router = APIRouter(tags=["training"])
JOB_ID = Path(pattern=r"^[0-9a-f]{12}$")


def _kinds() -> list[str]:
    return [k for k in models.KINDS if k != "tagger"]


@router.post("/api/train", response_model=JobEnvelope)
async def train(svc: Svc,
                files: Annotated[list[UploadFile], File(description="audio files, or one .zip of them")],
                kind: Annotated[str | None, Form(description="wavegan, specgan or autoencoder; default: the "
                                                             "base's kind, else autoencoder")] = None,
                steps: Annotated[int | None, Form(gt=0)] = None,
                minutes: Annotated[float | None, Form(gt=0)] = None,
                base: Annotated[str | None, Form(max_length=200, description="a loaded model to fine-tune")] = None,
                name: Annotated[str | None, Form(max_length=64)] = None,
                preset: Annotated[str | None, Form(max_length=32)] = None) -> JobEnvelope:
    s = svc.settings
    base_kind = svc.engine.get(base).kind if base else None  # an unknown base: 404 naming the loaded models
    if kind is not None and kind not in _kinds():
        raise HTTPException(422, f"unknown model kind {kind!r}; choose one of {', '.join(_kinds())}")
    kind = choose_kind(kind, base_kind, repr(base))  # the rules of drumgen.train, as for the CLI
    check_budget(steps, minutes)
    if (steps or 0) > s.max_train_steps or (minutes or 0) > s.max_train_minutes:
        raise HTTPException(422, f"the budget is limited to {s.max_train_steps} steps or "
                                 f"{s.max_train_minutes:g} minutes")
    init = str(svc.engine.path_of(base)) if base else None
    if svc.jobs.pending() >= s.max_jobs_queued:
        raise HTTPException(503, f"{s.max_jobs_queued} training jobs are already waiting; try again later",
                            headers={"Retry-After": "60"})
    job_id, folder = svc.jobs.new_folder()
    try:
        count = await asyncio.get_running_loop().run_in_executor(None, _store_upload, files, folder, s)
    except UploadError:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if count == 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise HTTPException(422, "the upload holds no audio files (.wav, .aiff, .flac, .ogg, .mp3, or a .zip of "
                                 "them)")
    options = {"kind": kind, "steps": steps, "minutes": minutes, "init": init, "preset": preset,
               "eval_every": max(1, min(250, steps or 250)), "preview_every": max(1, min(500, steps or 500)),
               "device": s.device}
    job = Job(job_id, kind, safe_part(name or f"{kind}-{job_id[:6]}", kind), folder, options, files=count)
    return JobEnvelope(job=JobOut(**svc.jobs.submit(job).public()))


def _store_upload(files: list[UploadFile], folder, settings) -> int:
    """Write uploaded files under folder/data with names made here; unzip archives safely. Returns the count."""
    data, count = folder / "data", 0
    for upload in files:
        if (upload.filename or "").lower().endswith(".zip"):
            archive = folder / f"upload{count}.zip"
            with open(archive, "wb") as out:
                shutil.copyfileobj(upload.file, out)
            count += extract_zip(archive, data, settings, start_index=count)
            archive.unlink()
            continue
        rel = safe_relative_path(upload.filename, count)  # folders kept: kick/, snare/ are labels
        if rel is None:
            continue
        if count >= settings.max_train_files:
            raise UploadError(f"at most {settings.max_train_files} files per training job; zip them or use fewer")
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        with open(data / rel, "wb") as out:
            shutil.copyfileobj(upload.file, out)
        count += 1
    return count


def _job(svc, job_id: str) -> Job:
    job = svc.jobs.jobs.get(job_id)
    if job is None:
        raise HTTPException(404, f"unknown job {job_id!r}")
    return job


@router.get("/api/jobs", response_model=list[JobOut])
async def jobs(svc: Svc) -> list[JobOut]:
    return [JobOut(**j.public()) for j in svc.jobs.jobs.values()]


@router.get("/api/jobs/{job_id}", response_model=JobOut)
async def job(job_id: Annotated[str, JOB_ID], svc: Svc) -> JobOut:
    return JobOut(**_job(svc, job_id).public())


@router.delete("/api/jobs/{job_id}", response_model=JobOut)
async def cancel(job_id: Annotated[str, JOB_ID], svc: Svc) -> JobOut:
    job = _job(svc, job_id)
    if job.state in TERMINAL:
        raise HTTPException(409, f"job {job_id} is already {job.state}")
    return JobOut(**svc.jobs.cancel(job_id).public())


@router.get("/api/jobs/{job_id}/previews/{step}/{index}.wav", response_class=FileResponse)
async def preview(job_id: Annotated[str, JOB_ID], step: int, index: int, svc: Svc) -> FileResponse:
    path = svc.jobs.preview_path(_job(svc, job_id), step, index)
    if not path.is_file():
        raise HTTPException(404, "no such preview")
    return FileResponse(path, media_type="audio/wav")


@router.websocket("/ws/jobs/{job_id}")
async def job_events(websocket: WebSocket, job_id: str) -> None:
    svc = _services(websocket)
    job = svc.jobs.jobs.get(job_id)
    await websocket.accept()
    if job is None:
        await websocket.send_json({"type": "error", "message": f"unknown job {job_id!r}"})
        return await websocket.close(code=1008)
    q = svc.jobs.subscribe(job)
    try:
        await websocket.send_json({"type": "state", "job": job.public()})
        if job.state in TERMINAL:
            final = {"type": "done", "model": job.model} if job.state == "done" else \
                {"type": "error", "message": job.error or job.state, "state": job.state}
            await websocket.send_json(final)
            return await websocket.close()
        while True:
            event = await q.get()
            await websocket.send_json(event)
            if event["type"] != "progress":
                return await websocket.close()
    except WebSocketDisconnect:
        pass
    finally:
        job.subscribers.remove(q)
