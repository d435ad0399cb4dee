"""Fine-tuning a default model on a small kit it never saw: how much closer do its hits come to that kit?

    python benchmarks/finetune.py --base checkpoints/wavegan --kit runs/corpus/heldout/ColomboAcousticDrumkit --minutes 10
    python benchmarks/finetune.py --base checkpoints/autoencoder --kit runs/corpus/heldout/ColomboAcousticDrumkit
    python benchmarks/finetune.py --kit runs/corpus/heldout/Audiophob --kit runs/corpus/heldout/HardElectro1

--kit more than once makes one kit of those folders (the held-out kits have 14-27 hits each; two electronic ones
make a 30-hit kit).

Measures 250 generated hits of the base model and of the fine-tuned one against the kit (Frechet distance of
drumgen.eval.metrics.embed, diversity ratio, near-copy rate against the kit's own hits, which are the fine-tune's
training data), prints a table and appends it to RESULTS.md. The fine-tune is `drumgen train --init BASE` (for a
GAN on a kit this small, a latent fit: drumgen/train/steps.py). A middle row shows the base model with only its latent
prior moved to the kit, no training: for an autoencoder the encoded latents of the kit's hits, for a GAN each hit's
nearest of 128 prior samples (where the latent fit starts). It tells how much of the gain needs no training.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from common import record, table

from drumgen import checkpoint
from drumgen.data.dataset import find_files, load_folder
from drumgen.engine import Engine
from drumgen.eval import evaluate
from drumgen.train import TrainOptions, steps, train

N = 250


def measure(ckpt: Path, stats: dict, small_bank_noise: float | None = None) -> dict:
    """N hits of the checkpoint against `stats`; `small_bank_noise` overrides its config's (bank_noise.py)."""
    engine, name = Engine.of(ckpt, name="model", tagger=False)
    if small_bank_noise is not None:
        engine.get(name).config.prior_small_bank_noise = small_bank_noise
    sounds = engine.sample(name, N, seed=7)
    x = np.stack([s.audio for s in sounds])
    return evaluate.evaluate_hits(x, sounds[0].sample_rate, stats)


def refit_prior(base: Path, kit_dir: Path, out: Path, stats: dict) -> dict | None:
    """The base model unchanged but for its latent prior, moved to the kit's hits: how much of a fine-tune's gain
    is the prior alone. None when the model cannot store the kit's latents."""
    model = checkpoint.load(base)
    kit = load_folder(kit_dir, model.config.sample_rate, model.config.slice_length, cache_dir=False)
    names = [kit.labels[i] if i >= 0 else None for i in kit.y]
    labels = model.config.labels
    y = np.array([labels.index(n) if n in labels else -1 for n in names]) if labels else None
    if model.can_encode:
        steps.fit_latent_prior(model, kit.x, y)
    else:  # a GAN: each hit's best prior sample, as a latent fit starts (hits of other classes left out)
        keep = np.ones(len(kit.x), bool) if y is None else y >= 0
        if model.kind not in steps.GANS or keep.sum() > model.config.prior_size:
            return None
        steps.start_latent_fit(model, kit.x[keep], None if y is None else y[keep], torch.Generator().manual_seed(0))
    checkpoint.save(model, out, model.summary)
    try:
        return measure(out, stats)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def one_kit(folders: list[Path]) -> tuple[Path, str]:
    """The kit folder to train on and its name: the folder itself, or for several a temporary folder that links
    every hit of each as <folder name>/<path in it>."""
    if len(folders) == 1:
        return folders[0], folders[0].name
    root = Path(tempfile.mkdtemp(prefix="drumgen-kit-"))
    for folder in folders:
        for f in find_files(folder):
            link = root / folder.name / f.relative_to(folder)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(f.resolve())
    return root, " + ".join(f.name for f in folders)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", type=Path, default=Path("checkpoints/wavegan"))
    ap.add_argument("--kit", type=Path, required=True, action="append",
                    help="folder of the unseen kit's hits (more than once: one kit of them all)")
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--out", type=Path, help="fine-tune run directory (default: a temporary one)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    kit_dir, kit_name = one_kit(args.kit)
    kit = load_folder(kit_dir, evaluate.EVAL_RATE, evaluate.EVAL_LENGTH, cache_dir=False)
    stats = evaluate.reference_stats(kit.x, evaluate.EVAL_RATE, x_train=kit.x)
    out = args.out or Path(tempfile.mkdtemp(prefix="drumgen-finetune-"))
    base = checkpoint.resolve(args.base)
    before = measure(base, stats)
    refit = refit_prior(base, kit_dir, out.with_name(out.name + "-refit"), stats)
    t = time.process_time()
    summary = train(TrainOptions(data=str(kit_dir), out=str(out), init=str(base), minutes=args.minutes,
                                 resume=(out / checkpoint.STATE_FILE).exists(), eval_every=100,
                                 preview_every=10**9, progress=False))
    cpu = time.process_time() - t
    after = measure(out, stats)
    fit = getattr(checkpoint.load(out).config, "fit", None)
    rows = [[f"base ({base.name})", before["frechet"], before["diversity_ratio"], before.get("near_copy_rate")],
            *([["base, its latent prior moved to the kit (no training)", refit["frechet"],
                refit["diversity_ratio"], refit.get("near_copy_rate")]] if refit else []),
            [f"fine-tuned {args.minutes:g} min{f', {fit} fit' if fit else ''} ({summary['steps']} steps, "
             f"{cpu / 60:.1f} CPU-min)",
             after["frechet"], after["diversity_ratio"], after.get("near_copy_rate")]]
    change = 1 - after["frechet"] / before["frechet"]
    text = table(["model", "Frechet to kit", "diversity ratio", "near-copy rate"], rows)
    record(f"Fine-tune of {base.name} on {kit_name} ({len(kit)} hits it never saw)", text,
           f"Frechet distance to the kit {'down' if change > 0 else 'up'} {abs(change):.0%} "
           f"(target: down at least 30%, near-copies under 10%). Load average at the end: "
           f"{os.getloadavg()[0]:.1f}.")
    if not args.out:
        shutil.rmtree(out, ignore_errors=True)
    if kit_dir not in args.kit:
        shutil.rmtree(kit_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
