"""Decode one untrusted audio file in a throwaway process: bytes on stdin -> header line + float32 on stdout.

libsndfile has a history of crashes on crafted files; run here, a crash or a hang costs this process only.
Usage: python -m drumgen.server.decode_worker MAX_SECONDS
"""

from __future__ import annotations

import json
import sys

from drumgen.io import audio

MEMORY_LIMIT = 2 << 30  # bytes of address space; numpy + libsndfile need about a quarter of it


def main() -> int:
    # A decoder that allocates without bound (a crafted header) fails here with MemoryError instead of pushing
    # the machine into swap while the server waits for the time limit.
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    except (ImportError, ValueError, OSError):
        pass  # not on this platform: the time limit still holds
    max_seconds = float(sys.argv[1])
    data = sys.stdin.buffer.read()
    try:
        x, rate = audio.read(data, max_seconds=max_seconds)
    except audio.AudioError as e:
        sys.stdout.buffer.write((json.dumps({"error": str(e), "reason": e.reason}) + "\n").encode())
        return 0
    except MemoryError:
        error = audio.AudioError("unreadable", "decoding it needed more than 2 GB of memory")
        sys.stdout.buffer.write((json.dumps({"error": str(error), "reason": error.reason}) + "\n").encode())
        return 0
    sys.stdout.buffer.write((json.dumps({"rate": rate, "frames": int(x.size)}) + "\n").encode())
    sys.stdout.buffer.write(x.astype("<f4").tobytes())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
