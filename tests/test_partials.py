"""The autoencoder's partials path and per-hit noise (issue 18): finding a hit's partials, drawing them into an STFT,
and what the decoder does with them. Synthesized tones, tiny presets, one core."""

from __future__ import annotations

import math

import numpy as np
import torch

from drumgen import checkpoint
from drumgen.dsp import spectral
from drumgen.models.autoencoder import PRESETS, Autoencoder, Config, partials_hz, partials_unit

torch.set_num_threads(1)
RATE = 44100


def tones(freqs, amps, length=44100, decay=3.0, phase=None, rate=RATE):
    t = torch.arange(length) / rate
    phase = phase or [0.0] * len(freqs)
    x = sum(a * torch.cos(2 * math.pi * f * t + p) for f, a, p in zip(freqs, amps, phase, strict=True))
    return (x * torch.exp(-decay * t))[None]


def test_spectral_peaks_finds_inharmonic_partials_in_order():
    freqs = [523.0, 1187.5, 3311.0, 7420.0]  # a bell-like, inharmonic set
    hz, mag = spectral.spectral_peaks(tones(freqs, [0.5, 0.3, 0.2, 0.1]), RATE, 4)
    assert hz.shape == mag.shape == (1, 4)
    assert torch.all(hz[0, 1:] > hz[0, :-1])  # ascending
    assert np.allclose(hz[0].numpy(), freqs, atol=2.0)  # within 2 Hz (bins are 10.8 Hz wide)
    assert torch.all(mag[0, :-1] > mag[0, -1])  # the weakest partial is the weakest peak


def test_partials_stft_is_the_stft_of_the_sinusoids():
    n_fft, hop, length = 1024, 256, 22016
    frames = length // hop + 1
    bins = torch.tensor([[1.2, 23.4, 180.77]])  # 1.2 bins: a kick's 52 Hz at 44.1 kHz
    amps = torch.tensor([0.4, 0.5, 0.2])[None, :, None].expand(1, 3, frames)
    phase = torch.tensor([[1.0, 0.3, 2.0]])
    y = spectral.istft(torch.view_as_complex(spectral.partials_stft(bins, amps, phase, n_fft, hop)), n_fft, hop,
                       length)[0]
    n = torch.arange(length)
    want = sum(a * torch.cos(2 * math.pi * b / n_fft * n + p)
               for b, a, p in zip(bins[0], (0.4, 0.5, 0.2), phase[0], strict=True))
    inner = slice(n_fft, -n_fft)  # the first and last half-frames see only one side of the window
    err = (y - want)[inner].abs().max()
    assert 20 * math.log10(err / 1.1) < -40  # only the window's main lobe is drawn: about -45 dB
    # and it is differentiable in the amplitudes (what the decoder learns)
    a = amps.clone().requires_grad_()
    spectral.partials_stft(bins, a, phase, n_fft, hop).square().sum().backward()
    assert a.grad is not None and torch.isfinite(a.grad).all() and a.grad.abs().sum() > 0


def test_unit_frequencies_round_trip():
    hz = torch.tensor([20.0, 440.0, 12000.0, 20000.0])
    assert torch.allclose(partials_hz(partials_unit(hz)), hz, rtol=1e-5)


def tiny(**kw) -> Autoencoder:
    torch.manual_seed(0)
    return Autoencoder(Config(**{**PRESETS["tiny"], **kw})).eval()


def test_latent_carries_the_hits_partials():
    m = tiny()
    x = tones([700.0, 2300.0], [0.5, 0.4], length=m.config.slice_length, rate=m.config.sample_rate).repeat(2, 1) * 0.5
    with torch.no_grad():
        z = m.encode(x)
    _, _, partials = m.unpack(z)
    k = m.config.partials
    hz = partials_hz(partials[0, :k])
    levels = partials[0, k:]
    strongest = hz[levels.argsort(descending=True)[:2]].sort().values
    assert torch.allclose(strongest, torch.tensor([700.0, 2300.0]), atol=5.0)
    assert levels.max() == 0.0 and levels.min() >= -4.0


