"""Decode one untrusted audio file in a throwaway process: bytes on stdin -> header line + float32 on stdout.

libsndfile has a history of crashes on crafted files; run here, a crash or a hang costs this process only.
Usage: python -m drumgen.server.decode_worker MAX_SECONDS
"""

from __future__ import annotations

import json
import sys

from drumgen import audio


def main() -> int:
    max_seconds = float(sys.argv[1])
    data = sys.stdin.buffer.read()
    try:
        x, rate = audio.read(data, max_seconds=max_seconds)
    except audio.AudioError as e:
        sys.stdout.buffer.write((json.dumps({"error": str(e), "reason": e.reason}) + "\n").encode())
        return 0
    sys.stdout.buffer.write((json.dumps({"rate": rate, "frames": int(x.size)}) + "\n").encode())
    sys.stdout.buffer.write(x.astype("<f4").tobytes())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
