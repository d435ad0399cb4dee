// Wiring: builds the instrument from the modules, holds the app state, and maps buttons to it.
// State lives here; the modules draw it (pads, sequencer), play it (audio, scheduler) or talk to the server.
// Everything is sized by the server's pad table (GET /api/pads): the one place that says how many pads there
// are, what each is called, and which MIDI note it plays and exports on.

import * as api from "./api.js";
import { AudioEngine } from "./audio.js";
import { Scheduler } from "./scheduler.js";
import { Pattern, Grid } from "./sequencer.js";
import { PadView } from "./pads.js";
import { Morph } from "./morph.js";
import { Midi } from "./midi.js";
import { TrainPanel } from "./train.js";
import * as session from "./session.js";
import { Kit, stem } from "./kit.js";
import { LoopPanel } from "./loop.js";
import { Exports } from "./exports.js";
import { Messages } from "./messages.js";
import { installKeys } from "./keys.js";

const $ = (id) => document.getElementById(id);
const messages = new Messages($("alert"), $("status"));
const { info, error } = { info: (t) => messages.info(t), error: (e) => messages.error(e) };
const guard = (fn) => messages.guard(fn);
let started;
window.drumgen = { ready: new Promise((resolve) => { started = resolve; }) }; // filled in below

// ---- state -------------------------------------------------------------------------------------------
const table = await api.pads().catch((e) => {
  error(`${e.message} The page needs the server's pad table; is this server a drumgen that serves /api/pads?`);
  return new Promise(() => {}); // nothing can be built without it: stop here, having said why
});
const ctx = new AudioContext({ latencyHint: "interactive" });
const engine = new AudioEngine(ctx, table.length);
let pattern = Pattern.defaults(table.map((t) => t.slot));
let models = [];          // GET /api/models
let model = null;         // the chosen model's name
const taps = [];          // tap-tempo times (ms)

const scheduler = new Scheduler({
  ctx,
  length: () => pattern.steps,
  onStep: (step, when) => pattern.rows.flatMap((row, pad) => {
    if (!row[step]) return [];
    // a loaded loop's hits keep their played timing, as far as the quantize strength lets them
    engine.trigger(pad, Math.max(ctx.currentTime, when + loopPanel.offset(pad, step)), row[step] / 127);
    return engine.audible(pad) ? [pad] : [];  // the pads to flash when this step sounds
  }),
});

// ---- sounds and pads ---------------------------------------------------------------------------------
const views = [];
const redraw = (i) => views[i].update(pads[i], engine.settings[i], kit.words(i));
const names = () => kit.names();
const notes = () => pads.map((p) => p.note);
let labelled = "";
const kit = new Kit(engine, table, (changed) => {
  changed.forEach(redraw);
  const now = JSON.stringify(names());
  if (now !== labelled) { labelled = now; grid.render(names()); } // row labels follow the pads' names
  showUndo();
  persist();
});
const pads = kit.pads;

function showUndo() {
  const what = kit.nextUndo();
  $("undo").disabled = !what;
  $("undo").textContent = what ? `Undo ${what}` : "Undo";
  $("undo").title = what ? `Undo the ${what} (Ctrl+Z)` : "Nothing to undo yet";
}

function requireModel() {
  const m = models.find((x) => x.name === model);
  if (!m) throw new Error("No model is loaded. Start `drumgen serve --checkpoints DIR` with a trained model, or train one below.");
  return m;
}

/** New sounds on the unlocked pads; `say`: tell the player it happened (the New kit button: the model menu's
 * "press New kit to hear it" must not stay up once they have). */
async function newKit(what = "new kit", say = false) {
  const n = await kit.newKit(requireModel(), what);
  if (!n) info("All pads are locked.");
  else if (say) info(`New kit from "${model}" on ${n === kit.pads.length ? "every pad" : `${n} unlocked pad${n > 1 ? "s" : ""}`}.`);
}

