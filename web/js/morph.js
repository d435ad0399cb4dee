// Morphing: a slider t between two pads' sounds (POST /api/interpolate) and a four-corner XY pad
// (POST /api/mix4, as on NSynth Super). Each new sound is auditioned at once and can be put on a pad,
// with the "Put on pad" button or by dragging its waveform onto a pad.

import * as api from "./api.js";
import { drawWave, SOUND_MIME } from "./pads.js";

function padSelect(label, value, pads) {
  const s = document.createElement("select");
  s.setAttribute("aria-label", label);
  for (let i = 0; i < pads; i++) s.append(new Option(`Pad ${i + 1}`, String(i), false, i === value));
  return s;
}

export class Morph {
  /**
   * @param {HTMLElement} root the panel
   * @param {object} app pads (how many), soundOf(pad) -> Sound, audition(Sound) -> Promise, place(pad, Sound), guard(fn)
   */
  constructor(root, app) {
    this.app = app;
    this.result = null; // the last morphed Sound
    this.xy = { x: 0.5, y: 0.5 };
    const $ = (sel) => root.querySelector(sel);
    this.a = padSelect("Morph from", 0, app.pads);
    this.b = padSelect("Morph to", 1, app.pads);
    // Corners as the API names them: a = (0,0) bottom left, b = (1,0), c = (0,1) top left, d = (1,1).
    $("#morph-a").replaceWith(this.a);
    $("#morph-b").replaceWith(this.b);
    this.t = $("#morph-t");
    this.t.addEventListener("change", () => app.guard(() => this.interpolate()));
    $("#morph-audition").addEventListener("click", () => app.guard(() => this.audition()));
    this.corners = ["A", "B", "C", "D"].map((c, i) => {
      const s = padSelect(`Corner ${c}`, i % app.pads, app.pads);
      const label = document.createElement("label");
      label.className = "field";
      label.append(c, s);
      $(`#corner-${c.toLowerCase()}`).replaceWith(label);
      return s;
    });
    this.pad = $("#xy");
    this.dot = $("#xy-dot");
    this.pad.addEventListener("pointerdown", (e) => { this.pad.setPointerCapture(e.pointerId); this.move(e); });
    this.pad.addEventListener("pointermove", (e) => { if (e.buttons) this.move(e); });
    this.pad.addEventListener("pointerup", () => app.guard(() => this.mix()));
    this.pad.addEventListener("keydown", (e) => this.key(e));
    this.target = padSelect("Put on which pad", 0, app.pads);
    $("#morph-target").replaceWith(this.target);
    this.placeBtn = $("#morph-place");
    this.placeBtn.addEventListener("click", () => this.result && app.place(+this.target.value, this.result));
    this.wave = $("#morph-wave");
    this.label = $("#morph-label");
    this.wave.addEventListener("dragstart", (e) => {
      if (!this.result) return e.preventDefault();
      e.dataTransfer.setData(SOUND_MIME, this.result.id);
    });
    this.drawXY();
  }

  async interpolate() {
    const a = this.app.soundOf(+this.a.value), b = this.app.soundOf(+this.b.value);
    if (!a || !b) throw new Error("Both morph pads need a sound first.");
    await this.show(await api.interpolate(a.id, b.id, +this.t.value), `t = ${(+this.t.value).toFixed(2)}`);
  }

  async mix() {
    const ids = this.corners.map((c) => this.app.soundOf(+c.value));
    if (ids.some((s) => !s)) throw new Error("All four corner pads need a sound first.");
    const { x, y } = this.xy;
    await this.show(await api.mix4(ids.map((s) => s.id), x, y), `x ${x.toFixed(2)}, y ${y.toFixed(2)}`);
  }

  async show(sound, how) {
    this.result = sound;
    this.label.textContent = `${sound.name || "morph"} (${how})`;
    drawWave(this.wave, sound.peak, "#7fd1ff");
    this.placeBtn.disabled = false;
    this.wave.draggable = true;
    await this.audition();
  }

  async audition() {
    if (!this.result) return this.interpolate();
    await this.app.audition(this.result);
  }

  /** Pointer position -> (x, y) in 0..1 with y = 0 at the bottom, matching the API's corners. */
  move(e) {
    const r = this.pad.getBoundingClientRect();
    const clamp = (v) => Math.min(1, Math.max(0, v));
    this.xy = { x: clamp((e.clientX - r.left) / r.width), y: clamp(1 - (e.clientY - r.top) / r.height) };
    this.drawXY();
  }

  key(e) {
    const d = { ArrowLeft: [-0.1, 0], ArrowRight: [0.1, 0], ArrowUp: [0, 0.1], ArrowDown: [0, -0.1] }[e.key];
    if (e.key === "Enter") return this.app.guard(() => this.mix());
    if (!d) return;
    e.preventDefault();
    e.stopPropagation();
    const clamp = (v) => Math.round(Math.min(1, Math.max(0, v)) * 10) / 10;
    this.xy = { x: clamp(this.xy.x + d[0]), y: clamp(this.xy.y + d[1]) };
    this.drawXY();
    this.app.guard(() => this.mix());
  }

  drawXY() {
    this.dot.style.left = `${this.xy.x * 100}%`;
    this.dot.style.top = `${(1 - this.xy.y) * 100}%`;
    this.pad.setAttribute("aria-valuetext", `x ${this.xy.x.toFixed(2)}, y ${this.xy.y.toFixed(2)}`);
  }
}
