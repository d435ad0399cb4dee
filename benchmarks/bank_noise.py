"""How much noise a small kit's stored latents need: one fine-tuned model, sampled at several small-bank noises.

    python benchmarks/finetune.py --base checkpoints/autoencoder --kit runs/corpus/heldout/Audiophob \
        --kit runs/corpus/heldout/HardElectro1 --out runs/ft-electro-ae
    python benchmarks/bank_noise.py runs/ft-electro-ae --kit runs/corpus/heldout/Audiophob \
        --kit runs/corpus/heldout/HardElectro1 --noise 0.2,1,1.5,2

A model fine-tuned on a kit of a few dozen hits stores one latent per hit and samples blends of neighbouring ones
(models/prior.py). With so few, the blend of two lands next to one of them: a near-copy of the user's own hit. The
sampler raises the noise for small banks (the config's prior_small_bank_noise of the class spread at 32 latents or
fewer); this measures the trade that sets it. Each noise is given to the measured copy's config (nothing global
changes): 250 hits against the kit (Frechet distance, diversity ratio, near-copy rate against the kit's own hits),
the same measure as finetune.py. Prints a table and appends it to RESULTS.md.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import torch
from common import record, table
from finetune import measure, one_kit

from drumgen import checkpoint
from drumgen.data.dataset import load_folder
from drumgen.eval import evaluate
from drumgen.models.prior import bank_noise


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path, help="a checkpoint fine-tuned on the kit (finetune.py --out DIR)")
    ap.add_argument("--kit", type=Path, required=True, action="append",
                    help="folder of the kit's hits (more than once: one kit of them all, as finetune.py)")
    ap.add_argument("--noise", default="0.2,1,1.5,2", help="comma-separated small-bank noises to try")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    noises = [float(v) for v in args.noise.split(",")]
    kit_dir, kit_name = one_kit(args.kit)
    try:
        kit = load_folder(kit_dir, evaluate.EVAL_RATE, evaluate.EVAL_LENGTH, cache_dir=False)
    finally:
        if kit_dir not in args.kit:
            shutil.rmtree(kit_dir, ignore_errors=True)
    stats = evaluate.reference_stats(kit.x, evaluate.EVAL_RATE, x_train=kit.x)
    model = checkpoint.load(args.model)
    count = model.prior.stored if getattr(model, "prior", None) is not None else 0
    if not count:
        raise SystemExit(f"{args.model} has no stored latents: nothing to blend (fine-tune it on a kit first)")
    shipped, rows = model.config.prior_small_bank_noise, []
    for v in noises:  # the config's knob, given to each measured copy: nothing global changes
        r = measure(args.model, stats, small_bank_noise=v)
        mark = " (shipped)" if v == shipped else ""
        rows.append([f"{bank_noise(model.config.prior_noise, count, v):g}{mark}", r["frechet"],
                     r["diversity_ratio"], r.get("near_copy_rate")])
        print(f"noise {v:g} done", flush=True)
    text = table(["noise (x class spread)", "Frechet to kit", "diversity ratio", "near-copy rate"], rows)
    record(f"Small-bank noise of {args.model.name} ({model.kind}, {count} stored latents) on {kit_name}", text,
           f"The same weights and stored latents at every row; only the noise differs (at {count} latents the "
           f"sampler uses its config's prior_small_bank_noise, {shipped:g} as shipped). Near-copies are against the kit's own hits.")


if __name__ == "__main__":
    main()
