// Wiring: builds the instrument from the modules, holds the app state, and maps keys and buttons to it.
// State lives here; the modules draw it (pads, sequencer), play it (audio, scheduler) or talk to the server.

import * as api from "./api.js";
import { AudioEngine } from "./audio.js";
import { Scheduler } from "./scheduler.js";
import { Pattern, Grid } from "./sequencer.js";
import { PadView, GM_NOTES } from "./pads.js";
import { Morph } from "./morph.js";
import { Midi } from "./midi.js";
import { TrainPanel } from "./train.js";
import * as session from "./session.js";
import { Kit } from "./kit.js";

const $ = (id) => document.getElementById(id);

// ---- state -------------------------------------------------------------------------------------------
const ctx = new AudioContext({ latencyHint: "interactive" });
const engine = new AudioEngine(ctx);
let pattern = Pattern.defaults();
let models = [];          // GET /api/models
let model = null;         // the chosen model's name
const taps = [];          // tap-tempo times (ms)

const scheduler = new Scheduler({
  ctx,
  length: () => pattern.steps,
  onStep: (step, when) => pattern.rows.forEach((row, pad) => {
    if (row[step]) engine.trigger(pad, when, row[step] / 127);
  }),
});

// ---- messages: every failure is said in words, in the page -------------------------------------------
let infoTimer = null;
function error(e) {
  const text = typeof e === "string" ? e : e.message || String(e);
  $("alert").textContent = text;
  $("alert").classList.add("show");
  console.error(e);
}
function info(text) {
  $("status").textContent = text;
  clearTimeout(infoTimer);
  infoTimer = setTimeout(() => { $("status").textContent = ""; }, 6000);
}
function clearError() { $("alert").textContent = ""; $("alert").classList.remove("show"); }
/** Run an async action; report its failure in the page instead of losing it. */
async function guard(fn) {
  try {
    const r = await fn();
    clearError();
    return r;
  } catch (e) {
    error(e);
  }
}

// ---- sounds and pads ---------------------------------------------------------------------------------
const views = [];
function redraw(i) { views[i].update(pads[i], engine.settings[i]); }
const names = () => kit.names();
let labelled = "";
const kit = new Kit(engine, (changed) => {
  changed.forEach(redraw);
  const now = JSON.stringify(names());
  if (now !== labelled) { labelled = now; grid.render(names()); } // row labels follow the pads' names
  $("undo").disabled = !kit.undo.length;
  persist();
});
const pads = kit.pads;

function requireModel() {
  const m = models.find((x) => x.name === model);
  if (!m) throw new Error("No model is loaded. Start `drumgen serve --checkpoints DIR` with a trained model, or train one below.");
  return m;
}

async function newKit() {
  if (!(await kit.newKit(requireModel()))) info("All pads are locked.");
}

async function undoLast() {
  if (await kit.undoLast()) info("Undid the last sound change.");
}

/** A live hit: starts now, never through the scheduler's lookahead. */
function hit(i, velocity = 1) {
  if (ctx.state !== "running") ctx.resume();
  if (!engine.trigger(i, ctx.currentTime, velocity)) info(`Pad ${i + 1} has no sound yet.`);
  views[i].flash();
}

async function audition(soundOrUrl) {
  if (ctx.state !== "running") await ctx.resume();
  const buffer = typeof soundOrUrl === "string"
    ? await engine.decode(await api.bytes(soundOrUrl))
    : await kit.bufferOf(soundOrUrl);
  engine.preview(buffer);
}

/** The chosen model if it can encode, else the first that can (said in the page), else the chosen one. */
function encoderModel() {
  const chosen = requireModel();
  if (chosen.can_encode) return chosen.name;
  const other = models.find((m) => m.can_encode);
  if (other) { info(`"${chosen.name}" cannot re-synthesize; using "${other.name}".`); return other.name; }
  return chosen.name; // let the server say why it cannot
}

async function resynthesize(i, file) {
  await kit.resynthesize(i, file, encoderModel());
  info(`Pad ${i + 1}: re-synthesized ${file.name}. A/B switches between the original and the re-synthesis.`);
}

// ---- pattern, transport, export ----------------------------------------------------------------------
function apiPattern() {
  return pattern.toAPI({ bpm: scheduler.bpm, swing: scheduler.swing, names: names(), notes: GM_NOTES });
}

function play() {
  if (ctx.state !== "running") ctx.resume();
  scheduler.start();
  $("play").setAttribute("aria-pressed", "true");
}
function stop() {
  scheduler.stop();
  grid.setPlayhead(-1);
  $("play").setAttribute("aria-pressed", "false");
}

function setTempo(bpm) {
  const v = Math.round(Math.min(300, Math.max(30, +bpm || 120)));
  scheduler.bpm = v;
  $("tempo").value = v;
  persist();
}

