"""The one place that turns latents into audio: sample, decode, interpolate, mix four, re-synthesize, tag.

The CLI and the server both call these functions. A `Sound` is identified by its model and latent (the audio is
derived), so a sound from a saved session is re-created with `decode`. Audio leaves the engine at the model's
rate, or at 44.1 kHz with its band and tail made (drumgen.dsp.extension) for a 22.05 kHz model, with the tails of
ringing hits for a 44.1 kHz generator whose slice is under 2 s;
`audio.wav_bytes` / `audio.write_wav` turn it into 44.1 kHz files.

Interpolation between two sounds of the same generative model moves through that model's latent space (spherical
for Gaussian priors, so in-between latents keep the norm the generator was trained on). Between anything else,
both sounds go through the autoencoder's embedding: encode, mix, decode.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os

import numpy as np
import torch

from drumgen.dsp import extension
from drumgen.engine import mixing
from drumgen.engine.registry import EngineError, ModelNotFound, Registry  # noqa: F401  (the engine's errors)
from drumgen.io import audio


@dataclasses.dataclass
class Sound:
    model: str
    latent: np.ndarray  # flat float32, the model's latent_size long
    audio: np.ndarray  # [T] float32 at sample_rate
    sample_rate: int
    label: str | None = None
    seed: int | None = None
    origin: str = "sample"  # sample | decode | interpolate | mix4 | resynth | upload
    heard: str | None = None  # the class the tagger hears (a hint beside the asked label), None without a tagger
    name: str | None = None  # what the user called it: an upload's (or its re-synthesis's) file name
    digest: str | None = None  # an upload's content hash: it has no model or latent to be named by

    @classmethod
    def upload(cls, name: str, x: np.ndarray, sample_rate: int) -> Sound:
        """A user's own audio as a sound: no model, no latent; named by its file, identified by its content."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        digest = hashlib.sha1(x.tobytes() + str(sample_rate).encode()).hexdigest()
        return cls("", np.zeros(0, np.float32), x, sample_rate, origin="upload", name=name, digest=digest)

    def clip(self) -> np.ndarray:
        """The audio as a file holds it and a pad plays it: a generated sound ends where it falls silent
        (audio.trim_tail; a model's slice is as long as its longest hit, a crash), an upload is kept as it is."""
        return self.audio if self.origin == "upload" else audio.trim_tail(self.audio, self.sample_rate)

    @property
    def id(self) -> str:
        """Content address: the same model, latent and label (or, for an upload, the same audio) give the same id."""
        if self.digest is not None:
            return hashlib.sha1(b"upload" + self.digest.encode()).hexdigest()[:16]
        h = hashlib.sha1(self.model.encode())
        h.update(np.ascontiguousarray(self.latent, dtype=np.float32).tobytes())
        h.update((self.label or "").encode())
        h.update(self.origin.encode() if self.origin == "upload" else b"")
        return h.hexdigest()[:16]


