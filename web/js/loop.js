// A recorded loop or break -> its hits on the pads and its groove on the grid (POST /api/loop). The panel shows
// the loop's waveform with each onset marked in its pad's colour, plays the original for A/B against the
// sequencer, and keeps each onset's timing offset from the grid, so a quantize strength (0: as played, 1: on the
// grid) moves the playback between the two. Per pad: replace the slice with a new sound of its class (the
// groove stays), re-synthesize the slice through a model, or go back to the slice itself.

import * as api from "./api.js";
import { el } from "./pads.js";
import { stem } from "./kit.js";

export const PAD_COLOURS = ["#ffb347", "#7ad3ff", "#9be37a", "#ff7a9b", "#c9a0ff", "#ffe066", "#6fe0c8", "#ff9f6e"];

export class LoopPanel {
  /**
   * @param {HTMLElement} root the panel
   * @param {object} app apply(result, file) -> Promise (pads and grid), replace(pad, label), resynth(pad, File),
   *   drums(result) -> Promise (every loop pad gets the generated drum nearest its slice),
   *   keep(pad, Sound), decode(ArrayBuffer) -> AudioBuffer, preview(AudioBuffer) -> source, stopPlaying(),
   *   changed() (the session should be saved), guard(fn), info(text)
   */
  constructor(root, app) {
    this.app = app;
    this.result = null;   // the last POST /api/loop answer
    this.buffer = null;   // the loop itself, decoded, for A/B
    this.source = null;   // the original while it plays
    this.offsets = [];    // per pad, per step: seconds the played hit sits off the grid (+ late)
    const $ = (sel) => root.querySelector(sel);
    this.file = $("#loop-file");
    this.bpm = $("#loop-bpm");
    this.wave = $("#loop-wave");
    this.text = $("#loop-text");
    this.list = $("#loop-pads");
    this.quantize = $("#loop-quantize");
    this.quantizeOut = $("#loop-quantize-out");
    this.original = $("#loop-original");
    this.file.addEventListener("change", () => {
      const f = this.file.files[0];
      this.file.value = "";
      if (f) app.guard(() => this.open(f));
    });
    this.original.addEventListener("click", () => this.toggleOriginal());
    this.drumsBtn = $("#loop-drums");
    this.drumsBtn.addEventListener("click", () => app.guard(async () => {
      if (!this.result) throw new Error("Open a loop first: drop it on the step grid, or use Open loop.");
      await app.drums(this.result);
    }));
    this.quantize.addEventListener("input", () => { this.showQuantize(); app.changed(); });
    this.showQuantize();
  }

  /** Accept a loop dropped anywhere on `target` (the step grid). */
  dropTarget(target) {
    target.addEventListener("dragover", (e) => {
      if (![...e.dataTransfer.types].includes("Files")) return;
      e.preventDefault();
      target.classList.add("drop");
    });
    target.addEventListener("dragleave", () => target.classList.remove("drop"));
    target.addEventListener("drop", (e) => {
      target.classList.remove("drop");
      const f = e.dataTransfer.files[0];
      if (!f) return;
      e.preventDefault();
      this.app.guard(() => this.open(f));
    });
  }

  async open(file) {
    this.text.textContent = `Listening to ${file.name}…`;
    const bpm = +this.bpm.value || null;
    let result;
    try {
      result = await api.loop(file, bpm);
    } catch (e) {
      this.text.textContent = "No loop yet.";
      throw e;
    }
    this.stopOriginal();
    this.buffer = await this.app.decode(await file.arrayBuffer());
    this.offsets = result.pads.map(() => new Array(result.pattern.steps).fill(0));
    for (const o of result.onsets) {
      if (this.offsets[o.pad] && o.step < result.pattern.steps) this.offsets[o.pad][o.step] = o.offset_ms / 1000;
    }
    await this.app.apply(result, file);
    this.result = result;  // once the pads and the grid hold it
    this.text.textContent = `${stem(file.name)}: ${result.bpm} BPM, ${result.bars} bar${result.bars > 1 ? "s" : ""}, `
      + `swing ${Math.round(result.swing * 100)}%, ${result.onsets.length} hits on ${result.pads.length} pads.`
      + (result.notes.length ? ` ${result.notes.join(" ")}` : "");
    this.drawPads();
    this.draw();
    this.app.info(`Loop ${file.name}: its hits are on the pads and its groove on the grid. Press Play, or A/B with "Play original".`);
  }

