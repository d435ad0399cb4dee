"""The drum tagger: a small CNN over log-mel spectrograms that names the class of a one-shot.

Four 3x3 conv blocks (conv, batch norm, ReLU, 2x2 max-pool) then global average+max pooling over time and
frequency, a 128-d penultimate layer (the features `drumgen.engine.tagging.features` returns for metrics), and a linear
classifier; with `segments_ms` set, a summary branch (band levels per time segment, loudness envelope) joins the
pooled CNN features before the penultimate layer. About 140k parameters (~560 KB in float32) per network at 2 s
input; the shipped tagger is an ensemble of three (`members`: networks trained from different seeds after one
shared log-mel front end, their probabilities averaged). Built only from `Config`, which the checkpoint stores.

The spectrogram is computed inside the model from a peak-normalised waveform, so the model accepts raw hits of any
level and the checkpoint alone says how to featurise them.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import cast

import torch
import torch.nn as nn
import torch.nn.functional as F

from drumgen.data.labels import CLASSES
from drumgen.dsp import spectral
from drumgen.models.base import StoredConfig


@dataclass
class TaggerConfig(StoredConfig):
    labels: list[str] = field(default_factory=lambda: list(CLASSES))
    sample_rate: int = 22050
    length: int = 22050  # samples seen per hit (1 s); longer hits are cut, shorter zero-padded
    n_fft: int = 1024
    hop: int = 256
    n_mels: int = 64
    fmin: float = 30.0
    channels: list[int] = field(default_factory=lambda: [16, 32, 64, 64])
    hidden: int = 128
    dropout: float = 0.3
    # Hand-shaped summary next to the CNN: log-mel mean per band over these time segments (ms from the start)
    # plus a frame-level loudness envelope. Global pooling in the CNN forgets *where* in frequency and time the
    # energy is (kick vs tom, open hat vs crash); this branch keeps it. () = CNN only (older checkpoints).
    segments_ms: list[int] = field(default_factory=list)
    envelope_points: int = 0
    # SpecAugment-style masking while training: up to this many mel bands / frames blanked (0 = off).
    freq_mask: int = 0
    time_mask: int = 0
    # The log-mel's floor in dB under a full-scale sine (the hit is peak-normalised first): -100 sees everything;
    # -60 or so hides a noise floor nobody hears, which otherwise fills what the network learned as silence.
    floor_db: float = -100.0
    # An ensemble: this many networks of the same shape (trained from different seeds, each on its own), sharing
    # the log-mel front end; their class probabilities are averaged. 1: one network (every tagger before them).
    members: int = 1


Config = TaggerConfig  # every model file's Config: `Tagger(Config(**stored))`


class Block(nn.Module):
    """[B, c_in, M, F] -> [B, c_out, M/2, F/2]"""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.norm = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.max_pool2d(F.relu(self.norm(self.conv(x))), 2, ceil_mode=True)


class Tagger(nn.Module):
    kind = "tagger"
    Config = TaggerConfig
    config: TaggerConfig
    fb: torch.Tensor

    def __init__(self, config: TaggerConfig):
        super().__init__()
        self.config = config
        fb = spectral.mel_filterbank(config.sample_rate, config.n_fft, config.n_mels, config.fmin)
        # Derived from the config, not learned: kept out of the state dict (persistent=False).
        self.register_buffer("fb", fb.clone(), persistent=False)
        if config.members > 1:  # the networks live in the members; this one is their shared front end
            one = dataclasses.replace(config, members=1)
            self.members = nn.ModuleList([Tagger(one) for _ in range(config.members)])
            return
        chans = [1, *config.channels]
        self.blocks = nn.Sequential(*[Block(a, b) for a, b in zip(chans[:-1], chans[1:], strict=True)])
        n_stats = len(config.segments_ms) * config.n_mels + config.envelope_points
        self.stats = nn.Sequential(nn.Linear(n_stats, config.hidden), nn.ReLU()) if n_stats else None
        self.hidden = nn.Linear(2 * chans[-1] + (config.hidden if n_stats else 0), config.hidden)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden, len(config.labels))

    @property
    def labels(self) -> list[str]:
        return list(self.config.labels)

    def spectrogram(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, T] at config.sample_rate -> log-mel [B, 1, n_mels, frames], about unit scale."""
        c = self.config
        x = x[:, : c.length]
        x = F.pad(x, (0, c.length - x.shape[1]))
        x = x / x.abs().amax(dim=1, keepdim=True).clamp_min(1e-6)  # level-invariant: tags ignore loudness
        power = spectral.power(x, c.n_fft, c.hop)  # [B, K, F]
        mel = torch.einsum("mk,bkf->bmf", self.fb, power) / (c.n_fft / 4)
        return ((10 * torch.log10(mel + 1e-10)).clamp_min(c.floor_db) + 50.0).div(20.0).unsqueeze(1)

    def _mask(self, spec: torch.Tensor) -> torch.Tensor:
        """Training only: blank one random band of mels and one of frames per hit (SpecAugment)."""
        c = self.config
        b, _, m, f = spec.shape
        floor = spec.amin(dim=(2, 3), keepdim=True)
        for size, n, dim in ((c.freq_mask, m, 2), (c.time_mask, f, 3)):
            if size <= 0:
                continue
            width = torch.randint(0, size + 1, (b, 1, 1, 1), device=spec.device)
            start = (torch.rand(b, 1, 1, 1, device=spec.device) * (n - width)).long()
            idx = torch.arange(n, device=spec.device).view(*([1] * dim), n, *([1] * (3 - dim)))
            spec = torch.where((idx >= start) & (idx < start + width), floor, spec)
        return spec

    def summary_stats(self, spec: torch.Tensor) -> torch.Tensor:
        """log-mel [B, 1, M, F] -> [B, len(segments_ms) * M + envelope_points]: band levels per time segment
        (in the log-mel's own units) and the loudness envelope resampled to `envelope_points`."""
        c = self.config
        mel = spec[:, 0]  # [B, M, F]
        lin = 10 ** ((mel * 20.0 - 50.0) / 10)  # back to power so segment means are energy means
        bounds = [0, *c.segments_ms]
        frames = [min(mel.shape[2], max(1, round(ms / 1000 * c.sample_rate / c.hop))) for ms in bounds]
        out = [((10 * torch.log10(lin[:, :, a:max(b, a + 1)].mean(dim=2) + 1e-10)).clamp_min(-100.0) + 50.0) / 20.0
               for a, b in zip(frames[:-1], frames[1:], strict=True)]
        if c.envelope_points:
            env = 10 * torch.log10(lin.mean(dim=1, keepdim=True) + 1e-10)  # [B, 1, F]
            out.append((F.adaptive_avg_pool1d(env, c.envelope_points)[:, 0] + 50.0) / 20.0)
        return torch.cat(out, dim=1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, T] -> penultimate features [B, hidden] (after ReLU, before dropout); an ensemble's members' side by
        side [B, members * hidden]."""
        spec = self.spectrogram(x)
        if self.config.members > 1:
            return torch.cat([m.features_of(spec) for m in self.networks()], dim=1)
        return self.features_of(spec)

    def features_of(self, spec: torch.Tensor) -> torch.Tensor:
        """log-mel [B, 1, M, F] (`spectrogram`) -> penultimate features [B, hidden]."""
        if self.training and (self.config.freq_mask or self.config.time_mask):
            spec = self._mask(spec)
        # channels-last memory lets oneDNN run the 2-D convolutions without reordering (about 1.8x faster on a
        # CPU, the same numbers within 1e-5); training keeps the default layout
        layout = torch.contiguous_format if self.training else torch.channels_last
        h = self.blocks(spec.contiguous(memory_format=layout))  # [B, C, M', F']
        parts = [h.mean(dim=(2, 3)), h.amax(dim=(2, 3))]  # [B, 2C]
        if self.stats is not None:
            parts.append(self.stats(self.summary_stats(spec)))
        return F.relu(self.hidden(torch.cat(parts, dim=1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, T] -> logits [B, n_classes]; an ensemble's are the log of its members' mean probabilities (their
        softmax is that mean)."""
        if self.config.members > 1:
            spec = self.spectrogram(x)
            logp = torch.stack([F.log_softmax(m.head(m.dropout(m.features_of(spec))), dim=1) for m in self.networks()])
            return torch.logsumexp(logp, dim=0) - math.log(self.config.members)
        return self.head(self.dropout(self.features(x)))

    def networks(self) -> list[Tagger]:
        """An ensemble's members (a single tagger: itself)."""
        return [cast(Tagger, m) for m in self.members] if self.config.members > 1 else [self]

    @classmethod
    def ensemble(cls, networks: list[Tagger]) -> Tagger:
        """Trained taggers of one shape (differing in their seeds) as one whose probabilities are their mean."""
        first = networks[0].config if networks else None
        if len(networks) < 2 or any(t.config != first or t.config.members != 1 for t in networks):
            raise ValueError("an ensemble takes two or more single taggers of the same config")
        joined = cls(dataclasses.replace(networks[0].config, members=len(networks)))
        for member, t in zip(joined.networks(), networks, strict=True):
            member.load_state_dict(t.state_dict())
        return joined
