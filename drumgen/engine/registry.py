"""The loaded models by name: the shipped defaults, the user's own models folder, or one checkpoint.

A broken checkpoint is reported (`errors`) and skipped, so one bad file never stops a server; models are ranked
by the quality measured when they were installed, so the drum machine starts on the best one.
"""

from __future__ import annotations

import math
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from drumgen import checkpoint, devices
from drumgen.dsp import extension
from drumgen.models import fastconv

if TYPE_CHECKING:
    from typing_extensions import Self

    from drumgen.models.base import DrumModel
    from drumgen.models.tagger import Tagger


class EngineError(ValueError):
    """A request the engine cannot serve (unknown model, bad latent, ...): a user's mistake, with a message."""


class ModelNotFound(EngineError):
    """No loaded model has that name."""


class Registry:
    """Loaded models by name: where each came from, which failed to load and why, the tagger, one lock per model."""

    def __init__(self, checkpoints_dir: str | os.PathLike | None = None, threads: int | None = None,
                 models_dir: str | os.PathLike | None = None, device: str = "auto", scan: bool = True,
                 precision: str = "float32", extend: bool = True):
        """Load every checkpoint in `checkpoints_dir` (default: the shipped checkpoints/) and, when given, in
        `models_dir` (the user's own trained models, see checkpoint.user_dir), which is where new ones go.
        Models run on `device` (drumgen.devices: auto = a GPU when there is one); audio and latents come back
        as CPU arrays, and the tagger stays on the CPU (it is small). scan=False loads nothing (see `of`).
        `precision` "bfloat16" runs the decoders' convolutions in bfloat16 on a CPU (drumgen.models.fastconv:
        faster with Intel AMX or AVX-512 BF16, no longer the same numbers); "float32" (the default) keeps
        training's numbers.
        `extend`: a 22.05 kHz model's hits leave at 44.1 kHz with their band above 10.5 kHz and their ringing
        tails made by drumgen.dsp.extension, fitted on real hits (checkpoints_dir/band_extension.safetensors;
        without that file, or with extend=False, they leave at the model's own rate as it made them); a 44.1 kHz
        generator whose slice is under 2 s gets the ringing tails alone (rings_on)."""
        if precision not in fastconv.PRECISIONS:
            raise EngineError(f"unknown precision {precision!r}; choose {' or '.join(fastconv.PRECISIONS)}")
        self.precision = precision
        self.device = devices.resolve(device)
        devices.prepare(self.device)
        self.checkpoints_dir = Path(checkpoints_dir) if checkpoints_dir else checkpoint.default_dir()
        self.models_dir = Path(models_dir) if models_dir else None
        self.models: dict[str, DrumModel] = {}
        self._paths: dict[str, Path] = {}  # where each loaded model came from
        self.errors: dict[str, str] = {}
        self.tagger: Tagger | None = None  # names what it hears (Sound.heard); the folder's "tagger" kind
        self.extension: extension.Extension | None = None
        if extend and (self.checkpoints_dir / extension.FILE).is_file():
            try:
                self.extension = extension.load(self.checkpoints_dir / extension.FILE)
            except (extension.ExtensionError, ValueError, OSError) as e:
                self.errors[extension.FILE] = str(e)
        self._locks: dict[str, threading.Lock] = {}
        self._tagger_lock = threading.Lock()
        if threads:
            torch.set_num_threads(threads)
        if scan:
            self.reload()

    @classmethod
    def of(cls, path: str | os.PathLike, name: str | None = None, device: str = "auto",
           tagger: bool = True, precision: str = "float32") -> tuple[Self, str]:
        """An engine holding one checkpoint (and, with `tagger`, the shipped tagger to say what it hears), not
        every model of a folder: what `drumgen generate --model DIR` and the measures need. CheckpointError
        when it does not load."""
        engine = cls(device=device, scan=False, precision=precision)
        shipped = engine.checkpoints_dir / "tagger"
        if tagger and (shipped / checkpoint.MODEL_FILE).is_file():
            engine.add(shipped)
        name = engine.add(path, name)
        if name in engine.errors:
            raise checkpoint.CheckpointError(engine.errors[name])
        return engine, name

    def reload(self) -> None:
        """Load every checkpoint under checkpoints_dir (then models_dir) that is not loaded yet; a broken one is
        reported and skipped, as is a user model whose name a default already has."""
        for folder in (self.checkpoints_dir, self.models_dir):
            for path in checkpoint.list_dir(folder) if folder else []:
                if path.name in self.models:
                    if self._paths[path.name] != path:
                        self.errors[str(path)] = (f"not loaded: {self._paths[path.name]} has the name "
                                                  f"{path.name!r}; rename this folder")
                    continue
                self.add(path)

    def add(self, path: str | os.PathLike, name: str | None = None) -> str:
        path = Path(path)
        name = name or path.name
        try:
            model = checkpoint.load(path)
        except (checkpoint.CheckpointError, ValueError) as e:
            self.errors[name] = str(e)
            return name
        if model.kind == "tagger":
            self.tagger = model
        else:
            self.models[name] = model.to(self.device)
            model.set_fast_dtype(fastconv.PRECISIONS[self.precision])
            self._paths[name] = path
            self._locks[name] = threading.Lock()
        return name

    def path_of(self, name: str) -> Path:
        """The checkpoint directory a loaded model came from."""
        self.get(name)
        return self._paths[name]

    def get(self, name: str):
        if name not in self.models:
            known = ", ".join(self.models) or "none"
            raise ModelNotFound(f"unknown model {name!r}; loaded models: {known}")
        return self.models[name]

    def ranked(self) -> list[str]:
        """Model names, best first: by the Frechet distance measured on held-out kits when the model was installed
        (summary.measures.frechet), then by the best one training saw; unmeasured models last, by name; a model kept
        beside its successor (`name-*` of the same kind, as checkpoints/autoencoder-1s, for sessions saved with it:
        Engine.predecessor) after every other. The browser's first kit comes from the first of these."""
        def key(name: str) -> tuple[bool, float, str]:
            summary = getattr(self.models[name], "summary", {}) or {}
            score = (summary.get("measures") or {}).get("frechet")
            if score is None and summary.get("measure") == "frechet":
                score = summary.get("best_score")
            kept = any(name.startswith(other + "-") and m.kind == self.models[name].kind
                       for other, m in self.models.items() if other != name)
            return (kept, float(score) if isinstance(score, (int, float)) and math.isfinite(score) else math.inf,
                    name)

        return sorted(self.models, key=key)

    def extends(self, name: str) -> bool:
        """Whether this model's hits get the band and tail extension (drumgen.dsp.extension.applies)."""
        return self.extension is not None and extension.applies(self.get(name).config.sample_rate)

    def rings_on(self, name: str) -> bool:
        """Whether this model's hits still ringing at its slice's end ring on (drumgen.dsp.extension.rings_on):
        the extended ones, and a full-band generator's short slice."""
        c = self.get(name).config
        return self.extension is not None and extension.rings_on(c.sample_rate, c.slice_length / c.sample_rate,
                                                                 self.get(name).can_encode)

    def output_rate(self, name: str) -> int:
        """The rate of the audio the engine gives for this model: 44.1 kHz when it is extended, else its own."""
        return extension.RATE if self.extends(name) else int(self.get(name).config.sample_rate)

    def describe(self, name: str) -> dict:
        m = self.get(name)
        rate = m.config.sample_rate
        band: dict = {"generated_hz": [0, rate // 2]}
        if self.extends(name):
            band["extended_hz"] = [extension.CUT_HZ, extension.RATE // 2]
        if self.rings_on(name):
            band["tail"] = f"hits still ringing at the slice's end ring on, up to {extension.MAX_SECONDS:g} s"
        return {"name": name, "kind": m.kind, "sample_rate": rate, "output_rate": self.output_rate(name),
                "band": band, "labels": list(m.config.labels),
                "conditional": bool(m.config.labels), "can_encode": m.can_encode, "latent_size": m.latent_size,
                "slice_length": m.config.slice_length, "precision": self.precision,
                "summary": getattr(m, "summary", {})}
