"""Sound per CPU-minute: train candidate recipes for a fixed CPU budget and score them along the way (issue 10).

    python benchmarks/recipes.py list
    python benchmarks/recipes.py run RECIPE --minutes 180 --marks 10,30,60,180 [--corpus DIR] [--runs DIR]
                                 [--threads 1]
    python benchmarks/recipes.py report [--recipes A,B] [--corpus DIR] [--runs DIR] [--plot PNG] [--no-record]

A recipe is a named variant of drumgen.train.TrainOptions (model kind, preset, config overrides, augmentation,
class conditioning, batch size, seed): one entry of RECIPES. `run` trains it on the train kits of the built corpus
in RUNS/RECIPE (default runs/recipes/RECIPE), stopping at each mark. At a mark the run's checkpoint (the one the
training loop keeps: best Frechet distance to the training hits so far) is copied to RUNS/RECIPE/mark_XXX/ and
scored exactly as scripts/train_defaults.py scores the default checkpoints (drumgen.eval.evaluate.measure_model): 250
hits sampled with a fixed seed, against the held-out kits: Frechet distance, diversity ratio, near-copy rate to the
train kits and the classes the tagger (checkpoints/tagger) finds. The weights of that moment are scored too
(mark_XXX/latest/, under "latest"): a GAN's kept checkpoint can stay put for a while, the latest weights show whether
training still moves. Scores go to RUNS/RECIPE/scores.json. Calling
`run` again continues from the last scored mark (the training loop's resume state), in this session or a later one.

`report` prints recipe x mark with the real-data floor (250 real train-kit hits measured against the held-out kits
the same way: drumgen.eval.evaluate.real_floor), draws Frechet distance against CPU-minutes (one line per recipe, log
y) to benchmarks/recipes.png and appends the table to benchmarks/RESULTS.md.

What "minutes" means: the training loop's measured step time (the summed wall time of its train steps, kept in the
resume state as `seconds`), not the time spent loading data, measuring, writing previews or checkpoints. Wall time
of a step grows with anything else running on the machine, so a fair comparison of recipes needs the same --threads
and a quiet machine; scores.json records the load average at every mark to tell a noisy measurement.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

from drumgen import checkpoint  # noqa: E402
from drumgen.eval import evaluate  # noqa: E402
from drumgen.io.files import atomic_write_bytes  # noqa: E402
from drumgen.train import TrainOptions, steps, train, trained_seconds  # noqa: E402

DEFAULT_CORPUS = ROOT / "runs" / "corpus"
DEFAULT_RUNS = ROOT / "runs" / "recipes"
DEFAULT_PLOT = Path(__file__).resolve().parent / "recipes.png"
TAGGER = ROOT / "checkpoints" / "tagger"
SCORES = "scores.json"
FLOOR = "floor.json"
HITS = evaluate.MEASURE_HITS  # hits per measurement (250; tests lower it to run fast)

# -- the registry -------------------------------------------------------------------------------------------
# A recipe is a dict of TrainOptions fields (anything but data/out/steps/minutes/resume/progress) plus "about",
# one line saying what it tries. Adding a candidate is adding one entry (or calling `register`).
RECIPES: dict[str, dict[str, Any]] = {
    "paper-wavegan": {
        "about": "the baseline to beat: WaveGAN as published (16 kHz, d=64, batch 64, WGAN-GP 5:1), unconditional, "
                 "no augmentation; very slow on a CPU",
        "kind": "wavegan", "preset": "paper", "conditional": False, "augment": False},
    "cpu-wavegan": {"about": "WaveGAN cpu preset (22.05 kHz, d=16, batch 16), class-conditional, augmented",
                    "kind": "wavegan", "preset": "cpu"},
    "cpu-specgan": {"about": "SpecGAN cpu preset (22.05 kHz, d=16, batch 16), class-conditional, augmented",
                    "kind": "specgan", "preset": "cpu"},
    "autoencoder": {"about": "autoencoder cpu preset with its fitted latent prior, class-conditional, augmented",
                    "kind": "autoencoder", "preset": "cpu"},
}
_FIXED = {"data", "out", "steps", "minutes", "resume", "progress", "dry_run"}
_DEFAULTS = {"eval_every": 500, "preview_every": 2000, "save_every": 120.0}  # as scripts/train_defaults.py


class RecipeError(ValueError):
    """An unknown recipe, a malformed one, or a run that cannot continue as asked."""


def register(name: str, **options: Any) -> dict[str, Any]:
    """Add (or replace) a recipe: register("small-wavegan", kind="wavegan", preset="cpu", config_overrides={...})."""
    allowed = {f.name for f in dataclasses.fields(TrainOptions)} - _FIXED
    bad = sorted(set(options) - allowed - {"about"})
    if bad:
        raise RecipeError(f"recipe {name!r}: unknown option(s) {bad}; use fields of TrainOptions: {sorted(allowed)}")
    if "kind" not in options:
        raise RecipeError(f"recipe {name!r} needs a kind (autoencoder, wavegan, specgan)")
    RECIPES[name] = dict(options)
    return RECIPES[name]


def recipe(name: str) -> dict[str, Any]:
    if name not in RECIPES:
        raise RecipeError(f"unknown recipe {name!r}; known: {', '.join(RECIPES)} (add one to RECIPES)")
    return RECIPES[name]


def options_for(name: str, data: Path, out: Path, minutes: float) -> TrainOptions:
    """The TrainOptions of one training segment of recipe `name`."""
    spec = {**_DEFAULTS, **{k: v for k, v in recipe(name).items() if k != "about"}}
    return TrainOptions(data=str(data), out=str(out), minutes=minutes,
                        resume=(out / checkpoint.STATE_FILE).exists(), progress=sys.stderr.isatty(), **spec)


# -- marks and scores ---------------------------------------------------------------------------------------
def parse_marks(text: str) -> list[float]:
    try:
        marks = sorted({float(m) for m in text.split(",") if m.strip()})
    except ValueError:
        raise RecipeError(f"--marks takes comma-separated CPU-minutes such as 10,30,60,180; got {text!r}") from None
    if not marks or marks[0] <= 0:
        raise RecipeError(f"--marks needs positive CPU-minutes such as 10,30,60,180; got {text!r}")
    return marks


def mark_name(mark: float) -> str:
    """10 -> 'mark_010'; 0.05 -> 'mark_000.05' (sorts by minutes as text too)."""
    return f"mark_{int(mark):03d}" if float(mark).is_integer() else f"mark_{mark:06.2f}"


def load_scores(run_dir: Path) -> dict[str, Any]:
    path = run_dir / SCORES
    return json.loads(path.read_text()) if path.is_file() else {}


def _write_json(path: Path, doc: dict) -> None:
    atomic_write_bytes(path, (json.dumps(doc, indent=1) + "\n").encode())


def _reference(corpus_dir: Path) -> tuple[dict, Any]:
    """(reference statistics of the held-out kits with the train kits for near-copies, the tagger or None)."""
    if not (corpus_dir / "manifest.json").is_file():
        raise RecipeError(f"no built corpus at {corpus_dir}: build it with `drumgen corpus hydrogen --out "
                          f"{corpus_dir}` or pass --corpus DIR")
    stats, _ = evaluate.resolve_reference(str(corpus_dir))
    tagger = checkpoint.load(TAGGER) if (TAGGER / checkpoint.MODEL_FILE).is_file() else None
    return stats, tagger


def _measures(result: dict) -> dict:
    return {k: v for k, v in result.items() if k != "garbage"} | {
        "garbage": {k: v["count"] for k, v in result.get("garbage", {}).items()}}


def train_to(name: str, run_dir: Path, data: Path, target_s: float) -> float:
    """Train recipe `name` in run_dir until its step time reaches target_s seconds; returns the seconds reached.

    train() stops on a wall-clock deadline, and the wall clock also runs while it measures and saves, so one call
    ends a little short of the target in step time: call again for the rest (each call resumes the run)."""
    tolerance = max(1.0, 0.005 * target_s)
    while True:
        done = trained_seconds(run_dir)
        if done >= target_s - tolerance:
            return done
        train(options_for(name, data, run_dir, (target_s - done) / 60))
        if trained_seconds(run_dir) <= done:
            raise RecipeError(f"training {name} in {run_dir} made no progress; see the messages above")


def run_recipe(name: str, marks: list[float], corpus_dir: Path, runs: Path, threads: int = 1) -> dict:
    """Train recipe `name` to each mark (CPU-minutes) in turn, copy and score its checkpoint there.

    Marks already in scores.json are not trained or scored again. Returns the scores document."""
    spec = json.loads(json.dumps(recipe(name)))  # as stored in scores.json (tuples become lists)
    run_dir = runs / name
    train_dir = run_dir / "train"  # the run's resume state and kept checkpoint
    if not (corpus_dir / "manifest.json").is_file():
        raise RecipeError(f"no built corpus at {corpus_dir}: build it with `drumgen corpus hydrogen --out "
                          f"{corpus_dir}` or pass --corpus DIR")
    run_dir.mkdir(parents=True, exist_ok=True)
    doc = load_scores(run_dir)
    if doc and doc.get("recipe") != spec:
        raise RecipeError(f"{run_dir} was trained with recipe {doc.get('recipe')}, not {spec}: results would mix "
                          f"two recipes; delete {run_dir} to start over or register the change under a new name")
    if doc and doc.get("threads") != threads:
        print(f"warning: {name} was measured with --threads {doc.get('threads')}, now {threads}: its CPU-minutes "
              "are not comparable across the marks", file=sys.stderr)
    doc = doc or {"name": name, "recipe": spec, "threads": threads, "corpus": str(corpus_dir), "marks": []}
    done_marks = {m["mark"] for m in doc["marks"]}
    todo = [m for m in marks if m not in done_marks]
    if not todo:
        print(f"{name}: every mark ({', '.join(f'{m:g}' for m in marks)} CPU-minutes) is already scored")
        return doc
    torch.set_num_threads(threads)
    stats = tagger = None
    for mark in todo:
        done = trained_seconds(train_dir)
        if done > mark * 60 + max(60.0, 0.1 * mark * 60):
            print(f"warning: {name} is already at {done / 60:.1f} CPU-minutes, past mark {mark:g}: skipped",
                  file=sys.stderr)
            continue
        print(f"{name}: {done / 60:.2f} CPU-minutes done, training to {mark:g}", flush=True)
        t0 = time.monotonic()
        reached = train_to(name, train_dir, corpus_dir / "train", mark * 60)
        wall = time.monotonic() - t0
        load = os.getloadavg()
        target = run_dir / mark_name(mark)
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for f in (checkpoint.MODEL_FILE, "history.json"):
            if (train_dir / f).is_file():
                shutil.copy2(train_dir / f, target / f)
        if stats is None:
            stats, tagger = _reference(corpus_dir)
        t1 = time.monotonic()
        result = evaluate.measure_model(target, stats, tagger, n=HITS)
        summary = checkpoint.read_metadata(target)["summary"]
        steps = save_latest(train_dir, target / "latest")
        # The kept checkpoint is what the recipe ships; the latest weights show whether training still moves.
        latest = result if summary.get("steps") == steps else evaluate.measure_model(target / "latest", stats,
                                                                                     tagger, n=HITS)
        entry = {"mark": mark, "minutes": round(reached / 60, 3),
                 "steps": steps, "checkpoint_steps": summary.get("steps"),
                 "wall_seconds": round(wall, 1), "measure_seconds": round(time.monotonic() - t1, 1),
                 "load_average": [round(v, 2) for v in load], "threads": threads,
                 "time": datetime.datetime.now().isoformat(timespec="seconds"), **_measures(result),
                 "latest": _measures(latest)}
        doc["marks"] = sorted([m for m in doc["marks"] if m["mark"] != mark] + [entry], key=lambda m: m["mark"])
        _write_json(run_dir / SCORES, doc)
        print(f"{name} @ {mark:g} CPU-min: Frechet {result.get('frechet', math.nan):.2f}, diversity ratio "
              f"{result.get('diversity_ratio', math.nan):.2f}, near-copy {result.get('near_copy_rate', math.nan):.3f},"
              f" load {load[0]:.1f}", flush=True)
    return doc


def save_latest(train_dir: Path, target: Path) -> int:
    """Write the run's current weights (from its resume state) as a servable checkpoint; returns their step."""
    kind, config = checkpoint.read_train_state_config(train_dir)
    model = checkpoint.build(kind, config)
    step, extra, _ = checkpoint.load_train_state(train_dir, model, steps.make_optimizers(model))
    checkpoint.save(model, target, {"steps": step, "seconds": extra.get("seconds"), "note": "latest weights"})
    return step