async function undoLast() {
  const what = await kit.undoLast();
  info(what ? `Undid the ${what}.` : "Nothing to undo.");
}

/** A live hit: starts now, never through the scheduler's lookahead. */
function hit(i, velocity = 1) {
  if (ctx.state !== "running") ctx.resume();
  if (!engine.trigger(i, ctx.currentTime, velocity)) info(`Pad ${i + 1} has no sound yet.`);
  views[i].flash();
}

/** Play pad i's round robins and velocity layers one after another, soft to hard. */
function auditionTakes(i) {
  if (ctx.state !== "running") ctx.resume();
  const t = engine.takes[i];
  const n = engine.auditionTakes(i, ctx.currentTime + 0.02);
  if (!n) { info(`Pad ${i + 1} has no sound yet.`); return; }
  views[i].flash();
  info(t ? `Pad ${i + 1}: ${t.layers.length} layer(s) x ${t.layers[0].buffers.length} round robin(s), soft to hard.`
    : `Pad ${i + 1} has one take: set its round robins or layers to make more.`);
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
  info(`Pad ${i + 1}: re-synthesized ${file.name}. A/B switches between your file and the re-synthesis.`);
}

/** Pad i plays (and exports) on `note`; the pad that had it takes pad i's old note. */
function setNote(i, note) {
  if (!(note >= 0 && note <= 127)) return redraw(i);
  const other = kit.setNote(i, note);
  pads.forEach((_, k) => redraw(k));
  persist();
  info(`Pad ${i + 1} plays on note ${note}${other >= 0 ? `; pad ${other + 1} moved to note ${pads[other].note}` : ""}.`);
}

// ---- pattern, transport, export ----------------------------------------------------------------------
function apiPattern(audibleOnly = false) {
  return pattern.toAPI({ bpm: scheduler.bpm, swing: scheduler.swing, names: names(), notes: notes(),
    keep: (i) => !audibleOnly || engine.audible(i) });
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
  const v = Math.round(100 * Math.min(300, Math.max(30, +bpm || 120))) / 100; // a loop's tempo keeps its decimals
  scheduler.bpm = v;
  $("tempo").value = v;
  persist();
}

function setSwing(percent) {
  const v = Math.min(75, Math.max(50, +percent));
  scheduler.swing = v / 100;
  $("swing").value = v;
  $("swing-out").textContent = `${v}%`;
  persist();
}

function tap() {
  const now = performance.now();
  if (taps.length && now - taps[taps.length - 1] > 2000) taps.length = 0; // a pause starts a new count
  taps.push(now);
  if (taps.length > 5) taps.shift();
  if (taps.length < 2) return info("Tap again…");
  const beat = (taps[taps.length - 1] - taps[0]) / (taps.length - 1);
  setTempo(Math.round(60000 / beat)); // taps are not that precise: whole BPM
}

// ---- loops -------------------------------------------------------------------------------------------
/** A loop's answer onto the instrument: its tempo, swing and grid, its slices on the first pads (undoable). */
async function applyLoop(result, file) {
  stop();
  const n = Math.min(result.pads.length, table.length);
  pattern = Pattern.fromAPI(result.pattern, table.length);
  $("steps").value = String(pattern.steps);
  setTempo(result.bpm);
  setSwing(Math.round(result.swing * 100));
  const slices = result.pads.slice(0, n);
  await Promise.all(slices.map(async (p) => kit.uploads.set(p.sound.id, session.toBase64(await api.bytes(p.sound.url)))));
  slices.forEach((p, i) => kit.setNote(i, p.note));
  await kit.assign(slices.map((p, i) => ({ pad: i, sound: { ...p.sound, label: p.label } })), `loop ${stem(file.name)}`);
  grid.render(names());
  pads.forEach((_, i) => redraw(i));
  persist();
}

