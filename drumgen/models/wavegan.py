"""WaveGAN: a DCGAN on raw waveforms (Donahue, McAuley & Puckette, "Adversarial Audio Synthesis", ICLR 2019,
arXiv:1802.04208).

Generator: z -> dense -> [16d, 16] -> transposed 1-D convolutions (kernel 25, stride 4), ReLU between, tanh out.
Critic: strided 1-D convolutions (kernel 25, stride 4), LeakyReLU 0.2, phase shuffle (n=2) after every layer but
the last, dense -> 1. Trained as a WGAN-GP (lambda 10), Adam 1e-4, betas (0.5, 0.9), n_critic = 5.

Longer slices add one layer at the end of G (and the start of D): stride 2 for 32768, stride 4 for 65536, with
the channel ladder starting at 32d instead of 16d; 131072 (2.97 s at 44.1 kHz, not in the paper) adds two, x4 and
x2, from 64d.

G's upsamplers (`upsample`): "transposed" convolutions as published, or "nearest": nearest-neighbour upsampling
then a convolution (the paper's section 3.4 compares both). A transposed kernel is free to differ between the
output phases, and those differences repeat at its stride: steady lines at multiples of each layer's output rate /
stride in every hit (benchmarks/gan_lines.py measured them at rate/4, 7 rate/16 and rate/2 in the shipped model,
preset `cpu-22k`). Nearest-neighbour upsampling is the same transposed convolution with its kernel convolved by a box of
`stride` ones, whose response is zero at exactly those frequencies (NearestUpConv runs it that way).

Training (drumgen/train/steps.py wgan_gp_step): one step is ONE critic update, plus a generator update on every
`n_critic`-th step. So `--steps N` counts critic updates (the paper's "iterations" count generator updates: N steps
= N / n_critic iterations). This keeps every step one batch and equally cheap, the same for SpecGAN, and makes
resume exact at any step. After a latent fit to a kit, new hits blend the kit's fitted latents (models/prior.py).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from drumgen.dsp import spectral
from drumgen.models import fastconv
from drumgen.models.base import DrumModel
from drumgen.models.layers import GANConfig, LabelConcat, ProjectionHead
from drumgen.models.prior import LatentBank

SLICE_LENGTHS = (16384, 32768, 65536, 131072)
UPSAMPLERS = ("transposed", "nearest")


@dataclasses.dataclass
class WaveGANConfig(GANConfig):  # d: G's first hidden layer has 16d channels (32d for 32768 and 65536, 64d for 131072)
    sample_rate: int = 22050
    slice_length: int = 16384  # 16384, 32768, 65536 or 131072
    kernel: int = 25
    phase_shuffle: int = 2  # critic shifts each layer's output by up to +-n samples
    # The decoded hit's output filter (0: none): the transposed convolutions leave a DC offset in most hits
    # (benchmarks/gan_lines.py: -27 dB of a hit's energy in the median one); a 20 Hz high-pass takes it out
    # and leaves the drums (a kick's fundamental is 40 Hz and up).
    high_pass_hz: float = 20.0
    upsample: str = "transposed"  # G's upsamplers: "transposed" (as published) or "nearest" (see the docstring)

    def __post_init__(self) -> None:
        if self.slice_length not in SLICE_LENGTHS:
            raise ValueError(f"WaveGAN slice_length must be one of {SLICE_LENGTHS}; got {self.slice_length}")
        if self.upsample not in UPSAMPLERS:
            raise ValueError(f"WaveGAN upsample must be one of {', '.join(UPSAMPLERS)}; got {self.upsample!r}")
        super().__post_init__()


Config = WaveGANConfig  # every model file's Config: `WaveGAN(Config(**stored))`

PRESETS: dict[str, dict[str, Any]] = {
    # As published: 16 kHz, 16384 samples (1.02 s), d=64 (19.07 M parameters in G), batch 64.
    "paper": {"sample_rate": 16000, "slice_length": 16384, "d": 64, "batch_size": 64},
    # Sized for a 2-core CPU, full band: 44.1 kHz and 65536 samples (1.49 s, a crash's tail), nearest-neighbour
    # upsampling (no steady lines at the strides' rates). d=8 keeps cpu-22k's channel ladder [256 ... 16] and adds
    # an 8-channel stage at 44.1 kHz: 1.5 M parameters (6.1 MB served), a step 0.43 s on 2 cores against cpu-22k's
    # 0.24 s, an 8-hit kit 10.5 ms (benchmarks/gan_speed.py; d=16 would be 5.2 M parameters, 20.9 MB, 1.14 s).
    "cpu": {"sample_rate": 44100, "slice_length": 65536, "d": 8, "batch_size": 16, "upsample": "nearest"},
    # For cymbals: 131072 samples (2.97 s; a first run of `cpu` left 86% of its cymbals ringing at 1.49 s, and the
    # corpus's median cymbal lasts 3 s), d=4 for the same 1.5 M parameters and ladder top; a step 0.90 s, a kit 18 ms.
    "cpu-3s": {"sample_rate": 44100, "slice_length": 131072, "d": 4, "batch_size": 16, "upsample": "nearest"},
    # The shipped checkpoint's preset until 2026-12-02: 22.05 kHz (nothing above 11 kHz), 0.74 s, transposed
    # convolutions; G is 1.5 M parameters (6.0 MB served), a step ~0.3 CPU-seconds.
    "cpu-22k": {"sample_rate": 22050, "slice_length": 16384, "d": 16, "batch_size": 16},
    # For tests: builds and steps in milliseconds.
    "tiny": {"sample_rate": 16000, "slice_length": 16384, "d": 2, "batch_size": 4, "n_critic": 2},
}
DEFAULT_PRESET = "cpu"


def _strides(slice_length: int) -> list[int]:
    """Upsampling factors of G from 16 samples (D downsamples by the same factors in reverse)."""
    return [4, 4, 4, 4, 4] + {16384: [], 32768: [2], 65536: [4], 131072: [4, 2]}[slice_length]


def _channels(cfg: WaveGANConfig) -> list[int]:
    """G's channel ladder, e.g. d=64, 16384: [1024, 512, 256, 128, 64, 1] (D uses it reversed)."""
    n = len(_strides(cfg.slice_length))
    return [cfg.d * 2 ** (n - 1 - i) for i in range(n)] + [1]


