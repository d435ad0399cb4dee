"""`drumgen train`: a model on a folder of hits (Ctrl-C stops safely; --resume continues)."""

from __future__ import annotations

import argparse
import json
import os

from drumgen.cli import common

PARSER = dict(help="train a model on a folder of hits",
                       description="Train a model on your hits. Ctrl-C stops safely; --resume continues.")


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None, choices=["wavegan", "specgan", "autoencoder"],
                   help="model kind (default: the --init model's kind, else autoencoder)")
    p.add_argument("--data", required=True, metavar="DIR", help="folder of drum hits")
    p.add_argument("--out", metavar="CKPT_DIR", help="checkpoint directory to write (required unless --dry-run)")
    p.add_argument("--preset", help="size preset of the model kind (e.g. paper, cpu, tiny)")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, help="train this many steps")
    budget.add_argument("--minutes", type=float, help="train for this many minutes")
    p.add_argument("--batch-size", type=int, help="hits per step, instead of the preset's or the --init model's "
                   "(the shipped GANs trained with 64 on a GPU)")
    p.add_argument("--lr", type=float, help="learning rate (default: the preset's, or the --init model's)")
    p.add_argument("--keep-class", type=float, metavar="WEIGHT",
                   help="autoencoder: weight of a loss that makes the tagger hear each re-synthesis as it hears "
                        "the input (try 0.1; default: the preset's or the --init model's, 0 = off)")
    p.add_argument("--tagger", metavar="CKPT", help="the tagger judging --keep-class (default: the shipped one)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out exactly where it stopped")
    p.add_argument("--init", metavar="CKPT", help="fine-tune from this checkpoint (e.g. a default model)")
    p.add_argument("--fit", choices=["auto", "adversarial", "latent"], default="auto",
                   help="GANs: 'latent' fits a latent to each hit and trains the generator to play them back "
                        "(new hits blend neighbouring ones); 'adversarial' is WGAN-GP; 'auto' (default) fits "
                        "latents when fine-tuning (--init) on at most 256 hits, the quick way to your own kit")
    p.add_argument("--unconditional", action="store_true", help="ignore class labels even if the data has them")
    p.add_argument("--no-augment", action="store_true", help="train on the hits exactly as they are")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--preview-every", type=int, default=500, help="write audio previews every N steps")
    p.add_argument("--eval-every", type=int, default=250, help="measure quality and keep the best every N steps")
    p.add_argument("--save-every", type=float, default=120.0, metavar="SECONDS",
                   help="write the resume state this often (default 120); a crash loses at most this much work")
    p.add_argument("--dry-run", action="store_true", help="one real batch end to end, then stop")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    common.add_device_arg(p)


def run(args: argparse.Namespace) -> int:
    from drumgen.train import TrainOptions, train

    opts = TrainOptions(
        data=args.data, out=args.out, kind=args.model, preset=args.preset, steps=args.steps, minutes=args.minutes,
        batch_size=args.batch_size, resume=args.resume, init=args.init, fit=args.fit,
        conditional=not args.unconditional, augment=not args.no_augment, seed=args.seed, preview_every=args.preview_every,
        eval_every=args.eval_every, save_every=args.save_every, dry_run=args.dry_run, progress=not args.quiet,
        device=args.device, tagger=args.tagger,
        config_overrides={k: v for k, v in (("lr", args.lr), ("class_weight", args.keep_class)) if v is not None})
    summary = train(opts)
    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun only the first process reports
        return 0
    if args.dry_run:
        print(json.dumps(summary["dry_run"]))
        print("dry run ok: one real batch went through training, generation and a checkpoint save")
    else:
        best = summary.get("best_score")
        what = {"frechet": "Frechet distance", "resynth_db": "re-synthesis error (dB)"}[summary["measure"]]
        print(f"trained {summary['steps']} steps in {summary['seconds'] / 60:.1f} min; "
              f"best {what} {best if best is None else round(best, 3)}; checkpoint: {args.out}")
    return 0