/** Every loop pad gets the generated drum of its class nearest its slice (beatbox in, drums out); undoable. */
async function loopDrums(result) {
  const n = Math.min(result.pads.length, table.length);
  const free = result.pads.slice(0, n).map((_, i) => i).filter((i) => !pads[i].locked);
  if (!free.length) throw new Error("Every pad of the loop is locked.");
  await kit.busy(free, async () => {
    const sounds = await api.loopDrums(free.map((i) => result.pads[i].sound.id), free.map((i) => result.pads[i].label),
      requireModel().name);
    await kit.assign(free.map((pad, k) => ({ pad, sound: sounds[k] })), "drums for the loop");
  });
  info(`${free.length} pads now play generated drums, each the nearest of its class to the loop's hit; Undo brings the slices back.`);
}

// ---- sessions ----------------------------------------------------------------------------------------
function state() {
  return session.toJSON({
    pattern: apiPattern(),
    pads: pads.map((p, i) => ({ sound: p.sound, pair: p.pair, locked: p.locked, note: p.note,
      settings: { ...engine.settings[i] }, upload: kit.uploadOf(i) })),
    settings: { model, volume: +$("volume").value, reverb: +$("reverb").value, groove: loopPanel.groove() },
  });
}

let persistTimer = null;
function persist() {
  clearTimeout(persistTimer);
  persistTimer = setTimeout(() => session.saveLocal(state()), 300);
}

async function restore(data) {
  const p = data.pattern;
  pattern = Pattern.fromAPI(p, table.length);
  $("steps").value = String(pattern.steps);
  setTempo(p.bpm);
  setSwing(Math.round(p.swing * 100));
  const s = data.settings || {};
  if (s.volume !== undefined) { $("volume").value = s.volume; engine.setVolume(s.volume / 100); }
  if (s.reverb !== undefined) { $("reverb").value = s.reverb; engine.setReverb(s.reverb / 100); }
  if (s.model && models.some((m) => m.name === s.model)) { model = s.model; $("model").value = model; }
  loopPanel.setGroove(s.groove);
  data.pads.forEach((pd, i) => {
    pads[i].locked = !!pd.locked;
    if (Number.isInteger(pd.note)) pads[i].note = pd.note;
    engine.setPad(i, { ...pd.settings });
  });
  const lost = await kit.restore(data.pads);
  // a pad that could not come back and has no sound gets a new one, so the pattern still plays
  const empty = lost.filter(({ pad }) => !pads[pad].sound && !pads[pad].locked);
  for (const { pad } of empty) await kit.newSound(pad, requireModel());
  grid.render(names());
  pads.forEach((_, i) => redraw(i));
  if (!lost.length) return "";
  const which = lost.map(({ pad }) => pad + 1).join(", ");
  const many = lost.length > 1;
  return ` Pad${many ? "s" : ""} ${which} could not be brought back (${lost[0].reason})` +
    (empty.length ? (many ? "; they play new sounds." : "; it plays a new sound.")
      : (many ? "; they keep the sounds they had." : "; it keeps the sound it had."));
}

async function loadSessionFile(file) {
  const lost = await restore(await session.readFile(file, table.length));
  info(`Loaded session ${file.name}.${lost}`);
}

// ---- models ------------------------------------------------------------------------------------------
/** A model in the menu says its band: the rate it generates at, and where the server makes the band above it
 * (a 22.05 kHz GAN's hits get their top octave and ringing tails from drumgen/dsp/extension.py). */
function modelOption(m) {
  const extended = m.band && m.band.extended_hz;
  const rate = extended ? `${m.sample_rate / 1000} → ${m.output_rate / 1000} kHz` : `${m.sample_rate / 1000} kHz`;
  const label = `${m.name} (${m.kind}, ${rate})`;
  const option = new Option(label, m.name);
  if (extended) {
    option.title = `Generated at ${m.sample_rate / 1000} kHz; the band above ${extended[0] / 1000} kHz and the tails of hits ` +
      "still ringing at the end of its slice are made from what it generated.";
  }
  return option;
}

