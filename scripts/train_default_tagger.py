"""Train the shipped tagger (checkpoints/tagger) on the Hydrogen corpus's training kits and write its model card.

    python scripts/train_default_tagger.py --corpus /tmp/drumgen-corpus [--steps 1500]
    python scripts/train_default_tagger.py --corpus /tmp/drumgen-corpus --validate   # model selection only

--validate trains on the train kits minus a few whole validation kits (VAL_KITS) and scores those: that is how
settings are chosen. Without it, the model trains on all train kits and the held-out kits are scored once, at
the end, for the model card; the model kept is the last one (choosing by held-out score would make the reported
accuracy optimistic).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from drumgen import corpus, tagger
from drumgen.labels import CLASSES
from drumgen.models.tagger import Config

OUT = Path(__file__).resolve().parent.parent / "checkpoints" / "tagger"
# Whole train kits set aside by --validate: every class but clap/perc well covered, acoustic and electronic.
VAL_KITS = ("ElectricEmpireKit", "ForzeeStereo", "Millo_MultiLayered2", "VariBreaks", "rumpf_kit_z01_h2")
VALIDATION_NOTE = """## How the settings were chosen (validation, never the held-out kits)

Five whole train kits (VAL_KITS: ElectricEmpireKit, ForzeeStereo, Millo_MultiLayered2, VariBreaks,
rumpf_kit_z01_h2; 238 hits) were set aside and both candidates trained 1200 steps on the rest
(`--validate --steps 1200`): the previous tagger (CNN only, mild augmentation, plain class balance) reached 0.702
(balanced 0.680); this one (summary branch, strong augmentation, SpecAugment, kit-spread sampling) 0.786
(balanced 0.770), so it was chosen. Its validation errors: open hats taken for cymbals (11 of 45 hats), rim clicks
and side sticks taken for perc (11 of 54 snares). A leave-one-kit-out logistic regression / MLP on
drumgen.metrics.embed features reached 0.62 / 0.69, below the CNN, so no ensemble. The held-out kits were scored
once, after the last step of the final run."""
SHORTFALL_NOTE = """## Where it falls short of 0.90, and why (measured on the run above)

Per held-out kit: Millo-Drums_v.1 1.00, ColomboAcousticDrumkit 0.89, Audiophob 0.57, HardElectro1 0.56,
circAfrique v4 0.15; without circAfrique 0.78 (57 of 73). The previous checkpoint: 0.600 overall, balanced 0.643.

- perc (0.16): 27 of the 32 held-out perc hits are circAfrique's djembes and dunun heads and bells. Djembe slaps and
  tones sound like snares (9 went to snare), bass and dunun heads like toms (7), dunun bells like hats or cymbals.
  No train kit has such drums (their perc is tambourine, agogo, cowbell, bongos, cajon, shakers, claves): these
  are genuinely unseen instruments, and "perc vs tom/snare" for a hand drum is partly a naming convention.
  A perc class this broad cannot be learned from 85 train hits of other instruments.
- hihat (0.62): open and sidechained electronic hats (HardElectro1, Audiophob) go to cymbal (4) or clap (2); the
  same confusion is the main validation error (11 of 45), so it is real, not a held-out fluke.
- The estimate is noisy: 100 held-out hits, 27 of them from one hand-drum kit. Overall accuracy is 0.61 and the
  mean of per-class accuracies 0.75; 0.90 is out of reach with these train kits.
