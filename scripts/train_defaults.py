"""Train (or continue training) the default checkpoints on a built corpus (the Hydrogen one unless --corpus),
measure them, and install them.

    python scripts/train_defaults.py --models autoencoder --minutes 60          # train, resumable
    python scripts/train_defaults.py --models autoencoder --minutes 60 --install  # ... then copy to checkpoints/

    python scripts/train_defaults.py --models wavegan --minutes 45 --latent-fit-minutes 30 --install
    python scripts/train_defaults.py --models autoencoder --minutes 75 --keep-class-steps 600 --install
    python scripts/train_defaults.py --models wavegan --minutes 3.7 --latent-fit-minutes 3.7 --batch-size 64 \
        --threads 4 --corpus runs/corpus-v2 --install             # on a GPU: how the shipped GANs were made

--minutes is the TOTAL training time of each run: calling again continues the run in runs/<model> (its resume
state) until that total is reached, so a long run can span sessions. --latent-fit-minutes (GANs) then fits a latent
to every train hit and the generator to play them back (drumgen/train/steps.py), in runs/<model>-latent, started
from the adversarial run and resumable the same way; the installed model samples blends of those latents.
--keep-class-steps (autoencoder) then fine-tunes it with the class-keeping loss (`drumgen train --keep-class`:
the tagger hears each re-synthesis as it hears the input) for that many steps in total, in runs/autoencoder-keep,
resumable; --base starts that fine-tune from a checkpoint instead (the shipped one, on a machine without the run).
--batch-size sets a GAN's adversarial run's batch (its latent fit keeps it): the presets' 16 suit a CPU; the
shipped GANs were trained with 64 on a GPU. --install measures the best checkpoint on the held-out kits (250
generated hits, the measures of drumgen.eval.evaluate) and writes checkpoints/<model>/ with model.safetensors
and a model card (README.md).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import sys
import time
from pathlib import Path

import torch

from drumgen import checkpoint
from drumgen.data import corpus, corpus_hydrogen
from drumgen.data.labels import CLASSES
from drumgen.dsp import extension
from drumgen.eval import evaluate
from drumgen.models import model_class
from drumgen.train import TrainOptions, steps, train, trained_seconds

ROOT = Path(__file__).resolve().parent.parent
EVAL_HITS = evaluate.MEASURE_HITS


# What a card says when its model misses the targets (issue 8): the reason, as measured so far.
WHY_SHORT = {
    "wavegan": "A GAN learns slowly per CPU-minute. The published WaveGAN trained 200k iterations (about four days "
               "on a P100 GPU); this one had the steps above on one CPU core. Its hits are still mostly broadband "
               "bursts, which the tagger hears as one or two classes whatever class is asked for. The autoencoder "
               "reaches the real floor in the same time (benchmarks/RESULTS.md), so the drum machine starts on it; "
               "this model improves with a longer run (`scripts/train_defaults.py` resumes), best on a GPU.",
    "specgan": "A GAN learns slowly per CPU-minute (the published SpecGAN trained about two days on a GPU; this one "
               "had the steps above on one CPU core): its spectrograms cover few classes and Griffin-Lim phase "
               "reconstruction adds artefacts (see the clipped count in the garbage checks). The "
               "autoencoder reaches the real floor in the same time, so the drum machine starts on it.",
}
# ... and when the model was latent-fitted after its adversarial steps (--latent-fit-minutes).
WHY_SHORT_LATENT = {
    "wavegan": "A GAN learns slowly per CPU-minute (the published WaveGAN trained 200k iterations, about four days "
               "on a P100 GPU). The latent fit (the second count of steps: a latent per train hit, the generator "
               "trained to play them back) is what brought every class in, and its distance to the train hits was "
               "still falling when the run stopped. What is left is heard in the previews: steady tones at fixed "
               "frequencies (horizontal lines in the spectrograms, transposed-convolution artefacts, which the paper "
               "answers with a learned post-processing filter), and cymbals, toms and percussion hits it still "
               "plays back weakly, which the tagger then hears as hats or snares (the class histogram below). A "
               "longer latent fit (`--latent-fit-minutes`, resumes) or a GPU run closes more of the gap; the "
               "autoencoder reaches the real floor in less time, so the drum machine starts on it.",
    "specgan": "A GAN learns slowly per CPU-minute (the published SpecGAN trained about two days on a GPU). The "
               "latent fit (the second count of steps: a latent per train hit, the generator trained to draw their "
               "spectrograms) is what brought more classes in; Griffin-Lim phase reconstruction still adds "
               "artefacts that no spectrogram loss sees. A longer latent fit (`--latent-fit-minutes`, resumes) "
               "closes more of the gap; the autoencoder reaches the real floor in the same time, so the drum "
               "machine starts on it.",
}


CORPUS_NAMES = {"hydrogen": "Debian's hydrogen-drumkits", "sonic-pi": "Sonic Pi's samples (sonic-pi-samples)",
                "soundfont:FluidR3_GM.sf2": "FluidR3_GM.sf2's GM drum kits",
                "soundfont:TimGM6mb.sf2": "TimGM6mb.sf2's GM drum kits"}


def corpus_words(corpus: Path) -> str:
    """What a corpus folder was built from, for a card: "the train kits of ... (`drumgen corpus ...`)"."""
    try:
        sources = json.loads((corpus / "manifest.json").read_text()).get("sources", ["hydrogen"])
    except (OSError, ValueError):
        sources = ["hydrogen"]
    names = ", ".join(CORPUS_NAMES.get(s, s) for s in sources)
    command = "drumgen corpus hydrogen" if sources == ["hydrogen"] else "drumgen corpus all"
    return f"the train kits of {names} (`{command} --out {os.path.relpath(corpus, ROOT)}`)"


def band_and_length(model) -> str:
    """A card's row: the rate, band and slice a model generates, and what draws its tail."""
    c = model.config
    seconds = c.slice_length / c.sample_rate
    row = f"| band and length | {c.sample_rate} Hz, 0-{c.sample_rate / 2000:g} kHz; slices of {seconds:.2f} s"
    if getattr(c, "partials", 0):
        row += (f" ({c.partials} partials and a per-hit noise over the whole slice, the wave path over the first "
                f"{c.wave_frames * c.frame / c.sample_rate:.2f} s)" if c.wave_frames else "")
    if extension.applies(c.sample_rate):
        row += ("; served at 44.1 kHz, its band above 10.5 kHz made by the band extension and a hit still ringing at "
                "the slice's end ringing on (drumgen.dsp.extension; `serve --no-extend`: as generated)")
    elif extension.rings_on(c.sample_rate, seconds, model.can_encode):
        row += ("; a hit still ringing at the slice's end is served ringing on at its own decay (the tail "
                "extension, drumgen.dsp.extension; `serve --no-extend`: as generated)")
    return row + "; a sound ends where it falls 60 dB below its peak |"