  /** What a session keeps of the loop: each hit's offset from the grid and the quantize strength (or null). */
  groove() {
    if (!this.offsets.some((row) => row.some((v) => v))) return null;
    return { offsets: this.offsets.map((row) => row.map((v) => Math.round(v * 1e5) / 1e5)), quantize: +this.quantize.value };
  }

  /** A session's groove back (the loop's audio is not in a session: A/B and the picture need the file again). */
  setGroove(g) {
    const ok = g && Array.isArray(g.offsets) && g.offsets.every((row) => Array.isArray(row));
    this.offsets = ok ? g.offsets.map((row) => row.map((v) => (Number.isFinite(+v) ? Math.max(-0.1, Math.min(0.1, +v)) : 0))) : [];
    if (ok && Number.isFinite(+g.quantize)) this.quantize.value = String(g.quantize);
    this.showQuantize();
  }

  /** Seconds to move pad's hit at step off the grid: the played offset times (1 - quantize strength). */
  offset(pad, step) {
    const row = this.offsets[pad];
    return row && row[step] ? row[step] * (1 - +this.quantize.value) : 0;
  }

  showQuantize() {
    const v = +this.quantize.value;
    this.quantizeOut.textContent = v === 0 ? "as played" : v === 1 ? "on the grid" : `${Math.round(v * 100)}%`;
  }

  toggleOriginal() {
    if (this.source) return this.stopOriginal();
    if (!this.buffer) return this.app.info("Open a loop first: drop it on the step grid, or use Open loop.");
    this.app.stopPlaying();
    this.source = this.app.preview(this.buffer);
    this.source.onended = () => this.stopOriginal();
    this.original.setAttribute("aria-pressed", "true");
    this.original.textContent = "Stop original";
  }

  stopOriginal() {
    if (this.source) {
      try { this.source.stop(); } catch { /* already ended */ }
      this.source = null;
    }
    this.original.setAttribute("aria-pressed", "false");
    this.original.textContent = "Play original";
  }

  /** One row per loop pad: its name and hits, and what to do with its sound. */
  drawPads() {
    const rows = this.result.pads.map((p, i) => {
      const button = (text, label, action) => {
        const b = el("button", { type: "button", class: "tool", textContent: text, "aria-label": label });
        b.addEventListener("click", () => this.app.guard(action));
        return b;
      };
      return el("li", { class: "loop-pad" },
        el("span", { class: "swatch", "aria-hidden": "true", style: `background:${PAD_COLOURS[i % PAD_COLOURS.length]}` }),
        el("span", { class: "grow", textContent: `Pad ${i + 1}: ${p.label || p.name}, ${p.hits} hit${p.hits > 1 ? "s" : ""}` }),
        button("Replace", `Replace pad ${i + 1} with a new ${p.label || "sound"}`, () => this.app.replace(i, p.label)),
        button("Re-synth", `Re-synthesize pad ${i + 1}'s slice`, async () => {
          const data = await api.bytes(p.sound.url);
          await this.app.resynth(i, new File([data], `${p.sound.name || `pad ${i + 1}`}.wav`, { type: "audio/wav" }));
        }),
        button("Original", `Put pad ${i + 1}'s slice back`, () => this.app.keep(i, { ...p.sound, label: p.label })));
    });
    this.list.replaceChildren(...rows);
  }

  /** The loop's waveform (peak per pixel column) with every onset as a line in its pad's colour. */
  draw() {
    const canvas = this.wave, b = this.buffer;
    if (!b) return;
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth || 300, h = canvas.clientHeight || 60;
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
    const g = canvas.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    const x = b.getChannelData(0), per = Math.max(1, Math.floor(x.length / w));
    g.fillStyle = "#556";
    for (let c = 0; c < w; c++) {
      let peak = 0;
      for (let k = c * per; k < Math.min(x.length, (c + 1) * per); k++) peak = Math.max(peak, Math.abs(x[k]));
      const bh = Math.max(1, peak * (h - 2));
      g.fillRect(c, (h - bh) / 2, 1, bh);
    }
    for (const o of this.result.onsets) {
      g.fillStyle = PAD_COLOURS[o.pad % PAD_COLOURS.length];
      g.fillRect(Math.round((o.time / b.duration) * w), 0, 2, h);
    }
    canvas.setAttribute("aria-label", `The loop with ${this.result.onsets.length} hits marked by pad`);
  }
}

