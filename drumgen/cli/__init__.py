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
    loop      a drum loop -> a kit (pads as WAVs) and a beat (pattern.json, .mid)
"""

from __future__ import annotations

import argparse
import sys
from importlib import import_module

from drumgen import __version__

PITCH = "Train generative drum models on your own hits and play them in a browser drum machine."
EPILOG = "Run `drumgen VERB --help` for a verb's options. Docs: README.md; HTTP API: docs/API.md."
# The verbs in the order of the data flow; each is a module here with PARSER (add_parser's keywords), add_args(p)
# and run(args) -> exit code.
VERBS = ("inspect", "tag", "train", "generate", "resynth", "interpolate", "eval", "models", "serve", "corpus",
         "loop")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="drumgen", description=PITCH, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"drumgen {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for verb in VERBS:
        module = import_module(f"drumgen.cli.{verb}")
        p = sub.add_parser(verb, **module.PARSER)
        module.add_args(p)
        p.set_defaults(func=module.run)
    return parser


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