def preset_batch_size(kind: str, preset: str | None) -> int | None:
    """The batch size a model kind's preset trains with (None: no such preset)."""
    presets = getattr(sys.modules[model_class(kind).__module__], "PRESETS", {})
    return presets.get(preset, {}).get("batch_size")


def card(name: str, run: Path, summary: dict, result: dict, real: dict, model=None,
         base_summary: dict | None = None, corpus: Path | None = None) -> str:
    """The model card. base_summary: the adversarial run a latent-fitted GAN started from, or the run a class-keeping
    fine-tune of the autoencoder started from (its summary names the tagger that judged it)."""
    stage = "class-keeping fine-tune" if "class_tagger" in summary else "latent-fit"
    fd, fd_real = result.get("frechet"), real.get("frechet")
    ratio = fd / fd_real if fd and fd_real else math.nan
    tag = result.get("tagger", {})
    # the whole run (the kept checkpoint may be an earlier one); a run brought back without its resume state
    # (trained elsewhere, on a GPU) counts the kept checkpoint's own time
    run_minutes = (trained_seconds(run) or summary["seconds"]) / 60
    runs = "" if run.parent == ROOT / "runs" else f" --runs {os.path.relpath(run.parent, ROOT)}"
    if corpus is not None and corpus != ROOT / "runs" / "corpus":
        runs += f" --corpus {os.path.relpath(corpus, ROOT)}"
    lines = [
        f"# {name}", "",
        f"Default `{summary.get('preset')}` {name} trained by `scripts/train_defaults.py` on "
        f"{corpus_words(corpus or ROOT / 'runs' / 'corpus')} (credits and licences in checkpoints/README.md). "
        "Held-out kits were never used for training.", "",
        "| what | value |", "|---|---|",
        *([band_and_length(model)] if model is not None else []),
        f"| data | {summary['data']['hits']} hits: {summary['data']['counts']} |",
        *([f"| steps | {base_summary['steps']} {'WGAN-GP ' if stage == 'latent-fit' else ''}steps, then "
           f"{summary['steps']} {stage} steps" + (f" (weight {model.config.class_weight:g}, learning rate "
                                                  f"{model.config.lr:g}, judged by {summary['class_tagger']})"
                                                  if stage != "latent-fit" and model is not None else "") + " |",
           f"| training time | {base_summary['seconds'] / 60:.1f} + {summary['seconds'] / 60:.1f} min on "
           f"{summary.get('device', 'cpu')} ({platform.machine()}, torch {summary.get('torch', torch.__version__)})"
           + (f"; the kept checkpoint is the run's closest to the train hits, of {run_minutes:.0f} minutes"
              if run_minutes > summary['seconds'] / 60 + 1 else "") + " |"]
          if base_summary else
          [f"| steps | {summary['steps']} |",
           f"| training time | {summary['seconds'] / 60:.1f} min on {summary.get('device', 'cpu')} "
           f"({platform.machine()}, torch {summary.get('torch', torch.__version__)}) |"]),
        (f"| Frechet distance to held-out kits ({EVAL_HITS} hits) | {fd:.1f} (real train-kit hits: {fd_real:.1f}; "
         f"ratio {ratio:.2f}, target <= 1.5) |" if "frechet_draws" not in result else
         f"| Frechet distance to held-out kits (mean of {len(result['frechet_draws'])} draws of {EVAL_HITS} hits: "
         f"{', '.join(f'{v:.1f}' for v in result['frechet_draws'])}) | {fd:.1f} (real train-kit hits: "
         f"{fd_real:.1f}; ratio {ratio:.2f}, target <= 1.5) |"),
        f"| diversity ratio | {result.get('diversity_ratio', math.nan):.2f} (real: {real.get('diversity_ratio', math.nan):.2f}) |",
        f"| near-copy rate | {result.get('near_copy_rate', math.nan):.3f} (target < 0.10) |",
        f"| tagger classes covered | {tag.get('coverage')} |",
        f"| inception-style score | {tag.get('inception_score', math.nan):.2f} (real: {real.get('tagger', {}).get('inception_score', math.nan):.2f}) |",
    ]
    if model is not None and model.has_stored_prior:
        c = model.config
        how = "fitted" if getattr(c, "fit", None) == "latent" else "stored"
        measured = ("; none on the partials found in the hits, which are blended as they are"
                    if getattr(c, "partials", 0) else "")
        lines.append(f"| new hits are drawn from | {model.prior.stored} {how} training latents: one of the asked "
                     f"class blended with one of its {c.prior_neighbours} nearest, plus noise {c.prior_noise:g}"
                     f"{measured} |")
    if "tagger_agreement" in result:
        lines.append(f"| tagger agrees with the asked class | {result['tagger_agreement']:.2f} (target >= 0.80) |")
    if kind_short := (WHY_SHORT_LATENT if base_summary else WHY_SHORT).get(name):
        if ratio > 1.5 or result.get("tagger_agreement", 1.0) < 0.8:
            lines += ["", "## Why it falls short", "", kind_short]
    minutes = f"--minutes {run_minutes:.0f}"
    if base_summary and stage == "latent-fit":
        minutes = f"--minutes {base_summary['seconds'] / 60:.0f} --latent-fit-minutes {run_minutes:.0f}"
    elif base_summary:
        judge = summary["class_tagger"]
        minutes = (f"--minutes {base_summary['seconds'] / 60:.0f} --keep-class-steps {summary['steps']}"
                   + (f" --judge {judge}" if judge != "the shipped tagger" else ""))
    if model is not None and model.config.batch_size != preset_batch_size(name, summary.get("preset")):
        minutes += f" --batch-size {model.config.batch_size}"
    lines += ["", f"Class histogram (tagger): {tag.get('histogram')}", "",
              f"Garbage checks: {result.get('garbage')}", "",
              f"Reproduce: `python scripts/train_defaults.py --models {name} {minutes}{runs} --install` (resumes "
              f"{os.path.relpath(run, ROOT)} if present)."]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="autoencoder,wavegan,specgan", help="comma-separated model kinds")
    ap.add_argument("--minutes", type=float, default=60, help="total training minutes per model (resumes)")
    ap.add_argument("--corpus", type=Path, default=ROOT / "runs" / "corpus", help="built corpus (made if missing)")
    ap.add_argument("--runs", type=Path, default=ROOT / "runs", help="where runs live (resume state)")
    ap.add_argument("--preset", help="preset for every model (default: each model's default)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--batch-size", type=int, help="hits per step (default: the preset's; larger on a GPU)")
    ap.add_argument("--latent-fit-minutes", type=float, default=0, metavar="MINUTES",
                    help="GANs: then fit latents to the train hits for this many minutes in total (resumes)")
    ap.add_argument("--keep-class-steps", type=int, default=0, metavar="STEPS",
                    help="autoencoder: then fine-tune this many steps in total with the class-keeping loss (resumes)")
    ap.add_argument("--keep-class", type=float, default=1.0, metavar="WEIGHT", help="that loss's weight (1)")
    ap.add_argument("--keep-class-lr", type=float, default=1e-4, metavar="LR", help="the fine-tune's learning rate")
    ap.add_argument("--judge", type=Path, help="the tagger judging it (default: the shipped one)")
    ap.add_argument("--base", type=Path, help="autoencoder: fine-tune this checkpoint instead of runs/autoencoder")
    ap.add_argument("--install", action="store_true", help="measure and copy the best checkpoints to checkpoints/")
    ap.add_argument("--draws", type=int, default=3,
                    help="--install: draws of 250 generated hits whose Frechet distances the card averages (3)")
    ap.add_argument("--target", type=Path, default=ROOT / "checkpoints",
                    help="where --install puts them (default checkpoints/; another folder to compare first)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if not (args.corpus / "manifest.json").exists():
        corpus_hydrogen.build_hydrogen_corpus(args.corpus)
    for kind in args.models.split(","):
        run = args.base if args.base and kind == "autoencoder" else args.runs / kind
        done = trained_seconds(run) / 60
        if run != args.base and done < args.minutes - 0.1:
            print(f"{kind}: {done:.1f} of {args.minutes:.0f} minutes done; training on", flush=True)
            train(TrainOptions(data=str(args.corpus / "train"), out=str(run), kind=kind, preset=args.preset,
                               batch_size=args.batch_size, minutes=args.minutes - done,
                               resume=(run / checkpoint.STATE_FILE).exists(),
                               eval_every=500, preview_every=2000, save_every=120, progress=sys.stderr.isatty()))
        base_summary = None
        if args.latent_fit_minutes and kind != "autoencoder":
            fit_run = args.runs / f"{kind}-latent"
            done = trained_seconds(fit_run) / 60
            if done < args.latent_fit_minutes - 0.1:
                print(f"{kind}: latent fit, {done:.1f} of {args.latent_fit_minutes:.0f} minutes done", flush=True)
                resume = (fit_run / checkpoint.STATE_FILE).exists()
                train(TrainOptions(data=str(args.corpus / "train"), out=str(fit_run), init=None if resume else str(run),
                                   fit="latent", minutes=args.latent_fit_minutes - done, resume=resume,
                                   eval_every=500, preview_every=2000, save_every=120, progress=sys.stderr.isatty()))
            base_summary, run = checkpoint.read_metadata(run)["summary"], fit_run
        if args.keep_class_steps and kind == "autoencoder":
            keep_run = args.runs / f"{kind}-keep"
            resume = (keep_run / checkpoint.STATE_FILE).exists()
            done_steps = checkpoint.read_train_state_metadata(keep_run).get("step", 0) if resume else 0
            if done_steps < args.keep_class_steps:
                print(f"{kind}: class-keeping fine-tune, {done_steps} of {args.keep_class_steps} steps done", flush=True)
                train(TrainOptions(data=str(args.corpus / "train"), out=str(keep_run),
                                   init=None if resume else str(run), steps=args.keep_class_steps, resume=resume,
                                   tagger=str(args.judge) if args.judge else None,
                                   config_overrides={"lr": args.keep_class_lr, "class_weight": args.keep_class},
                                   eval_every=10 ** 9, preview_every=10 ** 9, save_every=120,
                                   progress=sys.stderr.isatty()))
            base_summary, run = checkpoint.read_metadata(run)["summary"], keep_run
        if args.install:
            t = time.time()
            stats, _ = evaluate.resolve_reference(str(args.corpus))
            tagger = checkpoint.load(ROOT / "checkpoints" / "tagger")
            model = checkpoint.load(run)
            # The prior is refitted on the train kits here too, so a run saved by an older drumgen (whose
            # checkpoint has no stored latents) ships with the current sampler.
            x, y, _ = corpus.load_split(args.corpus, "train", model.config.sample_rate, model.config.slice_length,
                                        labels=tuple(model.config.labels) or CLASSES)
            steps.fit_latent_prior(model, x, y if model.config.labels else None)
            summary = model.summary
            target = args.target / kind
            target.mkdir(parents=True, exist_ok=True)
            checkpoint.save(model, target, summary)
            result = evaluate.measure_model(target, stats, tagger, draws=args.draws)
            real = evaluate.real_floor(args.corpus, stats, tagger)
            summary["measures"] = {k: v for k, v in result.items() if k != "garbage"}
            checkpoint.save(model, target, summary)
            (target / checkpoint.CARD_FILE).write_text(card(kind, run, summary, result, real, model, base_summary,
                                                                    args.corpus))
            size = os.path.getsize(target / checkpoint.MODEL_FILE) / 1e6
            print(f"{kind}: installed ({size:.1f} MB, measured in {time.time() - t:.0f} s)\n"
                  + (target / checkpoint.CARD_FILE).read_text())
            shutil.rmtree(target / "previews", ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
