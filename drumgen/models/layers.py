"""What both GANs share: their config fields, class conditioning for the generator (label embedding concatenated
to z) and for the critic (a projection head, Miyato & Koyama 2018), the WGAN-GP update (Gulrajani et al. 2017),
and the latent fit that adapts a trained generator to a small kit.

The latent fit (`fit = "latent"`, what `drumgen train --init GAN --data KIT` does for a kit of up to
LATENT_FIT_MAX_HITS hits): every hit of the kit gets a latent, first the best of `FIT_CANDIDATES` prior samples
(Zhu et al. 2016's start for GAN inversion), then the latents and the generator are trained together to
reconstruct the hits (Generative Latent Optimization, Bojanowski et al. 2018, arXiv:1707.05776) under a
multi-resolution STFT loss (WaveGAN) or an L1 loss on the normalised spectrogram (SpecGAN). The fitted latents
are the model's stored prior: new hits blend neighbouring ones (DrumModel.sample_stored), as the Autoencoder's.
A handful of hits is too few for the critic to teach the generator anything in minutes (the adversarial fine-tune
of the default WaveGAN on a 27-hit kit moved its Frechet distance to the kit by +4% in 10 CPU-minutes); the
reconstruction does (benchmarks/RESULTS.md).

Kept apart from the models because WaveGAN and SpecGAN use them identically; everything specific to one model
(phase shuffle, the convolution stacks, what a reconstruction is compared on) stays in that model's file.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from torch import nn

from drumgen.models.base import BaseConfig

FITS = ("adversarial", "latent")
LATENT_FIT_MAX_HITS = 256  # `--fit auto` fits latents when fine-tuning a GAN on at most this many hits
FIT_CANDIDATES = 128  # prior samples tried per class as each hit's starting latent


@dataclasses.dataclass
class GANConfig(BaseConfig):
    """Fields WaveGAN's and SpecGAN's configs share."""

    latent_dim: int = 100
    latent_prior: str = "uniform"  # "uniform" z ~ U(-1, 1) as the paper, or "gaussian"
    d: int = 16  # model width: G's last hidden layer has d channels, its first 16d
    label_dim: int = 16  # size of the class embedding concatenated to z (conditional models)
    gp_weight: float = 10.0
    n_critic: int = 5  # critic updates per generator update
    lr: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.9
    batch_size: int = 32
    fit: str = "adversarial"  # "adversarial" (WGAN-GP) or "latent" (fit latents + G to a small kit)
    fit_lr: float = 3e-4  # latent fit: the generator's learning rate
    fit_latent_lr: float = 0.02  # latent fit: the latents' learning rate
    prior_size: int = LATENT_FIT_MAX_HITS  # latent fit: stored latents (one per hit of the kit)

    def __post_init__(self):
        if self.latent_prior not in ("uniform", "gaussian"):
            raise ValueError(f"latent_prior must be 'uniform' or 'gaussian'; got {self.latent_prior!r}")
        if self.d < 1 or self.n_critic < 1:
            raise ValueError(f"d and n_critic must be positive; got d={self.d}, n_critic={self.n_critic}")
        if self.fit not in FITS:
            raise ValueError(f"fit must be one of {', '.join(FITS)}; got {self.fit!r}")


class LabelConcat(nn.Module):
    """z [B, latent_dim] (+ class indices y [B]) -> [B, latent_dim + label_dim].

    Conditioning by concatenation (Mirza & Osindero 2014, "Conditional GANs"): a learned vector per class rides
    along with z into the generator's first dense layer. With no classes it is the identity.
    """

    def __init__(self, n_labels: int, label_dim: int):
        super().__init__()
        self.embed = nn.Embedding(n_labels, label_dim) if n_labels else None
        self.out_extra = label_dim if n_labels else 0

    def forward(self, z: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        if self.embed is None:
            return z
        if y is None:
            raise ValueError("this generator is class-conditional: give class indices y [B]")
        return torch.cat([z, self.embed(y)], dim=1)


class ProjectionHead(nn.Module):
    """Critic output from flattened features h [B, F] (+ y [B]) -> scores [B].

    score = w.h + b (+ embed(y).h): the projection discriminator (Miyato & Koyama, "cGANs with Projection
    Discriminator", ICLR 2018), which conditions the critic without feeding labels through its convolutions.
    No sigmoid: a WGAN critic outputs an unbounded score.
    """

    def __init__(self, features: int, n_labels: int):
        super().__init__()
        self.linear = nn.Linear(features, 1)
        self.embed = nn.Embedding(n_labels, features) if n_labels else None
        if self.embed is not None:
            nn.init.normal_(self.embed.weight, std=features ** -0.5)

    def forward(self, h: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        score = self.linear(h)[:, 0]
        if self.embed is not None:
            if y is None:
                raise ValueError("this critic is class-conditional: give class indices y [B]")
            score = score + (self.embed(y) * h).sum(dim=1)
        return score


class WGANGP:
    """The WGAN-GP training of a model with a generator `G(z, y)` and a critic `D(h, y)`, where `real` is what the
    critic sees of a batch (a waveform for WaveGAN, a normalised spectrogram for SpecGAN), and its latent fit.
    Mixed into the models."""

    def sample_latents(self, n: int, generator: torch.Generator | None = None,
                       labels: torch.Tensor | None = None) -> torch.Tensor:
        """New hits' latents: blends of the stored (fitted) latents after a latent fit, else the fixed prior."""
        if self.has_stored_prior:
            return self.sample_stored(n, generator, labels).clamp(-self.latent_limit(), self.latent_limit())
        return self.fixed_latents(n, generator)

    def make_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        cfg = self.config
        betas = (cfg.beta1, cfg.beta2)
        if cfg.fit == "latent":  # the stored latents are trained with G (rows past prior_count get no gradient)
            self.prior_latents.requires_grad_(True)
            return {"fit": torch.optim.Adam([{"params": [self.prior_latents], "lr": cfg.fit_latent_lr},
                                             {"params": list(self.G.parameters()), "lr": cfg.fit_lr}], betas=betas)}
        return {"D": torch.optim.Adam(self.D.parameters(), cfg.lr, betas),
                "G": torch.optim.Adam(self.G.parameters(), cfg.lr, betas)}

    # -- the latent fit (see the module docstring) -------------------------------------------------------
    def fit_target(self, x: torch.Tensor) -> torch.Tensor:
        """Hits [B, slice_length] -> what G's output is compared with (shaped like G's output)."""
        raise NotImplementedError

    def reconstruction_loss(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def fit_signature(self, out: torch.Tensor) -> torch.Tensor:
        """G's output (or a fit target) [B, ...] -> a flat vector per item, compared by L1 to pick start latents."""
        raise NotImplementedError

    @torch.no_grad()
    def start_latent_fit(self, x: np.ndarray, y: np.ndarray | None, generator: torch.Generator) -> None:
        """Give each hit of x [N, slice_length] (classes y [N]) the nearest of FIT_CANDIDATES prior samples
        (decoded with the hit's class), by L1 between fit signatures, and store them as the prior."""
        was_training = self.training
        self.eval()
        try:
            dev = self.device
            xt = torch.from_numpy(np.asarray(x, dtype=np.float32))
            sig = torch.cat([self.fit_signature(self.fit_target(xt[s:s + 64].to(dev))).cpu()
                             for s in range(0, len(xt), 64)])
            z = torch.empty(len(xt), self.config.latent_dim)
            classes = [None] if y is None else sorted({int(c) for c in y})
            for cls in classes:
                members = torch.arange(len(xt)) if cls is None else torch.from_numpy(np.nonzero(y == cls)[0])
                cand = self.fixed_latents(FIT_CANDIDATES, generator)  # on the CPU: the same on every device
                label = None if cls is None else torch.full((FIT_CANDIDATES,), cls, dtype=torch.long, device=dev)
                out = torch.cat([self.fit_signature(self.G(cand[s:s + 32].to(dev),
                                                           None if label is None else label[s:s + 32])).cpu()
                                 for s in range(0, FIT_CANDIDATES, 32)])
                z[members] = cand[torch.cdist(sig[members], out, p=1).argmin(1)]
            self.store_latents(z, y)
        finally:
            self.train(was_training)

    def latent_fit_step(self, idx: torch.Tensor, x: torch.Tensor, y: torch.Tensor | None,
                        opt: dict[str, torch.optim.Optimizer]) -> dict[str, float]:
        """One update of the latents of hits idx [B] (audio x [B, slice_length]) and of G, towards the hits."""
        loss = self.reconstruction_loss(self.G(self.prior_latents[idx], y), self.fit_target(x))
        self.optimize(opt["fit"], loss)
        with torch.no_grad():
            self.prior_latents.clamp_(-self.latent_limit(), self.latent_limit())
        return {"reconstruction": loss.item()}

    def wgan_gp_step(self, real: torch.Tensor, y: torch.Tensor | None, opt: dict[str, torch.optim.Optimizer],
                     step: int) -> dict[str, float]:
        """One critic update; a generator update too on every n_critic-th step. Returns named losses."""
        from drumgen.losses import gradient_penalty

        cfg = self.config
        # (1) Update D: maximise D(real) - D(G(z)), with the gradient penalty keeping D 1-Lipschitz
        with torch.no_grad():
            fake = self.G(self.fixed_latents(real.shape[0]).to(real.device), y)
        d_real, d_fake = self.D(real, y).mean(), self.D(fake, y).mean()
        gp = gradient_penalty(self.D, real, fake, y)
        d_loss = d_fake - d_real + cfg.gp_weight * gp
        self.optimize(opt["D"], d_loss)
        losses = {"d_loss": d_loss.item(), "wasserstein": (d_real - d_fake).item(), "gp": gp.item()}
        # (2) Update G: maximise D(G(z)), once per n_critic critic updates
        if (step + 1) % cfg.n_critic == 0:
            self.D.requires_grad_(False)  # no critic gradients needed here: saves a third of the backward
            try:
                g_loss = -self.D(self.G(self.fixed_latents(real.shape[0]).to(real.device), y), y).mean()
                self.optimize(opt["G"], g_loss)
            finally:
                self.D.requires_grad_(True)
            losses["g_loss"] = g_loss.item()
        return losses
