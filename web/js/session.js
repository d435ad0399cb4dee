// Sessions: the whole instrument as one JSON file (pattern, pads as {model, latent, label}, settings).
// Audio is never stored: POST /api/decode re-creates each pad's sound from its latent. The last session is
// also kept in localStorage so a reload picks up where you were.

export const FORMAT = "drumgen-session";
const STORE = "drumgen.session";

/** @param {object} state {pattern: API Pattern, pads: [{sound, locked, settings}], settings: {...}} */
export function toJSON(state) {
  return {
    format: FORMAT,
    version: 1,
    pattern: state.pattern,
    pads: state.pads.map((p) => ({
      model: p.sound ? p.sound.model : null,
      latent: p.sound ? p.sound.latent : null,
      label: p.sound ? p.sound.label : null,
      name: p.sound ? p.sound.name : null,
      seed: p.sound ? p.sound.seed : null,
      locked: !!p.locked,
      settings: p.settings,
    })),
    settings: state.settings,
  };
}

/** Check a parsed session and say what is wrong in words. */
export function validate(data) {
  if (!data || data.format !== FORMAT) throw new Error("This file is not a drumgen session (no \"format\": \"drumgen-session\").");
  if (!Array.isArray(data.pads) || data.pads.length !== 8) throw new Error("A drumgen session needs 8 pads.");
  const p = data.pattern;
  if (!p || ![16, 32, 64].includes(p.steps) || !Array.isArray(p.tracks)) {
    throw new Error("The session's pattern is missing or has a step count other than 16, 32 or 64.");
  }
  return data;
}

export function saveLocal(data) {
  try { localStorage.setItem(STORE, JSON.stringify(data)); } catch { /* storage full or disabled: not fatal */ }
}

export function loadLocal() {
  try { return validate(JSON.parse(localStorage.getItem(STORE))); } catch { return null; }
}

/** Offer `blob` as a download called `filename`. */
export function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export function saveFile(data, filename = "drumgen-session.json") {
  download(new Blob([JSON.stringify(data, null, 1)], { type: "application/json" }), filename);
}

export async function readFile(file) {
  let data;
  try { data = JSON.parse(await file.text()); } catch { throw new Error(`${file.name} is not valid JSON.`); }
  return validate(data);
}
