// The pads: a big play button per pad (named "Pad N") with the sound's waveform, name and where it came from,
// the pad's tools (new sound, lock, mute, solo, A/B, WAV, re-synthesis, MIDI learn) and its settings (strip
// knobs and MIDI note). On a phone the tools and settings fold away behind "Pad N settings", so the pads and the
// grid fit on one screen. This module only draws and reports what the user did; main.js decides what it means.

export const SOUND_MIME = "application/x-drumgen-sound"; // drag-and-drop of a sound id between panels

/** Draw a 64-bucket peak overview (the Sound's `peak`) as a mirrored bar graph. */
export function drawWave(canvas, peak, color = "#ffb347", size = null) {
  const dpr = window.devicePixelRatio || 1;
  // `size` [w, h] as a ResizeObserver last saw it: asking the canvas would lay the page out again, once per pad
  const [w, h] = size && size[0] ? size : [canvas.clientWidth || 160, canvas.clientHeight || 40];
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
  ["variation", "variation", 0, 1, 0.05], // how different each round robin is (0: the same hit)
];

// Whole numbers: how many takes a pad turns through, and how many layers its velocity picks from.
const COUNTS = [
  // [setting, label, min, max]
  ["roundRobin", "round robins", 1, 8],
  ["velocityLayers", "layers", 1, 4],
];

export function el(tag, props = {}, ...children) {
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
   * @param {number} i pad index
   * @param {object} on callbacks: hit(i), newSound(i, sameClass), lock(i), setting(i, changes), ab(i),
   *   saveWav(i), file(i, File), dropSound(i, id), learn(i), note(i, note), audition(i)
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
    this.drawn = null; // the peaks on the canvas, redrawn when the sound or the canvas's size changes
    this.size = null;
    new ResizeObserver(([entry]) => {
      this.size = [entry.contentRect.width, entry.contentRect.height];
      drawWave(this.canvas, this.drawn, undefined, this.size);
    }).observe(this.canvas);
    this.name = el("span", { class: "name" });
    this.hint = el("span", { class: "hint" });
    this.meta = el("span", { class: "meta", textContent: "loading…" });
    this.hit = el("button", { type: "button", class: "hit", "aria-label": `Pad ${n}` }, this.canvas,
      el("span", { class: "title" }, this.name, this.hint), this.meta,
      el("span", { class: "key", textContent: n <= 9 ? String(n) : "", "aria-hidden": "true" }));
    this.hit.addEventListener("pointerdown", (e) => { e.preventDefault(); on.hit(i); }); // no click delay
    this.hit.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); on.hit(i); } });
    this.lockBtn = tool("Lock", `Lock pad ${n}`, () => on.lock(i), false);
    this.muteBtn = tool("M", `Mute pad ${n}`, () => on.setting(i, { mute: !this.settings.mute }), false);
    this.soloBtn = tool("S", `Solo pad ${n}`, () => on.setting(i, { solo: !this.settings.solo }), false);
    this.abBtn = tool("A/B", `A/B pad ${n}`, () => on.ab(i), false);
    this.abBtn.hidden = true;
    this.learnBtn = tool("L", `MIDI learn pad ${n}`, () => on.learn(i), false);
    this.file = el("input", { type: "file", accept: "audio/*,.wav,.aif,.aiff,.flac,.ogg,.mp3",
      "aria-label": `Re-synthesize a file on pad ${n}` });
    this.file.addEventListener("change", () => { if (this.file.files[0]) on.file(i, this.file.files[0]); this.file.value = ""; });
    this.toggle = el("button", { type: "button", class: "tool pad-toggle", textContent: "⋯",
      "aria-label": `Pad ${n} settings`, "aria-expanded": "false" });
    this.toggle.addEventListener("click", () => this.open(!this.root.classList.contains("open")));
    const tools = el("div", { class: "tools" },
      tool("New", `New sound for pad ${n}`, () => on.newSound(i, false)),
      tool("Like", `New sound of the same class for pad ${n}`, () => on.newSound(i, true)),
      this.lockBtn, this.muteBtn, this.soloBtn, this.abBtn,
      tool("Takes", `Audition pad ${n}'s takes, soft to hard`, () => on.audition(i)),
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
    for (const [key, label, min, max] of COUNTS) {
      const input = el("input", { type: "number", min, max, step: 1, "aria-label": `Pad ${n} ${label}` });
      input.addEventListener("change", () => {
        const v = Math.max(min, Math.min(max, Math.round(+input.value) || min));
        input.value = v;
        on.setting(i, { [key]: v });
      });
      this.inputs[key] = input;
      knobs.append(el("label", { class: "knob count" }, el("span", { textContent: label }), input));
    }
    // The pad's MIDI note: what a controller plays it with, and what every export writes it as.
    this.noteInput = el("input", { type: "number", min: 0, max: 127, step: 1, "aria-label": `Pad ${n} note` });
    this.noteInput.addEventListener("change", () => on.note(i, Math.round(+this.noteInput.value)));
    knobs.append(el("label", { class: "knob" }, el("span", { textContent: "note" }), this.noteInput));
    this.root = el("div", { class: "pad", "data-pad": String(i) }, this.hit, this.toggle, tools, knobs);
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

  /** Unfold (or fold) the tools and settings; only a narrow screen folds them. */
  open(on) {
    this.root.classList.toggle("open", on);
    this.toggle.setAttribute("aria-expanded", String(on));
  }

  /**
   * Show a pad's state: pad {sound, pair, locked, learning, busy, note}, the engine's settings for it, and
   * its words {name, hint, meta} (kit.js decides what a pad is called).
   */
  update(pad, settings, words) {
    this.settings = settings;
    const s = pad.sound;
    this.name.textContent = words.name;
    this.hint.textContent = words.hint ? ` (${words.hint})` : "";
    this.hint.title = words.hint ? "what the tagger hears; the pad is named by what was asked" : "";
    this.meta.textContent = pad.busy ? "working…" : words.meta;
    const peak = (s && s.peak) || null;
    if (peak !== this.drawn) drawWave(this.canvas, (this.drawn = peak), undefined, this.size);
    this.lockBtn.setAttribute("aria-pressed", String(!!pad.locked));
    this.muteBtn.setAttribute("aria-pressed", String(settings.mute));
    this.soloBtn.setAttribute("aria-pressed", String(settings.solo));
    this.learnBtn.setAttribute("aria-pressed", String(!!pad.learning));
    this.abBtn.hidden = !pad.pair;
    this.abBtn.setAttribute("aria-pressed", String(!!pad.pair && pad.sound === pad.pair.original));
    for (const [key, input] of Object.entries(this.inputs)) {
      if (document.activeElement !== input || input.type === "range") input.value = settings[key];
    }
    if (document.activeElement !== this.noteInput) this.noteInput.value = pad.note;
    this.root.classList.toggle("locked", !!pad.locked);
    this.root.classList.toggle("muted", settings.mute);
  }

  flash() {
    this.hit.classList.remove("flash");
    void this.hit.offsetWidth; // restart the CSS animation
    this.hit.classList.add("flash");
  }
}
