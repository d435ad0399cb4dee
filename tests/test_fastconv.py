"""The fast inference paths give the numbers the plain ones do: channels-last and polyphase convolutions
(drumgen.models.fastconv), the overlap-add inverse STFT and the real-valued Griffin-Lim loop (drumgen.dsp.spectral),
and every model's decode with and without gradients."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from torch import nn

from drumgen.dsp import spectral
from drumgen.engine import Engine, EngineError
from drumgen.models import autoencoder, fastconv, specgan, wavegan


def fast(layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    run = fastconv.FastConv()
    with torch.inference_mode():
        return run.leave(run(layer, run.enter(x)))


@pytest.mark.parametrize("k,s,pad,extra", [(8, 4, 2, 0), (25, 4, 11, 1), (4, 2, 1, 0), (3, 1, 1, 0), (5, 2, 2, 1)])
def test_transposed_convolution_in_polyphase_form_matches(k, s, pad, extra):
    torch.manual_seed(0)
    ct = nn.ConvTranspose1d(6, 5, k, s, pad, extra)
    assert fastconv.polyphase_ok(ct)
    x = torch.randn(3, 6, 37)
    with torch.no_grad():
        want = ct(x)
    got = fast(ct, x)
    assert got.shape == want.shape == (3, 5, 37 * s)
    assert torch.allclose(got, want, atol=1e-5), (got - want).abs().max()


@pytest.mark.parametrize("s", [4, 2])
def test_nearest_neighbour_upsampling_runs_as_its_transposed_convolution(s):
    """WaveGAN's "nearest" upsampler is nearest-neighbour upsampling then a convolution (checked against exactly
    that), computed as a transposed convolution in training and in polyphase form at inference."""
    torch.manual_seed(0)
    layer = wavegan.NearestUpConv(6, 5, 25, s)
    x = torch.randn(3, 6, 37)
    with torch.no_grad():
        upsampled = x.repeat_interleave(s, dim=-1)
        want = nn.functional.conv1d(upsampled, layer.weight.flip(-1).transpose(0, 1), layer.bias, padding=12)
        assert torch.allclose(layer(x), want, atol=1e-5)
    got = fast(layer, x)
    assert got.shape == want.shape == (3, 5, 37 * s)
    assert torch.allclose(got, want, atol=1e-5), (got - want).abs().max()


def test_a_transposed_convolution_polyphase_cannot_take_still_runs():
    ct = nn.ConvTranspose1d(4, 3, 5, 2, 0)  # output 2L + 3: not a whole number of phases
    assert not fastconv.polyphase_ok(ct)
    x = torch.randn(2, 4, 10)
    with torch.no_grad():
        assert torch.allclose(fast(ct, x), ct(x), atol=1e-6)


def test_a_stack_with_dilations_and_in_place_activations_leaves_its_input_alone():
    torch.manual_seed(1)
    stack = nn.Sequential(nn.LeakyReLU(0.2), nn.Conv1d(4, 8, 3, padding=3, dilation=3), nn.LeakyReLU(0.2),
                          nn.ConvTranspose1d(8, 4, 8, 4, 2), nn.ReLU(), nn.Conv1d(4, 2, 7, padding=3), nn.Tanh(),
                          nn.Conv1d(2, 2, 4, stride=2, padding=1))
    x = torch.randn(2, 4, 50)
    kept = x.clone()
    with torch.no_grad():
        want = stack(x)
    assert torch.allclose(fast(stack, x), want, atol=1e-5)
    assert torch.equal(x, kept), "the first activation must not work in place on the caller's tensor"


def test_rewritten_weights_follow_the_layer_when_it_changes():
    conv = nn.Conv1d(3, 3, 5, padding=2)
    run, x = fastconv.FastConv(), torch.randn(1, 3, 20)
    with torch.inference_mode():
        run(conv, run.enter(x))
    with torch.no_grad():
        conv.weight.mul_(2.0)  # an optimizer step, a load_state_dict
        want = conv(x)
    with torch.inference_mode():
        assert torch.allclose(run.leave(run(conv, run.enter(x))), want, atol=1e-6)


def test_training_and_other_devices_use_the_plain_layers():
    run = fastconv.FastConv()
    x = torch.zeros(1, 2, 3)
    assert fastconv.runner(run, x) is fastconv.PLAIN  # gradients on
    with torch.no_grad():
        assert fastconv.runner(run, x) is run
        assert fastconv.runner(run, torch.zeros(1, 2, 3, device="meta")) is fastconv.PLAIN


@pytest.mark.parametrize("n_fft,hop,length", [(1024, 256, 6000), (256, 128, 4096), (128, 32, None), (512, 128, 6000),
                                               (256, 64, 9000), (256, 64, 1800), (128, 64, 5000)])
def test_overlap_add_inverse_stft_matches_torch(n_fft, hop, length):
    x = torch.randn(2, 5000, dtype=torch.float64)
    spec = spectral.stft(x, n_fft, hop)
    window = torch.hann_window(n_fft, periodic=True, dtype=torch.float64)
    with warnings.catch_warnings():  # a length past the frames' reach: torch says it pads with zeros, as we do
        warnings.simplefilter("ignore", UserWarning)
        want = torch.istft(spec, n_fft, hop, window=window, length=length or (spec.shape[-1] - 1) * hop)
    got = spectral.istft(spec, n_fft, hop, length)  # hop n_fft / 4: the steady gain folded into the window
    assert got.shape == want.shape
    assert torch.allclose(got, want, atol=1e-12)


def test_inverse_stft_keeps_its_gradient():
    x = torch.randn(1, 2048, requires_grad=True)
    spectral.istft(spectral.stft(x, 256, 64), 256, 64, 2048).square().sum().backward()
    assert x.grad is not None and torch.allclose(x.grad, 2 * x.detach(), atol=1e-4)  # istft(stft(x)) = x


def test_griffin_lim_matches_the_complex_valued_loop():
    torch.manual_seed(2)
    mag = spectral.stft(torch.randn(2, 8192), 256, 128).abs()

    def reference(mag, n_fft, hop, iters, length, momentum, seed=0):  # the loop as written before the rewrite
        g = torch.Generator().manual_seed(seed)
        angles = torch.exp(2j * math.pi * torch.rand(mag.shape[-2:], generator=g))
        prev, spec = torch.zeros_like(angles), mag * angles
        for _ in range(iters):
            rebuilt = spectral.stft(spectral.istft(spec, n_fft, hop, length), n_fft, hop)
            accelerated = rebuilt - (momentum / (1 + momentum)) * prev if momentum else rebuilt
            prev = rebuilt
            spec = mag * (accelerated / accelerated.abs().clamp_min(1e-12))
        return spectral.istft(spec, n_fft, hop, length)

    for momentum in (0.99, 0.0):
        want = reference(mag, 256, 128, 8, 8192, momentum)
        got = spectral.griffin_lim(mag, 256, 128, 8, 8192, momentum)
        assert torch.allclose(got, want, atol=1e-4), (got - want).abs().max()


@pytest.mark.parametrize("module,preset", [(autoencoder, "tiny"), (autoencoder, "cpu"), (wavegan, "tiny"),
                                           (wavegan, "cpu"), (wavegan, "cpu-3s"), (specgan, "tiny"),
                                           (specgan, "cpu")])
def test_decode_with_and_without_gradients_agree(module, preset):
    torch.manual_seed(3)
    cls = {autoencoder: autoencoder.Autoencoder, wavegan: wavegan.WaveGAN, specgan: specgan.SpecGAN}[module]
    model = cls(module.Config(**module.PRESETS[preset], labels=("kick", "snare"))).eval()
    z = model.sample_latents(3, torch.Generator().manual_seed(0))
    y = torch.tensor([0, 1, 0])
    want = model.decode(z, y).detach()  # gradients on: the plain layers
    with torch.inference_mode():
        got = model.decode(z, y)
    assert torch.allclose(got, want, atol=1e-5), (got - want).abs().max()


def test_griffin_lim_keeps_its_gradient():
    """GAN inversion optimises a latent through SpecGAN's phase reconstruction."""
    mag = spectral.stft(torch.randn(1, 4096), 256, 128).abs().requires_grad_(True)
    spectral.griffin_lim(mag, 256, 128, 4, 4096).square().sum().backward()
    assert mag.grad is not None and torch.isfinite(mag.grad).all()


