// Thin fetch wrappers over the drumgen HTTP API (docs/API.md). Every failure becomes an ApiError whose
// message is a sentence a beatmaker can act on, so the page never fails silently.

export class ApiError extends Error {
  /** @param {string} message @param {number} status HTTP status, 0 when the server could not be reached */
  constructor(message, status = 0) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

/** FastAPI sends `detail` as a string, or as a list of validation errors: turn either into words. */
function detailText(body) {
  const d = body && body.detail;
  if (typeof d === "string") return d;
  if (Array.isArray(d)) return d.map((e) => `${(e.loc || []).slice(1).join(".")}: ${e.msg}`).join("; ");
  return "";
}

async function request(path, options = {}) {
  let res;
  try {
    res = await fetch(path, options);
  } catch {
    throw new ApiError(`Cannot reach the drumgen server (${location.origin}). Is \`drumgen serve\` still running?`);
  }
  if (res.ok) return res;
  let body = null;
  try { body = await res.json(); } catch { /* not JSON: fall back to the status text */ }
  const detail = detailText(body) || res.statusText || "no details";
  if (res.status === 503) {
    const wait = res.headers.get("Retry-After");
    throw new ApiError(`The model is busy${wait ? `; try again in ${wait} s` : "; try again in a moment"} (${detail}).`, 503);
  }
  if (res.status === 413) throw new ApiError(`Upload rejected: the file is too large (${detail}).`, 413);
  if (res.status >= 400 && res.status < 500) throw new ApiError(`Request rejected: ${detail}`, res.status);
  throw new ApiError(`Server error ${res.status}: ${detail}`, res.status);
}

async function getJSON(path) {
  return (await request(path)).json();
}

async function postJSON(path, body) {
  const res = await request(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return res;
}

export const health = () => getJSON("/api/health");
export const models = () => getJSON("/api/models");

/** The pad table, the one note map: [{slot, name, note, classes}], one entry per pad. */
export async function pads() {
  const { pads: table } = await getJSON("/api/pads");
  if (!Array.isArray(table) || !table.length) throw new ApiError("The server sent no pads (GET /api/pads).");
  return table;
}

/** @returns {Promise<object[]>} n Sounds, each with its WAV inline (`wav`, base64): a kit in one round trip */
export async function sample(model, n, { seed, label, labels } = {}) {
  const body = { model, n, audio: true };
  if (seed !== undefined && seed !== null) body.seed = seed;
  if (label) body.label = label;
  if (labels) body.labels = labels;  // one class per sound (null: any)
  return (await (await postJSON("/api/sample", body)).json()).sounds;
}

/** What the tagger hears in each sound: {id: class or null}. /api/sample leaves a conditional model's out. */
export async function heard(ids) {
  return (await (await postJSON("/api/heard", { ids })).json()).heard;
}

export async function decode(model, latent, label) {
  const body = { model, latent };
  if (label) body.label = label;
  return (await (await postJSON("/api/decode", body)).json()).sound;
}

export async function interpolate(a, b, t) {
  return (await (await postJSON("/api/interpolate", { a, b, t })).json()).sound;
}

export async function mix4(ids, x, y) {
  const [a, b, c, d] = ids;
  return (await (await postJSON("/api/mix4", { a, b, c, d, x, y })).json()).sound;
}

/** @returns {Promise<{sound: object, original: object}>} */
export async function resynthesize(file, model) {
  const form = new FormData();
  form.append("file", file, file.name || "upload.wav");
  form.append("model", model);
  form.append("audio", "true");  // both WAVs inline: the pad plays without another round trip
  return (await request("/api/resynthesize", { method: "POST", body: form })).json();
}

/** Your own audio as a Sound (origin "upload", no model), e.g. to bring a saved session's upload back. */
export async function upload(blob, filename) {
  const form = new FormData();
  form.append("file", blob, filename);
  return (await (await request("/api/uploads", { method: "POST", body: form })).json()).sound;
}

/** n takes close to a sound (round robins): take i of a seed is the same whatever n is. @returns Sounds */
export async function variations(sound, n, amount, seed) {
  return (await (await postJSON("/api/variations", { sound, n, amount, seed })).json()).sounds;
}

/** k velocity layers of a sound, soft to hard: {sounds, gains, cutoffs, velocities, learned}. */
export async function layers(sound, k) {
  return (await postJSON("/api/layers", { sound, k })).json();
}

/** A drum loop -> {bpm, bars, steps, swing, pattern, pads: [{sound, name, label, note, hits}], onsets, notes}. */
export async function loop(file, bpm = null) {
  const form = new FormData();
  form.append("file", file, file.name || "loop.wav");
  if (bpm) form.append("bpm", String(bpm));
  return (await request("/api/loop", { method: "POST", body: form })).json();
}

/** For each imitation (a loop pad's sound id), the generated drum of its class nearest it: Sounds. */
export async function loopDrums(sounds, labels, model, candidates = 16, seed = 0) {
  return (await (await postJSON("/api/loop/drums", { sounds, labels, model, candidates, seed })).json()).sounds;
}

export async function exportMidi(pattern, straight = false) {
  return (await postJSON(`/api/export/midi${straight ? "?straight=true" : ""}`, pattern)).blob();
}

/** body: {name, pads: [{sound, name, note, volume, pan, tune, decay, mute, round_robin, velocity_layers,
 * variation, seed}], pattern, straight} */
export async function exportKit(body) {
  return (await postJSON("/api/export/kit", body)).blob();
}

/** The beat bounced to a 44.1 kHz 24-bit stereo WAV, with the kit's pads and knobs (the kit export's body). */
export async function exportAudio(body) {
  return (await postJSON("/api/export/audio", body)).blob();
}

export async function train(form) {
  return (await (await request("/api/train", { method: "POST", body: form })).json()).job;
}

export const jobs = () => getJSON("/api/jobs");
export async function cancelJob(id) {
  return (await request(`/api/jobs/${encodeURIComponent(id)}`, { method: "DELETE" })).json();
}

/** The raw bytes of a sound or preview, for decodeAudioData or a WAV download. */
export async function bytes(url) {
  return (await request(url)).arrayBuffer();
}

/** ws:// or wss:// URL on this page's host for a WebSocket route such as "/ws/midi". */
export function wsUrl(path) {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`;
}
