"""A variational autoencoder for drum hits with a DSP-informed decoder: re-synthesis and timbre morphing on a CPU.

NSynth (Engel et al. 2017, arXiv:1704.01279) showed that a temporal embedding (16 numbers per 32 ms) lets one
re-synthesize and morph instrument sounds, but its WaveNet decoder takes minutes per second of audio. Here the
decoder is non-autoregressive and split the way drums are made (cf. DDSP, Engel et al. 2020, arXiv:2001.04643):

- a noise path: white noise shaped by per-frame gains in `noise_bands` mel-spaced bands (STFT filtering), which
  gives snares, hats and cymbal tails their full 44.1 kHz band from a few numbers per frame. Each hit takes its
  own slice of a pool of `noise_pool` noise slices, chosen by a seed the latent carries (its last number), so two
  hats are not the same noise and a latent always decodes to the same sound (`noise_pool` 1: one fixed noise);
- a partials path (`partials` > 0), as modal drum synthesis makes cymbals, bells and toms ring (cf. Drumblender,
  Shier et al. 2023; DDSP's sinusoids, Engel et al. 2020): the hit's strongest stable partials, found in its
  long-term spectrum when it is encoded (spectral.spectral_peaks), are carried in the latent as frequencies and
  levels; the decoder predicts each one's amplitude per frame, and they are drawn as continuous-phase sinusoids
  straight into the noise path's STFT (spectral.partials_stft), so they cost almost nothing to synthesize. What
  a learned frequency would need (gradients through a sinusoid's phase, which do not converge) is not asked;
- a wave path: a learned upsampler (transposed convolutions, 256x) that draws what noise and partials cannot: the
  phase-locked body of kicks and toms, clicks and attacks; over the first `wave_frames` frames of the slice (0:
  all), since the partials and the noise carry a long tail.

The cpu preset's slice is 2.04 s, so a crash keeps its tail; the engine's sounds end where they fall silent
(Sound.clip).

The encoder reads a log-mel spectrogram and gives, per 1024-sample frame (23 ms), `latent_dims` numbers, plus a
`global_dims` timbre vector for the whole hit. Both are Gaussian posteriors with a small KL term towards N(0, 1),
which keeps the latent space smooth enough to blend and interpolate in. The latent is every part, flattened:
[frames * dims + global + 2 * partials (+ the noise seed)].
The loss: multi-resolution STFT (Yamamoto et al. 2020) + beta * KL. Optional class conditioning of the decoder
with label dropout, so a hit whose class is unknown decodes through the "no label" embedding.

Sampling new hits (the latent prior, models/prior.py): the latents of the training hits themselves, kept in the
checkpoint (at most `prior_size` of them; drumgen.train.steps.fit_latent_prior stores them). A new hit of class k
blends a random training latent of class k with one of its `prior_neighbours` nearest same-class latents, at a
random point on the line between them, plus `prior_noise` of the class's spread in fresh Gaussian noise:
z = (1 - t) z_i + t z_j + s * sigma_k * eps. A small bank (a fine-tune on a kit of a few dozen hits) samples with
more noise, so its new hits are not the kit's own hits blended back (models/prior.py bank_noise).
Measured on the Hydrogen corpus (benchmarks/RESULTS.md), this puts sampled hits as close to unseen kits as real
hits are and makes them sound like the class asked for; one Gaussian fitted to all latents (the prior before the
stored one) mixed classes and frames into hits the tagger filed under the wrong class. A model without stored
latents samples N(0, 1).

Training (drumgen/train/steps.py vae_step): multi-resolution STFT loss + beta * KL (warmed up over 500 steps),
the class label dropped for `label_dropout` of the hits.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from drumgen.dsp import spectral
from drumgen.models import fastconv
from drumgen.models.base import BaseConfig, DrumModel
from drumgen.models.prior import LatentBank


@dataclasses.dataclass
class AutoencoderConfig(BaseConfig):
    sample_rate: int = 44100
    slice_length: int = 44032  # 43 frames of 1024 samples: one second of full-band audio
    frame: int = 1024  # samples per latent frame (23 ms at 44.1 kHz)
    latent_dims: int = 8  # temporal latent: numbers per frame
    global_dims: int = 32  # one timbre vector per hit
    channels: int = 128  # width of encoder and decoder trunks
    n_mels: int = 64  # encoder input bands
    noise_bands: int = 64  # mel-spaced bands of the noise path
    wave_channels: tuple[int, ...] = (64, 32, 16, 8)  # upsampler widths, one per x4 stage (4^4 = 256)
    res_blocks: int = 2  # residual blocks per trunk resolution
    label_dim: int = 16
    label_dropout: float = 0.2  # training: fraction of batches decoded with the "no label" embedding
    beta: float = 0.02  # weight of the KL term (per latent number, relative to the spectral loss)
    lr: float = 1e-3
    fft_sizes: tuple[int, ...] = (2048, 1024, 512, 256, 128)
    noise_seed: int = 1234
    batch_size: int = 16
    # Added with the partials path (issue 18); the defaults are the decoder before it, so older checkpoints load
    # as they were trained. The cpu preset below turns them on.
    partials: int = 0  # stable sinusoids per hit: frequencies and levels found in the hit, envelopes decoded
    noise_pool: int = 1  # noise realisations to draw from, in slices: 1 is one fixed noise for every hit
    wave_frames: int = 0  # frames the wave path draws (the attack and body); 0: the whole slice
    lr_half_life: int = 0  # training steps over which the learning rate halves, down to lr / 20; 0: constant
    mel_weight: float = 0.0  # weight of the log-mel loss beside the STFT loss (losses.LogMelLoss): band balance
    # weight of the class-keeping loss (losses.ClassLoss): the tagger (TrainOptions.tagger) hears the re-synthesis
    # as it hears the input; 0: off (every checkpoint before it)
    class_weight: float = 0.0


Config = AutoencoderConfig  # every model file's Config: `Autoencoder(Config(**stored))`

PRESETS: dict[str, dict[str, Any]] = {
    # Tests: builds in milliseconds, a step in well under 0.3 s on one core.
    "tiny": dict(sample_rate=22050, slice_length=8192, frame=256, latent_dims=4, global_dims=8, channels=32,
                 n_mels=32, noise_bands=24, wave_channels=(16, 8, 4), res_blocks=1, batch_size=8,
                 fft_sizes=(1024, 256, 64), lr=2e-3, prior_size=128, partials=8, noise_pool=4, wave_frames=16,
                 mel_weight=1.0),
    # Default: two seconds at 44.1 kHz (a crash keeps its tail): 48 partials, a noise drawn per hit, the wave
    # path on the first 0.74 s; encode + decode of one hit in a few milliseconds on a laptop core.
    "cpu": dict(slice_length=88 * 1024, partials=48, noise_pool=4, wave_frames=32, lr_half_life=1000,
                mel_weight=1.0),
    # The one-second decoder of the defaults before the partials path (fixed noise, no partials).
    "cpu-1s": dict(),
    # Wider trunks and finer latent for GPUs or long CPU runs.
    "large": dict(latent_dims=16, global_dims=64, channels=256, wave_channels=(128, 64, 32, 16), res_blocks=3,
                  batch_size=32, slice_length=88 * 1024, partials=64, noise_pool=4, wave_frames=32, lr_half_life=4000,
                  mel_weight=1.0),
}
DEFAULT_PRESET = "cpu"

SILENT = 1e-6  # a noise gain or partial amplitude below this (-120 dB) is not heard: its frame is not synthesized
HOP_FACTOR = 4  # the trunk runs at frame / 4 (hop 256 at the cpu preset) before the waveform upsampler

# A partial in the latent: its frequency as u = log(f / 20 Hz) / log(1000) (0..1 over 20 Hz..20 kHz) and its level
# as l = ln(magnitude / the hit's strongest partial's) / LEVEL_SCALE (about -4..0).
LEVEL_SCALE = 5.0
GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0  # k * GOLDEN mod 1 spreads whole numbers k evenly over [0, 1) (Weyl)


def partials_hz(u: torch.Tensor) -> torch.Tensor:
    return 20.0 * torch.pow(1000.0, u.clamp(0.0, 1.0))


def partials_unit(hz: torch.Tensor) -> torch.Tensor:
    return torch.log(hz.clamp_min(20.0) / 20.0) / math.log(1000.0)


class ResBlock(nn.Module):
    """Dilated non-causal conv residual block: [B, C, L] -> [B, C, L]."""

    def __init__(self, channels: int, dilation: int):
        super().__init__()
        self.conv1 = nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation)
        self.conv2 = nn.Conv1d(channels, channels, 1)

    def forward(self, h: torch.Tensor, run: fastconv.Plain = fastconv.PLAIN) -> torch.Tensor:
        return h + run(self.conv2, F.leaky_relu(run(self.conv1, F.leaky_relu(h, 0.2)), 0.2))


def res_stack(channels: int, n: int) -> nn.Sequential:
    return nn.Sequential(*[ResBlock(channels, 3**i) for i in range(n)])


class Encoder(nn.Module):
    """audio [B, T] -> per-frame (mu, logvar) [B, D, F] x2 and global (mu, logvar) [B, G] x2."""

    def __init__(self, c: AutoencoderConfig):
        super().__init__()
        self.c = c
        self.hop = c.frame // HOP_FACTOR
        self.inp = nn.Conv1d(c.n_mels, c.channels, 3, padding=1)
        self.fine = res_stack(c.channels, c.res_blocks)
        self.down = nn.Sequential(  # two stride-2 stages: hop frame/4 -> frame
            nn.Conv1d(c.channels, c.channels, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv1d(c.channels, c.channels, 4, stride=2, padding=1))
        self.coarse = res_stack(c.channels, c.res_blocks)
        self.temporal = nn.Conv1d(c.channels, 2 * c.latent_dims, 1)
        self.glob = nn.Linear(2 * c.channels, 2 * c.global_dims)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        frames = self.c.slice_length // self.c.frame
        n_fft = 4 * self.hop
        m = spectral.log_mel(x, self.c.sample_rate, n_fft, self.hop, self.c.n_mels)[..., : frames * HOP_FACTOR]
        m = (m + 5.0) / 5.0  # log-mel of -1 dBFS hits spans about -23..+5: bring it near unit range
        h = self.fine(self.inp(m))  # [B, mels, 4F] -> [B, C, 4F]
        h = self.coarse(self.down(h))  # [B, C, 4F] -> [B, C, F]
        mu_t, logvar_t = self.temporal(F.leaky_relu(h, 0.2)).chunk(2, dim=1)  # [B, D, F] x2
        pooled = torch.cat([h.mean(-1), h.amax(-1)], dim=1)  # [B, 2C]
        mu_g, logvar_g = self.glob(pooled).chunk(2, dim=1)  # [B, G] x2
        return mu_t, logvar_t.clamp(-12, 4), mu_g, logvar_g.clamp(-12, 4)


class Decoder(nn.Module):
    """(temporal z [B, D, F], global z [B, G], label [B]) -> audio [B, T] = noise path + wave path."""

    noise_spec: torch.Tensor
    band_to_bin: torch.Tensor

    def __init__(self, c: AutoencoderConfig):
        super().__init__()
        self.c = c
        self.hop = c.frame // HOP_FACTOR
        n_labels = len(c.labels)
        self.label = nn.Embedding(n_labels + 1, c.label_dim) if n_labels else None  # last index: "no label"
        cond = c.latent_dims + c.global_dims + (c.label_dim if n_labels else 0) + 2 * c.partials
        self.inp = nn.Conv1d(cond, c.channels, 3, padding=1)
        self.coarse = res_stack(c.channels, c.res_blocks)
        self.up = nn.ConvTranspose1d(c.channels, c.channels, 2 * HOP_FACTOR, stride=HOP_FACTOR, padding=HOP_FACTOR // 2)
        self.fine = res_stack(c.channels, c.res_blocks)
        # Noise path: log gains per band and STFT frame.
        self.noise_head = nn.Conv1d(c.channels, c.noise_bands, 3, padding=1)
        nn.init.normal_(self.noise_head.weight, 0.0, 0.01)
        # Start at a typical hit's level (noise RMS ~0.05): Adam moves a bias ~lr per step, so starting far from
        # the right level costs hundreds of steps of learning nothing else.
        assert self.noise_head.bias is not None  # a Conv1d has one unless asked not to
        nn.init.constant_(self.noise_head.bias, math.log(0.05))
        # Wave path: four x4 transposed-conv stages, hop/256 ... for hop=256 that is sample rate.
        widths = (c.channels, *c.wave_channels)
        stages = []
        for a, b in zip(widths[:-1], widths[1:], strict=True):
            stages += [nn.LeakyReLU(0.2), nn.ConvTranspose1d(a, b, 8, stride=4, padding=2),
                       nn.LeakyReLU(0.2), nn.Conv1d(b, b, 5, padding=2)]
        self.wave = nn.Sequential(*stages)
        self.wave_out = nn.Conv1d(widths[-1], 1, 7, padding=3)
        self._fast = fastconv.FastConv()  # inference on a CPU: the same layers, laid out as it runs them fastest
        # A per-frame gate on the wave path: silence after a hit is one number per frame to learn, instead of
        # every upsampler bias cancelling out (their leftovers are hum that the log-spectral loss hears).
        self.wave_gate = nn.Conv1d(c.channels, 1, 3, padding=1)
        if c.partials:
            # Partials path: log-amplitude of each partial per STFT frame, on top of its level in the hit.
            self.partial_head = nn.Conv1d(c.channels, c.partials, 3, padding=1)
            nn.init.normal_(self.partial_head.weight, 0.0, 0.01)
            assert self.partial_head.bias is not None
            nn.init.constant_(self.partial_head.bias, math.log(0.02))
        if c.wave_frames and not 0 < c.wave_frames <= c.slice_length // c.frame:
            raise ValueError(f"wave_frames ({c.wave_frames}) must be between 1 and the slice's "
                             f"{c.slice_length // c.frame} frames, or 0 for all of them")
        if 4 ** len(c.wave_channels) != self.hop:
            raise ValueError(f"frame {c.frame} needs log4(frame / {HOP_FACTOR}) upsampling stages; "
                             f"wave_channels has {len(c.wave_channels)}")
        # The noise source and the band -> STFT-bin interpolation (buffers rebuilt from the config, not saved):
        # noise_pool slices of white noise, of which each hit takes the slice starting at its own frame offset.
        n_fft = 4 * self.hop
        g = torch.Generator().manual_seed(c.noise_seed)
        noise = torch.randn(1, c.noise_pool * c.slice_length, generator=g)
        spec = spectral.stft(noise, n_fft, self.hop)
        spec = spec / spectral.istft(spec, n_fft, self.hop, noise.shape[1]).pow(2).mean().sqrt()  # gain 1 -> RMS 1
        # its STFT as real and imaginary parts: [n_fft/2+1, pool * T/hop + 1, 2]
        self.register_buffer("noise_spec", torch.view_as_real(spec[0]).contiguous(), persistent=False)
        self.stft_frames = c.slice_length // self.hop + 1
        self.offsets = self.noise_spec.shape[1] - self.stft_frames + 1  # noise slices to choose from
        fb = spectral.mel_filterbank(c.sample_rate, n_fft, c.noise_bands, 20.0)  # [bands, bins]
        interp = fb.T / fb.T.sum(1, keepdim=True).clamp_min(1e-9)
        self.register_buffer("band_to_bin", interp.clone(), persistent=False)  # [bins, bands]

    def forward(self, z_t: torch.Tensor, z_g: torch.Tensor, label: torch.Tensor | None,
                partials: torch.Tensor | None = None, offsets: torch.Tensor | None = None) -> torch.Tensor:
        """partials [B, 2 * partials]: each hit's partial frequencies and levels (Autoencoder.partials); offsets
        [B]: where in the noise pool each hit's noise starts, in STFT frames (0..self.offsets - 1; None: 0)."""
        c = self.c
        b, _, frames = z_t.shape
        parts = [z_t, z_g[:, :, None].expand(b, -1, frames)]
        if c.partials:
            if partials is None:
                raise ValueError("this decoder draws partials: pass each hit's frequencies and levels")
            parts.append(partials[:, :, None].expand(b, -1, frames))
        if self.label is not None:
            idx = label if label is not None else torch.full((b,), len(self.c.labels), dtype=torch.long,
                                                             device=z_t.device)
            parts.append(self.label(idx)[:, :, None].expand(b, -1, frames))
        run = fastconv.runner(self._fast, z_t)  # plain layers while training, drumgen.models.fastconv otherwise
        h = run(self.coarse, run(self.inp, run.enter(torch.cat(parts, 1))))  # [B, D+G(+E), F] -> [B, C, F]
        h = run(self.fine, run(self.up, h))  # [B, C, F] -> [B, C, 4F] (hop 256 at the cpu preset)
        # Noise path: [B, C, 4F] -> band gains [B, bands, 4F] -> bins [B, n_fft/2+1, 4F+1] -> audio [B, T]
        gains = F.pad(torch.exp(run.leave(run(self.noise_head, h)).clamp(-20, 4)), (0, 1), mode="replicate")
        log_amp = run.leave(run(self.partial_head, h)) if c.partials else None
        audio = self._spectral(gains, log_amp, partials, offsets)
        # Wave path: [B, C, 4W] -> [B, 8, W * frame] -> [B, W * frame], gated per frame, over the first W frames
        steps = 4 * c.wave_frames if c.wave_frames else h.shape[-1]
        h_w = h[..., :steps] if c.wave_frames else h
        span = steps * self.hop
        gate = F.interpolate(torch.sigmoid(run.leave(run(self.wave_gate, h_w))), size=span, mode="linear")
        wave = (run.leave(run(self.wave_out, run(self.wave, h_w))) * gate)[:, 0]
        if span < c.slice_length:  # the partials and the noise carry the tail: the wave path fades out in a frame
            wave = wave * self.wave_fade(span, wave)
            if not torch.is_grad_enabled():  # inference: added where it lands, no copy of the tail
                audio[:, :span] += wave
                return audio
            return torch.cat([audio[:, :span] + wave, audio[:, span:]], dim=1)
        return audio + wave

    @staticmethod
    def wave_fade(span: int, like: torch.Tensor) -> torch.Tensor:
        fade = like.new_ones(span)
        n = min(span, 1024)
        fade[span - n:] = 0.5 + 0.5 * torch.cos(torch.linspace(0, math.pi, n, device=like.device, dtype=like.dtype))
        return fade

    def _spectral(self, gains: torch.Tensor, log_amp: torch.Tensor | None, partials: torch.Tensor | None,
                  offsets: torch.Tensor | None) -> torch.Tensor:
        """The noise and partials paths from their heads' outputs (band gains [B, bands, 4F+1], partial
        log-amplitudes [B, K, 4F]) to audio [B, T]: band gains -> bins, times the hit's noise STFT, the partials
        drawn in, the inverse STFT. On a CPU without gradients as many hits at a time as torch has threads: a
        hit's spectrum (1.4 MB at the cpu preset) then stays in its core's cache through the passes over it,
        where a kit's (11.6 MB) does not."""
        b, c = len(gains), self.c
        inference = gains.device.type == "cpu" and not torch.is_grad_enabled()
        step = torch.get_num_threads()  # a hit per core: each one's spectrum stays in that core's cache
        if inference and b > step:
            def part(t: torch.Tensor | None, i: int) -> torch.Tensor | None:
                return None if t is None else t[i:i + step]
            return torch.cat([self._spectral(gains[i:i + step], part(log_amp, i), part(partials, i), part(offsets, i))
                              for i in range(0, b, step)])
        # at inference only the frames up to the last one heard: a kick's spectrum is a fifth of the slice's
        n = self._heard_frames(gains, log_amp, partials) if inference else self.stft_frames
        # each gain twice, for the real and the imaginary part: the bins come out as the spectrum's own layout
        pairs = gains[..., :n, None].expand(b, c.noise_bands, n, 2).reshape(b, c.noise_bands, -1)
        spec = self._times_noise((self.band_to_bin @ pairs).view(b, -1, n, 2), offsets)
        if c.partials:  # drawn into the noise's spectrum in place
            assert log_amp is not None and partials is not None
            spec = self._partials(log_amp[..., :n], partials, offsets, spec)
        return spectral.istft(torch.view_as_complex(spec), 4 * self.hop, self.hop, c.slice_length,
                              frames=self.stft_frames)

    def _heard_frames(self, gains: torch.Tensor, log_amp: torch.Tensor | None, partials: torch.Tensor | None) -> int:
        """STFT frames up to the last one in which any of these hits has a noise gain or a partial amplitude
        above SILENT; what the frames after it would add to the audio is below 1e-5."""
        loud = gains.amax(1) > SILENT  # [B, 4F+1]
        if log_amp is not None and partials is not None:
            level = partials[:, self.c.partials:].clamp(-4.0, 0.0)
            top = (log_amp + LEVEL_SCALE * level[:, :, None]).amax(1)  # [B, 4F]: log of the loudest partial
            loud |= torch.cat([top, top[:, -1:]], dim=1) > math.log(SILENT)  # its last frame stands for 4F too
        heard = loud.any(0).nonzero()
        return int(heard.max()) + 1 if len(heard) else 1

    def _times_noise(self, gains: torch.Tensor, offsets: torch.Tensor | None) -> torch.Tensor:
        """Gains per bin and frame [B, bins, n, 2] times each hit's noise STFT (the pool's frames from its offset
        on), in place; with gradients a new tensor."""
        n = gains.shape[2]
        if offsets is None or self.offsets == 1:
            return gains.mul_(self.noise_spec[None, :, :n])
        starts = offsets.long().clamp(0, self.offsets - 1).tolist()
        if torch.is_grad_enabled():
            return gains * torch.stack([self.noise_spec[:, s:s + n] for s in starts])
        for row, s in zip(gains, starts, strict=True):  # no stacked copy of the pool's slices
            row.mul_(self.noise_spec[:, s:s + n])
        return gains

    def _partials(self, log_amp: torch.Tensor, partials: torch.Tensor, offsets: torch.Tensor | None,
                  into: torch.Tensor) -> torch.Tensor:
        """log_amp [B, K, 4F] (the head, on the levels) + partials [B, 2K] -> their STFT added into `into`
        [B, bins, 4F+1, 2] (the noise's, which the expression making it left as a new tensor of its own; or the
        first n <= 4F of both)."""
        k, n_fft = self.c.partials, 4 * self.hop
        freq, level = partials_hz(partials[:, :k]), partials[:, k:].clamp(-4.0, 0.0)
        amps = torch.exp((log_amp + LEVEL_SCALE * level[:, :, None]).clamp(-20, 2))
        if amps.shape[2] < into.shape[2]:
            amps = F.pad(amps, (0, into.shape[2] - amps.shape[2]), mode="replicate")  # one amplitude per STFT frame
        # each partial's phase at sample 0: fixed per partial and noise offset, so a sound is reproducible
        seed = (offsets if offsets is not None else torch.zeros(len(freq), device=freq.device)).to(freq.dtype)
        phase = 2 * math.pi * torch.frac(0.6180339887 * (seed[:, None] + 1) * torch.arange(1, k + 1, device=freq.device))
        return spectral.partials_stft(freq * n_fft / self.c.sample_rate, amps, phase, n_fft, self.hop, into)


