"""Decode untrusted audio in a throwaway process with a time and memory limit.

libsndfile and its codecs have a long record of crashes on crafted files. Run in the caller's process, such a
crash ends the server or the training run; run here, it ends one short-lived child, and the caller gets an
AudioError('unreadable'). The child also gets an address-space limit, so a file that makes a decoder allocate
without bound fails in the child instead of swapping the machine.

Protocol: the file's bytes on the child's stdin; on its stdout one JSON line ({"rate", "frames"} or
{"reason", "detail"}) followed by the mono float32 samples, little-endian.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from drumgen import audio

MEMORY_LIMIT = 2 << 30  # bytes of address space for the child (numpy + libsndfile need ~0.5 GB of it)
# The child command; tests point it at a misbehaving stand-in to prove that crashes and hangs are contained.
WORKER = [sys.executable, "-m", "drumgen.safe_decode"]


def decode_untrusted(data: bytes, timeout: float = 20.0, max_seconds: float | None = audio.MAX_SECONDS
                     ) -> tuple[np.ndarray, int]:
    """Audio file bytes -> (mono float32 [T], sample_rate), decoded by `audio.read` in a child process.

    Raises AudioError: the reason audio.read gave, or 'unreadable' when the decoder crashed, ran out of memory
    or took longer than `timeout` seconds (the child is killed either way).
    """
    if not data:
        raise audio.AudioError("empty", "0 bytes")
    root = str(Path(__file__).resolve().parent.parent)  # the child imports this very drumgen, installed or not
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
    limit = "none" if max_seconds is None else repr(float(max_seconds))
    try:
        done = subprocess.run([*WORKER, limit], input=data, capture_output=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:  # subprocess.run has killed the child already
        raise audio.AudioError("unreadable", f"decoding took longer than {timeout:g} s; convert the file "
                                             f"to WAV and try again") from None
    head, _, body = done.stdout.partition(b"\n")
    try:
        info = json.loads(head)
    except ValueError:
        info = None
    if done.returncode != 0 or not isinstance(info, dict):
        how = f"signal {-done.returncode}" if done.returncode < 0 else f"exit status {done.returncode}"
        raise audio.AudioError("unreadable", f"the decoder crashed on this file ({how}); it is probably damaged")
    if "reason" in info:
        reason = info["reason"] if info["reason"] in audio.REASONS else "unreadable"
        raise audio.AudioError(reason, str(info.get("detail", "")))
    x = np.frombuffer(body, dtype="<f4").astype(np.float32)
    if x.size != info.get("frames") or not isinstance(info.get("rate"), int):
        raise audio.AudioError("unreadable", "the decoder returned a cut-off result")
    return x, info["rate"]


def _child(argv: list[str]) -> int:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    except (ImportError, ValueError, OSError):
        pass  # not on this platform: the time limit still holds
    max_seconds = None if argv[0] == "none" else float(argv[0])
    out = sys.stdout.buffer
    try:
        x, rate = audio.read(sys.stdin.buffer.read(), max_seconds=max_seconds)
    except audio.AudioError as e:
        out.write(json.dumps({"reason": e.reason, "detail": e.detail}).encode() + b"\n")
        return 0
    except MemoryError:
        out.write(json.dumps({"reason": "unreadable", "detail": "decoding needed too much memory"}).encode() + b"\n")
        return 0
    out.write(json.dumps({"rate": int(rate), "frames": int(x.size)}).encode() + b"\n")
    out.write(x.astype("<f4").tobytes())
    return 0


if __name__ == "__main__":
    raise SystemExit(_child(sys.argv[1:]))
