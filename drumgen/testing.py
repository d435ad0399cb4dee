"""Helpers for tests and benchmarks: tiny untrained checkpoints of every generative model kind."""

from __future__ import annotations

import collections
import os
import threading
from pathlib import Path

import mido
from mido.ports import BaseInput

from drumgen import checkpoint
from drumgen.models import GENERATIVE, KINDS, model_class


def tiny_kinds() -> list[str]:
    """The generative kinds (plus any registered at run time, except the tagger). A kind whose module fails to
    import raises here, so a broken model file fails every test that builds tiny checkpoints instead of
    silently dropping out of them."""
    kinds = [k for k in dict.fromkeys([*GENERATIVE, *KINDS]) if k != "tagger" and k in KINDS]
    for kind in kinds:
        model_class(kind)
    return kinds


def make_tiny_checkpoints(directory: str | os.PathLike, kinds: list[str] | None = None,
                          labels: tuple[str, ...] = ()) -> list[str]:
    """Write an untrained checkpoint of each kind's `tiny` preset as directory/<kind>-tiny; returns their names."""
    import sys

    import torch

    names = []
    for kind in kinds or tiny_kinds():
        cls = model_class(kind)
        presets = getattr(sys.modules[cls.__module__], "PRESETS", {})
        values = dict(presets.get("tiny", {}))
        values["labels"] = labels
        torch.manual_seed(0)
        model = cls(cls.Config.from_dict({**values, "preset": "tiny"} if "tiny" in presets else values))
        name = f"{kind}-tiny"
        checkpoint.save(model.eval(), Path(directory) / name, {"note": "untrained, for tests"})
        names.append(name)
    return names


class ServerProcess:
    """A real `drumgen serve` in a subprocess on 127.0.0.1 (port 0 -> a free port); `url` once it listens."""

    def __init__(self, checkpoints: str | os.PathLike, env: dict[str, str] | None = None,
                 command: list[str] | None = None, timeout: float = 90.0, extra_args: list[str] | None = None):
        import subprocess
        import sys
        import threading

        argv = [*(command or [sys.executable, "-m", "drumgen"]), "serve", "--port", "0",
                "--checkpoints", str(checkpoints), *(extra_args or [])]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     env={**os.environ, **(env or {})})
        self.lines: list[str] = []
        found = threading.Event()
        self.url = ""

        def read() -> None:  # keep draining the pipe so the server never blocks on a full stdout
            for line in self.proc.stdout:  # type: ignore[union-attr]
                self.lines.append(line)
                if line.startswith("drumgen serving ") and not found.is_set():
                    self.url = line.split()[2]
                    found.set()
            found.set()

        threading.Thread(target=read, daemon=True).start()
        if not found.wait(timeout) or not self.url:
            self.stop()
            raise RuntimeError("drumgen serve did not start:\n" + "".join(self.lines[-40:]))
        self.port = int(self.url.rsplit(":", 1)[1])

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except Exception:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class QueueInput(BaseInput):
    """An in-memory MIDI input: `feed(msg)` from any thread, read through the port API. For tests and demos."""

    def __init__(self, name: str = "drumgen-queue", messages: list[mido.Message] | None = None):
        self._queue: collections.deque[mido.Message] = collections.deque(messages or [])
        self._feed_lock = threading.Lock()
        super().__init__(name)

    def feed(self, msg: mido.Message) -> None:
        with self._feed_lock:
            self._queue.append(msg)

    def _receive(self, block: bool = True) -> mido.Message | None:
        with self._feed_lock:
            return self._queue.popleft() if self._queue else None
