// The training panel: upload a folder (or files, or a .zip) of hits, pick a model kind, a loaded model to fine-tune
// (or none: from scratch) and a time budget, start a job (POST /api/train), follow it over /ws/jobs/{id} (loss
// curve, preview sounds), then use the model.

import * as api from "./api.js";

/** 75 -> "1:15" */
export const clock = (seconds) => `${Math.floor(seconds / 60)}:${String(Math.floor(seconds % 60)).padStart(2, "0")}`;

/** How far a job is, 0..1, or null when the server cannot say. */
export function fractionOf(m) {
  if (typeof m.fraction === "number") return Math.min(1, Math.max(0, m.fraction));
  return m.total ? Math.min(1, m.step / m.total) : null;
}

/** "Step 21 of 500", or for a time budget "Step 21, 0:40 of 1:00", with the ETA and the latest losses. */
export function progressText(m) {
  const fraction = fractionOf(m);
  let where = `Step ${m.step}`;
  if (m.total) where += ` of ${m.total}`;
  else if (m.budget && fraction !== null) where += `, ${clock(fraction * m.budget)} of ${clock(m.budget)}`;
  const eta = m.eta !== undefined && m.eta !== null ? `, about ${Math.ceil(m.eta)} s left` : "";
  const losses = Object.entries(m.losses || {}).map(([k, v]) => `${k} ${(+v).toFixed(3)}`).join(" · ");
  return `${where}${eta}${losses ? ` — ${losses}` : ""}`;
}

const AUDIO = /\.(wav|wave|aif|aiff|aifc|flac|ogg|oga|mp3|zip)$/i;
const COLORS = ["#ffb347", "#7fd1ff", "#9be39b", "#ff7f9f"];

export class TrainPanel {
  /**
   * @param {object} app guard(fn), audition(url), useModel(name), refreshModels(), models() (GET /api/models),
   *   info(text), error(text)
   */
  constructor(root, app) {
    this.app = app;
    const $ = (sel) => root.querySelector(sel);
    Object.assign(this, {
      folder: $("#train-folder"), files: $("#train-files"), kind: $("#train-kind"), base: $("#train-base"),
      hint: $("#train-base-hint"), minutes: $("#train-minutes"),
      name: $("#train-name"), startBtn: $("#train-start"), cancelBtn: $("#train-cancel"), useBtn: $("#train-use"),
      bar: $("#train-progress"), text: $("#train-text"), canvas: $("#train-loss"), previews: $("#train-previews"),
    });
    this.job = null;
    this.socket = null; // the job's progress WebSocket
    this.history = []; // [{step, losses}]
    this.model = null;  // the finished model's name
    this.startBtn.addEventListener("click", () => app.guard(() => this.start()));
    this.cancelBtn.addEventListener("click", () => app.guard(() => this.cancel()));
    this.useBtn.addEventListener("click", () => this.model && app.useModel(this.model));
    const chosen = () => { this.text.textContent = `${this.chosenFiles().length} audio files chosen.`; };
    this.folder.addEventListener("change", chosen);
    this.files.addEventListener("change", chosen);
    this.kind.addEventListener("change", () => this.listBases(true));
    this.listBases(true);
  }

  /**
   * Fill "Start from" with the loaded models of the chosen kind, then scratch. Fine-tuning is the better default
   * (the quick way to a kit's sound), so the first such model is chosen unless the user picked another
   * one, or scratch, that is still offered. Called on a Kind change (fresh) and whenever the app's models refresh.
   */
  listBases(fresh = false) {
    const kind = this.kind.value, kept = this.base.value, offered = this.base.options.length > 1;
    const names = this.app.models().filter((m) => m.kind === kind).map((m) => m.name);
    this.base.replaceChildren(...names.map((n) => new Option(`fine-tune ${n}`, n)),
      new Option("new model (from scratch)", ""));
    const keep = !fresh && (names.includes(kept) || (kept === "" && offered));
    this.base.value = keep ? kept : names[0] || "";
    this.hint.textContent = names.length
      ? "Fine-tuning starts from a trained model: the quick way to your own kit."
      : `No ${kind} model is loaded to fine-tune, so this one starts from scratch.`;
  }

  chosenFiles() {
    return [...this.folder.files, ...this.files.files].filter((f) => AUDIO.test(f.name));
  }

  async start() {
    const files = this.chosenFiles();
    if (!files.length) throw new Error("Choose a folder or files of drum hits (WAV, AIFF, FLAC, OGG, MP3 or a .zip) first.");
    const minutes = +this.minutes.value;
    if (!(minutes > 0)) throw new Error("Set a training time in minutes (more than 0).");
    const form = new FormData();
    for (const f of files) form.append("files", f, f.webkitRelativePath || f.name);
    form.append("kind", this.kind.value);
    form.append("minutes", String(minutes));
    if (this.base.value) form.append("base", this.base.value);
    if (this.name.value.trim()) form.append("name", this.name.value.trim());
    this.reset();
    this.text.textContent = `Uploading ${files.length} files…`;
    this.job = await api.train(form);
    this.text.textContent = `Job ${this.job.id} ${this.job.state}…`;
    this.cancelBtn.disabled = false;
    this.startBtn.disabled = true;
    this.follow(this.job.id);
  }

