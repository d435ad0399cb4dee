"""The training steps: plain functions of (model, batch, optimizers) that update the model once and return a flat
dict of named losses. The loop (loop.py) owns everything around them: data, budget, logging, checkpoints.

    make_optimizers(model)                  each kind's optimizers by name (the resume state stores them by name)
    train_step(model, x, y, opt, step)      the kind's update (STEPS): wgan_gp_step for the GANs, vae_step for
                                            the autoencoder
    start_latent_fit / latent_fit_step      a GAN fine-tuned on a small kit: fit a latent per hit, and G with them
    fit_latent_prior(model, x, y)           an autoencoder banks its training hits' latents before each checkpoint
    optimize(opt, loss)                     zero_grad, backward, gradients averaged over processes, step

WGAN-GP (Gulrajani et al. 2017, arXiv:1704.00028): the critic D maximises D(real) - D(G(z)) under a gradient
penalty that keeps it 1-Lipschitz; G maximises D(G(z)), once per `n_critic` critic updates. One step is one critic
update, so every step is one batch and equally cheap, and a resume is exact at any step.

The latent fit (`fit = "latent"`, what `drumgen train --init GAN --data KIT` does for a kit of up to
LATENT_FIT_MAX_HITS hits): every hit of the kit gets a latent, first the best of FIT_CANDIDATES prior samples
(Zhu et al. 2016's start for GAN inversion), then the latents and the generator are trained together to
reconstruct the hits (Generative Latent Optimization, Bojanowski et al. 2018, arXiv:1707.05776). The fitted latents
are the model's bank (models/prior.py): new hits blend neighbouring ones, as the Autoencoder's. A handful of hits
is too few for the critic to teach the generator anything in minutes (the adversarial fine-tune of the default
WaveGAN on a 27-hit kit moved its Frechet distance to the kit by +4% in 10 CPU-minutes); the reconstruction does
(benchmarks/RESULTS.md).

Data parallelism (torchrun): every process computes gradients on its own batch, and `optimize` averages them with
an all-reduce before each optimizer step. That is what DistributedDataParallel does, done by hand because the
gradient penalty differentiates through the critic twice, which DDP's hooks do not support.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch
import torch.distributed as dist

from drumgen.dsp import spectral
from drumgen.losses import ClassLoss, LogMelLoss, MultiResolutionSTFTLoss, gradient_penalty
from drumgen.models.prior import stratified_subset

if TYPE_CHECKING:  # the model files are imported when a kind is asked for (drumgen.models.model_class)
    from drumgen.models.autoencoder import Autoencoder
    from drumgen.models.base import DrumModel
    from drumgen.models.specgan import SpecGAN
    from drumgen.models.wavegan import WaveGAN

    GAN = WaveGAN | SpecGAN

FIT_CANDIDATES = 128  # latent fit: prior samples tried per class as each hit's starting latent
Optimizers = dict[str, torch.optim.Optimizer]


# -- the update every step ends with ------------------------------------------------------------------------

def all_reduce_gradients(opt: torch.optim.Optimizer) -> None:
    """Average the gradients of opt's parameters over the processes of a torchrun (a no-op in one process)."""
    if not (dist.is_available() and dist.is_initialized()):
        return
    world = dist.get_world_size()
    # each rank's gradients live on its own device (gloo: CPU tensors, NCCL: that rank's GPU)
    for group in opt.param_groups:
        for p in group["params"]:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
            dist.all_reduce(p.grad)
            p.grad /= world


