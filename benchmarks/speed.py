"""Where a kit's time goes, against what the machine can do: the speed issue's (#23) measures in one run.

    python benchmarks/speed.py [--checkpoints DIR] [--repeats 20] [--threads 2] [--seconds 20] [--no-http]
                               [--no-browser]

1. The machine's sgemm peak (2048 x 2048 float32 matrix products).
2. For every shipped model, an 8-hit kit as the server makes it (one class per pad from drumgen.pads; a
   class-conditional model's kit leaves the tagger's hint for POST /api/heard), split into its stages (latent
   sampling, the decode with, for a 22.05 kHz model, the band and tail extension it includes, the rest), the tagger's pass over the kit apart, the decode's FLOPs (torch's
   FlopCounterMode), the GFLOP/s it reaches as a share of the peak, the time the peak would need (the FLOP limit)
   and the re-synthesis of a 1 s hit (as the server makes it: its hint left to POST /api/heard too). Median of
   --repeats runs, after a warm-up.
3. HTTP (benchmarks/load.py): a `drumgen serve` over the same checkpoints, 8 clients each asking for kits of the
   default model as the drum machine does (classes per pad, the 8 WAVs inline) for --seconds: kits/s, p50/p95,
   errors, 503s, server memory.
   Where the CPU multiplies bfloat16 natively (Intel AMX, AVX-512 BF16), the same kits through `--precision bfloat16` (the
   decoders' convolutions in bfloat16, models/fastconv.py) against the bfloat16 matmul peak, with how far their
   audio is from float32's; and the HTTP run for both.
4. The browser (Debian's chromium through Playwright, the page on that server, timed with performance.now): "New
   kit" click to all 8 pads playable, and a 1 s sample dropped on a pad to its re-synthesis playable; median of
   --repeats. Then the new kit again, in parts: click to request, the server's time to the first byte, the
   answer's body and JSON, the WAVs to AudioBuffers, the pads' redraw.
Prints the tables and appends them to RESULTS.md with the machine and load.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import record, table  # noqa: E402

from drumgen import checkpoint, pads  # noqa: E402
from drumgen.dsp import synth  # noqa: E402
from drumgen.engine import Engine  # noqa: E402
from drumgen.engine.engine import finish  # noqa: E402
from drumgen.models import fastconv  # noqa: E402


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up: first calls allocate and pick kernels
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def sgemm_gflops(repeats: int, n: int = 2048, dtype: torch.dtype = torch.float32) -> float:
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    ms = median_ms(lambda: a @ b, repeats)
    return 2 * n**3 / (ms / 1000) / 1e9


def kit_labels(model) -> list[str | None] | None:
    """What the drum machine asks a class-conditional model for: each pad slot's first class the model knows."""
    if not model.config.labels:
        return None
    return [next((c for c in p.classes if c in model.config.labels), None) for p in pads.PADS]


def measure(engine: Engine, name: str, repeats: int, peak: float) -> list:
    model = engine.get(name)
    labels = kit_labels(model)
    asked = labels or [None] * pads.COUNT
    y = engine._label_tensor(name, [a or model.config.labels[0] for a in asked]) if labels else None
    hear = not labels  # as the server does: only an unconditional model's kit waits for the tagger

    def latents() -> torch.Tensor:
        return torch.cat([model.sample_latents(1, torch.Generator().manual_seed(i), None if y is None else y[i:i + 1])
                          for i in range(pads.COUNT)])

    z = latents()
    x = engine._decode(name, z, y)
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model.decode(z.to(engine.device), None if y is None else y.to(engine.device))
    flops = counter.get_total_flops()
    kit = median_ms(lambda: engine.sample(name, pads.COUNT, seed=3, label=labels, hear=hear), repeats)
    sample = median_ms(latents, repeats)
    decode = median_ms(lambda: engine._decode(name, z, y), repeats)
    extend = float("nan")
    if engine.rings_on(name):  # the band and tail extension (drumgen.dsp.extension), inside the decode column
        with torch.inference_mode():
            raw = finish(model.decode(z.to(engine.device), None if y is None else y.to(engine.device)).float(),
                         model.config.sample_rate).cpu()
        extend = median_ms(lambda: engine._extend(name, raw, z), repeats)
    tag = median_ms(lambda: engine.hear(x, engine.output_rate(name)), repeats)
    hit = synth.hit("snare", 1)
    resynth = median_ms(lambda: engine.resynthesize(name, hit, synth.SAMPLE_RATE, hear=False), repeats) \
        if model.can_encode else float("nan")
    limit = 1000 * flops / (peak * 1e9)
    rest = kit - sample - decode - (tag if hear else 0.0)
    return [name, model.kind, round(kit, 1), round(sample, 1), round(decode, 1), round(extend, 1), round(rest, 1),
            round(tag, 1),
            round(flops / 1e9, 2), round(flops / (decode / 1000) / 1e9, 1),
            f"{100 * flops / (decode / 1000) / 1e9 / peak:.0f}%", round(limit, 1), round(max(15.0, 2 * limit), 1),
            round(resynth, 1)]


