"""Losses shared by the models. One nn.Module or function per loss, with the paper it comes from."""

from __future__ import annotations

import math

import torch
from torch import nn

from drumgen.dsp import spectral


class MultiResolutionSTFTLoss(nn.Module):
    """Spectral convergence + log-magnitude L1 summed over several STFT sizes.

    Yamamoto et al., "Parallel WaveGAN", ICASSP 2020 (arXiv:1910.11480), eq. 4-6. Several resolutions stop the
    model from trading time resolution for frequency resolution: transients and tones both count.
    x, y: [B, T]. Returns a scalar.
    """

    def __init__(self, fft_sizes: tuple[int, ...] = (2048, 1024, 512, 256, 128), eps: float = 1e-5):
        super().__init__()
        self.fft_sizes = fft_sizes
        self.eps = eps

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        total = x.new_zeros(())
        for n_fft in self.fft_sizes:
            mx = spectral.magnitude(x, n_fft)
            my = spectral.magnitude(y, n_fft)
            convergence = torch.linalg.norm(my - mx, dim=(1, 2)) / torch.linalg.norm(my, dim=(1, 2)).clamp_min(self.eps)
            log_l1 = (torch.log(mx + self.eps) - torch.log(my + self.eps)).abs().mean(dim=(1, 2))
            total = total + (convergence + log_l1).mean()
        return total / len(self.fft_sizes)


class LogMelLoss(nn.Module):
    """L1 distance of log mel-band energies (natural log of each band's mean power).

    The mel-spectrogram loss of HiFi-GAN (Kong et al., NeurIPS 2020, arXiv:2010.05646, eq. 3). The STFT loss's log
    term weighs every linear bin alike, so a kick's sub-bass (20-100 Hz: 4 of 1025 bins at n_fft 2048) counts for
    little there; on a mel scale each band weighs alike, which is how a listener (and the tagger, which hears
    log-mel bands) hears a hit's balance: an autoencoder whose mel bands sit a few dB off turns kicks into toms. eps floors a band's power about
    84 dB below a full-scale sine's bin at n_fft 2048 (2.6e5), so silence between and after hits, where the log of
    nothing is any number, does not outweigh the hit. x, y: [B, T]. Returns a scalar.
    """

    def __init__(self, sample_rate: int, n_fft: int = 2048, n_mels: int = 64, eps: float = 1e-3):
        super().__init__()
        self.sample_rate, self.n_fft, self.n_mels, self.eps = sample_rate, n_fft, n_mels, eps

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        def bands(a: torch.Tensor) -> torch.Tensor:
            return spectral.log_mel(a, self.sample_rate, self.n_fft, self.n_fft // 4, self.n_mels, self.eps)
        return (bands(x) - bands(y)).abs().mean()


class ClassLoss(nn.Module):
    """How differently the tagger hears x from the reference y: the KL divergence of its class probabilities on x
    from those on y, plus the L1 distance of its penultimate features (relative to y's mean feature), so a
    re-synthesis the tagger hears as it hears its input scores 0, and one it already names right is still drawn
    towards sounding the same to it (the KL alone is flat there, and on a hit unlike the train kits).

    A perceptual loss in the sense of Johnson et al., "Perceptual Losses for Real-Time Style Transfer", ECCV 2016
    (arXiv:1603.08155): a frozen classifier judges what a spectral distance weighs too little (a kick's re-synthesis
    a few dB off in the sub-bass is near on the STFT loss and a tom to the ear). The tagger
    (drumgen.models.tagger, one network or an ensemble) is frozen and in eval mode; audio at sample_rate reaches
    it band-limited to its own rate by an FFT brick wall (differentiable, where the tagger's inference uses soxr;
    alike below the cut-off). x, y: [B, T]. Returns a scalar; gradients flow into x only.
    """

    def __init__(self, tagger: nn.Module, sample_rate: int):
        super().__init__()
        self.tagger = tagger.eval().requires_grad_(False)
        self.sample_rate = sample_rate
        self.rate = int(tagger.config.sample_rate)

    def resample(self, x: torch.Tensor) -> torch.Tensor:
        if self.sample_rate == self.rate:
            return x
        n = round(x.shape[-1] * self.rate / self.sample_rate)
        spectrum = torch.fft.rfft(x)
        keep = min(spectrum.shape[-1], n // 2 + 1)
        return torch.fft.irfft(spectrum[..., :keep], n=n) * (n / x.shape[-1])

    def heard(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x [B, T] -> the tagger's log class probabilities [B, C] (an ensemble's: of its members' mean) and its
        penultimate features [B, members * hidden]."""
        spec = self.tagger.spectrogram(self.resample(x))
        nets = self.tagger.networks()
        features = [net.features_of(spec) for net in nets]
        logp = torch.stack([torch.log_softmax(net.head(f), dim=1) for net, f in zip(nets, features, strict=True)])
        return torch.logsumexp(logp, dim=0) - math.log(len(nets)), torch.cat(features, dim=1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        self.tagger.eval()  # a parent module's .train() must not wake its batch norm or dropout
        with torch.no_grad():
            target, target_features = self.heard(y)
        logp, features = self.heard(x)
        kl = (target.exp() * (target - logp)).sum(dim=1).mean()
        return kl + (features - target_features).abs().mean() / target_features.abs().mean().clamp_min(1e-6)


def gradient_penalty(D, real: torch.Tensor, fake: torch.Tensor, *cond) -> torch.Tensor:
    """WGAN-GP: E[(||grad_x D(x_hat)||_2 - 1)^2] on random interpolates x_hat between real and fake.

    Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017 (arXiv:1704.00028), eq. 3. It keeps
    the critic 1-Lipschitz without weight clipping. `real`, `fake`: [B, ...] of the same shape (waveforms or
    spectrograms); `cond` is passed on to D (class indices). Returns a scalar that stays differentiable with
    respect to D's parameters (create_graph), so the caller adds lambda * it to the critic loss.
    """
    if real.shape != fake.shape:
        raise ValueError(f"real and fake batches differ in shape: {tuple(real.shape)} vs {tuple(fake.shape)}")
    eps = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), device=real.device, dtype=real.dtype)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    score = D(x_hat, *cond)
    (grad,) = torch.autograd.grad(score.sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
