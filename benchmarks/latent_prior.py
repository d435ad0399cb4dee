"""How an autoencoder samples new hits: the latent priors compared on the same weights (issues 8 and 10).

    python benchmarks/latent_prior.py [--model checkpoints/autoencoder] [--corpus runs/corpus]

One trained autoencoder, several ways to draw the latents it decodes into new hits. Each variant is saved as a
checkpoint and scored exactly as the default checkpoints are (drumgen.eval.evaluate.measure_model: 250 hits through
the Engine, classes drawn per seed as the app draws them, against the corpus's held-out kits), next to the real
floor (250 real train-kit hits measured the same way):

  - N(0, 1): no stored latents (what a model without them samples; the Gaussian fitted to every training latent,
    the prior before the stored one, is no longer kept by the model);
  - stored blend: the default (drumgen/models/autoencoder.py): a random training latent of the asked class
    blended with one of its nearest same-class neighbours, plus noise (prior_noise of the class's spread);
  - stored blend without noise, and with more noise;
  - reconstructions: the stored latents themselves, decoded (no new hits: what the decoder alone can reach).

Prints a table and appends it to benchmarks/RESULTS.md. The corpus is built first if missing
(`drumgen corpus hydrogen --out DIR`, needs Debian's hydrogen-drumkits).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import record, table  # noqa: E402

from drumgen import checkpoint  # noqa: E402
from drumgen.data import corpus, corpus_hydrogen  # noqa: E402
from drumgen.data.labels import CLASSES  # noqa: E402
from drumgen.eval import evaluate  # noqa: E402
from drumgen.train import steps  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# name -> config changes on top of the model's own; None: no stored latents (N(0, 1))
VARIANTS: dict[str, dict | None] = {
    "N(0, 1) (no stored latents)": None,
    "stored blend (default)": {},
    "stored blend, no noise": {"prior_noise": 0.0},
    "stored blend, noise 0.5": {"prior_noise": 0.5},
    "reconstructions of train hits": {"prior_noise": 0.0, "prior_neighbours": 0},
}


def variant_checkpoint(model, changes: dict | None, x, y, out: Path) -> Path:
    """Save `model` with the prior a variant describes into out/ and return it."""
    model.config = dataclasses.replace(model.config, **(changes or {}))
    if changes is None:
        model.prior.count.zero_()
    else:
        steps.fit_latent_prior(model, x, y if model.config.labels else None)
    checkpoint.save(model, out, model.summary)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="checkpoints/autoencoder", help="an autoencoder checkpoint")
    ap.add_argument("--corpus", type=Path, default=ROOT / "runs" / "corpus")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if not (args.corpus / "manifest.json").exists():
        corpus_hydrogen.build_hydrogen_corpus(args.corpus)
    stats, _ = evaluate.resolve_reference(str(args.corpus))
    tagger = checkpoint.load(ROOT / "checkpoints" / "tagger")
    base = checkpoint.load(args.model)
    if base.kind != "autoencoder":
        raise SystemExit(f"{args.model} is a {base.kind}; this benchmark compares an autoencoder's priors")
    x, y, _ = corpus.load_split(args.corpus, "train", base.config.sample_rate, base.config.slice_length,
                                labels=tuple(base.config.labels) or CLASSES)
    real = evaluate.real_floor(args.corpus, stats, tagger)
    rows = [["real train-kit hits (the floor)", real["frechet"], 1.0, real["diversity_ratio"],
             real.get("near_copy_rate"), "-", len(real["tagger"]["coverage"])]]
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, changes) in enumerate(VARIANTS.items()):
            model = checkpoint.load(args.model)
            ckpt = variant_checkpoint(model, changes, x, y, Path(tmp) / f"v{i}")
            r = evaluate.measure_model(ckpt, stats, tagger)
            rows.append([name, r["frechet"], r["frechet"] / real["frechet"], r["diversity_ratio"],
                         r.get("near_copy_rate"), r.get("tagger_agreement", "-"), len(r["tagger"]["coverage"])])
            print(name, "done", flush=True)
    text = table(["latents drawn as", "Frechet to held-out", "x floor", "diversity ratio", "near-copy rate",
                  "tagger agrees with asked class", "classes heard"], rows)
    record(f"Autoencoder latent priors on {Path(args.model).name} ({evaluate.MEASURE_HITS} hits each)", text,
           f"Same weights, only the latents differ. The floor's near-copy rate is 1 by construction (its hits are "
           f"training hits). Load average at the end: {os.getloadavg()[0]:.1f}.")


if __name__ == "__main__":
    main()