def http_load(checkpoints: str, model: str, labels: list[str | None] | None, seconds: float,
              precision: str = "float32") -> list:
    import asyncio
    import os

    import load

    from drumgen.testing import ServerProcess

    with ServerProcess(checkpoints, env={**os.environ, "DRUMGEN_PRECISION": precision}) as server:
        out = asyncio.run(load.run(server.url, model, 8, seconds, False, server.pid, labels, inline=True))
    lat = np.array(out["latency"]) * 1000
    rss = [r for r in out["rss"] if r is not None]
    pct = (lambda q: float(np.percentile(lat, q))) if lat.size else (lambda q: float("nan"))
    return [model, precision, 8, round(out["elapsed"], 1), lat.size, round(lat.size / out["elapsed"], 1), round(pct(50), 1),
            round(pct(95), 1), len(out["errors"]), out["busy"],
            f"{rss[0]:.0f} / {max(rss):.0f} / {rss[-1]:.0f}" if rss else "n/a"]


NEW_KIT = """async () => {
  await drumgen.kit.hinting;  // the last kit's hints are in: a player does not click twice within 100 ms
  await new Promise((resolve) => setTimeout(resolve, 200));
  const kit = drumgen.kit, old = kit.pads.map((p) => p.sound && p.sound.id);
  const playable = new Promise((resolve) => {
    const shown = kit.onChange;
    kit.onChange = (changed) => {
      shown(changed);
      if (kit.pads.every((p, i) => p.sound && p.sound.id !== old[i] && drumgen.engine.buffers[i])) {
        kit.onChange = shown;
        resolve(performance.now());
      }
    };
  });
  const t0 = performance.now();
  document.getElementById("new-kit").click();
  return (await playable) - t0;
}"""

DROP_ON_PAD = """async ([bytes, name]) => {
  await drumgen.kit.hinting;
  await new Promise((resolve) => setTimeout(resolve, 800));  // a player listens before dropping the next file
  const kit = drumgen.kit, old = kit.pads[0].sound && kit.pads[0].sound.id;
  const playable = new Promise((resolve) => {
    const shown = kit.onChange;
    kit.onChange = (changed) => {
      shown(changed);
      const s = kit.pads[0].sound;
      if (s && s.id !== old && s.origin === "resynth" && drumgen.engine.buffers[0]) {
        kit.onChange = shown;
        resolve(performance.now());
      }
    };
  });
  const dt = new DataTransfer();
  dt.items.add(new File([new Uint8Array(bytes)], name, { type: "audio/wav" }));
  const pad = document.querySelector('.pad[data-pad="0"]');
  const t0 = performance.now();
  pad.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
  return (await playable) - t0;
}"""


# Times the parts of the page's work in a new kit (run once before NEW_KIT): the sample response's body and JSON,
# each WAV to an AudioBuffer, each redraw of the pads; NEW_KIT itself gives the click and the playable moment.
INSTRUMENT = """() => {
  window.__parts = [];
  const kit = drumgen.kit, engine = drumgen.engine, mark = (what, t0) => window.__parts.push([what, t0, performance.now()]);
  const decode = engine.decode.bind(engine);
  engine.decode = async (bytes) => { const t0 = performance.now(); const b = await decode(bytes); mark("decode", t0); return b; };
  const json = Response.prototype.json;
  Response.prototype.json = async function () {
    const t0 = performance.now(); const v = await json.call(this); if (this.url.includes("/api/sample")) mark("json", t0); return v;
  };
  const shown = kit.onChange;
  kit.onChange = (changed) => { const t0 = performance.now(); shown(changed); mark("redraw", t0); };
}"""