async function refreshModels() {
  models = await api.models();
  trainer.listBases();
  const sel = $("model");
  sel.replaceChildren(...models.map(modelOption));
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
  await newKit(`switch to ${name}`);
  info(`Now playing model "${name}".`);
}

// ---- building the page -------------------------------------------------------------------------------
const grid = new Grid($("grid"), () => pattern, persist);
const midi = new Midi({
  onNote: (pad, velocity) => hit(pad, velocity),
  padNotes: notes,
  onLearned: (pad, note) => setNote(pad, note),
  status: (t) => { $("midi-status").textContent = t; },
  onLearn: (pad) => pads.forEach((p, i) => { p.learning = i === pad; redraw(i); }),
});

// Round robins and velocity layers are made again (by the server) when one of these settings changes.
const TAKE_SETTINGS = ["roundRobin", "velocityLayers", "variation"];
const takeTimers = [];
function remakeTakes(i) {
  clearTimeout(takeTimers[i]);  // a slider sends many changes: make the takes once it rests
  takeTimers[i] = setTimeout(() => guard(async () => info(`Pad ${i + 1} plays ${await kit.makeTakes(i)}.`)), 250);
}

const padHandlers = {
  hit: (i) => hit(i),
  newSound: (i, same) => guard(() => kit.newSound(i, requireModel(), same)),
  lock: (i) => { pads[i].locked = !pads[i].locked; redraw(i); persist(); },
  setting: (i, changes) => {
    engine.setPad(i, changes);
    pads.forEach((_, k) => redraw(k));
    persist();
    if (TAKE_SETTINGS.some((key) => key in changes)) remakeTakes(i);
  },
  ab: (i) => guard(() => kit.toggleAB(i)),
  saveWav: (i) => guard(() => kit.saveWav(i)),
  file: (i, f) => guard(() => resynthesize(i, f)),
  dropSound: (i, id) => guard(() => {
    if (!kit.sounds.has(id)) throw new Error("That sound is no longer known to this page; morph it again.");
    return kit.assign([{ pad: i, sound: kit.sounds.get(id) }], `sound dropped on pad ${i + 1}`);
  }),
  learn: (i) => guard(() => midi.learn(i)),
  note: (i, note) => setNote(i, note),
  audition: (i) => auditionTakes(i),
};
table.forEach((_, i) => views.push(new PadView($("pads"), i, padHandlers)));
// Pads whose slots are the hats share a choke group: the closed hat cuts the open hat.
table.forEach((slot, i) => { if (/hat/.test(slot.slot)) engine.setPad(i, { choke: 1 }); });
pads.forEach((_, i) => redraw(i));
grid.render(names());
showUndo();
const last = Math.min(9, table.length); // keys 1-9 play the first nine pads
document.querySelectorAll(".pad-keys").forEach((dt) => {
  dt.textContent = `${dt.dataset.shift ? "Shift + " : ""}1 – ${last}`;
});

const morph = new Morph($("morph"), {
  pads: table.length,
  soundOf: (i) => pads[i].sound,
  audition: (s) => audition(s),
  place: (i, s) => guard(() => kit.assign([{ pad: i, sound: s }], `morph on pad ${i + 1}`)),
  guard,
});
const loopPanel = new LoopPanel($("loop"), {
  apply: applyLoop,
  drums: loopDrums,
  replace: (i, label) => kit.newSound(i, requireModel(), !!label),
  resynth: (i, file) => resynthesize(i, file),
  keep: (i, sound) => kit.assign([{ pad: i, sound }], `original slice on pad ${i + 1}`),
  decode: (data) => engine.decode(data),
  preview: (buffer) => { if (ctx.state !== "running") ctx.resume(); return engine.preview(buffer); },
  stopPlaying: stop,
  changed: () => persist(),
  guard,
  info,
});
loopPanel.dropTarget(document.querySelector(".seq"));
const trainer = new TrainPanel($("train"), {
  guard, audition, info, error, useModel: (n) => guard(() => useModel(n)), refreshModels: () => guard(refreshModels),
  models: () => models,
});

