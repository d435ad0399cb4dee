"""The one home of short-time Fourier transforms: STFT, log-magnitude and mel spectrograms, the mel filterbank,
the multi-resolution dB distance, and Griffin-Lim phase reconstruction (torch).

Models, the tagger, the measures (drumgen.eval.metrics) and the corpus fingerprints all go through these, so a
"spectrogram" means one thing everywhere. All functions take audio as [B, T] float tensors (float32 or float64)
and use a periodic Hann window; `hop` defaults to n_fft // 4.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F


@functools.lru_cache(maxsize=32)
def _window(n_fft: int, device: str, dtype: torch.dtype) -> torch.Tensor:
    with torch.inference_mode(False):  # cached: a normal tensor, so training may save it for backward too
        return torch.hann_window(n_fft, periodic=True, device=device, dtype=dtype)


def stft(x: torch.Tensor, n_fft: int, hop: int | None = None, center: bool = True,
         pad_mode: str = "reflect") -> torch.Tensor:
    """[B, T] -> complex [B, n_fft // 2 + 1, frames]. With `center`, frame k is centred on sample k * hop and the
    ends are padded by `pad_mode` ("reflect", or "constant" for zeros); without, frame k starts there."""
    hop = hop or n_fft // 4
    w = _window(n_fft, str(x.device), x.dtype)
    return torch.stft(x, n_fft, hop, window=w, center=center, pad_mode=pad_mode, return_complex=True)


def power(x: torch.Tensor, n_fft: int, hop: int | None = None, center: bool = True,
          pad_mode: str = "reflect") -> torch.Tensor:
    """[B, T] -> [B, F, frames] power |X|^2."""
    spec = stft(x, n_fft, hop, center, pad_mode)
    return spec.real**2 + spec.imag**2


def istft(spec: torch.Tensor, n_fft: int, hop: int | None = None, length: int | None = None,
          frames: int | None = None) -> torch.Tensor:
    """complex [B, F, frames] -> [B, T], the inverse of `stft` (centred frames, least-squares overlap-add).
    `frames`: the frames the spectrum stands for when it gives only the first of them (the rest are silence).

    When the hop divides n_fft (every transform here), the overlap-add is n_fft / hop strided additions of whole
    frame pieces rather than torch.istft's general fold: the same numbers (within float rounding, 1e-6) in about
    half the time on a CPU, which matters in the autoencoder's noise path and SpecGAN's Griffin-Lim loop.
    """
    hop = hop or n_fft // 4
    if frames is not None and frames < spec.shape[-1]:
        raise ValueError(f"istft: frames ({frames}) is fewer than the spectrum's {spec.shape[-1]}")
    if n_fft % hop:
        spec = F.pad(spec, (0, (frames or spec.shape[-1]) - spec.shape[-1]))
        return torch.istft(spec, n_fft, hop, window=_window(n_fft, str(spec.device), spec.real.dtype), length=length)
    # frames first, copied as complex numbers: torch.fft copies a transposed view itself, several times slower
    return istft_frames(spec.transpose(1, 2).contiguous(), n_fft, hop, length, frames)


def stft_frames(x: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    """`stft` with frames before bins: [B, T] -> complex [B, frames, n_fft // 2 + 1] (reflect-padded, centred)."""
    w = _window(n_fft, str(x.device), x.dtype)
    return torch.fft.rfft(reflect(x, n_fft // 2).unfold(-1, n_fft, hop) * w)


def reflect(x: torch.Tensor, h: int) -> torch.Tensor:
    """[B, T] -> [B, T + 2 h], mirrored about its first and last samples (F.pad's "reflect": on a CPU its kernel
    takes 3-4x as long as these three copies)."""
    if x.shape[-1] <= h:  # too short to mirror: F.pad says so
        return F.pad(x[:, None], (h, h), mode="reflect")[:, 0]
    return torch.cat([x[:, 1:h + 1].flip(-1), x, x[:, -h - 1:-1].flip(-1)], dim=-1)


def istft_frames(spec: torch.Tensor, n_fft: int, hop: int, length: int | None,
                 total: int | None = None) -> torch.Tensor:
    """`istft` of frames before bins: complex [B, frames, F] -> [B, T] (n_fft a multiple of hop), standing for
    `total` frames (default: those given) of which the ones not given are silent.

    Each frame's hop-long pieces are windowed as they are added (one pass over the frames, not two), and where
    the windows' summed square is the same under every sample (Hann at hop n_fft / 4: all but the first and last
    n_fft samples) its inverse is folded into that window, so only the two ends are corrected afterwards."""
    b, frames, r = spec.shape[0], spec.shape[1], n_fft // hop
    total = total or frames
    length = (total - 1) * hop if length is None else length
    w, gain, ends = _synthesis(n_fft, hop, total, length, str(spec.device), spec.real.dtype)
    parts = torch.fft.irfft(spec, n=n_fft)  # [B, frames, n_fft]
    out = parts.new_zeros(b, frames + r - 1, hop)
    for k in range(r):  # the k-th hop-long piece of frame f lands on block f + k
        out[:, k:k + frames].addcmul_(parts[:, :, k * hop:(k + 1) * hop], w[k * hop:(k + 1) * hop])
    start = n_fft // 2  # centred frames: sample 0 is the middle of frame 0
    out = out.view(b, -1)[:, start:start + length]
    if out.shape[1] < length:
        out = F.pad(out, (0, length - out.shape[1]))
    if gain is not None:
        return out * gain
    head, tail = ends
    out[:, :len(head)] *= head
    out[:, length - len(tail):] *= tail
    return out


@functools.lru_cache(maxsize=32)
def _synthesis(n_fft: int, hop: int, frames: int, length: int, device: str, dtype: torch.dtype
               ) -> tuple[torch.Tensor, torch.Tensor | None, tuple[torch.Tensor, torch.Tensor]]:
    """`istft_frames`'s synthesis window and overlap gain: (window scaled by the steady gain, None, (head, tail)
    gains left to apply at the two ends) where the gain is steady between its first and last n_fft samples, else
    (window, the whole [length] gain, empty ends)."""
    with torch.inference_mode(False):  # cached, as _window; worked out on the CPU (the device may be "meta")
        w = _window(n_fft, "cpu", torch.float64)
        gain = _overlap_gain(n_fft, hop, frames, "cpu", torch.float64)[:length]
        gain = F.pad(gain, (0, length - len(gain)))
        n = min(n_fft, length // 2)
        steady = float(gain[length // 2])
        steady_inside = length >= 4 * n_fft and steady > 0 and float((gain[n:length - n] / steady - 1).abs().max()) < 1e-6
        on = dict(device=device, dtype=dtype)
        if not steady_inside:
            return w.to(**on), gain.to(**on), (gain[:0].to(**on), gain[:0].to(**on))
        return (w * steady).to(**on), None, ((gain[:n] / steady).to(**on), (gain[length - n:] / steady).to(**on))


@functools.lru_cache(maxsize=32)
def _overlap_gain(n_fft: int, hop: int, frames: int, device: str, dtype: torch.dtype) -> torch.Tensor:
    """1 / the summed squared window under each output sample of `istft` (0 where no frame reaches)."""
    with torch.inference_mode(False):  # cached, as _window
        w2 = _window(n_fft, device, dtype).square().reshape(-1, hop)
        env = w2.new_zeros(frames + len(w2) - 1, hop)
        for k in range(len(w2)):
            env[k:k + frames] += w2[k]
        env = env.reshape(-1)[n_fft // 2:]
        return torch.where(env > 1e-11, 1.0 / env.clamp_min(1e-11), torch.zeros_like(env))


def magnitude(x: torch.Tensor, n_fft: int, hop: int | None = None) -> torch.Tensor:
    """[B, T] -> [B, F, frames] magnitudes."""
    return stft(x, n_fft, hop).abs()


def log_magnitude(x: torch.Tensor, n_fft: int, hop: int | None = None, eps: float = 1e-6) -> torch.Tensor:
    """[B, T] -> [B, F, frames] natural-log magnitudes, log(|X| + eps) as in SpecGAN."""
    return torch.log(magnitude(x, n_fft, hop) + eps)


def hz_to_mel(f: float | torch.Tensor):
    return 2595.0 * (math.log10(1 + f / 700.0) if isinstance(f, float) else torch.log10(1 + f / 700.0))


def high_pass(x: torch.Tensor, sample_rate: int, cutoff_hz: float, order: int = 2) -> torch.Tensor:
    """[B, T] -> [B, T] with what lies below `cutoff_hz` taken out: a Butterworth magnitude response of `order`
    applied without phase shift (in the frequency domain, zero-padded so the end of a hit does not wrap onto its
    start), DC removed. Differentiable."""
    t = x.shape[-1]
    n = 1 << (2 * t - 1).bit_length()
    f = torch.fft.rfftfreq(n, 1.0 / sample_rate, device=x.device, dtype=x.dtype)
    gain = 1.0 / torch.sqrt(1.0 + (cutoff_hz / f.clamp_min(1e-6)) ** (2 * order))
    return torch.fft.irfft(torch.fft.rfft(x, n=n) * gain, n=n)[..., :t]


@functools.lru_cache(maxsize=16)
def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float = 20.0,
                   fmax: float | None = None) -> torch.Tensor:
    """Triangular filters [n_mels, n_fft // 2 + 1], equally spaced on the HTK mel scale from fmin to fmax
    (default: Nyquist), each summing to 1, so a band's value is the mean power of its bins and bands of different
    widths sit on one dB scale. A band narrower than one bin takes its nearest bin. Treat the result as read-only
    (it is cached)."""
    fmax = fmax or sample_rate / 2
    # Always on the CPU, whatever the default device: models build on 'meta' to check a checkpoint's shapes, and
    # a cached meta filterbank would then reach the real build.
    mels = torch.linspace(float(hz_to_mel(float(fmin))), float(hz_to_mel(float(fmax))), n_mels + 2, device="cpu")
    hz = 700.0 * (10 ** (mels / 2595.0) - 1)
    freqs = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1, device="cpu")
    lower, center, upper = hz[:-2, None], hz[1:-1, None], hz[2:, None]
    up = (freqs[None] - lower) / (center - lower).clamp_min(1e-6)
    down = (upper - freqs[None]) / (upper - center).clamp_min(1e-6)
    fb = torch.clamp(torch.minimum(up, down), min=0.0)
    empty = fb.sum(dim=1) == 0
    if empty.any():
        nearest = (freqs[None] - center[empty]).abs().argmin(dim=1)
        fb[empty.nonzero()[:, 0], nearest] = 1.0
    return fb / fb.sum(dim=1, keepdim=True).clamp_min(1e-9)


def log_mel(x: torch.Tensor, sample_rate: int, n_fft: int = 1024, hop: int | None = None, n_mels: int = 64,
            eps: float = 1e-5) -> torch.Tensor:
    """[B, T] -> [B, n_mels, frames] log mel energies."""
    fb = mel_filterbank(sample_rate, n_fft, n_mels).to(x.device, x.dtype)
    p = magnitude(x, n_fft, hop) ** 2
    return torch.log(torch.einsum("mf,bft->bmt", fb, p) + eps)


def log_spectral_distance_db(x: torch.Tensor, y: torch.Tensor, fft_sizes: tuple[int, ...] = (2048, 512, 128),
                             floor_db: float = -80.0, pad_mode: str = "reflect") -> torch.Tensor:
    """Mean absolute difference of dB magnitudes over several STFT sizes, per item: [B, T] x2 -> [B].

    Both magnitudes are floored `floor_db` below the louder signal's peak so that inaudible bins do not dominate.
    0 for identical signals. The one dB distance of drumgen: training's re-synthesis measure, the benchmarks' and
    drumgen.eval.metrics.resynthesis_error.
    """
    out = []
    for n_fft in fft_sizes:
        mx = 20 * torch.log10(stft(x, n_fft, pad_mode=pad_mode).abs() + 1e-9)
        my = 20 * torch.log10(stft(y, n_fft, pad_mode=pad_mode).abs() + 1e-9)
        top = torch.maximum(mx.amax(dim=(1, 2)), my.amax(dim=(1, 2)))[:, None, None]
        mx, my = mx.clamp_min(top + floor_db), my.clamp_min(top + floor_db)
        out.append((mx - my).abs().mean(dim=(1, 2)))
    return torch.stack(out).mean(0)


def griffin_lim(mag: torch.Tensor, n_fft: int, hop: int | None = None, iters: int = 16, length: int | None = None,
                momentum: float = 0.99, seed: int = 0) -> torch.Tensor:
    """Phase reconstruction from magnitudes [B, F, frames] -> audio [B, T].

    The fast variant (Perraudin et al. 2013): each iteration projects onto consistent spectrograms and adds
    `momentum` times the change, which reaches a given error in far fewer iterations than plain Griffin-Lim
    (momentum=0). The initial phase is random but seeded, so the same magnitudes give the same audio.
    """
    hop = hop or n_fft // 4
    if n_fft % hop:
        raise ValueError(f"griffin_lim needs a hop that divides n_fft; got {n_fft} / {hop}")
    g = torch.Generator(device="cpu").manual_seed(seed)
    # one initial phase for every item ([F, frames], broadcast over the batch), so a sound's audio does not
    # depend on which batch it was decoded in
    angles = torch.exp(2j * math.pi * torch.rand(mag.shape[-2:], generator=g)).to(mag.device)
    # The loop works on real and imaginary parts, frames before bins ([B, frames, F, 2]): PyTorch's complex
    # elementwise kernels and the transposes around its STFT took most of the time on a CPU.
    size = mag.transpose(-1, -2).contiguous()  # [B, frames, F]
    spec = torch.view_as_real(angles.T.contiguous()) * size[..., None]
    prev = torch.zeros_like(spec)
    for _ in range(iters):
        x = istft_frames(torch.view_as_complex(spec), n_fft, hop, length)
        rebuilt = torch.view_as_real(stft_frames(x, n_fft, hop))
        accelerated = torch.add(rebuilt, prev, alpha=-momentum / (1 + momentum)) if momentum else rebuilt
        prev = rebuilt
        # unit phasors times the magnitudes (where |X| ~ 0, mag is too), as complex numbers: a complex times a
        # real runs over whole numbers, where a real pair times a broadcast last dimension of 1 crawls; and
        # 1 / |X| as the reciprocal square root of re^2 + im^2 (complex abs() is hypot, 5x slower on a CPU)
        c = torch.view_as_complex(accelerated)
        if torch.is_grad_enabled() and (mag.requires_grad or c.requires_grad):  # inversion needs the gradient
            power = (c.real.square() + c.imag.square()).clamp_min(1e-24)
            spec = torch.view_as_real(c * (torch.rsqrt(power) * size))
        else:  # in place: no tensor is made that the loop does not need (a kit's 8 x 129 x 129 each time)
            scale = torch.addcmul(c.real.square(), c.imag, c.imag).clamp_min_(1e-24).rsqrt_().mul_(size)
            spec = torch.view_as_real(c.mul_(scale) if momentum else c * scale)  # without momentum c is prev: a copy
    return istft_frames(torch.view_as_complex(spec), n_fft, hop, length)


# -- partials: stable sinusoids, found in a hit and drawn into an STFT ------------------------------------

PARTIAL_TAPS = 6  # bins each partial is drawn into: the periodic Hann window's main lobe (4 bins) and one more each side
IMAGE_TAPS = 4  # bins 0..3, where a low partial's negative-frequency half lands


def spectral_peaks(x: torch.Tensor, sample_rate: int, k: int, n_fft: int = 4096, fmin: float = 30.0,
                   fmax: float = 19000.0) -> tuple[torch.Tensor, torch.Tensor]:
    """The k strongest stable partials of each hit: [B, T] -> frequencies in Hz [B, k] (ascending) and their
    magnitudes [B, k] in the hit's long-term spectrum (mean power over all frames, n_fft-point STFT).

    A partial is a local maximum of that spectrum between fmin and fmax; its frequency is refined by a parabola
    through the log-magnitudes of the peak bin and its neighbours. A hit with fewer than k maxima repeats its
    weakest ones (at magnitude ~0), so the shape is always [B, k].
    """
    with torch.no_grad():
        p = power(x.float(), n_fft, n_fft // 4).mean(-1).clamp_min(1e-20)  # [B, bins]
        logp = p.log()
        bin_hz = sample_rate / n_fft
        idx = torch.arange(p.shape[-1], device=x.device)
        band = (idx * bin_hz >= fmin) & (idx * bin_hz <= min(fmax, sample_rate / 2 - 2 * bin_hz))
        peak = torch.zeros_like(band[None].expand_as(p))
        peak[:, 1:-1] = (logp[:, 1:-1] > logp[:, :-2]) & (logp[:, 1:-1] >= logp[:, 2:])
        score = torch.where(peak & band, logp, torch.full_like(logp, -1e30))
        top = score.topk(k, dim=-1).indices.clamp(1, p.shape[-1] - 2)  # [B, k]
        a, b, c = (logp.gather(1, top + d) for d in (-1, 0, 1))
        shift = (0.5 * (a - c) / (a - 2 * b + c).clamp_max(-1e-9)).clamp(-0.5, 0.5)  # parabolic vertex
        hz = (top + shift) * bin_hz
        mag = torch.where(score.gather(1, top) > -1e29, (0.5 * b).exp(), torch.zeros_like(b))
        order = hz.argsort(dim=-1)
        return hz.gather(1, order), mag.gather(1, order)


def _hann_transform(offset: torch.Tensor, n_fft: int) -> torch.Tensor:
    """The periodic Hann window's DFT, centred on the frame, at `offset` bins from a sinusoid (complex, peak n/2)."""
    def dirichlet(y: torch.Tensor) -> torch.Tensor:
        y = torch.where(y.abs() < 1e-6, torch.full_like(y, 1e-6), y)
        return torch.polar(torch.sin(math.pi * y) / torch.sin(math.pi * y / n_fft), math.pi * y / n_fft)
    return 0.5 * dirichlet(offset) + 0.25 * dirichlet(offset - 1) + 0.25 * dirichlet(offset + 1)


def partials_stft(bins: torch.Tensor, amps: torch.Tensor, phase: torch.Tensor, n_fft: int, hop: int,
                  into: torch.Tensor | None = None) -> torch.Tensor:
    """The STFT (as `stft` makes it: centred frames, periodic Hann) of a sum of sinusoids, as real and imaginary
    parts: [B, n_fft // 2 + 1, frames, 2] (`torch.view_as_complex` of it is what `istft` takes). With `into` (a
    contiguous spectrum of that shape, such as a noise path's), the sinusoids are added to it in place and it is
    returned: no second spectrum to fill and add.

    bins [B, K]: each sinusoid's frequency in bins of this n_fft (fractional, from 0.5 bin to 4 below Nyquist);
    amps [B, K, frames]: its amplitude at each frame centre (the sinusoid's peak value, >= 0); phase [B, K]: its
    phase at sample 0. The phase advances continuously from frame to frame, so the overlap-add is one stable
    partial per sinusoid (within about -45 dB of a directly synthesised one for steady amplitudes); only the
    window's main lobe is drawn (PARTIAL_TAPS bins, and IMAGE_TAPS for the negative half near DC), which costs
    K * frames * 10 values instead of K * T samples.
    Differentiable in amps and phase.
    """
    b, k, frames = amps.shape
    n_bins = n_fft // 2 + 1
    bins = bins.clamp(0.5, n_bins - 4.0)
    # the positive-frequency half of each sinusoid around its bin, and the negative half's main lobe where it
    # reaches bins 0..IMAGE_TAPS-1 (a kick's 50 Hz partial is one bin from DC at n_fft 1024 and 44.1 kHz)
    direct = bins.detach().floor().long()[..., None] + torch.arange(-2, PARTIAL_TAPS - 2, device=bins.device)
    image = torch.arange(IMAGE_TAPS, device=bins.device).expand(b, k, IMAGE_TAPS)
    taps = torch.cat([direct, image], dim=-1)  # [B, K, taps]
    offset = torch.cat([direct - bins[..., None], image + bins[..., None]], dim=-1)
    # frame f is centred on sample f * hop; a DFT over the frame from its first sample adds (-1)^bin
    kernel = _hann_transform(offset, n_fft) * (1.0 - 2.0 * (taps % 2)) * (taps >= 0)
    t = torch.arange(frames, device=amps.device, dtype=amps.dtype)
    theta = phase[..., None] + (2 * math.pi * hop / n_fft) * bins[..., None] * t  # [B, K, frames]
    rotor = torch.polar(0.5 * amps, theta)  # each half of a real sinusoid: (a / 2) e^(+-i theta)
    # [B, K, taps, frames]: every tap of a partial lands on the same bin in every frame, so the values are summed
    # into [bins, frames] rows by one index_add over (item, tap) rows
    values = kernel[..., None] * rotor[:, :, None, :]
    # the image taps take the conjugate rotor: as the kernel is real, that is the conjugate of their product
    torch.view_as_real(values)[:, :, PARTIAL_TAPS:, :, 1].neg_()
    rows = (taps.clamp_min(0) + n_bins * torch.arange(b, device=taps.device)[:, None, None]).reshape(-1)
    values = torch.view_as_real(values).reshape(-1, frames * 2)
    if into is None:
        return amps.new_zeros(b * n_bins, frames * 2).index_add(0, rows, values).reshape(b, n_bins, frames, 2)
    if into.shape != (b, n_bins, frames, 2) or not into.is_contiguous():
        raise ValueError(f"partials_stft adds into a contiguous [{b}, {n_bins}, {frames}, 2] spectrum; "
                         f"got {tuple(into.shape)}")
    into.view(b * n_bins, frames * 2).index_add_(0, rows, values)
    return into
