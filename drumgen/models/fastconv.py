"""The decoders' 1-D convolution stacks as a CPU runs them fastest: the same numbers, about 3x sooner.

A waveform decoder spends its time where it does the least arithmetic: 8 or 16 channels at 44.1 kHz give a
convolution kernel in PyTorch's default [B, C, L] layout nothing to vectorise over but time, and every layer
reorders its input for oneDNN and back. Two rewrites, for inference only:

- Channels-last: a [B, C, L] signal is held as [B, C, 1, L] in torch.channels_last memory (each time step's
  channels side by side), and each Conv1d runs as the equivalent Conv2d, which oneDNN computes without reorders.
- Polyphase transposed convolutions (Vaidyanathan's identities): ConvTranspose1d(C, D, K, stride=s) whose output
  is s times its input is the Conv1d(C, s D) that computes the s output phases of each input step at once; its
  output channel p D + d is phase p of channel d, so in channels-last memory the phases already sit in time
  order and going back to the full rate is a free reshape. A layer with a `transposed_form()` (weight, bias,
  stride, padding; WaveGAN's nearest-neighbour upsampler) runs the same way.
- A 2-D stack (SpecGAN's generator: ConvTranspose2d, `enter_image` / `leave_image`) runs as it is, its input
  and weights in channels-last memory: the same numbers (oneDNN's blocked kernels without reorders), about 20%
  sooner for the shipped SpecGAN's 8-hit kit on 2 cores (12-13 ms -> 10-11 ms, on a VM whose timings wander).

Measured on 2 cores for the shipped autoencoder's 8-hit kit decode (benchmarks/speed.py, RESULTS.md): the wave path
from about 52 ms to 19 ms. The outputs match the plain layers within float rounding (tests/test_fastconv.py);
training and anything that needs gradients keeps the plain layers (`PLAIN`).

A third, opt-in: `dtype=torch.bfloat16` runs the stacks in bfloat16 (weights and signals; oneDNN accumulates in
float32), which a CPU with Intel AMX multiplies about 6x faster than float32, and one with AVX-512 BF16 (AMD Zen 4,
Intel Cooper Lake) about 1.5x (the shipped autoencoder's kit decode on a Zen 4 VM, one thread: 61 -> 41 ms, min of
25 alternating runs; WaveGAN 33 -> 25 ms). The numbers are no longer the same
(-42 to -48 dB of error for the shipped autoencoder, a few thousandths of a dB of log-spectral distance), and a
CPU without bfloat16 arithmetic runs it slower, so it is a choice (`drumgen serve --precision bfloat16`), never
a default: `bfloat16_native()` says whether this CPU has it.

    run = fastconv.runner(model_cache, x)      # FastConv on a CPU without gradients, else PLAIN
    h = run.leave(run(layers, run.enter(x)))   # x [B, C, L] -> layers(x) [B, D, L']
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

ELEMENTWISE = (nn.LeakyReLU, nn.ReLU, nn.Tanh, nn.Sigmoid, nn.Identity)
IN_PLACE = (nn.LeakyReLU, nn.ReLU, nn.Tanh)


def _in_place(layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    if isinstance(layer, nn.LeakyReLU):
        return F.leaky_relu_(x, layer.negative_slope)
    return x.relu_() if isinstance(layer, nn.ReLU) else x.tanh_()


class Plain:
    """Layers called as they are: training, gradients, and devices other than the CPU."""

    def __call__(self, layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return layer(x)

    @staticmethod
    def enter(x: torch.Tensor) -> torch.Tensor:
        return x

    @staticmethod
    def leave(x: torch.Tensor) -> torch.Tensor:
        return x

    @staticmethod
    def enter_image(x: torch.Tensor) -> torch.Tensor:
        return x

    @staticmethod
    def leave_image(x: torch.Tensor) -> torch.Tensor:
        return x


PLAIN = Plain()


PRECISIONS = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def bfloat16_native() -> bool:
    """Whether this CPU multiplies bfloat16 natively (Intel AMX tiles, or AVX-512 BF16's dot products), where the
    bfloat16 path is the faster."""
    probes = (getattr(torch.cpu, name, None) for name in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"))
    return any(bool(probe and probe()) for probe in probes)


class FastConv(Plain):
    """Runs Conv1d, ConvTranspose1d, elementwise activations and nn.Sequential stacks of them on channels-last
    [B, C, 1, L] signals (`enter` / `leave` convert, to and from `dtype`). Another module in a stack is called as
    module(x, self), so a block with a skip connection (the autoencoder's ResBlock) runs its own convolutions
    through this runner. Rewritten weights are cached per layer and rebuilt when the layer's parameters change."""

    def __init__(self, dtype: torch.dtype = torch.float32) -> None:
        self._cache: dict[int, tuple[tuple, tuple]] = {}
        self.dtype = dtype

    def enter(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return x[:, :, None, :].to(self.dtype).contiguous(memory_format=torch.channels_last)

    def leave(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return x[:, :, 0, :].float().contiguous()

    def enter_image(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        """A 2-D stack's input [B, C, H, W] (SpecGAN's generator), in channels-last memory."""
        return x.to(self.dtype).contiguous(memory_format=torch.channels_last)

    def leave_image(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return x.float().contiguous()

    def __call__(self, layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
        if isinstance(layer, nn.Sequential):
            owned = False  # activations work in place on what this stack made, never on its input
            for child in layer:
                x = _in_place(child, x) if owned and isinstance(child, IN_PLACE) else self(child, x)
                owned = owned or not isinstance(child, ELEMENTWISE)
            return x
        if isinstance(layer, nn.ConvTranspose1d):
            if not polyphase_ok(layer):
                return self.enter(layer(self.leave(x)))
            return self._transposed(layer, x, lambda: _polyphase(layer.weight, layer.bias, layer.stride[0],
                                                                 int(layer.padding[0])))
        form = getattr(layer, "transposed_form", None)  # a transposed convolution in another parametrisation
        if callable(form):
            return self._transposed(layer, x, lambda: _polyphase(*form()))
        if isinstance(layer, nn.Conv1d):
            if isinstance(layer.padding, str) or layer.padding_mode != "zeros":
                return self.enter(layer(self.leave(x)))
            w, b = self._weights(layer, lambda: (_as_2d(layer.weight), layer.bias))
            return F.conv2d(x, w, b, (1, layer.stride[0]), (0, int(layer.padding[0])), (1, layer.dilation[0]),
                            layer.groups)
        if isinstance(layer, nn.ConvTranspose2d):  # a 2-D stack: the same layer, its weights in channels-last memory
            w, b = self._weights(layer, lambda: (layer.weight.contiguous(memory_format=torch.channels_last),
                                                 layer.bias))
            padding = tuple(int(p) for p in layer.padding)  # a transposed convolution's padding is never a word
            return F.conv_transpose2d(x, w, b, layer.stride, padding, layer.output_padding, layer.groups,
                                      layer.dilation)
        if isinstance(layer, ELEMENTWISE):
            return layer(x)
        return layer(x, self)

    def _weights(self, layer: nn.Module, build: Callable[[], tuple]) -> tuple:
        key = (self.dtype, *((p.data_ptr(), p._version) for p in layer.parameters()))
        hit = self._cache.get(id(layer))
        if hit is None or hit[0] != key:
            with torch.no_grad():
                hit = (key, tuple(t.to(self.dtype) if isinstance(t, torch.Tensor) else t for t in build()))
            self._cache[id(layer)] = hit
        return hit[1]

    def _transposed(self, layer: nn.Module, x: torch.Tensor, build: Callable[[], tuple]) -> torch.Tensor:
        w, b, (left, right), s = self._weights(layer, build)
        if left != right:
            x = F.pad(x, (left, right))
        h = F.conv2d(x, w, b, padding=(0, left if left == right else 0))  # [B, s D, 1, L], phase-major channels
        n, sd, _, length = h.shape
        # channels-last memory holds [n, L, s, D]: read as [n, L s, D] it is the output in time order
        return h.permute(0, 2, 3, 1).reshape(n, 1, length * s, sd // s).permute(0, 3, 1, 2)


def runner(cache: FastConv, like: torch.Tensor) -> Plain:
    """`cache` where it helps and is exact enough (a CPU tensor, no gradients), else PLAIN."""
    return cache if like.device.type == "cpu" and not torch.is_grad_enabled() else PLAIN


def polyphase_ok(ct: nn.ConvTranspose1d) -> bool:
    """Whether a transposed convolution multiplies the length by exactly its stride (the ones decoders use)."""
    s, pad, k, extra = ct.stride[0], int(ct.padding[0]), ct.kernel_size[0], ct.output_padding[0]
    return ct.groups == 1 and ct.dilation == (1,) and k - 2 * pad + extra == s


def _as_2d(w: torch.Tensor) -> torch.Tensor:
    return w[:, :, None, :].contiguous(memory_format=torch.channels_last)


def _polyphase(weight: torch.Tensor, bias: torch.Tensor | None, s: int,
               pad: int) -> tuple[torch.Tensor, torch.Tensor | None, tuple[int, int], int]:
    """A transposed convolution (weight [C, D, K], stride s, padding P, output s times its input) as Conv1d(C, s D,
    taps) over its input: output sample s n + p takes input n + j through tap k = p + P - s j, for each 0 <= k < K.
    Returns the 2-D weight, bias, padding and s."""
    cin, cout, k_size = weight.shape
    lo, hi = math.ceil((pad - k_size + 1) / s), (s - 1 + pad) // s
    w = weight.new_zeros(s, cout, cin, hi - lo + 1)
    for p in range(s):
        for j in range(lo, hi + 1):
            k = p + pad - s * j
            if 0 <= k < k_size:
                w[p, :, :, j - lo] = weight[:, :, k].T
    return _as_2d(w.reshape(s * cout, cin, -1)), None if bias is None else bias.repeat(s), (-lo, hi), s