class Autoencoder(DrumModel):
    kind = "autoencoder"
    Config = AutoencoderConfig
    latent_prior = "gaussian"
    can_encode = True
    decode_batch = 8  # 64 hits: 386 ms at once, 209 ms in eights (2 cores, benchmarks/speed.py's machine)
    # Checkpoints written before the stored-latent prior lack the bank; they load and sample N(0, 1) until
    # training saves them again.
    optional_state = ("prior.",)
    config: AutoencoderConfig
    prior: LatentBank

    def __init__(self, config: AutoencoderConfig):
        super().__init__(config)
        c = config
        if c.slice_length % c.frame or c.frame % HOP_FACTOR:
            raise ValueError(f"slice_length ({c.slice_length}) must be a multiple of frame ({c.frame}), "
                             f"and frame a multiple of {HOP_FACTOR}")
        self.frames = c.slice_length // c.frame
        self.encoder = Encoder(c)
        self.decoder = Decoder(c)
        self.prior = LatentBank(c.prior_size, self.latent_shape)  # see the module docstring

    @property
    def latent_shape(self) -> tuple[int, ...]:
        c = self.config
        return (self.frames * c.latent_dims + c.global_dims + 2 * c.partials + self.seed_numbers,)

    @property
    def seed_numbers(self) -> int:
        """1 when each hit draws its own noise (its seed is the latent's last number), else 0."""
        return 1 if self.config.noise_pool > 1 else 0

    def held_latent(self) -> torch.Tensor | None:
        """The noise seed: a variation or a velocity layer of a sound keeps the sound's own noise."""
        if not self.seed_numbers:
            return None
        mask = torch.zeros(self.latent_size, dtype=torch.bool)
        mask[-1] = True
        return mask

    def measured_latent(self) -> torch.Tensor | None:
        """The partials' frequencies and levels (found in the hit, not learned) and the noise seed."""
        mask = self.held_latent()
        if not self.config.partials:
            return mask
        mask = torch.zeros(self.latent_size, dtype=torch.bool) if mask is None else mask
        start = self.frames * self.config.latent_dims + self.config.global_dims
        mask[start:start + 2 * self.config.partials] = True
        return mask

    # -- latent packing ------------------------------------------------------------------------------------
    def pack(self, z_t: torch.Tensor, z_g: torch.Tensor, partials: torch.Tensor | None = None) -> torch.Tensor:
        """[B, D, F] + [B, G] (+ [B, 2P]) -> [B, D*F + G + 2P (+ 1)]: the noise seed, where the model has one,
        is made from the other numbers, so the same hit always encodes to the same latent.

        The seed hashes the numbers' sum rounded to 0.1 (spread over [0, 1) by the golden ratio), coarse enough
        that the rounding of another batch size, thread count or CPU (about 1e-6 per number) leaves it alone: a
        hash of every number at full precision gave a hit one noise when encoded alone and another in a batch.
        Two hits may share a noise slice; everything else about them differs."""
        z = torch.cat([z_t.reshape(z_t.shape[0], -1), z_g, *([] if partials is None else [partials])], dim=1)
        if not self.seed_numbers:
            return z
        total = torch.round(z.double().sum(1, keepdim=True) * 10.0)
        seed = torch.remainder(total * GOLDEN, 1.0)
        return torch.cat([z, seed.to(z.dtype)], dim=1)

    def unpack(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """[B, D*F + G + 2P (+ 1)] -> [B, D, F], [B, G], [B, 2P] (P = config.partials, maybe 0)."""
        z = z.reshape(z.shape[0], -1)
        if z.shape[1] != self.latent_size:
            raise ValueError(f"this autoencoder takes latents of {self.latent_size} numbers; got {z.shape[1]}")
        n, g, p = self.frames * self.config.latent_dims, self.config.global_dims, 2 * self.config.partials
        return z[:, :n].reshape(-1, self.config.latent_dims, self.frames), z[:, n:n + g], z[:, n + g:n + g + p]

    def partials(self, x: torch.Tensor) -> torch.Tensor | None:
        """audio [B, slice_length] -> its strongest partials as latent numbers [B, 2P] (frequencies, then levels),
        found in its long-term spectrum (drumgen.dsp.spectral.spectral_peaks); None when the model has none."""
        c = self.config
        if not c.partials:
            return None
        hz, mag = spectral.spectral_peaks(x, c.sample_rate, c.partials, n_fft=4 * c.frame)
        level = torch.log(mag.clamp_min(1e-12) / mag.amax(-1, keepdim=True).clamp_min(1e-12)) / LEVEL_SCALE
        return torch.cat([partials_unit(hz), level.clamp(-4.0, 0.0)], dim=1)

    def noise_offsets(self, z: torch.Tensor) -> torch.Tensor | None:
        """Where each latent's noise starts in the decoder's pool, from its seed (the last number, any real: its
        fraction is used), so a latent always decodes to the same sound (None: a one-noise decoder)."""
        if not self.seed_numbers:
            return None
        n = self.decoder.offsets
        return (torch.remainder(z.reshape(z.shape[0], -1)[:, -1].double(), 1.0) * n).long().clamp(0, n - 1)

    def label_index(self, label: str | None, n: int) -> torch.Tensor | None:
        """Like DrumModel's, but no label means "unknown class" (the latent carries it), not a random class."""
        if self.config.labels and label is None:
            return torch.full((n,), len(self.config.labels), dtype=torch.long)
        return super().label_index(label, n)

    # -- encode and decode (sample_latents: DrumModel's, from the bank or N(0, 1)) ---------------------------
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """audio [B, slice_length] -> posterior means [B, D*F + G] (deterministic)."""
        if x.shape[-1] != self.config.slice_length:
            raise ValueError(f"encode takes hits of {self.config.slice_length} samples; got {x.shape[-1]} "
                             f"(prepare them with drumgen.io.audio.prepare)")
        mu_t, _, mu_g, _ = self.encoder(x)
        return self.pack(mu_t, mu_g, self.partials(x))

    def decode(self, z: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        """[B, D*F + G] (+ class indices [B]) -> audio [B, slice_length] in [-1, 1]."""
        z_t, z_g, partials = self.unpack(z)
        return self.decoder(z_t, z_g, label, partials, self.noise_offsets(z.reshape(z.shape[0], -1))).clamp(-1, 1)
