"""Measures of drum sounds that run offline on this machine: an embedding, distances, and sanity checks.

`embed` turns hits into a fixed, hand-built feature vector (no learned weights, no downloads), so a Frechet
distance between two sets of hits means the same thing on every machine and in every session. It describes what a
producer hears in a one-shot:

- spectrum over time: log-mel band energies in five log-spaced time segments (attack, body, early/late decay, tail);
- envelope: RMS level per segment, attack time, times to fall 20 and 40 dB below the peak, temporal centroid;
- spectral shape: centroid, flatness and 85% roll-off per segment and energy-weighted over the whole hit.

Every feature is scaled by fixed constants (dB/20, octaves/2, ...) to roughly unit range; nothing depends on the
data, so embeddings from different runs are comparable.

The Frechet distance is that of Heusel et al. 2017 (https://arxiv.org/abs/1706.08500), computed on this
embedding instead of Inception features; it is called "Frechet distance" here, not FID or FAD, because the
embedding differs.
"""

from __future__ import annotations

import numpy as np
import torch

from drumgen.dsp import spectral
from drumgen.io import audio

EMBED_VERSION = 1  # bump when embed() changes: stored reference statistics then refuse to load
EMBED_RATE = 22050  # drum timbre above 11 kHz matters little for telling sets apart; half the rate halves the cost
N_FFT = 1024
HOP = 256  # 11.6 ms frames
N_FRAMES = 87  # 1 s: hits are cut or zero-padded to this, so sets of different lengths stay comparable
N_MELS = 24
FMIN, FMAX = 30.0, 11025.0
# Frame boundaries of the five segments: 0-23 ms, 23-70 ms, 70-160 ms, 160-350 ms, 350-1000 ms.
SEGMENTS = ((0, 2), (2, 6), (6, 14), (14, 30), (30, N_FRAMES))
FLOOR_DB = -100.0
EPS = 1e-10


_FB = spectral.mel_filterbank(EMBED_RATE, N_FFT, N_MELS, FMIN, FMAX).numpy()
_FREQS = np.fft.rfftfreq(N_FFT, 1.0 / EMBED_RATE).astype(np.float32)


def _power_frames(x: np.ndarray) -> np.ndarray:
    """[B, N_FRAMES * HOP] -> power spectrogram [B, N_FRAMES, N_FFT // 2 + 1] (frames start at 0, not centred)."""
    padded = torch.from_numpy(np.ascontiguousarray(np.pad(x, ((0, 0), (0, N_FFT))), dtype=np.float32))
    p = spectral.power(padded, N_FFT, HOP, center=False)[..., :N_FRAMES]  # [B, K, F]
    return p.transpose(1, 2).numpy() / (N_FFT / 4)


def _db(p: np.ndarray) -> np.ndarray:
    return np.maximum(10.0 * np.log10(p + EPS), FLOOR_DB)


def _times_below(env_db: np.ndarray, peak_idx: np.ndarray, drop_db: float) -> np.ndarray:
    """Seconds from each hit's peak frame to the first later frame `drop_db` below the peak ([B])."""
    b, f = env_db.shape
    after = np.arange(f)[None, :] > peak_idx[:, None]
    below = after & (env_db <= env_db[np.arange(b), peak_idx][:, None] - drop_db)
    first = np.where(below.any(axis=1), below.argmax(axis=1), f)  # never falls: as long as the window
    return (first - peak_idx).clip(min=1) * HOP / EMBED_RATE


def _log2_scaled(v: np.ndarray, centre: float, octaves: float = 2.0) -> np.ndarray:
    return (np.log2(np.maximum(v, EPS)) - np.log2(centre)) / octaves