function tap() {
  const now = performance.now();
  if (taps.length && now - taps[taps.length - 1] > 2000) taps.length = 0; // a pause starts a new count
  taps.push(now);
  if (taps.length > 5) taps.shift();
  if (taps.length < 2) return info("Tap again…");
  const beat = (taps[taps.length - 1] - taps[0]) / (taps.length - 1);
  setTempo(60000 / beat);
}

async function exportMidi() {
  session.download(await api.exportMidi(apiPattern()), "drumgen-beat.mid");
}

async function exportKit() {
  if (pads.some((p) => !p.sound)) throw new Error("Every pad needs a sound before the kit can be exported.");
  const body = {
    name: "drumgen-kit",
    pads: pads.map((p, i) => ({ sound: p.sound.id, name: names()[i], note: GM_NOTES[i] })),
    pattern: apiPattern(),
  };
  session.download(await api.exportKit(body), "drumgen-kit.zip");
}

// ---- sessions ----------------------------------------------------------------------------------------
function state() {
  return session.toJSON({
    pattern: apiPattern(),
    pads: pads.map((p, i) => ({ sound: p.sound, locked: p.locked, settings: { ...engine.settings[i] } })),
    settings: { model, volume: +$("volume").value, reverb: +$("reverb").value },
  });
}

let persistTimer = null;
function persist() {
  clearTimeout(persistTimer);
  persistTimer = setTimeout(() => session.saveLocal(state()), 300);
}

async function restore(data) {
  const p = data.pattern;
  pattern = Pattern.fromAPI(p);
  $("steps").value = String(pattern.steps);
  setTempo(p.bpm);
  setSwing(Math.round(p.swing * 100));
  const s = data.settings || {};
  if (s.volume !== undefined) { $("volume").value = s.volume; engine.setVolume(s.volume / 100); }
  if (s.reverb !== undefined) { $("reverb").value = s.reverb; engine.setReverb(s.reverb / 100); }
  if (s.model && models.some((m) => m.name === s.model)) { model = s.model; $("model").value = model; }
  data.pads.forEach((pd, i) => {
    pads[i].locked = !!pd.locked;
    engine.setPad(i, { ...pd.settings });
  });
  // Re-create every pad's sound from its latent; pads whose model is gone keep their current sound.
  const made = await Promise.all(data.pads.map(async (pd, i) => {
    if (!pd.model || !pd.latent) return null;
    const sound = await api.decode(pd.model, pd.latent, pd.label);
    if (pd.name) sound.name = pd.name;
    if (pd.seed !== undefined && sound.seed === null) sound.seed = pd.seed;
    return { pad: i, sound };
  }));
  await kit.assign(made.filter(Boolean));
  pads.forEach((_, i) => redraw(i));
}

async function loadSessionFile(file) {
  await restore(await session.readFile(file));
  info(`Loaded session ${file.name}.`);
}

// ---- models ------------------------------------------------------------------------------------------
async function refreshModels() {
  models = await api.models();
  trainer.listBases();
  const sel = $("model");
  sel.replaceChildren(...models.map((m) => new Option(`${m.name} (${m.kind})`, m.name)));
  if (!models.length) {
    model = null;
    throw new Error("The server has no models. Start `drumgen serve --checkpoints DIR`, or train one below.");
  }
  if (!models.some((m) => m.name === model)) model = models[0].name;
  sel.value = model;
}

async function useModel(name) {
  await refreshModels();
  model = name;
  $("model").value = name;
  await newKit();
  info(`Now playing model "${name}".`);
}

// ---- building the page -------------------------------------------------------------------------------
const grid = new Grid($("grid"), () => pattern, persist);
const midi = new Midi({
  onNote: (pad, velocity) => hit(pad, velocity),
  padNotes: () => GM_NOTES,
  status: (t) => { $("midi-status").textContent = t; },
  onLearn: (pad) => pads.forEach((p, i) => { p.learning = i === pad; redraw(i); }),
});

const padHandlers = {
  hit: (i) => hit(i),
  newSound: (i, same) => guard(() => kit.newSound(i, requireModel(), same)),
  lock: (i) => { pads[i].locked = !pads[i].locked; redraw(i); persist(); },
  setting: (i, changes) => { engine.setPad(i, changes); pads.forEach((_, k) => redraw(k)); persist(); },
  ab: (i) => guard(() => kit.toggleAB(i)),
  saveWav: (i) => guard(() => kit.saveWav(i)),
  file: (i, f) => guard(() => resynthesize(i, f)),
  dropSound: (i, id) => guard(() => {
    if (!kit.sounds.has(id)) throw new Error("That sound is no longer known to this page; morph it again.");
    return kit.assign([{ pad: i, sound: kit.sounds.get(id) }]);
  }),
  learn: (i) => midi.learn(i),
};
for (let i = 0; i < 8; i++) views.push(new PadView($("pads"), i, padHandlers));
engine.setPad(2, { choke: 1 }); // closed hat and open hat share a choke group: one cuts the other
engine.setPad(3, { choke: 1 });
pads.forEach((_, i) => redraw(i));
grid.render(names());