Next steps: more hand-drum and electronic-hat kits in training (other CC kits), a longer (2 s) input for hats."""
# The shipped settings (chosen with --validate, see the model card).
CONFIG = Config(segments_ms=[30, 100, 300, 1000], envelope_points=16, freq_mask=8, time_mask=10)


def card(summary: dict, manifest_totals: dict, args: argparse.Namespace) -> str:
    h = summary["heldout"]
    cm = np.array(h["confusion"])
    lines = ["# Drum tagger (default checkpoint)", "",
             "A small CNN over log-mel spectrograms plus a summary branch (log-mel band levels over 0-30, 30-100, "
             "100-300 and 300-1000 ms and a 16-point loudness envelope) (drumgen/models/tagger.py) that names a "
             f"one-shot's class: {', '.join(CLASSES)}.", "",
             "## Data", "",
             f"Training: the train kits of the Hydrogen corpus (`drumgen corpus hydrogen`, Debian's hydrogen-drumkits; "
             f"held-out kits: {', '.join(corpus.DEFAULT_HELDOUT)}), plus {args.synth} procedural hits per class from "
             "drumgen.synth. Labels come from each kit's drumkit.xml instrument names. Kit licences and authors: "
             "see checkpoints/README.md.", "",
             "| split | " + " | ".join(CLASSES) + " |", "|---|" + "---|" * 7]
    for split, t in manifest_totals.items():
        lines.append(f"| {split} | " + " | ".join(str(t[c]) for c in CLASSES) + " |")
    lines += ["", "## Training", "",
              f"{summary['steps']} steps, batch {summary['batch']}, AdamW one-cycle lr {summary['lr']}, label smoothing "
              "0.05, class-balanced batches spread over kits (a hit's weight within its class goes as 1/sqrt(hits of "
              "its kit and class)), augmentation (pitch +-3 semitones by resampling, shift, spectral tilt, peaking "
              "EQ +-9 dB, noise-reverb tails, fades, noise floor) and SpecAugment masks (8 mels, 10 frames). "
              f"CPU time {summary['cpu_seconds']:.0f} s on one thread. Command: `python {' '.join(sys.argv)}`.", "",
              VALIDATION_NOTE, "",
              "## Held-out accuracy (kits never seen in training)", "",
              f"Accuracy {h['accuracy']:.3f} over {h['n']} hits; mean of per-class accuracies {h['balanced_accuracy']:.3f}. "
              "The target was 0.90.", "",
              "| class | accuracy |", "|---|---|"]
    lines += [f"| {c} | {'-' if v is None else f'{v:.2f}'} |" for c, v in h["per_class"].items()]
    lines += ["", "Confusion matrix (rows: true class, columns: predicted):", "",
              "| true \\ pred | " + " | ".join(CLASSES) + " |", "|---|" + "---|" * 7]
    lines += [f"| {c} | " + " | ".join(str(v) for v in row) + " |" for c, row in zip(CLASSES, cm.tolist(), strict=True)]
    return "\n".join(lines + ["", SHORTFALL_NOTE]) + "\n"


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--corpus", default="/tmp/drumgen-corpus")
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--synth", type=int, default=30, help="procedural hits per class mixed into training")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--validate", action="store_true", help="train without VAL_KITS and score them; writes nothing")
    p.add_argument("--out", default=str(OUT))
    args = p.parse_args()
    torch.set_num_threads(1)
    if not (Path(args.corpus) / "manifest.json").is_file():
        corpus.build_hydrogen_corpus(args.corpus)
    import json

    totals = json.loads((Path(args.corpus) / "manifest.json").read_text())["totals"]
    cfg = CONFIG
    x, y, paths = corpus.load_split(args.corpus, "train", cfg.sample_rate, cfg.length)
    kits = np.array([q.split("/")[1] for q in paths])
    if args.validate:
        val = np.isin(kits, VAL_KITS)
        xv, yv = x[val], y[val]
        x, y, kits = x[~val], y[~val], kits[~val]
    else:
        xv, yv, _ = corpus.load_split(args.corpus, "heldout", cfg.sample_rate, cfg.length)
    if args.synth:
        xs, ys = tagger.synth_hits(args.synth, cfg.sample_rate, cfg.length, seed=1)
        x, y, kits = np.concatenate([x, xs]), np.concatenate([y, ys]), np.concatenate([kits, ["synth"] * len(ys)])
    # Held-out kits are scored only after the last step (eval_every > steps), so nothing is chosen by them.
    model, summary = tagger.train_tagger(x, y, CLASSES, cfg.sample_rate, steps=args.steps, seed=args.seed,
                                         config=cfg, x_val=xv, y_val=yv, groups=kits, strong_augment=True,
                                         eval_every=300 if args.validate else args.steps + 1,
                                         log=lambda s: print(s, flush=True))
    if args.validate:
        h = summary["heldout"]
        print(f"validation kits {VAL_KITS}: accuracy {h['accuracy']:.3f}, balanced {h['balanced_accuracy']:.3f}")
        print(np.array(h["confusion"]))
        return 0
    summary["data"] = "hydrogen-drumkits train kits + drumgen.synth"
    tagger.save(model, args.out, summary)
    Path(args.out, "README.md").write_text(card(summary, totals, args))
    print(Path(args.out, "README.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
