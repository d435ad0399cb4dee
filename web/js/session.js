// Sessions: the whole instrument as one JSON file (pattern, pads as {model, latent, label, note}, settings).
// A model's sound is stored as its latent (POST /api/decode re-creates it); a user's own upload cannot be, so
// its audio travels in the file as base64 WAV and comes back through POST /api/uploads. The last session is
// autosaved in IndexedDB (localStorage's few MB are too small once uploads are in it) so a reload picks up
// where you were.

export const FORMAT = "drumgen-session";
const STORE = "drumgen.session";
const DB = "drumgen";

/**
 * @param {object} state {pattern: API Pattern, pads: [{sound, pair, locked, note, settings, upload}],
 *   settings: {...}}; `upload` is the pad's own file as base64 WAV: the original of an upload pair, or an
 *   upload played as it is (a loop's slice, which keeps the class the loop heard)
 */
export function toJSON(state) {
  return {
    format: FORMAT,
    version: 2,
    pattern: state.pattern,
    pads: state.pads.map((p) => {
      const s = p.pair ? p.pair.resynth : p.sound;  // an upload pair is kept as its re-synthesis plus the file
      return {
        model: s ? s.model : null,
        latent: s ? s.latent : null,
        label: s ? s.label : null,
        name: s ? s.name : null,
        seed: s ? s.seed : null,
        note: p.note,
        locked: !!p.locked,
        settings: p.settings,
        upload: !p.upload ? null : p.pair ? { name: p.pair.original.name, wav: p.upload,
          playing: p.sound === p.pair.original ? "original" : "resynth" }
          : { name: p.sound.name, wav: p.upload, playing: "original", label: p.sound.label || null },
      };
    }),
    settings: state.settings,
  };
}

/** Check a parsed session against a kit of `pads` pads and say what is wrong in words. */
export function validate(data, pads) {
  if (!data || data.format !== FORMAT) throw new Error("This file is not a drumgen session (no \"format\": \"drumgen-session\").");
  if (!Array.isArray(data.pads) || data.pads.length !== pads) throw new Error(`A drumgen session here needs ${pads} pads.`);
  const p = data.pattern;
  if (!p || ![16, 32, 64].includes(p.steps) || !Array.isArray(p.tracks)) {
    throw new Error("The session's pattern is missing or has a step count other than 16, 32 or 64.");
  }
  return data;
}

function openDB() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore("sessions");
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function idb(mode, work) {
  const db = await openDB();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction("sessions", mode);
      const req = work(tx.objectStore("sessions"));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

/** Autosave; storage that is full or disabled is not fatal, the instrument goes on. */
export async function saveLocal(data) {
  try {
    await idb("readwrite", (store) => store.put(data, STORE));
  } catch {
    try { localStorage.setItem(STORE, JSON.stringify(data)); } catch { /* nowhere to keep it */ }
  }
}

export async function loadLocal(pads) {
  let data = null;
  try { data = await idb("readonly", (store) => store.get(STORE)); } catch { /* no IndexedDB */ }
  try { return validate(data || JSON.parse(localStorage.getItem(STORE)), pads); } catch { return null; }
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

export async function readFile(file, pads) {
  let data;
  try { data = JSON.parse(await file.text()); } catch { throw new Error(`${file.name} is not valid JSON.`); }
  return validate(data, pads);
}

/** ArrayBuffer -> base64, in chunks (String.fromCharCode takes a bounded number of arguments). */
export function toBase64(buffer) {
  const bytes = new Uint8Array(buffer);
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

export function fromBase64(text) {
  if (Uint8Array.fromBase64) return Uint8Array.fromBase64(text);  // native: a kit's 8 WAVs in about a millisecond
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}
