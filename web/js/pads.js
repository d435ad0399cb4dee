// The 8 pads: a big play button per pad (named "Pad N") with the sound's waveform, name, model and seed,
// and the pad's tools (new sound, lock, mute, solo, A/B, WAV, re-synthesis, MIDI learn) and strip settings.
// This module only draws and reports what the user did; main.js decides what it means.

export const GM_NOTES = [36, 38, 42, 46, 39, 45, 50, 49];
export const DEFAULT_NAMES = ["kick", "snare", "closed hat", "open hat", "clap", "low tom", "high tom", "crash"];
export const SOUND_MIME = "application/x-drumgen-sound"; // drag-and-drop of a sound id between panels

/** Draw a 64-bucket peak overview (the Sound's `peak`) as a mirrored bar graph. */
export function drawWave(canvas, peak, color = "#ffb347") {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 160, h = canvas.clientHeight || 40;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  const g = canvas.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  if (!peak || !peak.length) return;
  const top = Math.max(...peak, 1e-6);
  const bw = w / peak.length;
  g.fillStyle = color;
  peak.forEach((p, i) => {
    const bh = Math.max(1, (p / top) * (h - 2));
    g.fillRect(i * bw, (h - bh) / 2, Math.max(1, bw - 1), bh);
  });
}

const SLIDERS = [
  // [setting, label, min, max, step]
  ["volume", "volume", 0, 1, 0.01],
  ["pan", "pan", -1, 1, 0.01],
  ["tune", "tune", -12, 12, 1],
  ["decay", "decay", 0.05, 1, 0.01],
];

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("aria-") || k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  e.append(...children);
  return e;
}

export class PadView {
  /**
   * @param {HTMLElement} parent
   * @param {number} i pad index 0..7
   * @param {object} on callbacks: hit(i), newSound(i, sameClass), lock(i), setting(i, changes), ab(i),
   *   saveWav(i), file(i, File), dropSound(i, id), learn(i)
   */
  constructor(parent, i, on) {
    this.i = i;
    const n = i + 1;
    const tool = (text, label, action, pressed) => {
      const b = el("button", { type: "button", class: "tool", textContent: text, title: label, "aria-label": label });
      if (pressed !== undefined) b.setAttribute("aria-pressed", "false");
      b.addEventListener("click", action);
      return b;
    };
    this.canvas = el("canvas", { class: "wave", "aria-hidden": "true" });
    this.name = el("span", { class: "name", textContent: DEFAULT_NAMES[i] });
    this.meta = el("span", { class: "meta", textContent: "loading…" });
    this.hit = el("button", { type: "button", class: "hit", "aria-label": `Pad ${n}` },
      this.canvas, this.name, this.meta, el("span", { class: "key", textContent: String(n), "aria-hidden": "true" }));
    this.hit.addEventListener("pointerdown", (e) => { e.preventDefault(); on.hit(i); }); // no click delay
    this.hit.addEventListener("keydown", (e) => { if (e.key === "Enter") on.hit(i); });
    this.lockBtn = tool("Lock", `Lock pad ${n}`, () => on.lock(i), false);
    this.muteBtn = tool("M", `Mute pad ${n}`, () => on.setting(i, { mute: !this.settings.mute }), false);
    this.soloBtn = tool("S", `Solo pad ${n}`, () => on.setting(i, { solo: !this.settings.solo }), false);
    this.abBtn = tool("A/B", `A/B pad ${n}`, () => on.ab(i), false);
    this.abBtn.hidden = true;
    this.learnBtn = tool("L", `MIDI learn pad ${n}`, () => on.learn(i), false);
    this.file = el("input", { type: "file", accept: "audio/*,.wav,.aif,.aiff,.flac,.ogg,.mp3",
      "aria-label": `Re-synthesize a file on pad ${n}` });
    this.file.addEventListener("change", () => { if (this.file.files[0]) on.file(i, this.file.files[0]); this.file.value = ""; });
    const tools = el("div", { class: "tools" },
      tool("New", `New sound for pad ${n}`, () => on.newSound(i, false)),
      tool("Like", `New sound of the same class for pad ${n}`, () => on.newSound(i, true)),
      this.lockBtn, this.muteBtn, this.soloBtn, this.abBtn,
      tool("WAV", `Save WAV pad ${n}`, () => on.saveWav(i)),
      el("label", { class: "tool file", title: "Re-synthesize an audio file on this pad" }, "File", this.file),
      this.learnBtn);
    this.inputs = {};
    const knobs = el("div", { class: "knobs" });
    for (const [key, label, min, max, step] of SLIDERS) {
      const input = el("input", { type: "range", min, max, step, "aria-label": `Pad ${n} ${label}` });
      input.addEventListener("input", () => on.setting(i, { [key]: +input.value }));
      this.inputs[key] = input;
      knobs.append(el("label", { class: "knob" }, el("span", { textContent: label }), input));
    }
    this.root = el("div", { class: "pad", "data-pad": String(i) }, this.hit, tools, knobs);
    // Drop an audio file (re-synthesis) or a morphed sound onto the pad.
    this.root.addEventListener("dragover", (e) => { e.preventDefault(); this.root.classList.add("drop"); });
    this.root.addEventListener("dragleave", () => this.root.classList.remove("drop"));
    this.root.addEventListener("drop", (e) => {
      e.preventDefault();
      this.root.classList.remove("drop");
      const id = e.dataTransfer.getData(SOUND_MIME);
      if (id) on.dropSound(i, id);
      else if (e.dataTransfer.files[0]) on.file(i, e.dataTransfer.files[0]);
    });
    parent.append(this.root);
  }

  /** Show a pad's state: {sound, pair, locked, learning, busy} and the engine's settings for it. */
  update(pad, settings) {
    this.settings = settings;
    const s = pad.sound;
    this.name.textContent = s ? s.name || s.label || "sound" : DEFAULT_NAMES[this.i];
    const seed = s && s.seed !== null && s.seed !== undefined ? ` · seed ${s.seed}` : "";
    const ab = pad.pair ? (pad.sound === pad.pair.original ? " · A (original)" : " · B (re-synth)") : "";
    this.meta.textContent = pad.busy ? "working…" : s ? `${s.model}${seed}${ab}` : "no sound";
    drawWave(this.canvas, s && s.peak);
    this.lockBtn.setAttribute("aria-pressed", String(!!pad.locked));
    this.muteBtn.setAttribute("aria-pressed", String(settings.mute));
    this.soloBtn.setAttribute("aria-pressed", String(settings.solo));
    this.learnBtn.setAttribute("aria-pressed", String(!!pad.learning));
    this.abBtn.hidden = !pad.pair;
    this.abBtn.setAttribute("aria-pressed", String(!!pad.pair && pad.sound === pad.pair.original));
    for (const [key, input] of Object.entries(this.inputs)) input.value = settings[key];
    this.root.classList.toggle("locked", !!pad.locked);
    this.root.classList.toggle("muted", settings.mute);
  }

  flash() {
    this.hit.classList.remove("flash");
    void this.hit.offsetWidth; // restart the CSS animation
    this.hit.classList.add("flash");
  }
}
