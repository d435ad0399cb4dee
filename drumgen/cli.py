"""`drumgen VERB ...`: one verb per step of the data flow, each a thin layer over the library functions.

    inspect   a folder of hits: what loads, what is skipped and why
    tag       label hits as kick/snare/... with the tagger (or train a tagger on your own tags)
    train     a model on a folder of hits
    generate  new hits from a model
    resynth   play your hits through a model
    interpolate  morph between two hits
    eval      measure generated hits against real ones
    models    list checkpoints
    serve     the browser drum machine and HTTP API
    corpus    build the training corpus from packaged drum libraries (hydrogen-drumkits, sonic-pi, GM SoundFonts)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from drumgen import __version__

PITCH = "Train generative drum models on your own hits and play them in a browser drum machine."
EPILOG = "Run `drumgen VERB --help` for a verb's options. Docs: README.md; HTTP API: docs/API.md."


def _add_model_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, metavar="CKPT",
                   help="a checkpoint directory, or the name of one under checkpoints/ (see `drumgen models`)")


def _add_device_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", metavar="DEV",
                   help="auto (default: a CUDA GPU, else Apple MPS, else the CPU), cpu, cuda, cuda:N or mps")


def _add_checkpoints_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoints", metavar="DIR", default=None,
                   help="folder of checkpoint directories (default: the checkpoints/ shipped with drumgen)")


# -- inspect -------------------------------------------------------------------------------------------------

def cmd_inspect(args: argparse.Namespace) -> int:
    from drumgen import audio
    from drumgen.dataset import inspect_folder

    report = inspect_folder(args.data_dir, args.sample_rate, split=args.split,
                            cache_dir=False if args.no_cache else None)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
        return 0 if report.loaded else 1
    print(f"{args.data_dir}: {len(report.loaded)} hits loaded, {len(report.skipped)} files skipped")
    if report.loaded:
        counts = report.counts()
        print("  classes: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        secs = [i.seconds for i in report.loaded]
        rates = sorted({i.sample_rate for i in report.loaded})
        print(f"  durations: {min(secs):.2f}-{max(secs):.2f} s (median {sorted(secs)[len(secs) // 2]:.2f} s); "
              f"sample rates: {', '.join(map(str, rates))} Hz")
    if args.verbose and report.loaded:
        for item in report.loaded:
            print(f"  ok       {item.path}  [{item.label or 'unlabelled'}] {item.seconds:.2f} s "
                  f"{item.sample_rate} Hz {item.channels} ch")
    for s in report.skipped:
        print(f"  skipped  {s.path}: {audio.REASONS.get(s.reason, s.reason)}" + (f" ({s.detail})" if s.detail else ""))
    if not report.loaded:
        print("error: no usable drum hits; see the reasons above", file=sys.stderr)
        return 1
    return 0


# -- train ---------------------------------------------------------------------------------------------------

def cmd_train(args: argparse.Namespace) -> int:
    from drumgen.train import TrainOptions, train

    opts = TrainOptions(
        data=args.data, out=args.out, kind=args.model, preset=args.preset, steps=args.steps, minutes=args.minutes,
        batch_size=args.batch_size, resume=args.resume, init=args.init, fit=args.fit,
        conditional=not args.unconditional, augment=not args.no_augment, seed=args.seed, preview_every=args.preview_every,
        eval_every=args.eval_every, save_every=args.save_every, dry_run=args.dry_run, progress=not args.quiet,
        device=args.device)
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


# -- generate / resynth / interpolate ----------------------------------------------------------------------------

def _engine_for(model_arg: str, checkpoints: str | None, device: str = "auto"):
    from drumgen import checkpoint
    from drumgen.engine import Engine

    return Engine.of(checkpoint.resolve(model_arg, checkpoints), device=device)  # that model only


def cmd_generate(args: argparse.Namespace) -> int:
    from drumgen import audio

    engine, name = _engine_for(args.model, args.checkpoints, args.device)
    sounds = engine.sample(name, args.n, seed=args.seed, label=args.label)
    out = Path(args.out)
    listing = []
    for i, s in enumerate(sounds):
        fname = f"{i:03d}_{s.label or name}.wav"
        audio.write_wav(out / fname, s.audio, s.sample_rate, bits=args.bits)
        listing.append({"file": fname, "model": name, "seed": s.seed, "label": s.label, "latent": s.latent.tolist()})
    audio.atomic_write_bytes(out / "sounds.json", json.dumps(listing, indent=1).encode())
    print(f"wrote {len(sounds)} hits to {out} (44.1 kHz {args.bits}-bit WAV; latents in sounds.json)")
    return 0


def _audio_inputs(path: Path) -> list[Path]:
    from drumgen.audio import AUDIO_EXTENSIONS
    from drumgen.dataset import find_files

    if path.is_file():
        return [path]
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    return [p for p in find_files(path) if p.suffix.lower() in AUDIO_EXTENSIONS]


def cmd_resynth(args: argparse.Namespace) -> int:
    from drumgen import audio

    engine, name = _engine_for(args.model, args.checkpoints, args.device)
    src = Path(args.input)
    files = _audio_inputs(src)
    if not files:
        raise FileNotFoundError(f"no audio files in {src}")
    failed = 0
    for f in files:
        rel = f.name if src.is_file() else f.relative_to(src)
        try:
            x, rate = audio.read(f)
            sound = engine.resynthesize(name, x, rate)
        except audio.AudioError as e:
            print(f"skipped {rel}: {e}", file=sys.stderr)
            failed += 1
            continue
        target = (Path(args.out) / rel).with_suffix(".wav")
        audio.write_wav(target, sound.audio, sound.sample_rate, bits=args.bits)
        print(f"{rel} -> {target}")
    return 1 if failed == len(files) else 0


def cmd_interpolate(args: argparse.Namespace) -> int:
    from drumgen import audio
    from drumgen.engine import Sound

    engine, name = _engine_for(args.model, args.checkpoints, args.device)
    corners = [args.a, args.b] + ([args.c, args.d] if args.c or args.d else [])
    if len(corners) == 4 and not (args.c and args.d):
        raise ValueError("four-corner mixing needs both --c and --d")
    sounds = []
    for path in corners:
        x, rate = audio.read(path)
        z = engine.encode(name, x, rate)
        sounds.append(Sound(name, z, x, rate, origin="encoded"))
    out = Path(args.out)
    k = args.steps
    if k < 2:
        raise ValueError("--steps must be at least 2 (the two ends)")
    if len(sounds) == 2:
        for i in range(k):
            s = engine.interpolate(sounds[0], sounds[1], i / (k - 1))
            audio.write_wav(out / f"{i:03d}_t{i / (k - 1):.2f}.wav", s.audio, s.sample_rate)
        print(f"wrote {k} hits from A to B in {out}")
    else:
        for j in range(k):
            for i in range(k):
                s = engine.mix4(*sounds, i / (k - 1), j / (k - 1))
                audio.write_wav(out / f"x{i:02d}_y{j:02d}.wav", s.audio, s.sample_rate)
        print(f"wrote a {k}x{k} grid mixing A (0,0), B (1,0), C (0,1), D (1,1) in {out}")
    return 0


# -- models / serve ------------------------------------------------------------------------------------------

def cmd_models(args: argparse.Namespace) -> int:
    from drumgen import checkpoint

    root = Path(args.checkpoints) if args.checkpoints else checkpoint.default_dir()
    rows = []
    for path in checkpoint.list_dir(root):
        try:
            meta = checkpoint.read_metadata(path)
        except checkpoint.CheckpointError as e:
            rows.append({"name": path.name, "error": str(e)})
            continue
        size = (path / checkpoint.MODEL_FILE).stat().st_size
        rows.append({"name": path.name, "kind": meta["kind"], "sample_rate": meta["sample_rate"],
                     "labels": meta["labels"], "steps": meta["summary"].get("steps"), "megabytes": round(size / 1e6, 2),
                     "path": str(path)})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"no checkpoints in {root}")
        return 0
    for r in rows:
        if "error" in r:
            print(f"{r['name']:<16} BROKEN: {r['error']}")
        else:
            labels = ",".join(r["labels"]) or "unconditional"
            print(f"{r['name']:<16} {r['kind']:<12} {r['sample_rate']:>6} Hz  {r['megabytes']:>6} MB  "
                  f"steps {r['steps']}  {labels}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from drumgen.server.app import serve

    serve(host=args.host, port=args.port, checkpoints=args.checkpoints, midi_in=args.midi_in,
          open_browser=args.open, models_dir=args.models_dir, device=args.device)
    return 0


# -- parser ----------------------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="drumgen", description=PITCH,
                                     epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"drumgen {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")

    p = sub.add_parser("inspect", help="report what loads from a folder of hits, and why files are skipped")
    p.add_argument("data_dir", metavar="DATA_DIR", help="folder of drum hits (searched recursively)")
    p.add_argument("--json", action="store_true", help="print one JSON document for machines")
    p.add_argument("--split", action="store_true", help="split long recordings into hits at their onsets")
    p.add_argument("--sample-rate", type=int, default=44100, help="rate to prepare hits at (default 44100)")
    p.add_argument("--no-cache", action="store_true", help="decode every file again, ignoring the cache")
    p.add_argument("-v", "--verbose", action="store_true", help="list every loaded file too")
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("train", help="train a model on a folder of hits",
                       description="Train a model on your hits. Ctrl-C stops safely; --resume continues.")
    p.add_argument("--model", default=None, choices=["wavegan", "specgan", "autoencoder"],
                   help="model kind (default: the --init model's kind, else autoencoder)")
    p.add_argument("--data", required=True, metavar="DIR", help="folder of drum hits")
    p.add_argument("--out", metavar="CKPT_DIR", help="checkpoint directory to write (required unless --dry-run)")
    p.add_argument("--preset", help="size preset of the model kind (e.g. paper, cpu, tiny)")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, help="train this many steps")
    budget.add_argument("--minutes", type=float, help="train for this many minutes")
    p.add_argument("--batch-size", type=int, help="override the preset's batch size")
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
    _add_device_arg(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("generate", help="generate new hits from a model")
    _add_model_arg(p)
    p.add_argument("--n", type=int, default=8, help="how many hits (default 8)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the WAVs and sounds.json")
    p.add_argument("--seed", type=int, help="same seed, same hits")
    p.add_argument("--label", help="class to generate (class-conditional models): kick, snare, ...")
    p.add_argument("--bits", type=int, choices=[16, 24], default=24, help="WAV bit depth (default 24)")
    _add_checkpoints_arg(p)
    _add_device_arg(p)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("resynth", help="play your hits through a model (same file names out)")
    _add_model_arg(p)
    p.add_argument("--input", required=True, metavar="FILE_OR_DIR", help="an audio file or a folder of them")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--bits", type=int, choices=[16, 24], default=24, help="WAV bit depth (default 24)")
    _add_checkpoints_arg(p)
    _add_device_arg(p)
    p.set_defaults(func=cmd_resynth)

    p = sub.add_parser("interpolate", help="morph from hit A to hit B (or mix four corners)")
    _add_model_arg(p)
    p.add_argument("--a", required=True, metavar="A.wav")
    p.add_argument("--b", required=True, metavar="B.wav")
    p.add_argument("--c", metavar="C.wav", help="third corner, for four-corner mixing (with --d)")
    p.add_argument("--d", metavar="D.wav", help="fourth corner")
    p.add_argument("--steps", type=int, default=5, help="points along the path (per side for four corners)")
    p.add_argument("--out", required=True, metavar="DIR")
    _add_checkpoints_arg(p)
    _add_device_arg(p)
    p.set_defaults(func=cmd_interpolate)

    p = sub.add_parser("models", help="list checkpoints")
    _add_checkpoints_arg(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("serve", help="start the drum machine at http://127.0.0.1:8000")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    _add_checkpoints_arg(p)
    p.add_argument("--midi-in", metavar="PORT_NAME", help="relay this MIDI input port to the browser")
    p.add_argument("--models-dir", metavar="DIR", default=None,
                   help="your own trained models: served beside the defaults, where the training panel installs "
                        "new ones (default: $DRUMGEN_MODELS_DIR or ~/.local/share/drumgen/models)")
    p.add_argument("--open", action="store_true", help="open the drum machine in a web browser")
    _add_device_arg(p)
    p.set_defaults(func=cmd_serve)

    _add_optional_verbs(sub)
    return parser


def _add_optional_verbs(sub) -> None:
    """Verbs whose options live beside their implementation (tag, eval, corpus)."""
    from drumgen import evaluate, tagger

    for verb, add_args, run, help_text in (
        ("tag", tagger.add_tag_args, tagger.cmd_tag,
         "label hits by class with the tagger, or train a tagger on your own tags"),
        ("eval", evaluate.add_eval_args, evaluate.cmd_eval, "measure generated hits against real ones"),
        ("corpus", evaluate.add_corpus_args, evaluate.cmd_corpus, "build a training corpus from installed drum kits"),
    ):
        p = sub.add_parser(verb, help=help_text)
        add_args(p)
        p.set_defaults(func=run)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError) as e:  # every user-facing error in drumgen is one of these
        print(f"drumgen {args.verb}: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