def test_autoencoder_inference_leaves_out_frames_nobody_hears():
    """At inference the noise and partials paths stop at the last frame any hit is heard in (gains above
    autoencoder.SILENT); the audio is what synthesizing every frame gives."""
    torch.manual_seed(4)
    model = autoencoder.Autoencoder(autoencoder.Config(**autoencoder.PRESETS["tiny"])).eval()
    d, k = model.decoder, model.config.partials
    frames = d.stft_frames
    gains = torch.rand(3, model.config.noise_bands, frames) * 0.1
    gains[:, :, 12:] = 1e-9  # every hit silent after frame 12 but the second, which rings to frame 20
    gains[1, 3, 12:20] = 0.05
    log_amp = torch.randn(3, k, frames - 1) - 3.0
    log_amp[:, :, 15:] = -40.0
    partials = torch.cat([torch.rand(3, k), -torch.rand(3, k)], dim=1)
    offsets = torch.tensor([0, 3, 7])
    assert d._heard_frames(gains, log_amp, partials) == 20
    with torch.inference_mode():
        got = d._spectral(gains, log_amp, partials, offsets)
    want = d._spectral(gains, log_amp, partials, offsets).detach()  # gradients on: every frame
    assert got.shape == want.shape == (3, model.config.slice_length)
    assert (got - want).abs().max() < 1e-6
    gains[:], log_amp[:] = 1e-9, -40.0
    assert d._heard_frames(gains, log_amp, partials) == 1  # silence: one frame still makes the slice
    with torch.inference_mode():
        assert d._spectral(gains, log_amp, partials, offsets).abs().max() < 1e-6