def _same_padding(kernel: int, stride: int) -> tuple[int, int]:
    """(padding, output_padding) so a transposed conv multiplies the length by exactly `stride`."""
    extra = (kernel - stride) % 2
    return (kernel - stride + extra) // 2, extra


class PhaseShuffle(nn.Module):
    """Shift each example's feature map by a random k in [-n, n] samples, filling the edge by reflection.

    WaveGAN section 3.3: the critic cannot then tell real from fake by the periodic checkerboard phase of
    transposed-convolution artefacts. [B, C, L] -> [B, C, L]. Identity in eval mode or with n = 0.
    """

    def __init__(self, n: int):
        super().__init__()
        self.n = n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.n == 0:
            return x
        b, c, length = x.shape
        k = torch.randint(-self.n, self.n + 1, (b,), device=x.device)
        padded = nn.functional.pad(x, (self.n, self.n), mode="reflect")  # [B, C, L + 2n]
        idx = torch.arange(length, device=x.device)[None] + (self.n - k)[:, None]  # [B, L]
        return padded.gather(2, idx[:, None].expand(b, c, length))


class NearestUpConv(nn.Module):
    """Nearest-neighbour upsampling by `stride`, then a `kernel`-tap convolution: [B, C, L] -> [B, D, stride L].

    Computed as the transposed convolution it equals, with kernel + stride - 1 taps: the learned kernel convolved
    with a box of `stride` ones (a convolution over the upsampled signal would do `stride` times the multiply-adds).
    The box's response is zero at every multiple of the output rate / stride, where a free transposed kernel puts
    the lines of its period. `transposed_form` is what fastconv runs."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int):
        super().__init__()
        self.stride = stride
        self.padding, self.output_padding = _same_padding(kernel + stride - 1, stride)
        ref = nn.ConvTranspose1d(c_in, c_out, kernel, stride)  # PyTorch's initialisation, at the box's scale:
        self.weight = nn.Parameter(ref.weight.detach() / stride ** 0.5)  # the box sums `stride` taps
        assert ref.bias is not None
        self.bias = nn.Parameter(ref.bias.detach().clone())

    def transposed_form(self) -> tuple[torch.Tensor, torch.Tensor, int, int]:
        """(weight [C, D, kernel + stride - 1], bias, stride, padding) of the equal transposed convolution."""
        c_in, c_out, k = self.weight.shape
        box = self.weight.new_ones(1, 1, self.stride)
        w = F.conv1d(self.weight.reshape(c_in * c_out, 1, k), box, padding=self.stride - 1)
        return w.view(c_in, c_out, k + self.stride - 1), self.bias, self.stride, self.padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w, b, s, pad = self.transposed_form()
        return F.conv_transpose1d(x, w, b, s, pad, self.output_padding)


class Generator(nn.Module):
    """z [B, latent_dim] (+ y [B]) -> audio [B, 1, slice_length] in [-1, 1]."""

    def __init__(self, cfg: WaveGANConfig):
        super().__init__()
        ch, strides = _channels(cfg), _strides(cfg.slice_length)
        self.ch0 = ch[0]
        self.cond = LabelConcat(len(cfg.labels), cfg.label_dim)
        self.dense = nn.Linear(cfg.latent_dim + self.cond.out_extra, 16 * ch[0])
        layers: list[nn.Module] = []
        for i, s in enumerate(strides):
            if cfg.upsample == "nearest":
                layers.append(NearestUpConv(ch[i], ch[i + 1], cfg.kernel, s))
            else:
                pad, out_pad = _same_padding(cfg.kernel, s)
                layers.append(nn.ConvTranspose1d(ch[i], ch[i + 1], cfg.kernel, s, pad, out_pad))
            layers.append(nn.ReLU() if i < len(strides) - 1 else nn.Tanh())
        self.convs = nn.Sequential(*layers)
        self._fast = fastconv.FastConv()  # inference on a CPU: the same layers, laid out as it runs them fastest

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.dense(self.cond(z, y))  # [B, latent (+label)] -> [B, 16 * 16d]
        h = torch.relu(h.view(z.shape[0], self.ch0, 16))  # -> [B, 16d, 16]
        # d=64, 16384: [B, 1024, 16] -> [B, 512, 64] -> [B, 256, 256] -> [B, 128, 1024] -> [B, 64, 4096]
        #              -> [B, 1, 16384] (tanh)
        run = fastconv.runner(self._fast, h)  # plain layers while training, drumgen.models.fastconv otherwise
        return run.leave(run(self.convs, run.enter(h)))


class Discriminator(nn.Module):
    """WGAN critic: audio [B, 1, slice_length] (+ y [B]) -> scores [B]."""

    def __init__(self, cfg: WaveGANConfig):
        super().__init__()
        ch, strides = _channels(cfg)[::-1], _strides(cfg.slice_length)[::-1]
        layers: list[nn.Module] = []
        for i, s in enumerate(strides):
            pad, _ = _same_padding(cfg.kernel, s)
            layers += [nn.Conv1d(ch[i], ch[i + 1], cfg.kernel, s, pad), nn.LeakyReLU(0.2)]
            if i < len(strides) - 1:
                layers.append(PhaseShuffle(cfg.phase_shuffle))
        self.convs = nn.Sequential(*layers)
        self.head = ProjectionHead(16 * ch[-1], len(cfg.labels))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        # d=64, 16384: [B, 1, 16384] -> [B, 64, 4096] -> [B, 128, 1024] -> [B, 256, 256] -> [B, 512, 64]
        #              -> [B, 1024, 16]; phase shuffle after the first four
        h = self.convs(x)
        return self.head(h.flatten(1), y)  # [B, 16 * 16d] -> [B]


class WaveGAN(DrumModel):
    kind = "wavegan"
    Config = WaveGANConfig
    training_only = ("D.",)
    optional_state = ("prior.",)  # checkpoints from before the latent fit have no stored latents
    config: WaveGANConfig
    prior: LatentBank

    def __init__(self, config: WaveGANConfig):
        super().__init__(config)
        self.latent_prior = config.latent_prior  # instance value shadows the class default the engine reads
        self.G = Generator(config)
        self.D = Discriminator(config)
        self.prior = LatentBank(config.prior_size, self.latent_shape)  # filled by a latent fit; empty = fixed prior

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

    def decode(self, z: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        """z [B, latent_dim] (+ class indices [B]) -> audio [B, slice_length] in [-1, 1] (high-passed at
        config.high_pass_hz)."""
        x = self.G(z, label)[:, 0]
        if self.config.high_pass_hz > 0:
            x = spectral.high_pass(x, self.config.sample_rate, self.config.high_pass_hz).clamp(-1, 1)
        return x