PARTS = """async (newKit) => {
  window.__parts = [];
  performance.clearResourceTimings();
  const ms = await (eval(newKit))();
  const end = performance.now(), click = end - ms;
  const r = performance.getEntriesByType("resource").filter((e) => e.name.includes("/api/sample")).pop();
  const of = (what) => window.__parts.filter((p) => p[0] === what);
  const span = (ps) => ps.length ? Math.max(...ps.map((p) => p[2])) - Math.min(...ps.map((p) => p[1])) : 0;
  return { total: ms, request: r.startTime - click, server: r.responseStart - r.requestStart,
           json: span(of("json")), decode: span(of("decode")),
           redraw: of("redraw").filter((p) => p[1] > r.responseEnd).reduce((s, p) => s + p[2] - p[1], 0) };
}"""


def _spread(times: list[float]) -> list[float]:
    return [round(statistics.median(times), 1), round(min(times), 1), round(max(times), 1)]


def browser_times(checkpoints: str, repeats: int) -> list[list]:
    """Median ms from "New kit" to 8 playable pads, and from a dropped 1 s hit to its playable re-synthesis."""
    from playwright.sync_api import sync_playwright

    from drumgen.io import audio
    from drumgen.testing import ServerProcess

    rows = []
    with ServerProcess(checkpoints) as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--autoplay-policy=no-user-gesture-required"])
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server.url)
        page.wait_for_function("window.drumgen && drumgen.pads.every((p) => p.sound) && "
                               "!drumgen.pads.some((p) => p.busy)", timeout=60000)
        page.evaluate(NEW_KIT)  # warm-up
        kits = [page.evaluate(NEW_KIT) for _ in range(repeats)]
        rows.append(["New kit: click to 8 playable pads", repeats, *_spread(kits)])
        page.evaluate(INSTRUMENT)  # then the same again, its parts timed
        parts = [page.evaluate(PARTS, NEW_KIT) for _ in range(repeats)]
        for key, words in (("request", "  of which: click to its request sent"),
                           ("server", "  the server: request sent to the first byte back"),
                           ("json", "  the answer's body read and parsed (8 WAVs inline)"),
                           ("decode", "  its 8 WAVs to AudioBuffers"),
                           ("redraw", "  the pads redrawn after the answer")):
            rows.append([words, repeats, *_spread([p[key] for p in parts])])
        # a different hit each time: the same file would give the same sound, and the pad would not change
        wavs = [list(audio.wav_bytes(synth.hit("snare", 100 + i), synth.SAMPLE_RATE)) for i in range(repeats + 1)]
        page.evaluate(DROP_ON_PAD, [wavs[0], "my snare.wav"])  # warm-up
        drops = [page.evaluate(DROP_ON_PAD, [w, "my snare.wav"]) for w in wavs[1:]]
        rows.append(["1 s sample dropped on a pad: to its re-synthesis playable", repeats, *_spread(drops)])
        browser.close()
    if errors:
        raise SystemExit(f"the page failed while timing it: {errors}")
    return rows