def _features(x: np.ndarray) -> np.ndarray:
    """[B, N_FRAMES * HOP] at EMBED_RATE, peak-normalised -> [B, D] standardised features."""
    # A -100 dB white floor (relative to the peak) makes silence behave like faint noise: its centroid, flatness
    # and roll-off stay finite and neutral instead of falling to log(0).
    p = _power_frames(x) + 10 ** (FLOOR_DB / 10)  # [B, F, K]
    mel = p @ _FB.T  # [B, F, M]
    frame_power = p.mean(axis=-1)  # [B, F]
    feats = []
    # (1) log-mel per segment: mean power over the segment, in dB, centred at -50 dB, 20 dB per unit.
    for a, b in SEGMENTS:
        feats.append((_db(mel[:, a:b].mean(axis=1)) + 50.0) / 20.0)  # [B, M]
    # (2) envelope: RMS level per segment, attack, decay times, temporal centroid.
    env_db = _db(frame_power)  # [B, F]
    feats.append(np.stack([(_db(frame_power[:, a:b].mean(axis=1)) + 40.0) / 20.0 for a, b in SEGMENTS], 1))
    peak_idx = env_db.argmax(axis=1)
    attack = (peak_idx + 0.5) * HOP / EMBED_RATE
    t = (np.arange(N_FRAMES) + 0.5) * HOP / EMBED_RATE
    weights = frame_power / (frame_power.sum(axis=1, keepdims=True) + EPS)
    centroid_t = weights @ t
    feats.append(np.stack([
        _log2_scaled(attack, 0.01),
        _log2_scaled(_times_below(env_db, peak_idx, 20.0), 0.1),
        _log2_scaled(_times_below(env_db, peak_idx, 40.0), 0.3),
        _log2_scaled(centroid_t, 0.1),
    ], axis=1))
    # (3) spectral shape per frame, then averaged per segment weighted by frame energy.
    ptot = p.sum(axis=-1) + EPS  # [B, F]
    centroid = (p @ _FREQS) / ptot
    flatness_db = 10 * (np.log10(p + EPS).mean(axis=-1) - np.log10(p.mean(axis=-1) + EPS))
    rolloff = _FREQS[np.minimum((np.cumsum(p, axis=-1) < 0.85 * ptot[..., None]).sum(axis=-1), len(_FREQS) - 1)]
    shape = np.stack([_log2_scaled(centroid, 2000.0), (flatness_db + 25.0) / 20.0,
                      _log2_scaled(rolloff, 4000.0)], axis=-1)  # [B, F, 3]
    for a, b in (*SEGMENTS, (0, N_FRAMES)):
        w = frame_power[:, a:b] + EPS
        feats.append((shape[:, a:b] * w[..., None]).sum(axis=1) / w.sum(axis=1)[:, None])
    return np.concatenate(feats, axis=1).astype(np.float32)


EMBED_DIM = len(SEGMENTS) * N_MELS + len(SEGMENTS) + 4 + 3 * (len(SEGMENTS) + 1)


def embed(x: np.ndarray, sample_rate: int, batch: int = 128) -> np.ndarray:
    """Hand-built embedding of drum hits: x [N, T] float at `sample_rate` -> [N, EMBED_DIM] float32.

    Deterministic, numpy-only, independent of the input rate (resampled to 22.05 kHz) and of level (each hit is
    peak-normalised first; a silent hit embeds as silence). Only the first second of each hit is described; shorter
    hits are zero-padded. Non-finite samples count as silence (see `garbage` to report them).
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2:
        raise ValueError(f"embed expects hits as an array [N, T]; got shape {x.shape}")
    if x.shape[0] == 0:
        return np.zeros((0, EMBED_DIM), dtype=np.float32)
    x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    length = N_FRAMES * HOP
    out = []
    for i in range(0, x.shape[0], batch):
        chunk = x[i:i + batch]
        if sample_rate != EMBED_RATE:
            # soxr resamples [T, channels] in one call: every hit of the chunk is one channel.
            chunk = audio.resample(np.ascontiguousarray(chunk.T), sample_rate, EMBED_RATE).T.reshape(len(chunk), -1)
        chunk = chunk[:, :length]
        chunk = np.pad(chunk, ((0, 0), (0, length - chunk.shape[1])))
        peak = np.abs(chunk).max(axis=1, keepdims=True)
        chunk = np.where(peak > 0, chunk / np.maximum(peak, EPS), 0.0).astype(np.float32)
        out.append(_features(chunk))
    return np.concatenate(out, axis=0)


# ---------------------------------------------------------------------------------------------------------------
# Frechet distance


def gaussian(emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean [D] and covariance [D, D] (float64) of embeddings [N, D]; N >= 2."""
    emb = np.asarray(emb, dtype=np.float64)
    if emb.ndim != 2 or emb.shape[0] < 2:
        raise ValueError(f"a Frechet distance needs at least 2 embeddings [N, D]; got shape {emb.shape}")
    return emb.mean(axis=0), np.cov(emb, rowvar=False)


