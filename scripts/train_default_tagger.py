"""Train the shipped tagger (checkpoints/tagger) on a built corpus's train kits, choose on its validation kits, and
install the chosen run with its model card.

    python scripts/train_default_tagger.py --corpus runs/corpus-v2 --variant mix     # -> runs/tagger-v2/mix
    python scripts/train_default_tagger.py --corpus runs/corpus-v2 --install runs/tagger-v2/mix
    python scripts/train_default_tagger.py --install runs/tagger-v2/mix,runs/tagger-v2/mix-seed1   # an ensemble
    python scripts/train_default_tagger.py --variant long --folds 4 [--fold I]   # leave-kit-out over train kits
    python scripts/train_default_tagger.py --cv-report

A variant trains on the train split (plus procedural hits from drumgen.dsp.synth) and is scored on the validation
kits only; that is how settings are chosen. --install copies the chosen run into checkpoints/tagger, scores the
held-out kits once (never used to choose) and writes the card. Build the corpus with
`drumgen corpus all --out runs/corpus-v2`. Each run is a few CPU-minutes on one thread.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

from drumgen import checkpoint
from drumgen.data import corpus
from drumgen.data.labels import CLASSES
from drumgen.engine import tagging as tagger
from drumgen.models.tagger import Config, Tagger
from drumgen.train import tagger as tagger_training

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "checkpoints" / "tagger"
RUNS = ROOT / "runs" / "tagger-v2"
# The previous default's settings (chosen on hydrogen kits; see git history of the card).
BASE = Config(segments_ms=[30, 100, 300, 1000], envelope_points=16, freq_mask=8, time_mask=10)
LONG = dataclasses.replace(BASE, length=44100, segments_ms=[30, 100, 300, 1000, 2000], envelope_points=24)
# name -> (model config, train_tagger keyword arguments, what it tries). Scores: checkpoints/tagger/README.md.
VARIANTS: dict[str, tuple[Config, dict, str]] = {
    "base": (BASE, {}, "the previous recipe on the broader train split"),
    "mix": (BASE, {"mix": 0.3}, "+ a quiet second hit mixed into 30% of training hits"),
    "mix-long": (LONG, {"mix": 0.3}, "mix at 2 s input"),
    "long": (LONG, {}, "the previous recipe with 2 s input (toms, open hats and cymbals ring past 1 s)"),
    "mix-loud": (BASE, {"mix": 0.5, "mix_db": (3.0, 24.0)},
                 "a second hit 3-24 dB down in half the hits (kits sliced from beats, layered electronic hits)"),
    "long-floor50": (dataclasses.replace(LONG, floor_db=-50.0), {},
                     "long, its log-mel floored at -50 dB (a noise floor of -60 dBFS is invisible to it)"),
    "long-floor60": (dataclasses.replace(LONG, floor_db=-60.0), {}, "long, its log-mel floored at -60 dB"),
    "long-floors": (LONG, {"floor_share": 0.5, "floor_db": (40.0, 100.0)},
                    "long, half the training hits clean and half over a noise floor 40-100 dB down (every hit had "
                    "one 30-70 dB down: a clean hit was what it had never seen)"),
    "long-floor50-floors": (dataclasses.replace(LONG, floor_db=-50.0), {"floor_share": 0.5, "floor_db": (40.0, 100.0)},
                            "long-floors with the log-mel floored at -50 dB"),
    "long-floor60-floors": (dataclasses.replace(LONG, floor_db=-60.0), {"floor_share": 0.5, "floor_db": (40.0, 100.0)},
                            "long-floors with the log-mel floored at -60 dB"),
    "long-floor50-floors30": (dataclasses.replace(LONG, floor_db=-50.0), {"floor_share": 0.75, "floor_db": (30.0, 100.0)},
                              "long-floor50-floors with three quarters of the hits over a floor 30-100 dB down, a "
                              "quarter clean (a hit sliced from a loop carries the other hits' bleed ~30 dB down)"),
    "mix-ema": (BASE, {"mix": 0.3, "ema": 0.995}, "mix, weights averaged over the run (EMA, decay 0.995)"),
}


def train(args: argparse.Namespace) -> int:
    cfg, extra, what = VARIANTS[args.variant]
    extra = {"steps": 1500, **extra, **({"steps": args.steps} if args.steps else {})}
    x, y, paths = corpus.load_split(args.corpus, "train", cfg.sample_rate, cfg.length)
    xv, yv, _ = corpus.load_split(args.corpus, "validation", cfg.sample_rate, cfg.length)
    kits = np.array([q.split("/")[1] for q in paths])
    if args.synth:
        xs, ys = tagger_training.synth_hits(args.synth, cfg.sample_rate, cfg.length, seed=1)
        x, y, kits = np.concatenate([x, xs]), np.concatenate([y, ys]), np.concatenate([kits, ["synth"] * len(ys)])
    # The last model is kept (no keep_best): the validation score printed is the one the run ends on.
    model, summary = tagger_training.train_tagger(x, y, CLASSES, cfg.sample_rate, seed=args.seed, config=cfg,
                                         x_val=xv, y_val=yv, groups=kits, strong_augment=True, eval_every=500,
                                         log=lambda s: print(s.replace("held-out", "validation"), flush=True),
                                         **extra)
    summary["validation"] = tagger.evaluate_split(model, args.corpus, "validation")
    summary.pop("heldout", None)  # train_tagger's name for x_val; here it is the validation split
    summary.update(variant=args.variant, what=what, synth=args.synth, data=f"{args.corpus} train split + drumgen.dsp.synth",
                   command="python " + " ".join(sys.argv))
    out = Path(args.out or RUNS / args.variant)
    tagger.save(model, out, summary)
    v = summary["validation"]
    print(f"{args.variant}: validation accuracy {v['accuracy']:.3f}, balanced {v['balanced_accuracy']:.3f}, "
          f"nll {v['nll']:.3f}, "
          f"{summary['cpu_seconds']:.0f} CPU-s -> {out}")
    print(json.dumps({k: v[k] for k in ("per_class", "per_kit", "confusion")}))
    return 0


def kit_family(kit: str) -> str:
    """Kits that are variants of one kit (a SoundFont's standard kit and its numbered versions, which share most
    samples) share a fold: leave-kit-out must not train on a copy of the hit it scores."""
    return re.sub(r"(?<=[A-Za-z])\d{1,2}$|-\d{1,2}$", "", kit)  # sf-fluidr3-standard-3, h2-Millo_MultiLayered2


def folds_of(kits: np.ndarray, k: int) -> dict[str, int]:
    """Each train kit family -> one of k folds, the families spread so the folds hold about as many hits (the
    largest family first, each to the fold with the fewest hits so far): deterministic."""
    families, counts = np.unique([kit_family(str(x)) for x in kits], return_counts=True)
    sizes = [0] * k
    fold: dict[str, int] = {}
    for i in np.argsort(-counts, kind="stable"):
        j = int(np.argmin(sizes))
        fold[str(families[i])] = j
        sizes[j] += int(counts[i])
    return fold


def cross_validate(args: argparse.Namespace) -> int:
    """Leave-kit-out: train the variant on the train kits of all folds but one (plus the procedural hits) and
    score the one left out; a fold's result goes to runs/tagger-v2/cv/VARIANT-seedS-foldI.json. The validation
    kits (59 hits) cannot tell recipes 0.05 apart; the 728 train hits, each scored once by a net that never saw its
    kit, can say more."""
    cfg, extra, what = VARIANTS[args.variant]
    extra = {"steps": 1500, **extra, **({"steps": args.steps} if args.steps else {})}
    x, y, paths = corpus.load_split(args.corpus, "train", cfg.sample_rate, cfg.length)
    kits = np.array([q.split("/")[1] for q in paths])
    fold = folds_of(kits, args.folds)
    of = np.array([fold[kit_family(str(k))] for k in kits])
    todo = range(args.folds) if args.fold is None else [args.fold]
    out_dir = RUNS / "cv"
    out_dir.mkdir(parents=True, exist_ok=True)
    for i in todo:
        train_x, train_y, groups = x[of != i], y[of != i], kits[of != i]
        if args.synth:
            xs, ys = tagger_training.synth_hits(args.synth, cfg.sample_rate, cfg.length, seed=1)
            train_x, train_y = np.concatenate([train_x, xs]), np.concatenate([train_y, ys])
            groups = np.concatenate([groups, ["synth"] * len(ys)])
        model, summary = tagger_training.train_tagger(train_x, train_y, CLASSES, cfg.sample_rate, seed=args.seed,
                                                      config=cfg, groups=groups, strong_augment=True, **extra)
        left = x[of == i]
        names = tagger.predict(model, left, cfg.sample_rate)[0]
        pred = np.array([CLASSES.index(n) for n in names])
        hit = pred == y[of == i]
        per_class = {c: [float(hit[y[of == i] == j].mean()), int((y[of == i] == j).sum())]
                     for j, c in enumerate(CLASSES) if (y[of == i] == j).any()}
        result = {"variant": args.variant, "what": what, "seed": args.seed, "fold": i, "folds": args.folds,
                  "kits": sorted(set(kits[of == i].tolist())), "n": int(hit.size), "accuracy": float(hit.mean()),
                  "balanced_accuracy": float(np.mean([a for a, _ in per_class.values()])), "per_class": per_class,
                  "steadiness": tagger.steadiness(model, left, cfg.sample_rate, names=list(names)),
                  "cpu_seconds": summary["cpu_seconds"], "command": "python " + " ".join(sys.argv)}
        path = out_dir / f"{args.variant}-seed{args.seed}-fold{i}.json"
        path.write_text(json.dumps(result, indent=1))
        print(f"{args.variant} fold {i}/{args.folds} ({result['n']} hits of {len(result['kits'])} kits): accuracy "
              f"{result['accuracy']:.3f}, balanced {result['balanced_accuracy']:.3f}, steady "
              f"{result['steadiness']:.2f} -> {path}", flush=True)
    return 0


def cv_report(args: argparse.Namespace) -> int:
    """The folds written by --folds, per variant: hits scored, accuracy over all of them (each hit once), the
    folds' spread, per-class accuracy, steadiness."""
    rows = []
    for path in sorted((RUNS / "cv").glob("*.json")):
        rows.append(json.loads(path.read_text()))
    by: dict[tuple[str, int], list[dict]] = {}
    for r in rows:
        by.setdefault((r["variant"], r["seed"]), []).append(r)
    print("| variant | seed | folds | hits | accuracy (every train hit once) | folds' accuracies | per-class mean | "
          "worst class | steady over -60 dBFS |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (variant, seed), rs in sorted(by.items()):
        n = sum(r["n"] for r in rs)
        acc = sum(r["accuracy"] * r["n"] for r in rs) / n
        per: dict[str, list[float]] = {}
        for r in rs:
            for c, (a, m) in r["per_class"].items():
                per.setdefault(c, [0.0, 0.0])
                per[c][0] += a * m
                per[c][1] += m
        classes = {c: a / m for c, (a, m) in per.items()}
        worst = min(classes, key=classes.get)
        steady = sum(r["steadiness"] * r["n"] for r in rs) / n
        spread = ", ".join(f"{r['accuracy']:.2f}" for r in sorted(rs, key=lambda r: r["fold"]))
        print(f"| {variant} | {seed} | {len(rs)} of {rs[0]['folds']} | {n} | {acc:.3f} | {spread} | "
              f"{np.mean(list(classes.values())):.3f} | {worst} {classes[worst]:.2f} | {steady:.2f} |")
    return 0


def joined(runs: list[Path]) -> tuple[Tagger, dict]:
    """One run's tagger, or several runs (seeds of one variant) as an ensemble, with the summary its card reads."""
    models = [tagger.load(r) for r in runs]
    if len(models) == 1:
        return models[0], models[0].summary
    s = models[0].summary
    summary = {**s, "variant": s["variant"], "members": [_relative(r) for r in runs],
               "cpu_seconds": sum(m.summary["cpu_seconds"] for m in models),
               "command": "`, `".join(m.summary["command"] for m in models)}
    return Tagger.ensemble(models), summary


def install(args: argparse.Namespace) -> int:
    runs = [Path(r) for r in args.install.split(",")]
    model, summary = joined(runs)
    valid = tagger.evaluate_split(model, args.corpus, "validation")  # as the runs scored it, with today's measures
    held = tagger.evaluate_split(model, args.corpus, "heldout")  # scored once, after the choice
    OUT.mkdir(parents=True, exist_ok=True)
    tagger.save(model, OUT, summary)
    shutil.rmtree(OUT / "previews", ignore_errors=True)
    manifest = json.loads((Path(args.corpus) / "manifest.json").read_text())
    (OUT / checkpoint.CARD_FILE).write_text(card(model, summary, args.install, valid, held, manifest, args.notes))
    print((OUT / checkpoint.CARD_FILE).read_text())
    return 0


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _rows(slices: dict) -> list[str]:
    return [f"| {k} | {a:.2f} | {n} |" for k, (a, n) in slices.items()]


def card(model, s: dict, runs: str, v: dict, held: dict, manifest: dict, notes: str | None) -> str:
    c = model.config
    members = (f" An ensemble of {c.members} networks of that shape, trained from different seeds on the same data, "
               "sharing the log-mel front end: their class probabilities are averaged." if c.members > 1 else "")
    by_split: dict[str, dict[str, list[str]]] = {}
    for k in manifest["kits"]:
        if sum(k["counts"].values()):
            by_split.setdefault(k["split"], {}).setdefault(tagger.source_of(k), []).append(k["name"])
    lines = ["# Drum tagger (default checkpoint)", "",
             f"A small CNN over log-mel spectrograms of the first {c.length / c.sample_rate:g} s of a hit, plus a summary "
             f"branch (log-mel band levels over the segments ending at {', '.join(map(str, c.segments_ms))} ms and a "
             f"{c.envelope_points}-point loudness envelope) (drumgen/models/tagger.py) that names a one-shot's class: "
             f"{', '.join(CLASSES)}.{members} {sum(p.numel() for p in model.parameters()) / 1e3:.0f}k parameters.", "",
             "## Data", "",
             "The corpus built by `drumgen corpus all --out runs/corpus-v2`: Debian's hydrogen-drumkits, Sonic Pi's "
             "drum samples and the drum kits of the FluidR3 and TimGM6mb General MIDI soundfonts, split by whole kit. "
             f"Training used the train kits plus {s['synth']} procedural hits per class from drumgen.dsp.synth. Labels "
             "come from each kit's instrument names. Kit licences and authors: runs/corpus-v2/manifest.json and "
             "checkpoints/README.md.", ""]
    for split in ("train", "validation", "heldout"):
        kits = by_split.get(split, {})
        lines.append(f"- {split}: " + "; ".join(f"{src}: {', '.join(names)}" for src, names in sorted(kits.items())))
    lines += ["", "| split | " + " | ".join(CLASSES) + " |", "|---|" + "---|" * len(CLASSES)]
    lines += [f"| {split} | " + " | ".join(str(t.get(k, 0)) for k in CLASSES) + " |"
              for split, t in manifest["totals"].items()]
    lines += ["", "## Training", "",
              f"Variant `{s['variant']}` ({s['what']}): {s['steps']} steps, batch {s['batch']}, AdamW one-cycle lr "
              f"{s['lr']}, label smoothing 0.05, class-balanced batches spread over kits (a hit's weight within its "
              "class goes as 1/sqrt(hits of its kit and class)), augmentation (pitch +-3 semitones by resampling, "
              "shift, spectral tilt, peaking EQ +-9 dB, noise-reverb tails, fades, noise floor"
              + (f", a second hit 14-30 dB down mixed into {s['mix']:.0%} of hits" if s.get("mix") else "")
              + f") and SpecAugment masks ({c.freq_mask} mels, {c.time_mask} frames). CPU time "
              f"{s['cpu_seconds']:.0f} s on one thread{' in all' if c.members > 1 else ''}. "
              f"Command{'s' if c.members > 1 else ''}: `{s['command']}`, then "
              f"`python scripts/train_default_tagger.py --install {','.join(_relative(Path(r)) for r in runs.split(','))}`.", "",
              "## How it was chosen (validation kits, never the held-out kits)", "",
              f"Validation accuracy {v['accuracy']:.3f} over {v['n']} hits, mean per class {v['balanced_accuracy']:.3f}, "
              f"log-loss {v['nll']:.2f}; the class of {v['steadiness']:.1%} of them unchanged over a -60 dBFS white "
              "noise floor (drumgen.engine.tagging.steadiness)."]
    if notes:
        lines += ["", Path(notes).read_text().strip()]
    lines += ["", "## Held-out accuracy (kits never seen in training or in choosing)", "",
              f"Accuracy **{held['accuracy']:.3f}** over {held['n']} hits; mean of per-class accuracies "
              f"{held['balanced_accuracy']:.3f}; the class of {held['steadiness']:.1%} unchanged over a -60 dBFS noise "
              "floor. Targets: 0.90 overall, 0.75 in every class. Reproduce with "
              "`python benchmarks/tagger_eval.py checkpoints/tagger --corpus runs/corpus-v2`.", "",
              "| class | accuracy | hits |", "|---|---|---|", *_rows(held["per_class"]), "",
              "| source | accuracy | hits |", "|---|---|---|", *_rows(held["per_source"]), "",
              "| kit | accuracy | hits |", "|---|---|---|", *_rows(held["per_kit"]), "",
              "Confusion matrix (rows: true class, columns: predicted):", "",
              "| true \\ pred | " + " | ".join(CLASSES) + " |", "|---|" + "---|" * len(CLASSES)]
    lines += [f"| {k} | " + " | ".join(map(str, row)) + " |" for k, row in zip(CLASSES, held["confusion"], strict=True)]
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", default=str(ROOT / "runs" / "corpus-v2"), help="built corpus (drumgen corpus all)")
    p.add_argument("--variant", choices=sorted(VARIANTS), help="train this variant and score the validation kits")
    p.add_argument("--install", metavar="RUN[,RUN...]",
                   help="install a trained run (several, comma-separated: their ensemble) into checkpoints/tagger "
                        "and write its card")
    p.add_argument("--notes", metavar="FILE", help="with --install: Markdown (variants compared, what it gets wrong) for the card")
    p.add_argument("--steps", type=int, help="override the variant's steps (1500 unless it says otherwise)")
    p.add_argument("--synth", type=int, default=30, help="procedural hits per class mixed into training")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="where to write the run (default runs/tagger-v2/VARIANT)")
    p.add_argument("--folds", type=int, metavar="K",
                   help="with --variant: leave-kit-out cross-validation over the train kits in K folds instead")
    p.add_argument("--fold", type=int, metavar="I", help="with --folds: only fold I (0..K-1; run folds side by side)")
    p.add_argument("--cv-report", action="store_true", help="print the cross-validation folds written so far")
    args = p.parse_args()
    if args.cv_report:
        return cv_report(args)
    torch.set_num_threads(1)
    if not (Path(args.corpus) / "manifest.json").is_file():
        p.error(f"no corpus at {args.corpus}; build it with `drumgen corpus all --out {args.corpus}`")
    if bool(args.variant) == bool(args.install):
        p.error("give --variant NAME (train and validate) or --install RUN (install and write the card)")
    start = time.time()
    if args.folds and not args.variant:
        p.error("--folds needs --variant NAME")
    rc = (cross_validate(args) if args.folds else train(args)) if args.variant else install(args)
    print(f"{time.time() - start:.0f} s wall", file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main())