def test_new_hits_blend_partials_without_detuning_them():
    """The sampler adds noise to the learned numbers, not to partials found in the hits: a bank whose hits share
    their partials samples those partials exactly, while the rest of the latent varies."""
    m = tiny()
    g = torch.Generator().manual_seed(0)
    bank = torch.randn(6, m.latent_size, generator=g)
    mask = m.measured_latent()
    assert mask is not None and int(mask.sum()) == 2 * m.config.partials + 1  # partials and the noise seed
    bank[:, mask] = bank[0, mask]
    m.prior.store(bank, None)
    z = m.sample_latents(16, torch.Generator().manual_seed(1))
    assert torch.allclose(z[:, mask], bank[0, mask].expand(16, -1), atol=1e-6)
    assert z[:, ~mask].std(0).min() > 0.01


def test_noise_is_drawn_per_hit_and_reproducible():
    m = tiny()
    torch.manual_seed(1)
    z = m.sample_latents(2, torch.Generator().manual_seed(5))
    with torch.no_grad():
        m.decoder.wave_out.weight.zero_()  # hear only the noise and the partials
        m.decoder.partial_head.bias.fill_(-20.0)  # ... and of those only the noise
        a, b = m.decode(z), m.decode(z)
        offsets = m.noise_offsets(z)
        assert offsets is not None and offsets[0] != offsets[1]
        # the same band gains on two offsets: the same spectrum envelope, a different noise
        same = z[0:1].repeat(2, 1)
        n0 = m.decoder(*m.unpack(same)[:2], None, m.unpack(same)[2], torch.tensor([0, 1]))
    assert torch.equal(a, b)  # one latent, one sound
    assert not torch.allclose(n0[0], n0[1], atol=1e-3)
    rms = n0.pow(2).mean(1).sqrt()
    assert abs(float(rms[0] / rms[1]) - 1) < 0.3  # level comes from the gains, not the realisation


def test_a_hit_gets_the_same_noise_alone_as_in_a_batch():
    """The noise seed is hashed from the latent coarsely enough that float rounding (a batch of other hits, another
    thread count) leaves it alone: a hit dropped on a pad and the same hit re-synthesized with a folder sound alike.
    Distinct hits still spread over the noise pool."""
    m = tiny()
    g = torch.Generator().manual_seed(3)
    t = torch.arange(m.config.slice_length) / m.config.sample_rate
    x = (torch.randn(12, m.config.slice_length, generator=g) * torch.exp(-t / torch.rand(12, 1, generator=g) / 0.2)) * 0.5
    with torch.no_grad():
        together = m.encode(x)
        alone = torch.cat([m.encode(x[i:i + 1]) for i in range(len(x))])
        threads = torch.get_num_threads()
        try:
            torch.set_num_threads(1)
            one_thread = m.encode(x[:4])
        finally:
            torch.set_num_threads(threads)
    assert torch.allclose(together[:, :-1], alone[:, :-1], atol=1e-4)
    assert torch.equal(together[:, -1], alone[:, -1]) and torch.equal(together[:4, -1], one_thread[:, -1])
    c = m.config
    spread = m.pack(torch.randn(100, c.latent_dims, m.frames, generator=g), torch.randn(100, c.global_dims, generator=g),
                    torch.rand(100, 2 * c.partials, generator=g))
    assert len(set(m.noise_offsets(spread).tolist())) >= 60  # of the pool's offsets, by latents like an encoder's


def test_wave_path_stops_after_its_frames():
    m = tiny()
    c = m.config
    z = m.sample_latents(1, torch.Generator().manual_seed(2))
    with torch.no_grad():
        m.decoder.noise_head.bias.fill_(-20.0)  # silence the noise
        m.decoder.partial_head.bias.fill_(-20.0)  # and the partials
        y = m.decode(z)[0]
    span = c.wave_frames * c.frame
    assert y[:span].abs().max() > 1e-3  # the wave path draws the attack
    assert y[span:].abs().max() < 1e-6  # ... and nothing after its frames


def test_a_decoder_before_partials_loads_as_it_was(tmp_path):
    """Checkpoints of the one-second decoder (no partials, one noise) keep their latent size and their sound."""
    torch.manual_seed(0)
    old = Autoencoder(Config(**{**PRESETS["tiny"], "partials": 0, "noise_pool": 1, "wave_frames": 0})).eval()
    checkpoint.save(old, tmp_path / "old")
    back = checkpoint.load(tmp_path / "old")
    assert back.latent_size == old.latent_size == 32 * 4 + 8 and back.noise_offsets(torch.zeros(1, 136)) is None
    z = old.sample_latents(2, torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(old.decode(z), back.decode(z))