def _sqrt_psd(s: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_from_stats(mu_a: np.ndarray, cov_a: np.ndarray, mu_b: np.ndarray, cov_b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + tr(A) + tr(B) - 2 tr((A^1/2 B A^1/2)^1/2).

    tr((AB)^1/2) equals tr((A^1/2 B A^1/2)^1/2), and the latter is a symmetric PSD matrix, so both roots come
    from `eigh` with negative round-off eigenvalues clipped: no complex parts, no scipy, stable when N < D.
    """
    mu_a, mu_b = np.asarray(mu_a, np.float64), np.asarray(mu_b, np.float64)
    cov_a, cov_b = np.asarray(cov_a, np.float64), np.asarray(cov_b, np.float64)
    if mu_a.shape != mu_b.shape or cov_a.shape != cov_b.shape:
        raise ValueError(f"statistics of different embeddings: means {mu_a.shape} vs {mu_b.shape}")
    root_a = _sqrt_psd(cov_a)
    middle = root_a @ cov_b @ root_a
    w = np.linalg.eigvalsh((middle + middle.T) / 2)
    tr_cross = float(np.sqrt(np.clip(w, 0.0, None)).sum())
    d = float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2.0 * tr_cross)
    return max(d, 0.0)


def frechet_distance(emb_a: np.ndarray, emb_b: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to two sets of embeddings [Na, D] and [Nb, D]."""
    return frechet_from_stats(*gaussian(emb_a), *gaussian(emb_b))


def frechet(x_a: np.ndarray, x_b: np.ndarray, sample_rate: int) -> float:
    """Frechet distance between two sets of hits [Na, T] and [Nb, T'] at `sample_rate` (via `embed`)."""
    return frechet_distance(embed(x_a, sample_rate), embed(x_b, sample_rate))


# ---------------------------------------------------------------------------------------------------------------
# Diversity and near-copies


def pairwise_distances(a: np.ndarray, b: np.ndarray, chunk: int = 256) -> np.ndarray:
    """Euclidean distances [Na, Nb] between embeddings, by direct differences (exact 0 for identical rows)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    out = np.empty((a.shape[0], b.shape[0]))
    for i in range(0, a.shape[0], chunk):
        diff = a[i:i + chunk, None, :] - b[None, :, :]
        out[i:i + chunk] = np.sqrt((diff * diff).sum(axis=-1))
    return out


def diversity(emb: np.ndarray, max_items: int = 1000, seed: int = 0) -> float:
    """Mean Euclidean distance between all pairs of distinct embeddings [N, D] (a random `max_items` if more).

    Mode collapse shows as a diversity far below the reference set's own (see `diversity_ratio`).
    """
    emb = np.asarray(emb)
    if emb.shape[0] < 2:
        raise ValueError(f"diversity needs at least 2 sounds; got {emb.shape[0]}")
    if emb.shape[0] > max_items:
        emb = emb[np.random.default_rng(seed).choice(emb.shape[0], max_items, replace=False)]
    d = pairwise_distances(emb, emb)
    n = emb.shape[0]
    return float(d.sum() / (n * (n - 1)))


def diversity_ratio(emb_gen: np.ndarray, emb_ref: np.ndarray) -> float:
    """diversity(gen) / diversity(ref): about 1 for a model as varied as the reference, near 0 when collapsed."""
    return diversity(emb_gen) / diversity(emb_ref)


def nearest_neighbour_threshold(emb_train: np.ndarray, percentile: float = 5.0) -> float:
    """The `percentile`-th percentile of real-to-real nearest-neighbour distances within the training set.

    For each training hit, its distance to the nearest *other* training hit; this threshold says how close two
    distinct real hits come in the rare case (5% of hits have a neighbour closer than it).
    """
    emb_train = np.asarray(emb_train)
    if emb_train.shape[0] < 2:
        raise ValueError(f"a near-copy threshold needs at least 2 training sounds; got {emb_train.shape[0]}")
    d = pairwise_distances(emb_train, emb_train)
    np.fill_diagonal(d, np.inf)
    return float(np.percentile(d.min(axis=1), percentile))


def near_copy_rate(emb_gen: np.ndarray, emb_train: np.ndarray, threshold: float | None = None,
                   percentile: float = 5.0) -> float:
    """Fraction of generated sounds that are near-copies of a training sound.

    Definition: a generated sound g is a near-copy when min over training sounds t of ||e(g) - e(t)|| <= tau,
    where e is `embed` and tau = `nearest_neighbour_threshold(emb_train, percentile)` (unless `threshold` is
    given): g sits closer to some training hit than 95% of training hits sit to their own nearest neighbour.
    tau is floored at 1e-6 so exact copies count even when the training set holds duplicates.
    A model that invents new sounds scores near `percentile`/100 or below; a memorising one near 1.
    """
    tau = nearest_neighbour_threshold(emb_train, percentile) if threshold is None else float(threshold)
    nearest = pairwise_distances(emb_gen, emb_train).min(axis=1)
    return float(np.mean(nearest <= max(tau, 1e-6)))


# ---------------------------------------------------------------------------------------------------------------
# Re-synthesis error between paired sounds

RESOLUTIONS = (2048, 512, 128)  # FFT sizes; hop is a quarter of each


def resynthesis_error(x: np.ndarray, y: np.ndarray, floor_db: float = -80.0) -> dict[str, float]:
    """Multi-resolution STFT error of y (re-synthesis) against x (input), both [T] at the same rate.

    Returns {"log_mag_db": drumgen.dsp.spectral.log_spectral_distance_db over FFT sizes 2048, 512 and 128 (dB
    magnitudes floored `floor_db` below the louder signal's peak, so inaudible bins do not dominate),
    "spectral_convergence": || |X| - |Y| ||_F / || |X| ||_F averaged over the same sizes}. The shorter signal is
    zero-padded. 0 for identical signals. Computed in float64.
    """
    x, y = np.asarray(x, np.float64).reshape(-1), np.asarray(y, np.float64).reshape(-1)
    n = max(x.shape[0], y.shape[0], max(RESOLUTIONS))
    tx = torch.from_numpy(np.pad(x, (0, n - x.shape[0])))[None]
    ty = torch.from_numpy(np.pad(y, (0, n - y.shape[0])))[None]
    log_mag = float(spectral.log_spectral_distance_db(tx, ty, RESOLUTIONS, floor_db)[0])
    sc = []
    for n_fft in RESOLUTIONS:
        mx, my = spectral.magnitude(tx, n_fft), spectral.magnitude(ty, n_fft)
        sc.append(float(torch.linalg.norm(mx - my) / torch.linalg.norm(mx).clamp_min(1e-12)))
    return {"log_mag_db": log_mag, "spectral_convergence": float(np.mean(sc))}


# ---------------------------------------------------------------------------------------------------------------
# Garbage checks

SILENT_DB = -60.0  # peak below this: silent
CLIP_LEVEL = 0.999  # |sample| at or above this counts as clipped ...
CLIP_FRACTION = 0.001  # ... and a hit with more than 0.1% such samples is 'clipped'
DC_LIMIT = 0.02  # |mean| above this (-34 dBFS) is a DC offset; real hits average near 0 over a second


def garbage(x: np.ndarray) -> dict[str, dict[str, float]]:
    """Counts and fractions of broken hits in x [N, T]: {"silent"|"clipped"|"nan"|"dc_offset": {count, fraction}}.

    nan: any NaN or infinite sample. silent: peak below -60 dBFS. clipped: more than 0.1% of samples at
    |x| >= 0.999. dc_offset: |mean| > 0.02. A hit can fail several checks.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[None]
    finite = np.isfinite(x).all(axis=1)
    clean = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    peak = np.abs(clean).max(axis=1) if clean.shape[1] else np.zeros(x.shape[0])
    flags = {
        "silent": peak < 10 ** (SILENT_DB / 20),
        "clipped": (np.abs(clean) >= CLIP_LEVEL).mean(axis=1) > CLIP_FRACTION,
        "nan": ~finite,
        "dc_offset": np.abs(clean.mean(axis=1)) > DC_LIMIT,
    }
    n = max(x.shape[0], 1)
    return {k: {"count": int(v.sum()), "fraction": float(v.sum() / n)} for k, v in flags.items()}


# ---------------------------------------------------------------------------------------------------------------
# Scores from a classifier's probabilities (the tagger computes them; these only read them)


def class_histogram(probs: np.ndarray, labels: tuple[str, ...] | list[str]) -> dict[str, int]:
    """How many sounds each class wins (argmax of probs [N, C]), for every class name in `labels`."""
    probs = np.asarray(probs)
    winners = probs.argmax(axis=1) if probs.shape[0] else np.zeros(0, int)
    return {name: int((winners == i).sum()) for i, name in enumerate(labels)}


def inception_score(probs: np.ndarray) -> float:
    """exp(E_x KL(p(y|x) || p(y))) of Salimans et al. 2016 (https://arxiv.org/abs/1606.03498), on probs [N, C].

    Between 1 (every sound ambiguous, or all the same class) and C (each sound confidently one class, classes
    used equally).
    """
    p = np.clip(np.asarray(probs, np.float64), 1e-12, 1.0)
    marginal = p.mean(axis=0, keepdims=True)
    return float(np.exp((p * (np.log(p) - np.log(marginal))).sum(axis=1).mean()))


def mean_confidence(probs: np.ndarray) -> float:
    """Mean over sounds of the top class probability."""
    return float(np.asarray(probs).max(axis=1).mean())


def class_coverage(probs: np.ndarray, labels: tuple[str, ...] | list[str], min_count: int = 1) -> list[str]:
    """The classes that win at least `min_count` sounds."""
    return [k for k, v in class_histogram(probs, labels).items() if v >= min_count]


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """[C, C] counts; row = true class, column = predicted class."""
    m = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(m, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return m