  reset() {
    this.history = [];
    this.model = null;
    this.useBtn.disabled = true;
    this.previews.replaceChildren();
    this.bar.value = 0;
    this.draw();
  }

  follow(id) {
    const ws = new WebSocket(api.wsUrl(`/ws/jobs/${encodeURIComponent(id)}`));
    this.socket = ws;
    let finished = false;
    // Messages of a job that is no longer the panel's (cancelled, or replaced) are dropped: after Cancel the
    // socket still delivers a last progress and the server's "error: cancelled".
    const current = () => this.job && this.job.id === id;
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      if (!current()) return;
      if (m.type === "progress") this.progress(m);
      else if (m.type === "done") { finished = true; this.done(m.model); }
      else if (m.type === "error" && m.state === "cancelled") { finished = true; this.cancelled(); }
      else if (m.type === "error") { finished = true; this.failed(m.message); }
    };
    ws.onclose = () => {
      if (!finished && current()) {
        this.failed("Lost the connection to the training job; it may still be running (see GET /api/jobs).");
      }
    };
  }

  progress(m) {
    this.history.push({ step: m.step, losses: m.losses || {} });
    this.text.textContent = progressText(m);
    // The bar follows the server's fraction (steps or time, whichever budget the job has); without one it is
    // indeterminate rather than full.
    const fraction = fractionOf(m);
    if (fraction === null) this.bar.removeAttribute("value");
    else { this.bar.max = 1; this.bar.value = fraction; }
    for (const url of m.previews || []) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "tool";
      b.textContent = `▶ ${m.step}`;
      b.setAttribute("aria-label", `Preview at step ${m.step}`);
      b.addEventListener("click", () => this.app.guard(() => this.app.audition(url)));
      this.previews.append(b);
    }
    this.draw();
  }

  done(model) {
    this.model = model;
    this.bar.max = 1;
    this.bar.value = 1;
    this.text.textContent = `Finished: model "${model}" is ready.`;
    this.useBtn.disabled = false;
    this.idle();
    this.app.refreshModels();
  }

  failed(message) {
    this.text.textContent = `Training failed: ${message}`;
    this.idle();
    this.app.error(`Training failed: ${message}`);
  }

  /** A cancel is what the user asked for: said neutrally, not as a failure. */
  cancelled() {
    this.text.textContent = "Training cancelled.";
    this.bar.value = 0;
    this.idle();
  }

  idle() {
    this.job = null;
    if (this.socket) this.socket.close();
    this.socket = null;
    this.cancelBtn.disabled = true;
    this.startBtn.disabled = false;
  }

  async cancel() {
    if (!this.job) return;
    const id = this.job.id;
    this.cancelled(); // first, so nothing the socket still sends can overwrite it
    await api.cancelJob(id);
  }

  /** Loss curves, one colour per named loss, each scaled to its own range so all stay readable. */
  draw() {
    const c = this.canvas, dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth || 300, h = c.clientHeight || 120;
    c.width = w * dpr; c.height = h * dpr;
    const g = c.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = "#121418"; g.fillRect(0, 0, w, h);
    const names = [...new Set(this.history.flatMap((p) => Object.keys(p.losses)))];
    if (this.history.length < 2) {
      g.fillStyle = "#667"; g.font = "12px system-ui"; g.fillText("loss curve appears here", 8, h / 2);
      return;
    }
    const steps = this.history.map((p) => p.step), s0 = Math.min(...steps), s1 = Math.max(...steps, s0 + 1);
    names.forEach((name, k) => {
      const pts = this.history.filter((p) => name in p.losses).map((p) => [p.step, +p.losses[name]]);
      const lo = Math.min(...pts.map((p) => p[1])), hi = Math.max(...pts.map((p) => p[1]), lo + 1e-9);
      g.strokeStyle = COLORS[k % COLORS.length];
      g.beginPath();
      pts.forEach(([s, v], i) => {
        const x = 4 + ((s - s0) / (s1 - s0)) * (w - 8), y = h - 16 - ((v - lo) / (hi - lo)) * (h - 24);
        i ? g.lineTo(x, y) : g.moveTo(x, y);
      });
      g.stroke();
      g.fillStyle = g.strokeStyle; g.font = "11px system-ui";
      g.fillText(name, 8 + k * 70, h - 3);
    });
  }
}