def real_floor(corpus_dir: Path, runs: Path) -> dict:
    """The real-data floor for this corpus, cached in RUNS/floor.json (it takes a minute on the Hydrogen corpus)."""
    path = runs / FLOOR
    key = str(corpus_dir.resolve())
    if path.is_file():
        cached = json.loads(path.read_text())
        if cached.get("corpus") == key and cached.get("hits") == HITS:
            return cached["measures"]
    stats, tagger = _reference(corpus_dir)
    measures = _measures(evaluate.real_floor(corpus_dir, stats, tagger, n=HITS))
    runs.mkdir(parents=True, exist_ok=True)
    _write_json(path, {"corpus": key, "hits": HITS, "measures": measures})
    return measures


# -- the report ---------------------------------------------------------------------------------------------
def _coverage(m: dict) -> str:
    tag = m.get("tagger")
    if not tag:
        return "-"
    covered = tag["coverage"]
    missing = [c for c in tag["histogram"] if c not in covered]
    return f"{len(covered)}/{len(tag['histogram'])}" + (f" (no {', '.join(missing)})" if missing else "")


def report_rows(docs: list[dict], floor: dict) -> tuple[list[str], list[list]]:
    """The report table: the floor, then one row per recipe and mark (measures of the kept checkpoint; the
    latest weights' Frechet distance beside them)."""
    headers = ["recipe", "mark (CPU-min)", "minutes", "steps (kept)", "Frechet", "x floor", "diversity ratio",
               "near-copy", "classes", "asked class heard", "latest Frechet", "load"]
    fd_floor = floor.get("frechet", math.nan)
    rows: list[list] = [["real train-kit hits (floor)", "-", "-", "-", fd_floor, 1.0,
                         floor.get("diversity_ratio", math.nan), floor.get("near_copy_rate", math.nan),
                         _coverage(floor), "-", "-", "-"]]
    for doc in docs:
        for m in doc["marks"]:
            fd = m.get("frechet", math.nan)
            rows.append([doc["name"], f"{m['mark']:g}", m["minutes"], f"{m.get('steps')} ({m.get('checkpoint_steps')})",
                         fd, fd / fd_floor, m.get("diversity_ratio", math.nan), m.get("near_copy_rate", math.nan),
                         _coverage(m), m.get("tagger_agreement", "-"), m.get("latest", {}).get("frechet", math.nan),
                         m["load_average"][0]])
    return headers, rows


