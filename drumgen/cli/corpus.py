"""`drumgen corpus`: lay out a training corpus from packaged drum libraries (drumgen.data.corpus), with reference
statistics for `drumgen eval` when asked."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from drumgen.data import corpus, corpus_hydrogen
from drumgen.eval.evaluate import EVAL_LENGTH, EVAL_RATE, reference_stats, save_reference_stats

PARSER = dict(help="build a training corpus from installed drum kits")


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", choices=corpus.SOURCES,
                   help="hydrogen (Debian's hydrogen-drumkits), sonic-pi (sonic-pi-samples), soundfont FILE (its "
                        "GM drum kits, rendered), or all (the three in one corpus: hydrogen, sonic-pi, FluidR3_GM "
                        "and TimGM6mb)")
    p.add_argument("file", nargs="?", metavar="FILE", help="the SoundFont (.sf2/.sf3), for `soundfont`")
    p.add_argument("--out", required=True, metavar="DIR", help="corpus folder to write")
    p.add_argument("--kits-root", default=corpus_hydrogen.KITS_ROOT, help="folder of Hydrogen kits")
    p.add_argument("--samples-dir", default=None, metavar="DIR",
                   help="folder of Sonic Pi samples (default: Debian's /usr/share/sonic-pi/samples)")
    p.add_argument("--heldout", nargs="*", default=None, metavar="KIT",
                   help="kit names kept out of training (default: each source's own choice)")
    p.add_argument("--validation", nargs="*", default=None, metavar="KIT",
                   help="kit names set aside for choosing models, never trained on nor held out (default: each "
                        "source's own choice; none for hydrogen alone)")
    p.add_argument("--duplicate-similarity", type=float, default=corpus.DUPLICATE_SIMILARITY, metavar="S",
                   help="fingerprint similarity above which two hits are one sound, kept on one side of the split")
    p.add_argument("--mode", choices=["link", "copy", "wav"], default="link",
                   help="how file hits are placed (rendered SoundFont hits are always WAV)")
    p.add_argument("--stats", metavar="FILE", help="also write reference statistics (.safetensors) here")
    p.add_argument("--json", action="store_true", help="print the manifest's kits and totals as JSON")


def run(args: argparse.Namespace) -> int:
    if args.file and args.source != "soundfont":
        raise corpus.CorpusError(f"FILE is only for `drumgen corpus soundfont FILE`; got {args.file!r} with "
                                 f"{args.source!r}")
    sources, heldout, validation = corpus.named_sources(args.source, args.file, args.kits_root, args.samples_dir)
    heldout = tuple(heldout if args.heldout is None else args.heldout)
    validation = tuple(validation if args.validation is None else args.validation)
    manifest = corpus.build_corpus(args.out, sources, heldout, validation, mode=args.mode,
                                   threshold=args.duplicate_similarity)
    if args.stats:
        x_ref, _, _ = corpus.load_split(args.out, "heldout", EVAL_RATE, EVAL_LENGTH)
        x_train, _, _ = corpus.load_split(args.out, "train", EVAL_RATE, EVAL_LENGTH)
        name = "hydrogen-drumkits" if args.source == "hydrogen" else "+".join(manifest["sources"])
        info = {"corpus": name, "heldout": list(heldout), "totals": manifest["totals"]}
        save_reference_stats(args.stats, reference_stats(x_ref, EVAL_RATE, x_train), info)
    if args.json:
        keys = ("kits_root", "sources", "heldout", "validation", "kits", "totals", "near_duplicates")
        print(json.dumps({k: manifest[k] for k in keys if k in manifest}))
    else:
        print(corpus.format_stats(manifest))
        print(f"wrote {Path(args.out) / 'manifest.json'}" + (f" and {args.stats}" if args.stats else ""))
    return 0