const morph = new Morph($("morph"), {
  soundOf: (i) => pads[i].sound,
  audition: (s) => audition(s),
  place: (i, s) => guard(() => kit.assign([{ pad: i, sound: s }])),
  guard,
});
const trainer = new TrainPanel($("train"), {
  guard, audition, info, error, useModel: (n) => guard(() => useModel(n)), refreshModels: () => guard(refreshModels),
  models: () => models,
});

function setSwing(percent) {
  const v = Math.min(75, Math.max(50, +percent));
  scheduler.swing = v / 100;
  $("swing").value = v;
  $("swing-out").textContent = `${v}%`;
  persist();
}

$("play").addEventListener("click", play);
$("stop").addEventListener("click", stop);
$("tempo").addEventListener("change", (e) => setTempo(e.target.value));
$("tap").addEventListener("click", tap);
$("swing").addEventListener("input", (e) => setSwing(e.target.value));
$("steps").addEventListener("change", (e) => { pattern.setSteps(+e.target.value); grid.render(names()); persist(); });
$("volume").addEventListener("input", (e) => { engine.setVolume(e.target.value / 100); persist(); });
$("reverb").addEventListener("input", (e) => { engine.setReverb(e.target.value / 100); persist(); });
$("clear").addEventListener("click", () => { pattern.clear(); grid.repaint(); persist(); });
$("new-kit").addEventListener("click", () => guard(newKit));
$("undo").addEventListener("click", () => guard(undoLast));
$("export-midi").addEventListener("click", () => guard(exportMidi));
$("export-kit").addEventListener("click", () => guard(exportKit));
$("session-save").addEventListener("click", () => session.saveFile(state()));
$("session-load").addEventListener("change", (e) => {
  const f = e.target.files[0];
  e.target.value = "";
  if (f) guard(() => loadSessionFile(f));
});
$("model").addEventListener("change", (e) => { model = e.target.value; persist(); info(`Model "${model}": press New kit to hear it.`); });
$("midi-enable").addEventListener("click", () => guard(() => midi.enable()));
$("help-open").addEventListener("click", () => $("help").showModal());

// The AudioContext may start suspended until the first gesture (autoplay policy).
for (const type of ["pointerdown", "keydown"]) {
  document.addEventListener(type, () => { if (ctx.state === "suspended") ctx.resume(); }, { capture: true });
}

document.addEventListener("keydown", (e) => {
  const t = e.target;
  const typing = t.matches && t.matches("input[type=text], input[type=number], select, textarea");
  if (typing || e.altKey || e.metaKey) return;
  const digit = /^Digit([1-8])$/.exec(e.code);
  if (digit && !e.ctrlKey) {
    e.preventDefault();
    const i = +digit[1] - 1;
    if (e.shiftKey) guard(() => kit.newSound(i, requireModel()));
    else if (!e.repeat) hit(i);
  } else if (e.code === "Space") {
    e.preventDefault(); // a focused button must not also be clicked
    scheduler.playing ? stop() : play();
  } else if (e.key === "?") {
    e.preventDefault();
    $("help").open ? $("help").close() : $("help").showModal();
  } else if (e.key.toLowerCase() === "z" && e.ctrlKey) {
    e.preventDefault();
    guard(undoLast);
  }
});
document.addEventListener("keyup", (e) => { if (e.code === "Space" && e.target.matches("button")) e.preventDefault(); });

// The playhead: drawn from the scheduler's queue on animation frames, never from the timer.
function draw() {
  grid.setPlayhead(scheduler.playing ? scheduler.current(ctx.currentTime) : -1);
  requestAnimationFrame(draw);
}
requestAnimationFrame(draw);

async function start() {
  try {
    await refreshModels();
  } catch (e) {
    return error(e);
  }
  const last = session.loadLocal();
  if (last) {
    try {
      await restore(last);
      return info("Restored your last session.");
    } catch (e) {
      error(`Could not restore the last session (${e.message}); starting a new kit.`);
    }
  }
  await guard(newKit);
}

// A handle for the console and the browser tests.
window.drumgen = { ctx, engine, scheduler, kit, pads, get pattern() { return pattern; }, grid, midi, morph, trainer,
  state, restore, ready: start().then(() => midi.connectServer()) };