def report(names: list[str] | None, corpus_dir: Path, runs: Path, plot: Path, record: bool = True) -> str:
    """The recipe x mark table (printed, and appended to RESULTS.md when `record`) and the plot. Returns the table."""
    if names is None:
        found = [p.parent.name for p in sorted(runs.glob(f"*/{SCORES}"))]
        names = [n for n in RECIPES if n in found] + [n for n in found if n not in RECIPES]
    docs = []
    for n in names:
        doc = load_scores(runs / n)
        if not doc.get("marks"):
            raise RecipeError(f"no scores for {n} in {runs / n}; run `python benchmarks/recipes.py run {n}` first")
        docs.append(doc)
    if not docs:
        raise RecipeError(f"no scored recipes under {runs}; run `python benchmarks/recipes.py run RECIPE` first")
    floor = real_floor(corpus_dir, runs)
    headers, rows = report_rows(docs, floor)
    text = common.table(headers, rows)
    series = {d["name"]: [(m["minutes"], m["frechet"]) for m in d["marks"] if m.get("frechet")] for d in docs}
    atomic_write_bytes(plot, plot_png(series, floor.get("frechet")))
    threads = sorted({d["threads"] for d in docs})
    notes = (f"Frechet distance to the held-out kits of {HITS} hits per checkpoint (the one the training loop kept, "
             f"best by its own measure; 'latest' = the weights at the mark; seed "
             f"{evaluate.MEASURE_SEED}); 'x floor' divides by the real train-kit hits' own distance (their near-copy rate is 1 by construction: "
             f"they are train hits). Minutes are "
             f"summed training-step time with {threads} torch thread(s); load = 1-minute load average at the mark. "
             f"Plot: {os.path.relpath(plot, ROOT) if plot.is_relative_to(ROOT) else plot}.")
    if record:
        common.record("Training recipes: quality per CPU-minute (benchmarks/recipes.py)", text, notes)
    else:
        print(text)
    return text