@pytest.mark.parametrize("n_fft,hop", [(256, 64), (256, 128), (240, 100)])
def test_inverse_stft_of_the_first_frames_stands_for_silence_after_them(n_fft, hop):
    spec = spectral.stft(torch.randn(2, 6000, dtype=torch.float64), n_fft, hop)
    silent_after = spec.clone()
    silent_after[..., 20:] = 0
    want = spectral.istft(silent_after, n_fft, hop, 6000)
    got = spectral.istft(spec[..., :20], n_fft, hop, 6000, frames=spec.shape[-1])
    assert torch.allclose(got, want, atol=1e-12)
    with pytest.raises(ValueError, match="fewer"):
        spectral.istft(spec, n_fft, hop, 6000, frames=3)


def test_the_bfloat16_path_is_a_choice_close_to_float32_and_can_be_undone():
    torch.manual_seed(5)
    model = autoencoder.Autoencoder(autoencoder.Config(**autoencoder.PRESETS["tiny"])).eval()
    z = model.sample_latents(2, torch.Generator().manual_seed(0))
    with torch.inference_mode():
        want = model.decode(z)
        model.set_fast_dtype(torch.bfloat16)
        got = model.decode(z)
        model.set_fast_dtype(torch.float32)  # the weights cached in bfloat16 are rebuilt
        again = model.decode(z)
    assert got.dtype == torch.float32 and not torch.equal(got, want)
    assert (got - want).pow(2).mean().sqrt() < 0.05 * want.pow(2).mean().sqrt()
    assert torch.equal(again, want)
    with pytest.raises(EngineError, match="precision"):
        Engine(scan=False, precision="float16")
    assert fastconv.bfloat16_native() in (True, False)


def test_specgan_stays_float32_when_the_decoders_go_bfloat16():
    """Griffin-Lim would turn a bfloat16 image's rounding into other phases and other tails."""
    torch.manual_seed(6)
    model = specgan.SpecGAN(specgan.Config(**specgan.PRESETS["tiny"])).eval()
    z = model.sample_latents(2, torch.Generator().manual_seed(0))
    with torch.inference_mode():
        want = model.decode(z)
        model.set_fast_dtype(torch.bfloat16)
        assert torch.equal(model.decode(z), want)