def optimize(opt: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    """zero_grad, backward, average gradients over processes (torchrun), step. Every step below uses it."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    all_reduce_gradients(opt)
    opt.step()


# -- how the GANs differ in training ---------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class GANKind:
    """What one GAN's training compares. `real` turns hits [B, T] into what G outputs: what the critic sees and
    what a latent fit reconstructs. `reconstruction` scores G's output against it; `signature` flattens either
    [B, ...] -> [B, F] for the L1 comparison that picks each hit's starting latent."""

    real: Callable[[Any, torch.Tensor], torch.Tensor]
    reconstruction: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    signature: Callable[[torch.Tensor], torch.Tensor]


_WAVE_FIT_LOSS = MultiResolutionSTFTLoss((2048, 512, 128))


def _waveform(model: WaveGAN, x: torch.Tensor) -> torch.Tensor:
    return x[:, None]  # [B, T] -> [B, 1, T], as G's output


def _spectrogram(model: SpecGAN, x: torch.Tensor) -> torch.Tensor:
    return model.normalize(x)  # [B, T] -> [B, 1, 128, 128]: no Griffin-Lim in the loop


GANS: dict[str, GANKind] = {
    # waveforms compared by their multi-resolution spectra
    "wavegan": GANKind(real=_waveform,
                       reconstruction=lambda out, target: _WAVE_FIT_LOSS(out[:, 0], target[:, 0]),
                       signature=lambda out: torch.log(spectral.magnitude(out[:, 0], 512) + 1e-5).flatten(1)),
    # normalised spectrograms compared by L1
    "specgan": GANKind(real=_spectrogram,
                       reconstruction=lambda out, target: (out - target).abs().mean(),
                       signature=lambda out: out.flatten(1)),
}


def gan_optimizers(model: GAN) -> Optimizers:
    """Adam for D and G (WGAN-GP), or one Adam for the stored latents and G together (a latent fit)."""
    cfg = model.config
    betas = (cfg.beta1, cfg.beta2)
    if cfg.fit == "latent":
        # the bank's latents are what the fit learns, with G (rows past its count get no gradient)
        latents = model.prior.latents.requires_grad_(True)
        return {"fit": torch.optim.Adam([{"params": [latents], "lr": cfg.fit_latent_lr},
                                         {"params": list(model.G.parameters()), "lr": cfg.fit_lr}], betas=betas)}
    return {"D": torch.optim.Adam(model.D.parameters(), cfg.lr, betas),
            "G": torch.optim.Adam(model.G.parameters(), cfg.lr, betas)}


def wgan_gp_step(model: GAN, x: torch.Tensor, y: torch.Tensor | None, opt: Optimizers,
                 step: int) -> dict[str, float]:
    """One critic update on real hits x [B, slice_length] (classes y [B] or None); a generator update too on
    every n_critic-th step."""
    cfg = model.config
    real = GANS[model.kind].real(model, x)
    # (1) Update D: maximise D(real) - D(G(z)), with the gradient penalty keeping D 1-Lipschitz
    with torch.no_grad():
        fake = model.G(model.fixed_latents(real.shape[0]).to(real.device), y)
    d_real, d_fake = model.D(real, y).mean(), model.D(fake, y).mean()
    gp = gradient_penalty(model.D, real, fake, y)
    d_loss = d_fake - d_real + cfg.gp_weight * gp
    optimize(opt["D"], d_loss)
    losses = {"d_loss": d_loss.item(), "wasserstein": (d_real - d_fake).item(), "gp": gp.item()}
    # (2) Update G: maximise D(G(z)), once per n_critic critic updates
    if (step + 1) % cfg.n_critic == 0:
        model.D.requires_grad_(False)  # no critic gradients needed here: saves a third of the backward
        try:
            g_loss = -model.D(model.G(model.fixed_latents(real.shape[0]).to(real.device), y), y).mean()
            optimize(opt["G"], g_loss)
        finally:
            model.D.requires_grad_(True)
        losses["g_loss"] = g_loss.item()
    return losses


# -- a GAN's latent fit to a small kit (see the module docstring) ------------------------------------------

@torch.no_grad()
def start_latent_fit(model: GAN, x: np.ndarray, y: np.ndarray | None, generator: torch.Generator) -> None:
    """Give each hit of x [N, slice_length] (classes y [N]) the nearest of FIT_CANDIDATES prior samples (decoded
    with the hit's class), by L1 between signatures, and make them the model's bank."""
    kind = GANS[model.kind]
    was_training = model.training
    model.eval()
    try:
        dev = model.device
        xt = torch.from_numpy(np.asarray(x, dtype=np.float32))
        sig = torch.cat([kind.signature(kind.real(model, xt[s:s + 64].to(dev))).cpu()
                         for s in range(0, len(xt), 64)])
        z = torch.empty(len(xt), model.config.latent_dim)
        classes = [None] if y is None else sorted({int(c) for c in y})
        for cls in classes:
            members = torch.arange(len(xt)) if y is None else torch.from_numpy(np.nonzero(y == cls)[0])
            cand = model.fixed_latents(FIT_CANDIDATES, generator)  # on the CPU: the same on every device
            label = None if cls is None else torch.full((FIT_CANDIDATES,), cls, dtype=torch.long, device=dev)
            out = torch.cat([kind.signature(model.G(cand[s:s + 32].to(dev),
                                                    None if label is None else label[s:s + 32])).cpu()
                             for s in range(0, FIT_CANDIDATES, 32)])
            z[members] = cand[torch.cdist(sig[members], out, p=1).argmin(1)]
        model.prior.store(z, y)
    finally:
        model.train(was_training)


def latent_fit_step(model: GAN, idx: torch.Tensor, x: torch.Tensor, y: torch.Tensor | None,
                    opt: Optimizers) -> dict[str, float]:
    """One update of the latents of hits idx [B] (audio x [B, slice_length]) and of G, towards the hits."""
    kind = GANS[model.kind]
    loss = kind.reconstruction(model.G(model.prior.latents[idx], y), kind.real(model, x))
    optimize(opt["fit"], loss)
    with torch.no_grad():
        model.prior.latents.clamp_(-model.latent_limit(), model.latent_limit())
    return {"reconstruction": loss.item()}


# -- the autoencoder ---------------------------------------------------------------------------------------

def vae_optimizers(model: Autoencoder) -> Optimizers:
    return {"ae": torch.optim.Adam(model.parameters(), lr=model.config.lr, betas=(0.9, 0.99))}


def vae_learning_rate(config: Any, step: int) -> float:
    """The autoencoder's learning rate at a step: lr, halved every lr_half_life steps down to lr / 20 (a step count,
    not a clock, so a resumed run continues the same schedule)."""
    if not config.lr_half_life:
        return config.lr
    return config.lr * max(1 / 20, 0.5 ** (step / config.lr_half_life))


def vae_step(model: Autoencoder, x: torch.Tensor, y: torch.Tensor | None, opt: Optimizers,
             step: int, judge: ClassLoss | None = None) -> dict[str, float]:
    """One update on hits x [B, slice_length]: multi-resolution STFT loss + mel_weight * log-mel loss +
    class_weight * the class-keeping loss (judge: a frozen tagger) + beta * KL, the KL warmed up over the first 500
    steps, the learning rate decayed by vae_learning_rate; the class (y [B] or None) is dropped to "no label" for
    label_dropout of the hits."""
    c = model.config
    if c.class_weight and judge is None:
        raise ValueError("class_weight > 0 needs the tagger that judges it (losses.ClassLoss)")
    for group in opt["ae"].param_groups:
        group["lr"] = vae_learning_rate(c, step)
    mu_t, logvar_t, mu_g, logvar_g = model.encoder(x)
    # Reparameterisation: z = mu + sigma * eps (Kingma & Welling 2014).
    z_t = mu_t + torch.randn_like(mu_t) * torch.exp(0.5 * logvar_t)
    z_g = mu_g + torch.randn_like(mu_g) * torch.exp(0.5 * logvar_g)
    if y is not None and c.labels:
        drop = torch.rand(y.shape, device=y.device) < c.label_dropout
        y = torch.where(drop, torch.full_like(y, len(c.labels)), y)
    # a fresh noise for every hit and step: the decoder learns band gains, not one noise's pattern
    offsets = torch.randint(0, model.decoder.offsets, (x.shape[0],), device=x.device)
    x_hat = model.decoder(z_t, z_g, y, model.partials(x), offsets)
    rec = MultiResolutionSTFTLoss(tuple(c.fft_sizes))(x_hat, x)
    # band balance on a mel scale, as a listener and the tagger hear it (losses.LogMelLoss)
    mel = LogMelLoss(c.sample_rate)(x_hat, x) if c.mel_weight else rec.new_zeros(())
    # the tagger hears the re-synthesis as it hears the input (losses.ClassLoss)
    keep = judge(x_hat, x) if c.class_weight and judge is not None else rec.new_zeros(())
    kl = 0.5 * (torch.cat([(mu_t**2 + logvar_t.exp() - 1 - logvar_t).flatten(1),
                           mu_g**2 + logvar_g.exp() - 1 - logvar_g], 1)).mean()
    # KL warm-up over the first 500 steps: reconstruction first, then pull towards the prior.
    loss = rec + c.mel_weight * mel + c.class_weight * keep + c.beta * min(1.0, step / 500) * kl
    optimize(opt["ae"], loss)
    return {"stft": rec.item(), "mel": mel.item(), **({"class": keep.item()} if c.class_weight else {}),
            "kl": kl.item(), "loss": loss.item(), "lr": opt["ae"].param_groups[0]["lr"]}


@torch.no_grad()
def fit_latent_prior(model: DrumModel, x: np.ndarray, y: np.ndarray | None = None, seed: int = 0) -> None:
    """A model with an encoder banks the latents of its training hits x [N, slice_length] (classes y [N], -1 for
    none) as its sampling prior: of more than prior_size hits, a subset that keeps every class's share. A GAN has
    nothing to do here: its bank holds what a latent fit left, or nothing."""
    if not model.can_encode or model.prior is None:
        return
    y = np.full(len(x), -1, dtype=np.int64) if y is None else np.asarray(y, dtype=np.int64)
    keep = stratified_subset(y, model.config.prior_size, seed)
    was_training = model.training
    model.eval()
    try:
        z = torch.cat([model.encode(torch.from_numpy(x[keep[s:s + 64]]).to(model.device)).cpu()
                       for s in range(0, len(keep), 64)])
    finally:
        model.train(was_training)
    model.prior.store(z, y[keep])


# -- by kind -----------------------------------------------------------------------------------------------

OPTIMIZERS: dict[str, Callable[[Any], Optimizers]] = {
    "wavegan": gan_optimizers, "specgan": gan_optimizers, "autoencoder": vae_optimizers}
STEPS: dict[str, Callable[[Any, torch.Tensor, torch.Tensor | None, Optimizers, int], dict[str, float]]] = {
    "wavegan": wgan_gp_step, "specgan": wgan_gp_step, "autoencoder": vae_step}


def _of_kind(table: dict[str, Any], model: DrumModel) -> Any:
    if model.kind not in table:
        raise ValueError(f"drumgen has no training step for a {model.kind}; it trains {', '.join(table)}")
    return table[model.kind]


def make_optimizers(model: DrumModel) -> Optimizers:
    """The optimizers of a model's training by name (after the model is moved to its device: they hold its
    parameters)."""
    return _of_kind(OPTIMIZERS, model)(model)


def train_step(model: DrumModel, x: torch.Tensor, y: torch.Tensor | None, opt: Optimizers,
               step: int, judge: ClassLoss | None = None) -> dict[str, float]:
    """The model kind's own update on hits x [B, slice_length] (classes y [B] or None); returns named losses.
    judge: the frozen tagger of an autoencoder's class-keeping loss (its config's class_weight)."""
    if judge is not None:
        if model.kind != "autoencoder":
            raise ValueError(f"the class-keeping loss is the autoencoder's; a {model.kind} has none")
        return vae_step(cast("Autoencoder", model), x, y, opt, step, judge)
    return _of_kind(STEPS, model)(model, x, y, opt, step)