# -- the plot, drawn with PIL (matplotlib is not a dependency) ----------------------------------------------
COLOURS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (255, 127, 14), (148, 103, 189), (140, 86, 75),
           (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]


def plot_png(series: dict[str, list[tuple[float, float]]], floor: float | None = None,
             size: tuple[int, int] = (900, 560)) -> bytes:
    """Frechet distance (log y) against CPU-minutes (linear x), one line per recipe, the real floor dashed."""
    import io

    from PIL import Image, ImageDraw, ImageFont

    w, h = size
    left, right, top, bottom = 80, 230, 40, 60
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    points = [p for s in series.values() for p in s if p[1] > 0]
    ys = [p[1] for p in points] + ([floor] if floor and floor > 0 else [])
    if not ys:
        ys = [1.0, 10.0]
    lo, hi = math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys)))
    hi = hi if hi > lo else lo + 1
    xmax = max([p[0] for p in points] + [1e-9]) * 1.05
    pw, ph = w - left - right, h - top - bottom

    def px(x: float, y: float) -> tuple[float, float]:
        return left + pw * x / xmax, top + ph * (hi - math.log10(y)) / (hi - lo)

    d.rectangle([left, top, left + pw, top + ph], outline="black")
    for e in range(lo, hi + 1):  # decades, with 2x and 5x minor lines
        for k in (1, 2, 5):
            v = k * 10.0**e
            if not 10.0**lo <= v <= 10.0**hi:
                continue
            _, y = px(0, v)
            d.line([left, y, left + pw, y], fill=(225, 225, 225) if k > 1 else (190, 190, 190))
            d.text((left - 8, y), f"{v:g}", fill="black", font=font, anchor="rm")
    step = _nice_step(xmax)
    x = 0.0
    while x <= xmax:
        gx, _ = px(x, 10.0**lo)
        d.line([gx, top + ph, gx, top + ph + 5], fill="black")
        d.text((gx, top + ph + 8), f"{x:g}", fill="black", font=font, anchor="mt")
        x += step
    d.text((left + pw / 2, h - 20), "training CPU-minutes (summed step time)", fill="black", font=font, anchor="mm")
    d.text((left, 15), "Frechet distance to held-out kits (log scale; lower is better)", fill="black", font=font,
           anchor="lm")
    legend_y = top + 10
    if floor and floor > 0:
        _, fy = px(0, floor)
        for x0 in range(left, left + pw, 12):
            d.line([x0, fy, min(x0 + 6, left + pw), fy], fill="black", width=2)
        d.line([left + pw + 15, legend_y, left + pw + 35, legend_y], fill="black", width=2)
        d.text((left + pw + 42, legend_y), "real hits (floor)", fill="black", font=font, anchor="lm")
        legend_y += 20
    for i, (name, pts) in enumerate(series.items()):
        colour = COLOURS[i % len(COLOURS)]
        xy = [px(x, y) for x, y in sorted(pts) if y > 0]
        if len(xy) > 1:
            d.line(xy, fill=colour, width=3)
        for cx, cy in xy:
            d.ellipse([cx - 4, cy - 4, cx + 4, cy + 4], fill=colour)
        d.line([left + pw + 15, legend_y, left + pw + 35, legend_y], fill=colour, width=3)
        d.text((left + pw + 42, legend_y), name, fill="black", font=font, anchor="lm")
        legend_y += 20
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _nice_step(span: float) -> float:
    raw = span / 6
    mag = 10 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)