def bfloat16_row(engine: Engine, fast: Engine, name: str, repeats: int, peak: float) -> list:
    """The kit of `name` through the bfloat16 engine `fast`, against the float32 `engine`'s."""
    model = fast.get(name)
    labels = kit_labels(model)
    y = engine._label_tensor(name, [a or model.config.labels[0] for a in labels]) if labels else None
    z = torch.cat([model.sample_latents(1, torch.Generator().manual_seed(i), None if y is None else y[i:i + 1])
                   for i in range(pads.COUNT)])
    want, got = engine._decode(name, z, y), fast._decode(name, z, y)
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model.decode(z, y)
    flops = counter.get_total_flops()
    kit = median_ms(lambda: fast.sample(name, pads.COUNT, seed=3, label=labels, hear=not labels), repeats)
    decode = median_ms(lambda: fast._decode(name, z, y), repeats)
    plain = median_ms(lambda: engine._decode(name, z, y), repeats)
    rms = np.sqrt((want.astype(np.float64) ** 2).mean(axis=1)) + 1e-12
    err = np.sqrt(((got.astype(np.float64) - want) ** 2).mean(axis=1)) / rms
    worst = 20 * np.log10(max(float(err.max()), 1e-12))
    limit = 1000 * flops / (peak * 1e9)
    return [name, round(kit, 1), round(decode, 1), round(plain, 1),
            f"{100 * flops / (decode / 1000) / 1e9 / peak:.0f}%", round(limit, 1), round(max(15.0, 2 * limit), 1),
            round(worst, 1) if worst > -200 else "same", f"{float(np.abs(got - want).max()):.1e}"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoints", default=str(checkpoint.default_dir()), help="folder of models to measure")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2, help="torch threads (2 cores: 2)")
    ap.add_argument("--seconds", type=float, default=20.0, help="length of the HTTP load run")
    ap.add_argument("--no-http", action="store_true", help="skip the HTTP load run")
    ap.add_argument("--no-browser", action="store_true", help="skip the browser timings")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    peak = sgemm_gflops(args.repeats)
    if not np.isfinite(peak):
        raise SystemExit("could not measure the sgemm peak")
    engine = Engine(args.checkpoints, device="cpu")
    names = engine.ranked()
    rows = [measure(engine, name, args.repeats, peak) for name in names]
    text = table(["model", "kind", "8-hit kit ms", "latents ms", "decode ms", "of which extension ms", "rest ms",
                  "tagger ms (hint)",
                  "decode GFLOP", "decode GFLOP/s", "of peak", "FLOP limit ms", "kit target ms",
                  "resynth 1 s hit ms"], rows)
    notes = [f"sgemm peak {peak:.0f} GFLOP/s ({args.threads} threads). The kit is made as the server makes it; "
             "'tagger ms (hint)' is the tagger's pass over it, which a class-conditional model's kit leaves to "
             "POST /api/heard (an unconditional model's kit includes it). 'FLOP limit ms' is the decode's FLOPs at "
             "the sgemm peak; the issue's target is the larger of 15 ms and twice that. 'rest' is the kit minus its "
             f"measured stages (Sound objects, numpy copies, the fade-out). 'of which extension ms': the band and "
             "tail extension of a model's hits (drumgen.dsp.extension: a 22.05 kHz model's resampling to 44.1 kHz, its band "
             f"above 10.5 kHz, tails), part of its decode. Median of {args.repeats} runs after a warm-up."]
    precisions = ["float32"]
    if fastconv.bfloat16_native():  # the opt-in bfloat16 path, where this CPU multiplies it natively
        precisions.append("bfloat16")
        peak16 = sgemm_gflops(args.repeats, dtype=torch.bfloat16)
        fast = Engine(args.checkpoints, device="cpu", precision="bfloat16")
        rows16 = [bfloat16_row(engine, fast, name, args.repeats, peak16) for name in names]
        text += "\n\n" + table(["model (--precision bfloat16)", "8-hit kit ms", "decode ms", "float32 decode ms",
                                "of bf16 peak", "FLOP limit ms", "kit target ms", "error, worst hit dB",
                                "max sample difference"], rows16)
        notes.append(f"bfloat16 (`drumgen serve --precision bfloat16`, models/fastconv.py): the decoders' convolutions "
                     f"in bfloat16 on this CPU's bfloat16 units (AMX or AVX-512 BF16); bf16 matmul peak {peak16:.0f} GFLOP/s. 'error' is the "
                     "difference from the float32 audio of the same kit, in dB re each hit's RMS, for its worst hit.")
        del fast
    del engine
    default = names[0]
    if not args.no_http:
        model = checkpoint.load(Path(args.checkpoints) / default)
        http = [http_load(args.checkpoints, default, kit_labels(model), args.seconds, p) for p in precisions]
        text += "\n\n" + table(["model", "precision", "clients", "s", "kits", "kits/s", "p50 ms", "p95 ms", "errors",
                                "503s", "server RSS MB start/peak/end"], http)
        notes.append(f"HTTP: 8 clients on this machine each ask for the next kit of {default} (one class per pad, "
                     "the 8 WAVs inline) when the last one is answered, as the drum machine does.")
    if not args.no_browser:
        text += "\n\n" + table(["in the browser", "runs", "median ms", "min ms", "max ms"],
                               browser_times(args.checkpoints, max(5, args.repeats // 2)))
        notes.append("Browser: Debian's chromium (Playwright) on the page served over the same checkpoints, on "
                     "this machine, timed in the page with performance.now() until the pads hold decoded audio; "
                     "0.2 s between kits and 0.8 s between dropped files (a player listens first).")
    record("Speed: an 8-hit kit, stage by stage, against the sgemm peak; HTTP and the browser", text,
           "\n".join(notes))


if __name__ == "__main__":
    main()