def finish(x: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """A model's decoded hits [B, T] as the engine hands them out, in place (while they are still in cache). A
    hit louder than -1 dBFS (SpecGAN's phase reconstruction can overshoot) is turned down to it rather than
    clipped: one-shots peak near -1 dBFS, as audio.prepare makes the training hits. The model's slice ends where
    its output stops, not where the sound does (a WaveGAN's last samples are rarely zero), so the last 10 ms fade
    out as a cut training hit does (audio.fade_out): no click when a pad plays it. NaNs and infinities become 0."""
    x = torch.nan_to_num_(x, nan=0.0, posinf=0.0, neginf=0.0)
    # max |x| (as max(max x, -min x): 20x sooner on a CPU than the inf-norm, 2 ms for a 4 s kit)
    peak = torch.maximum(x.amax(-1, keepdim=True), x.amin(-1, keepdim=True).neg())
    x.mul_((audio.PEAK / peak.clamp_min(1e-9)).clamp_max(1.0))
    n = min(x.shape[-1], max(1, int(audio.FADE_SECONDS * sample_rate)))
    x[..., -n:] *= torch.linspace(1.0, 0.0, n, dtype=x.dtype, device=x.device)
    return x


class Engine(Registry):
    """The operations on the loaded models (drumgen.engine.registry): generate, decode, encode, tag, morph.
    Thread-safe: one lock per model."""

    # -- generation ------------------------------------------------------------------------------------
    @torch.inference_mode()
    def _decode(self, name: str, z: torch.Tensor, y: torch.Tensor | None) -> np.ndarray:
        """Latents [B, ...] (CPU) -> audio [B, T] float32 (CPU), decoded on the engine's device (on a CPU in pieces
        of the model's decode_batch)."""
        model = self.get(name)
        step = model.decode_batch if model.decode_batch and self.device.type == "cpu" else len(z)
        with self._locks[name]:
            parts = []
            for i in range(0, max(len(z), 1), max(1, step)):  # in pieces the caches hold (DrumModel.decode_batch)
                zi, yi = z[i:i + step].to(self.device), None if y is None else y[i:i + step].to(self.device)
                x = finish(model.decode(zi, yi).float(), model.config.sample_rate).cpu()
                parts.append((self._extend(name, x, zi.cpu()) if self.rings_on(name) else x).numpy())
        if len(parts) == 1:
            return parts[0]
        longest = max(p.shape[1] for p in parts)  # a piece with a ringing hit is longer: pad the rest with silence
        return np.concatenate([np.pad(p, ((0, 0), (0, longest - p.shape[1]))) for p in parts])

    def _extend(self, name: str, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """A model's finished hits [B, T] -> at 44.1 kHz with their ringing ones' tails, and a 22.05 kHz model's
        full band (drumgen.dsp.extension; phases seeded by each latent, so a latent always gives the same sound)."""
        assert self.extension is not None
        rate = self.get(name).config.sample_rate
        if self.extends(name):
            up = torch.from_numpy(np.stack([audio.resample(row, rate, extension.RATE) for row in x.numpy()]))
            x = self.extension.band(up)
        seeds = [int(torch.round(row.double().sum() * 10)) for row in z.reshape(len(z), -1)]
        return finish(extension.tail(x, seeds), extension.RATE)

    def _label_tensor(self, name: str, labels: list[str | None]) -> torch.Tensor | None:
        model = self.get(name)
        if not model.config.labels:
            if any(lbl is not None for lbl in labels):
                raise EngineError(f"model {name!r} is not class-conditional; leave out the label")
            return None
        try:
            return torch.cat([model.label_index(lbl, 1) for lbl in labels])
        except ValueError as e:
            raise EngineError(str(e)) from None

    def sample(self, name: str, n: int = 1, seed: int | None = None,
               label: str | list[str | None] | None = None, hear: bool = True) -> list[Sound]:
        """n new sounds from the prior. Sound i of seed s is the same whatever n is (seeded per sound).
        label: a class for every sound, or a list of n classes (None entries: any class).
        hear: run the tagger for each sound's `heard` hint (False: leave it None, for `hear` to fill later)."""
        return self.sample_batch(name, [(n, seed, label)], hear)[0]

    def sample_batch(self, name: str, requests: list[tuple[int, int | None, str | list | None]],
                     hear: bool = True) -> list[list[Sound]]:
        """Several sample requests `(n, seed, label)` for one model decoded together (the server batches
        concurrent clients this way); each request gets the sounds `sample` would have given it."""
        model = self.get(name)
        zs, labels, seeds, sizes = [], [], [], []
        for n, seed, label in requests:
            if seed is None:
                seed = int.from_bytes(os.urandom(4), "little") & 0x7FFFFFFF
            own = [seed + i for i in range(n)]
            wanted = list(label) if isinstance(label, (list, tuple)) else [label] * n
            if len(wanted) != n:
                raise EngineError(f"{len(wanted)} labels for {n} sounds; give one per sound")
            asked = [self._any_label(model, s) if model.config.labels and lbl is None else lbl
                     for s, lbl in zip(own, wanted, strict=True)]
            # the class is chosen first: a class-aware prior (the Autoencoder's) draws the latent from it
            zs += [model.sample_latents(1, torch.Generator().manual_seed(s), self._label_tensor(name, [lbl]))
                   for s, lbl in zip(own, asked, strict=True)]
            labels += asked
            seeds += own
            sizes.append(n)
        z = torch.cat(zs)
        x = self._decode(name, z, self._label_tensor(name, labels))
        rate = self.output_rate(name)
        heard = self.hear(x, rate) if hear else [None] * len(x)
        sounds = [Sound(name, z[i].reshape(-1).numpy().astype(np.float32), x[i], rate,
                        labels[i], seeds[i], heard=heard[i]) for i in range(len(seeds))]
        out, start = [], 0
        for n in sizes:
            out.append(sounds[start:start + n])
            start += n
        return out

    @staticmethod
    def _any_label(model, seed: int) -> str:
        """The class a conditional model's sound of this seed gets when none is asked (the same for the seed)."""
        g = torch.Generator().manual_seed(seed)
        return model.config.labels[int(torch.randint(len(model.config.labels), (1,), generator=g))]

    def decode(self, name: str, latent, label: str | None = None, origin: str = "decode", hear: bool = True) -> Sound:
        """Re-create a sound from its model and latent (a flat list of floats); `hear` as for `sample`. A latent
        saved with an earlier model of that name (a session from before a default was retrained: its latent has
        another size) is decoded by the loaded model that is its predecessor (`predecessor`), and the sound says so."""
        z = np.asarray(latent, dtype=np.float32).reshape(-1)
        name = self.predecessor(name, z.size)
        model = self.get(name)
        if z.size != model.latent_size:
            raise EngineError(f"model {name!r} takes latents of {model.latent_size} numbers; got {z.size}")
        if not np.all(np.isfinite(z)):
            raise EngineError("the latent holds NaN or infinite numbers")
        if np.abs(z).max() > 1e3:
            raise EngineError("latent values must lie within +-1000")
        zt = torch.from_numpy(z).reshape(1, *model.latent_shape)
        x = self._decode(name, zt, self._label_tensor(name, [label]))
        rate = self.output_rate(name)
        return Sound(name, z, x[0], rate, label, None, origin, heard=self.hear(x, rate)[0] if hear else None)

    def predecessor(self, name: str, size: int) -> str:
        """The model that decodes a latent of `size` numbers saved as model `name`'s: `name` when it fits, else a
        loaded model of the same kind whose name starts with `name-` and whose latent has that size (the previous
        default kept beside its successor, as checkpoints/autoencoder-1s is), else `name` (decode then says why
        it does not fit)."""
        model = self.get(name)
        if size == model.latent_size:
            return name
        for other, m in self.models.items():
            if other.startswith(name + "-") and m.kind == model.kind and m.latent_size == size:
                return other
        return name

    # -- timbre: encode, interpolate, mix ------------------------------------------------------------------
    def autoencoder_name(self) -> str:
        for name, m in self.models.items():
            if m.can_encode:
                return name
        raise EngineError("this needs an autoencoder checkpoint and none is loaded; train one with "
                          "`drumgen train --model autoencoder`")

    def encode(self, name: str, x: np.ndarray, sample_rate: int, label: str | None = None) -> np.ndarray:
        """Audio -> latent of model `name` (encoder for autoencoders, inversion for GANs): flat float32.

        label: the class a conditional decode-only model should invert under (the encoder ignores it).
        """
        model = self.get(name)
        x = audio.prepare(x, sample_rate, model.config.sample_rate, model.config.slice_length)
        xt = torch.from_numpy(x)[None].to(self.device)
        with self._locks[name]:
            if model.can_encode:
                with torch.no_grad():
                    z = model.encode(xt)
            else:
                from drumgen.engine import inversion

                y = self._label_tensor(name, [label]) if model.config.labels else None
                z = inversion.invert(model, xt, label=None if y is None else y.to(self.device))
        return z.reshape(-1).cpu().numpy().astype(np.float32)

    def resynthesize(self, name: str, x: np.ndarray, sample_rate: int, hear: bool = True) -> Sound:
        """A user's hit played through a model: encode (or invert) then decode (`hear` as for `sample`).

        A conditional GAN inverts and decodes under the class the tagger hears; an autoencoder's latent already
        carries the class, so it decodes without a label (a guessed label could contradict the latent).
        """
        model = self.get(name)
        label = None
        if model.config.labels and not model.can_encode:
            label = self.guess_label(x, sample_rate, model.config.labels)
        z = self.encode(name, x, sample_rate, label)
        return self.decode(name, z, label, origin="resynth", hear=hear)

    def hear(self, x: np.ndarray, sample_rate: int) -> list[str | None]:
        """The tagger's class for each hit [N, T] (one batched call), or Nones when no tagger is loaded."""
        tagger = self.tagger
        if tagger is None:
            return [None] * len(x)
        from drumgen.engine import tagging

        with self._tagger_lock:
            return list(tagging.predict(tagger, x, sample_rate)[0])

    def guess_label(self, x: np.ndarray, sample_rate: int, allowed: tuple[str, ...]) -> str | None:
        tagger = self.tagger
        if tagger is None:
            return allowed[0]
        from drumgen.engine import tagging

        labels, probs = tagging.predict(tagger, x[None], sample_rate)
        order = np.argsort(-probs[0])
        names = list(tagger.labels)
        return next((names[i] for i in order if names[i] in allowed), allowed[0])

    def _common_space(self, sounds: list[Sound]) -> tuple[str, list[torch.Tensor], str | None]:
        """The model whose latent space mixes these sounds, and their latents in it."""
        model = self.models.get(sounds[0].model)
        same = model is not None and all(s.model == sounds[0].model and s.origin != "upload" for s in sounds)
        same_label = len({s.label for s in sounds}) == 1
        if model is not None and same and (same_label or not model.config.labels):
            return sounds[0].model, [torch.from_numpy(s.latent) for s in sounds], sounds[0].label
        ae = self.autoencoder_name()
        if all(s.model == ae and s.origin != "upload" for s in sounds):
            return ae, [torch.from_numpy(s.latent) for s in sounds], None
        return ae, [torch.from_numpy(self.encode(ae, s.audio, s.sample_rate)) for s in sounds], None

    def _mix(self, name: str, latents: list[torch.Tensor], weights: list[float]) -> torch.Tensor:
        model = self.get(name)
        return mixing.mix(latents, weights, spherical=model.latent_prior == "gaussian" and not model.can_encode)

    def interpolate(self, a: Sound, b: Sound, t: float) -> Sound:
        if not 0.0 <= t <= 1.0 or math.isnan(t):
            raise EngineError(f"t must lie in [0, 1]; got {t}")
        name, (za, zb), label = self._common_space([a, b])
        return self.decode(name, self._mix(name, [za, zb], [1 - t, t]).numpy(), label, origin="interpolate")

    def mix4(self, a: Sound, b: Sound, c: Sound, d: Sound, x: float, y: float) -> Sound:
        """Bilinear mix as on NSynth Super's touch pad: a=(0,0), b=(1,0), c=(0,1), d=(1,1)."""
        for v, n in ((x, "x"), (y, "y")):
            if not 0.0 <= v <= 1.0 or math.isnan(v):
                raise EngineError(f"{n} must lie in [0, 1]; got {v}")
        name, zs, label = self._common_space([a, b, c, d])
        weights = [(1 - x) * (1 - y), x * (1 - y), (1 - x) * y, x * y]
        return self.decode(name, self._mix(name, zs, weights).numpy(), label, origin="mix4")
