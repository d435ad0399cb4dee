"""`drumgen eval`: score generated hits against real drums (Frechet distance, diversity, near-copies, classes),
or `drumgen eval resynth` paired originals against their re-synthesis."""

from __future__ import annotations

import argparse
import json
import sys

from drumgen.eval.evaluate import (
    EVAL_RATE,
    EvalError,
    evaluate_hits,
    load_tagger,
    prepare_hits,
    read_folder,
    resolve_reference,
    resynth_errors,
)

PARSER = dict(help="measure generated hits against real ones")


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("mode", nargs="?", choices=["resynth"], help="'resynth': compare paired files instead")
    p.add_argument("--gen", metavar="DIR", help="folder of generated hits to score")
    p.add_argument("--ref", metavar="REF", default="corpus",
                   help="'corpus' (shipped statistics, default), a stats .safetensors, a corpus folder, or a folder")
    p.add_argument("--train", metavar="DIR", help="training hits, for the near-copy rate")
    p.add_argument("--tagger", metavar="CKPT", default="default",
                   help="tagger checkpoint for class measures ('default': the shipped one; 'none' to skip)")
    p.add_argument("--input", metavar="DIR", help="eval resynth: the original files")
    p.add_argument("--output", metavar="DIR", help="eval resynth: the re-synthesised files (same names)")
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")


def format_report(r: dict) -> str:
    """A two-column table of the measures of `evaluate_hits`."""
    rows = [("hits scored", f"{r['count']}")]
    for key, name in (("frechet", "Frechet distance (lower is closer)"), ("diversity", "diversity"),
                      ("diversity_ratio", "diversity / reference's"), ("near_copy_rate", "near-copy rate")):
        if key in r:
            rows.append((name, f"{r[key]:.3f}"))
    if "tagger" in r:
        t = r["tagger"]
        rows += [("inception-style score", f"{t['inception_score']:.2f}"),
                 ("mean tagger confidence", f"{t['mean_confidence']:.2f}"),
                 ("classes covered", f"{len(t['coverage'])}: {', '.join(t['coverage'])}"),
                 ("class histogram", ", ".join(f"{k} {v}" for k, v in t["histogram"].items()))]
    for k, v in r["garbage"].items():
        rows.append((f"garbage: {k}", f"{v['count']} ({100 * v['fraction']:.1f}%)"))
    if "error" in r:
        rows.append(("error", r["error"]))
    width = max(len(a) for a, _ in rows)
    return "\n".join(f"{a:{width}}  {b}" for a, b in rows)


def run(args: argparse.Namespace) -> int:
    if args.mode == "resynth":
        if not args.input or not args.output:
            raise EvalError("eval resynth needs --input DIR (originals) and --output DIR (re-synthesised)")
        res = resynth_errors(args.input, args.output)
        if args.json:
            print(json.dumps(res))
        else:
            width = max(len(p["path"]) for p in res["pairs"])
            print(f"{'file':{width}}  log-mag dB  spectral conv.")
            for p in res["pairs"]:
                print(f"{p['path']:{width}}  {p['log_mag_db']:10.2f}  {p['spectral_convergence']:14.3f}")
            print(f"{'MEAN':{width}}  {res['mean']['log_mag_db']:10.2f}  {res['mean']['spectral_convergence']:14.3f}")
            if res["unpaired"]:
                print(f"unpaired or undecodable: {', '.join(res['unpaired'])}", file=sys.stderr)
        return 0
    if not args.gen:
        raise EvalError("give --gen DIR, the folder of generated hits (or use `drumgen eval resynth`)")
    stats, desc = resolve_reference(args.ref, args.train)
    _, raw, _ = read_folder(args.gen)
    report = evaluate_hits(prepare_hits(raw), EVAL_RATE, stats, load_tagger(args.tagger), raw=raw)
    report["reference"] = desc
    print(json.dumps(report) if args.json else f"reference: {desc}\n" + format_report(report))
    return 0