# -- command line -------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="verb", required=True)
    sub.add_parser("list", help="the registered recipes")
    r = sub.add_parser("run", help="train a recipe to each mark and score it there (resumes)")
    r.add_argument("recipe")
    r.add_argument("--marks", default="10,30,60,180", help="CPU-minutes at which to score (comma-separated)")
    r.add_argument("--minutes", type=float,
                   help="CPU-minute budget: marks beyond it are dropped and it is scored as the last mark "
                        "(default: the last mark)")
    r.add_argument("--threads", type=int, default=1, help="torch threads (default 1; keep it equal across recipes)")
    p = sub.add_parser("report", help="table, plot and RESULTS.md entry of the scored recipes")
    p.add_argument("--recipes", help="comma-separated recipes (default: every scored one under --runs)")
    p.add_argument("--plot", type=Path, default=DEFAULT_PLOT, help="PNG to write")
    p.add_argument("--no-record", action="store_true", help="print only; do not append to RESULTS.md")
    for q in (r, p):
        q.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="built corpus (drumgen corpus hydrogen)")
        q.add_argument("--runs", type=Path, default=DEFAULT_RUNS, help="folder of recipe runs")
    args = ap.parse_args(argv)
    try:
        if args.verb == "list":
            for name, spec in RECIPES.items():
                print(f"{name:16} {spec.get('about', '')}")
        elif args.verb == "run":
            marks = parse_marks(args.marks)
            if args.minutes is not None:  # the budget is the last mark: train to it and score there too
                marks = [m for m in marks if m < args.minutes] + [args.minutes]
            run_recipe(args.recipe, marks, args.corpus, args.runs, args.threads)
        else:
            names = args.recipes.split(",") if args.recipes else None
            report(names, args.corpus, args.runs, args.plot, record=not args.no_record)
    except (RecipeError, evaluate.EvalError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