$("play").addEventListener("click", play);
$("stop").addEventListener("click", stop);
$("tempo").addEventListener("change", (e) => setTempo(e.target.value));
$("tap").addEventListener("click", tap);
$("swing").addEventListener("input", (e) => setSwing(e.target.value));
$("steps").addEventListener("change", (e) => { pattern.setSteps(+e.target.value); grid.render(names()); persist(); });
$("volume").addEventListener("input", (e) => { engine.setVolume(e.target.value / 100); persist(); });
$("reverb").addEventListener("input", (e) => { engine.setReverb(e.target.value / 100); persist(); });
$("clear").addEventListener("click", () => { pattern.clear(); grid.repaint(); persist(); });
$("new-kit").addEventListener("click", () => guard(() => newKit("new kit", true)));
$("undo").addEventListener("click", () => guard(undoLast));
const exporter = new Exports({ pads, engine, names, apiPattern, straight: () => $("straight").checked, info });
$("export-midi").addEventListener("click", () => guard(() => exporter.midi()));
$("export-kit").addEventListener("click", () => guard(() => exporter.kit()));
$("export-audio").addEventListener("click", () => guard(() => exporter.audio()));
$("session-save").addEventListener("click", () => session.saveFile(state()));
$("session-load").addEventListener("change", (e) => {
  const f = e.target.files[0];
  e.target.value = "";
  if (f) guard(() => loadSessionFile(f));
});
$("model").addEventListener("change", (e) => { model = e.target.value; persist(); info(`Model "${model}": press New kit to hear it.`); });
$("midi-enable").addEventListener("click", () => guard(() => midi.enable()));
$("help-open").addEventListener("click", () => $("help").showModal());
$("skip-grid").addEventListener("click", (e) => { e.preventDefault(); grid.buttons[0][0].focus(); });

// The AudioContext may start suspended until the first gesture (autoplay policy).
for (const type of ["pointerdown", "keydown"]) {
  document.addEventListener(type, () => { if (ctx.state === "suspended") ctx.resume(); }, { capture: true });
}

installKeys({
  hit,
  newSound: (i) => guard(() => kit.newSound(i, requireModel())),
  togglePlay: () => (scheduler.playing ? stop() : play()),
  help: () => ($("help").open ? $("help").close() : $("help").showModal()),
  undo: () => guard(undoLast),
}, table.length);

// Drawing runs on animation frames from the scheduler's queue, never from its timer: the playhead moves and
// the pads a step plays flash when that step sounds on the audio clock.
let shown = null;
function draw() {
  const entry = scheduler.playing ? scheduler.currentEntry(ctx.currentTime) : null;
  if (entry !== shown && entry) entry.hits.forEach((pad) => views[pad].flash());
  shown = entry;
  grid.setPlayhead(entry ? entry.step : -1);
  requestAnimationFrame(draw);
}
requestAnimationFrame(draw);

async function start() {
  try {
    await refreshModels();
  } catch (e) {
    return error(e);
  }
  const last = await session.loadLocal(table.length);
  if (last) {
    try {
      const lost = await restore(last);
      return info(`Restored your last session.${lost}`);
    } catch (e) {
      error(`Could not restore the last session (${e.message}); starting a new kit.`);
    }
  }
  await guard(() => newKit(null)); // the first kit is where you start, not something to undo
}

// A handle for the console and the browser tests.
Object.assign(window.drumgen, { ctx, engine, scheduler, kit, pads, table, grid, midi, morph, trainer, state, restore,
  loop: loopPanel });
Object.defineProperty(window.drumgen, "pattern", { get: () => pattern });
start().then(() => midi.connectServer()).then(started);
