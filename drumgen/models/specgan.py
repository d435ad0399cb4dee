"""SpecGAN: a DCGAN on normalised log-magnitude spectrograms, inverted to audio by Griffin-Lim (Donahue, McAuley &
Puckette, "Adversarial Audio Synthesis", ICLR 2019, arXiv:1802.04208, section 4).

The image: STFT (window 256, hop 128) of a 16384-sample hit -> 129 bins x 129 frames; the Nyquist bin and the
last frame are dropped -> 128 x 128; log(|X| + 1e-6); per-frequency-bin mean/std from the training data
(`fit_statistics`, stored as buffers so they live inside the checkpoint); clipped at 3 sigma and scaled to [-1, 1].
Generator and critic are DCGAN-style 2-D convolutions, 5x5 kernels, stride 2, trained as a WGAN-GP like WaveGAN.

The 128 x 128 geometry is what the architecture is built for, so the STFT is fixed at window 256 / hop 128
whatever the sample rate: at the paper's 16 kHz that is 16 ms / 8 ms and 1.02 s; at 22.05 kHz 11.6 ms / 5.8 ms and
0.74 s. (Scaling the window with the rate instead would give 177 bins and 22528 samples, no longer 128 x 128.)

Phase: fast Griffin-Lim (Perraudin et al. 2013, momentum 0.99) by default. On 28 synthesized hits at 22.05 kHz,
16 iterations of it reach a spectral convergence of 0.150 against 0.185 for the paper's plain 16-iteration
Griffin-Lim (0.168 vs 0.204 at 16 kHz), at the same cost; plain Griffin-Lim needs about 100 iterations to match
it (0.148). Measured by benchmarks/gan_speed.py (RESULTS.md). `griffin_lim_momentum = 0` reproduces the paper.

Training (drumgen/train/steps.py wgan_gp_step): the critic sees `normalize(x)` of the real hits; one step is one
critic update, plus a generator update every `n_critic`-th step (as WaveGAN). A latent fit compares G's normalised
spectrograms with the kit's, with no Griffin-Lim in the loop.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch
from torch import nn

from drumgen.dsp import spectral
from drumgen.models import fastconv
from drumgen.models.base import DrumModel
from drumgen.models.layers import GANConfig, LabelConcat, ProjectionHead
from drumgen.models.prior import LatentBank

SIZE = 128  # spectrogram image: SIZE bins x SIZE frames
LOG_EPS = 1e-6


@dataclasses.dataclass
class SpecGANConfig(GANConfig):
    sample_rate: int = 22050
    slice_length: int = 16384  # must equal 128 * hop
    n_fft: int = 256  # must equal 2 * 128 (the Nyquist bin is dropped)
    hop: int = 128
    kernel: int = 5
    clip_sigma: float = 3.0
    griffin_lim_iters: int = 16
    griffin_lim_momentum: float = 0.99  # 0 = plain Griffin-Lim as published

    def __post_init__(self) -> None:
        if self.n_fft != 2 * SIZE or self.slice_length != SIZE * self.hop:
            raise ValueError(f"SpecGAN works on {SIZE}x{SIZE} spectrograms: n_fft must be {2 * SIZE} and "
                             f"slice_length 128 * hop; got n_fft={self.n_fft}, hop={self.hop}, "
                             f"slice_length={self.slice_length}")
        super().__post_init__()


Config = SpecGANConfig  # every model file's Config: `SpecGAN(Config(**stored))`

PRESETS: dict[str, dict[str, Any]] = {
    # As published: 16 kHz, d=64, batch 64, plain Griffin-Lim with 16 iterations.
    "paper": {"sample_rate": 16000, "d": 64, "batch_size": 64, "griffin_lim_momentum": 0.0},
    # Sized for a 2-core CPU: 22.05 kHz for hats, G 1.5 M parameters (6.0 MB served).
    "cpu": {"sample_rate": 22050, "d": 16, "batch_size": 16},
    "tiny": {"sample_rate": 16000, "d": 2, "batch_size": 4, "n_critic": 2, "griffin_lim_iters": 4},
}
DEFAULT_PRESET = "cpu"


class Generator(nn.Module):
    """z [B, latent_dim] (+ y [B]) -> normalised spectrogram [B, 1, 128, 128] in [-1, 1]."""

    def __init__(self, cfg: SpecGANConfig):
        super().__init__()
        ch = [cfg.d * 16, cfg.d * 8, cfg.d * 4, cfg.d * 2, cfg.d, 1]
        self.ch0 = ch[0]
        self.cond = LabelConcat(len(cfg.labels), cfg.label_dim)
        self.dense = nn.Linear(cfg.latent_dim + self.cond.out_extra, 4 * 4 * ch[0])
        pad = cfg.kernel // 2
        layers: list[nn.Module] = []
        for i in range(5):
            layers.append(nn.ConvTranspose2d(ch[i], ch[i + 1], cfg.kernel, 2, pad, output_padding=1))
            layers.append(nn.ReLU() if i < 4 else nn.Tanh())
        self.convs = nn.Sequential(*layers)
        self._fast = fastconv.FastConv()  # inference on a CPU: channels-last weights, which oneDNN runs sooner

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.dense(self.cond(z, y))  # [B, latent (+label)] -> [B, 16d * 4 * 4]
        h = torch.relu(h.view(z.shape[0], self.ch0, 4, 4))  # -> [B, 16d, 4, 4]
        # [B, 16d, 4, 4] -> [B, 8d, 8, 8] -> [B, 4d, 16, 16] -> [B, 2d, 32, 32] -> [B, d, 64, 64]
        #   -> [B, 1, 128, 128] (tanh)
        run = fastconv.runner(self._fast, h)  # plain layers while training, drumgen.models.fastconv otherwise
        return run.leave_image(run(self.convs, run.enter_image(h)))


class Discriminator(nn.Module):
    """WGAN critic: spectrogram [B, 1, 128, 128] (+ y [B]) -> scores [B]."""

    def __init__(self, cfg: SpecGANConfig):
        super().__init__()
        ch = [1, cfg.d, cfg.d * 2, cfg.d * 4, cfg.d * 8, cfg.d * 16]
        layers: list[nn.Module] = []
        for i in range(5):
            layers += [nn.Conv2d(ch[i], ch[i + 1], cfg.kernel, 2, cfg.kernel // 2), nn.LeakyReLU(0.2)]
        self.convs = nn.Sequential(*layers)
        self.head = ProjectionHead(16 * ch[-1], len(cfg.labels))

    def forward(self, s: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        # [B, 1, 128, 128] -> [B, d, 64, 64] -> [B, 2d, 32, 32] -> [B, 4d, 16, 16] -> [B, 8d, 8, 8]
        #   -> [B, 16d, 4, 4]
        h = self.convs(s)
        return self.head(h.flatten(1), y)  # [B, 16d * 16] -> [B]


class SpecGAN(DrumModel):
    kind = "specgan"
    Config = SpecGANConfig
    training_only = ("D.",)
    optional_state = ("prior.",)  # checkpoints from before the latent fit have no stored latents
    decode_batch = 16  # 64 hits: 341 ms at once, 244 ms in sixteens (2 cores)
    config: SpecGANConfig
    prior: LatentBank
    spec_mean: torch.Tensor
    spec_std: torch.Tensor

    def __init__(self, config: SpecGANConfig):
        super().__init__(config)
        self.latent_prior = config.latent_prior
        self.G = Generator(config)
        self.D = Discriminator(config)
        self.prior = LatentBank(config.prior_size, self.latent_shape)  # filled by a latent fit; empty = fixed prior
        # Per-bin statistics of log|X| over the training data; set by fit_statistics, saved with G.
        self.register_buffer("spec_mean", torch.zeros(SIZE))
        self.register_buffer("spec_std", torch.ones(SIZE))

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return (self.config.latent_dim,)

    def sample_latents(self, n: int, generator: torch.Generator | None = None,
                       labels: torch.Tensor | None = None) -> torch.Tensor:
        """New hits' latents [n, latent_dim]: blends of the fitted latents (kept inside the prior's support) after
        a latent fit, else the fixed prior."""
        if self.prior.stored:
            z = self.prior.sample(n, generator, labels, self.config)
            return z.clamp(-self.latent_limit(), self.latent_limit())
        return self.fixed_latents(n, generator)

    # -- waveform <-> normalised spectrogram -----------------------------------------------------------------
    def log_spectrogram(self, x: torch.Tensor) -> torch.Tensor:
        """audio [B, slice_length] -> log(|X| + 1e-6) [B, 128, 128] (Nyquist bin and last frame dropped)."""
        s = spectral.log_magnitude(x, self.config.n_fft, self.config.hop, eps=LOG_EPS)  # [B, 129, 129]
        return s[:, :SIZE, :SIZE]

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """audio [B, slice_length] -> the critic's input [B, 1, 128, 128] in [-1, 1]."""
        c = self.config.clip_sigma
        s = (self.log_spectrogram(x) - self.spec_mean[:, None]) / self.spec_std[:, None]
        return (s.clamp(-c, c) / c)[:, None]

    def to_audio(self, img: torch.Tensor) -> torch.Tensor:
        """[B, 1, 128, 128] in [-1, 1] -> audio [B, slice_length] by Griffin-Lim."""
        cfg = self.config
        log_mag = img[:, 0] * cfg.clip_sigma * self.spec_std[:, None] + self.spec_mean[:, None]
        mag = (torch.exp(log_mag) - LOG_EPS).clamp_min(0)  # [B, 128, 128]
        mag = torch.cat([mag, mag[:, :, -1:]], dim=2)  # repeat the dropped last frame: [B, 128, 129]
        mag = nn.functional.pad(mag, (0, 0, 0, 1))  # zero Nyquist bin: [B, 129, 129]
        x = spectral.griffin_lim(mag, cfg.n_fft, cfg.hop, cfg.griffin_lim_iters, cfg.slice_length,
                                 cfg.griffin_lim_momentum)
        return x.clamp(-1, 1)

    def set_fast_dtype(self, dtype: torch.dtype) -> None:
        """Always float32: Griffin-Lim turns a bfloat16 image's small differences into other phases and other
        tails (-10 to -22 dB from the float32 audio for the shipped model's kit), and no sooner on a CPU."""
        super().set_fast_dtype(torch.float32)

    def decode(self, z: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        """z [B, latent_dim] (+ class indices [B]) -> audio [B, slice_length] in [-1, 1]."""
        return self.to_audio(self.G(z, label))

    @torch.no_grad()
    def fit_statistics(self, x: np.ndarray, chunk: int = 256) -> None:
        """Per-bin mean and std of log|X| over every frame of the training hits x [N, slice_length]."""
        total = torch.zeros(SIZE, dtype=torch.float64)
        squares = torch.zeros(SIZE, dtype=torch.float64)
        count = 0
        for i in range(0, len(x), chunk):
            s = self.log_spectrogram(torch.as_tensor(x[i:i + chunk], dtype=torch.float32)).double()
            total += s.sum(dim=(0, 2))
            squares += (s ** 2).sum(dim=(0, 2))
            count += s.shape[0] * s.shape[2]
        if count == 0:
            raise ValueError("fit_statistics needs at least one training hit")
        mean = total / count
        std = (squares / count - mean ** 2).clamp_min(0).sqrt()
        self.spec_mean.copy_(mean.float())
        self.spec_std.copy_(std.float().clamp_min(1e-3))  # a constant bin (digital silence) must not divide by 0
