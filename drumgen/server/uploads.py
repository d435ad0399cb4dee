"""Untrusted input from clients: audio decoded in a separate process, names that never become paths, and zip
archives extracted with limits (count, total size, compression ratio) so a zip bomb is refused, not unpacked."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np

from drumgen.io import audio, names
from drumgen.server.settings import Settings

WORKER = "drumgen.server.decode_worker"  # module run as `python -m WORKER`
START_DELAY_S = 0.3  # after an upload is taken, when the next upload's decoder process starts


class UploadError(ValueError):
    """An upload the server refuses; the message says why."""


class _Spare:
    """One decoder process started before it is needed: starting Python and importing numpy and libsndfile takes
    about 150-250 ms on 2 cores, which a dropped sample should not wait for. Each upload still gets a fresh process
    of its own (a crash or hang costs that process only); the next one starts as soon as this one is taken."""

    def __init__(self) -> None:
        self._next: asyncio.Task | None = None
        self._key: tuple | None = None
        self.enabled = False  # the server turns it on for its lifetime; a lone call starts its own process

    def enable(self, settings: Settings) -> None:
        """From now on (inside the server's event loop) keep one decoder waiting; the first starts now."""
        self.enabled = True
        self._start_next(settings)

    async def take(self, settings: Settings) -> asyncio.subprocess.Process:
        """A decoder process for one upload: the waiting one when it is ready, else a new one."""
        if not self.enabled:
            return await _start_worker(settings)
        ready = self._next if self._key == self._key_of(settings) else None
        if ready is None:
            self._drop()  # started for other settings (or none yet)
            self._start_next(settings)
        elif ready.done():
            self._next = None
            self._start_next(settings)
            proc = None if ready.cancelled() or ready.exception() is not None else ready.result()
            if proc is not None and proc.returncode is None:  # not killed from outside while it waited
                return proc
        # the waiting one is still starting (it stays the next upload's): this one starts its own
        return await _start_worker(settings)

    @staticmethod
    def _key_of(settings: Settings) -> tuple:
        return asyncio.get_running_loop(), settings.max_upload_seconds, WORKER

    def _start_next(self, settings: Settings) -> None:
        """Start the next decoder a moment from now: starting it takes a core for a fifth of a second, which the
        upload that is being answered (its re-synthesis, its loop analysis) should not compete with."""
        async def later() -> asyncio.subprocess.Process:
            await asyncio.sleep(START_DELAY_S)
            return await _start_worker(settings)

        self._key, self._next = self._key_of(settings), asyncio.ensure_future(later())

    async def close(self) -> None:
        """Stop the waiting process and start no more (server shutdown)."""
        self.enabled = False
        task, self._next, self._key = self._next, None, None
        if task is None:
            return
        with contextlib.suppress(asyncio.CancelledError, OSError):  # one still starting is let start, then stopped
            proc = await task
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.communicate()  # to its end: its pipes close with it

    def _drop(self) -> None:
        """Forget a waiting process started for other settings or another event loop (it exits at the end of its
        stdin, or with the server)."""
        task, self._next, self._key = self._next, None, None
        if task is not None and not task.done():
            with contextlib.suppress(RuntimeError):  # its event loop has closed
                task.cancel()


SPARE = _Spare()


async def _start_worker(settings: Settings) -> asyncio.subprocess.Process:
    # the worker must import this very drumgen, installed or not
    root = str(Path(__file__).resolve().parent.parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", WORKER, str(settings.max_upload_seconds),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, env=env)


async def decode_untrusted(data: bytes, settings: Settings) -> tuple[np.ndarray, int]:
    """Audio file bytes -> (mono float32 [T], rate), decoded by `decode_worker` in its own process.

    Raises AudioError for files that are not usable audio, UploadError when the decoder crashed or ran past
    settings.decode_timeout_s (the process is killed; the server goes on).
    """
    if not data:
        raise audio.AudioError("empty", "the uploaded file has 0 bytes")
    proc = await SPARE.take(settings)
    try:
        info, x = await asyncio.wait_for(_answer(proc, data), settings.decode_timeout_s)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        raise UploadError(f"decoding the file took longer than {settings.decode_timeout_s:g} s; "
                          f"convert it to WAV and try again") from None
    if info is None:
        raise UploadError(f"the audio decoder crashed on this file (exit {proc.returncode}); it is probably "
                          f"damaged: convert it to WAV and try again")
    if "error" in info:
        raise audio.AudioError(info.get("reason", "unreadable"), info["error"].split(": ", 1)[-1])
    if x is None or x.size != info["frames"]:
        raise UploadError("the audio decoder returned a truncated result; try again")
    return x, int(info["rate"])


async def _answer(proc: asyncio.subprocess.Process, data: bytes) -> tuple[dict | None, np.ndarray | None]:
    """Send the file, read the worker's header line and samples. The answer is complete once they are read: inside
    the server, the worker's own exit (tearing down Python and numpy, 20-30 ms) is waited for in the background."""
    assert proc.stdin is not None and proc.stdout is not None  # started with pipes
    try:
        proc.stdin.write(data)
        await proc.stdin.drain()
        proc.stdin.close()
    except (BrokenPipeError, ConnectionResetError):
        pass  # it died reading: its output (none) says so below
    head = await proc.stdout.readline()
    try:
        info = json.loads(head)
    except ValueError:
        info = None
    if not isinstance(info, dict):
        await proc.wait()
        return None, None
    x = None
    if "frames" in info:
        try:
            body = await proc.stdout.readexactly(4 * int(info["frames"]))
            x = np.frombuffer(body, dtype="<f4").astype(np.float32)
        except asyncio.IncompleteReadError:
            x = None
    if SPARE.enabled:  # inside the server, whose event loop outlives the worker
        _EXITING.add(asyncio.ensure_future(_reap(proc)))
    else:
        await _reap(proc)
    return info, x


_EXITING: set[asyncio.Future] = set()  # workers that have answered and are exiting (kept from the collector)


async def _reap(proc: asyncio.subprocess.Process) -> None:
    try:
        await asyncio.wait_for(proc.wait(), 10)
    except asyncio.TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
    finally:
        _EXITING.discard(asyncio.current_task())


def safe_part(name: str, fallback: str = "file", limit: int = 48) -> str:
    """One path component made only of [A-Za-z0-9_-] (drumgen.io.names.safe_part: never '..', '/', a device name)."""
    return names.safe_part(name, fallback, limit)


def display_stem(client_name: str | None, fallback: str = "upload") -> str:
    """A client's file name shown as a sound's name: the base name without its extension, printable characters
    only, at most 64 ("../Kicks/Ludwig Kick 02.wav" -> "Ludwig Kick 02"). Never used as a path."""
    base = PurePosixPath((client_name or "").replace("\\", "/")).name
    return names.display_text(base.rpartition(".")[0] if "." in base.lstrip(".") else base, fallback)


def safe_file_name(client_name: str | None, index: int) -> str | None:
    """A client's file name -> 'NNNN_stem.ext' when its extension is audio, else None (skip it)."""
    base = PurePosixPath((client_name or "").replace("\\", "/")).name
    stem, dot, ext = base.rpartition(".")
    ext = f".{ext.lower()}" if dot else ""
    if ext not in audio.AUDIO_EXTENSIONS:
        return None
    return f"{index:04d}_{safe_part(stem)}{ext}"


def safe_relative_path(client_path: str | None, index: int) -> Path | None:
    """A client's 'folder/sub/kick 01.wav' -> Path('folder/sub/NNNN_kick_01.wav'), or None if not audio.

    Folder names are kept (sanitised, at most the last three) because labels come from them (kick/, snare/);
    '..', absolute paths and drive letters cannot survive `safe_part`.
    """
    parts = [p for p in (client_path or "").replace("\\", "/").split("/") if p not in ("", ".", "..")]
    if not parts or parts[0].startswith("__MACOSX"):
        return None
    name = safe_file_name(parts[-1], index)
    if name is None:
        return None
    return Path(*(safe_part(p, "folder") for p in parts[:-1][-3:]), name)


def extract_zip(source: Path, dest: Path, settings: Settings, start_index: int = 0) -> int:
    """Extract the audio files of a zip under dest, folders kept (labels come from them) but sanitised.

    Every entry's declared size and ratio is checked before extraction and the bytes written are counted, since a
    crafted archive can lie about its sizes. Returns the number of files written.
    """
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as e:
        raise UploadError(f"the uploaded .zip is not a readable zip archive: {e}") from None
    written, total = 0, 0
    dest = dest.resolve()
    with archive:
        entries = [i for i in archive.infolist() if not i.is_dir()]
        for info in entries:
            rel = safe_relative_path(info.filename, start_index + written)
            if rel is None:
                continue
            if start_index + written >= settings.max_train_files:
                raise UploadError(f"the archive holds more than {settings.max_train_files} audio files")
            if info.compress_size and info.file_size / info.compress_size > settings.max_zip_ratio:
                raise UploadError(f"{info.filename!r} in the archive expands {info.file_size // info.compress_size}x: "
                                  f"that looks like a zip bomb")
            total += info.file_size
            if total > settings.max_unzipped_bytes:
                raise UploadError(f"the archive unpacks to more than {settings.max_unzipped_bytes / 1e6:.0f} MB")
            target = (dest / rel).resolve()
            if dest not in target.parents:  # cannot happen after safe_part; checked anyway
                raise UploadError(f"refusing archive entry {info.filename!r}")
            target.parent.mkdir(parents=True, exist_ok=True)
            _copy_limited(archive, info, target, settings)
            written += 1
    return written


def _copy_limited(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, settings: Settings) -> None:
    limit = min(info.file_size, settings.max_upload_bytes * 10)
    seen = 0
    try:
        with archive.open(info) as src, open(target, "wb") as out:
            while chunk := src.read(1 << 16):
                seen += len(chunk)
                if seen > limit:
                    raise UploadError(f"{info.filename!r} is larger than the archive says")
                out.write(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as e:
        target.unlink(missing_ok=True)
        raise UploadError(f"{info.filename!r} in the archive cannot be extracted: {e}") from None
