// The training panel: upload a folder (or files, or a .zip) of hits, pick a model kind, a loaded model to fine-tune
// (or none: from scratch) and a time budget, start a job (POST /api/train), follow it over /ws/jobs/{id} (loss
// curve, preview sounds), then use the model.

import * as api from "./api.js";

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
    this.text.textContent = `Job ${this.job.id} ${this.job.state}`;
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
    let finished = false;
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      if (m.type === "progress") this.progress(m);
      else if (m.type === "done") { finished = true; this.done(m.model); }
      else if (m.type === "error") { finished = true; this.failed(m.message); }
    };
    ws.onclose = () => {
      if (!finished && this.job && this.job.id === id) {
        this.failed("Lost the connection to the training job; it may still be running (see GET /api/jobs).");
      }
    };
  }

  progress(m) {
    this.history.push({ step: m.step, losses: m.losses || {} });
    this.bar.max = m.total || 1;
    this.bar.value = m.step;
    const eta = m.eta !== undefined && m.eta !== null ? `, about ${Math.ceil(m.eta)} s left` : "";
    const losses = Object.entries(m.losses || {}).map(([k, v]) => `${k} ${(+v).toFixed(3)}`).join(" · ");
    this.text.textContent = `Step ${m.step} of ${m.total}${eta}${losses ? ` — ${losses}` : ""}`;
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
    this.bar.value = this.bar.max;
    this.text.textContent = `Finished: model "${model}" is ready.`;
    this.useBtn.disabled = false;
    this.cancelBtn.disabled = true;
    this.startBtn.disabled = false;
    this.app.refreshModels();
  }

  failed(message) {
    this.text.textContent = `Training failed: ${message}`;
    this.cancelBtn.disabled = true;
    this.startBtn.disabled = false;
    this.job = null;
    this.app.error(`Training failed: ${message}`);
  }

  async cancel() {
    if (!this.job) return;
    const job = await api.cancelJob(this.job.id);
    this.job = null;
    this.text.textContent = `Job ${job.id} ${job.state}.`;
    this.cancelBtn.disabled = true;
    this.startBtn.disabled = false;
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
