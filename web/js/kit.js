// The kit: which sound sits on each pad, what each pad is (its slot from GET /api/pads: name, MIDI note, the
// classes it asks a class-conditional model for), and the undo history of sound changes. Every change goes
// through assign(), which decodes first (so a pad never goes silent while loading) and records what it replaced.
// A pad's round robins and velocity layers are made from its sound and its settings (roundRobin,
// velocityLayers, variation, variationSeed) by the server (POST /api/variations, /api/layers): sessions keep
// only those numbers, and the takes are made again when a session loads.

import * as api from "./api.js";
import { download, fromBase64, toBase64 } from "./session.js";

const UNDO_DEPTH = 50;

// Thrown when a lock keeps a sound: the page says so on the status line, not as an error.
export class LockedError extends Error { name = "LockedError"; }

export class Kit {
  /**
   * @param {import("./audio.js").AudioEngine} engine
   * @param {{slot: string, name: string, note: number, classes: string[]}[]} table the server's pads
   * @param {(pads: number[]) => void} onChange called after pads changed (sound, busy, lock)
   */
  constructor(engine, table, onChange) {
    this.engine = engine;
    this.table = table;
    this.onChange = onChange;
    this.pads = table.map((slot) => ({ sound: null, pair: null, locked: false, learning: false, busy: false,
      note: slot.note }));
    this.sounds = new Map();  // id -> Sound, every sound this page has seen (for drag and drop)
    this.buffers = new Map(); // id -> AudioBuffer, decoded once
    this.undo = [];           // [{what, changes: [{pad, sound, pair}]}], one entry per user action
    this.uploads = new Map(); // upload sound id -> its WAV as base64: a session keeps the user's own file
    this.takeTokens = [];     // per pad, the latest makeTakes call (an older one that ends later is dropped)
    this.hinting = Promise.resolve();  // the latest hints() request
  }

  /** Give pad i the note; a pad that had it takes pad i's old one, so one note plays one pad. @returns that pad or -1 */
  setNote(i, note) {
    const other = this.pads.findIndex((p, k) => k !== i && p.note === note);
    if (other >= 0) this.pads[other].note = this.pads[i].note;
    this.pads[i].note = note;
    return other;
  }

  /** A class for pad `pad` that the model knows: one of the slot's classes at random, else null (any). */
  slotLabel(pad, known) {
    const options = this.table[pad].classes.filter((c) => known.includes(c));
    return options.length ? options[Math.floor(Math.random() * options.length)] : null;
  }

  /** Pair free pads with sounds: each pad takes the first unused sound the tagger files in its classes, else any. */
  arrange(free, got) {
    const left = [...got];
    const take = (pick) => { const k = left.findIndex(pick); return k < 0 ? null : left.splice(k, 1)[0]; };
    const chosen = free.map((pad) => take((s) => this.table[pad].classes.includes(s.heard || s.label)));
    return free.map((pad, k) => ({ pad, sound: chosen[k] || take(() => true) }));
  }

  /**
   * What pad i is called: by what was asked (the slot's name when its class was asked, or the asked class), an
   * upload by its file name; `hint` is the tagger's class where it disagrees with the asked one.
   */
  words(i) {
    const p = this.pads[i], s = p.sound, slot = this.table[i];
    if (!s) return { name: slot.name, hint: "", meta: p.busy ? "working…" : "no sound" };
    const ab = p.pair ? (s === p.pair.original ? " · A (original)" : " · B (re-synth)") : "";
    if (p.pair || s.origin === "upload") {
      const file = p.pair ? p.pair.original.name : s.name;
      return { name: file, hint: "", meta: s.origin === "upload" ? `your file${ab}` : `${s.model}${ab}` };
    }
    const name = s.label ? (slot.classes.includes(s.label) ? slot.name : s.label) : s.name || slot.name;
    const hint = s.label && s.heard && s.heard !== s.label ? `sounds like ${s.heard}` : "";
    const seed = s.seed !== null && s.seed !== undefined ? ` · seed ${s.seed}` : "";
    return { name, hint, meta: `${s.model}${seed}` };
  }

  names() { return this.pads.map((_, i) => this.words(i).name); }

  async bufferOf(sound) {
    // a sound from /api/sample brings its WAV inline; it is dropped here (pads and sessions keep ids, not audio)
    const inline = sound.wav;
    delete sound.wav;
    if (!this.buffers.has(sound.id)) {
      // the promise is kept, so that calls at once for one sound (a pad's layers) share one AudioBuffer
      const bytes = inline ? Promise.resolve(fromBase64(inline).buffer) : api.bytes(sound.url);
      const decoding = bytes.then((data) => this.engine.decode(data));
      this.buffers.set(sound.id, decoding);
      decoding.catch(() => this.buffers.delete(sound.id));  // a failed fetch is tried again next time
    }
    this.sounds.set(sound.id, sound);
    return this.buffers.get(sound.id);
  }

  /** Put sounds on pads: [{pad, sound, pair?}]; undoable as `what` ("new kit") unless `what` is null. */
  async assign(changes, what = null) {
    const decoded = await Promise.all(changes.map((c) => this.bufferOf(c.sound)));
    if (what) {
      this.undo.push({ what, changes: changes.map((c) => ({ pad: c.pad, sound: this.pads[c.pad].sound,
        pair: this.pads[c.pad].pair })) });
      if (this.undo.length > UNDO_DEPTH) this.undo.shift();
    }
    changes.forEach((c, k) => {
      this.pads[c.pad].sound = c.sound;
      this.pads[c.pad].pair = c.pair || null;
      this.engine.setBuffer(c.pad, decoded[k]);
    });
    this.onChange(changes.map((c) => c.pad));
    await Promise.allSettled(changes.map((c) => this.makeTakes(c.pad)));  // an upload keeps its one sound
  }

  /**
   * Make pad i's round robins and velocity layers from its sound and settings, and give them to the engine
   * (the pad plays its one sound until they are ready). An upload has no latent: it keeps its one sound.
   * @returns {Promise<string>} what the pad plays now, in words
   */
  async makeTakes(i) {
    const s = this.pads[i].sound, set = this.engine.settings[i];
    const n = set.roundRobin || 1, k = set.velocityLayers || 1;
    if (!s || (n <= 1 && k <= 1)) { this.engine.setTakes(i, null); return "one sound"; }
    if (!s.latent || !s.latent.length) {
      this.engine.setTakes(i, null);
      throw new Error(`Pad ${i + 1} plays your own file, which has no latent: round robins and layers need a model's sound.`);
    }
    const token = (this.takeTokens[i] = (this.takeTokens[i] || 0) + 1);
    const takes = [s, ...(n > 1 ? await api.variations(s.id, n - 1, set.variation, set.variationSeed || 0) : [])];
    const layered = await Promise.all(takes.map((t) => (k > 1 ? api.layers(t.id, k) : null)));
    const layers = await Promise.all(Array.from({ length: k }, async (_, j) => ({
      buffers: await Promise.all(takes.map((t, r) => this.bufferOf(layered[r] ? layered[r].sounds[j] : t))),
      gain: layered[0] ? layered[0].gains[j] : 1,
      cutoff: layered[0] ? layered[0].cutoffs[j] : null,
    })));
    if (token !== this.takeTokens[i] || this.pads[i].sound !== s) return "changed meanwhile";  // a newer call won
    this.engine.setTakes(i, layers);
    return `${n} round robin${n > 1 ? "s" : ""} x ${k} layer${k > 1 ? "s" : ""}`;
  }

  /** What Undo would undo ("new kit"), or null when there is nothing. */
  nextUndo() {
    const entry = this.undo.findLast((e) => e.changes.some((c) => c.sound));
    return entry ? entry.what : null;
  }

  /** @returns {Promise<string|null>} what was undone, or null when there was nothing to undo */
  async undoLast() {
    while (this.undo.length) {
      const entry = this.undo.pop();
      const back = entry.changes.filter((c) => c.sound);  // a pad that had no sound before keeps its new one
      if (!back.length) continue;
      await this.assign(back);
      return entry.what;
    }
    return null;
  }

  /** Mark pads busy while `work` runs, so they say "working…". */
  async busy(pads, work) {
    const mark = (on) => { pads.forEach((i) => { this.pads[i].busy = on; }); this.onChange(pads); };
    const running = work(); // its request leaves before the pads are drawn busy (5 ms of a new kit's 110)
    mark(true);
    try { return await running; } finally { mark(false); }
  }

  /**
   * Re-roll every unlocked pad with one /api/sample request; a class-conditional model is asked for each pad's
   * slot classes. `what` names it for Undo (null: not undoable, as for the page's first kit).
   * @returns the number of pads re-rolled
   */
  async newKit(model, what = "new kit") {
    const free = this.pads.map((_, i) => i).filter((i) => !this.pads[i].locked);
    if (!free.length) return 0;
    if (!model.conditional) {
      await this.busy(free, async () => this.assign(this.arrange(free, await api.sample(model.name, free.length)), what));
      return free.length;
    }
    const labels = free.map((pad) => this.slotLabel(pad, model.labels));
    await this.busy(free, async () => {
      const got = await api.sample(model.name, free.length, { labels });
      await this.assign(free.map((pad, k) => ({ pad, sound: got[k] })), what);  // each pad gets what it asked for
    });
    this.hints(free);
    return free.length;
  }

  /**
   * Ask what the tagger hears in these pads' sounds and show it as their hints when the answer comes: a new kit
   * plays before the tagger has listened. A hint is only a hint, so a failed request leaves it out.
   * @returns {Promise<void>} settles once the hints are shown (tests wait on it; the page does not)
   */
  hints(padList) {
    const sounds = padList.map((i) => this.pads[i].sound).filter((s) => s && s.model && !s.heard);
    if (!sounds.length) return Promise.resolve();
    this.hinting = api.heard(sounds.map((s) => s.id)).then((heard) => {
      sounds.forEach((s) => { if (heard[s.id]) s.heard = heard[s.id]; });
      this.onChange(padList);
    }, () => {});
    return this.hinting;
  }

  /** A new sound for pad i, of the same class as its current one when `sameClass`; a locked pad keeps its sound. */
  async newSound(i, model, sameClass = false) {
    if (this.pads[i].locked) throw new LockedError(`Pad ${i + 1} is locked: unlock it to give it a new sound.`);
    const label = sameClass ? this.pads[i].sound && this.pads[i].sound.label : null;
    if (sameClass && !label) throw new Error(`Pad ${i + 1}'s sound has no class to keep; use New instead.`);
    if (label && !model.conditional) {
      throw new Error(`Model "${model.name}" is not class-conditional, so it cannot pick a ${label}; use New instead.`);
    }
    await this.busy([i], async () => {
      const [sound] = await api.sample(model.name, 1, { label });
      await this.assign([{ pad: i, sound }], `new sound on pad ${i + 1}`);
    });
    this.hints([i]);
  }

  /** Re-synthesize an audio file through `model` onto pad i, keeping the original (named by its file) for A/B. */
  async resynthesize(i, file, model) {
    await this.busy([i], async () => {
      const { sound, original } = await api.resynthesize(file, model);
      original.name = stem(file.name) || original.name;
      // the session keeps the original's bytes (inline in the answer; an older server: fetched meanwhile)
      const kept = original.wav ? Promise.resolve(this.uploads.set(original.id, original.wav))
        : api.bytes(original.url).then((data) => this.uploads.set(original.id, toBase64(data)));
      delete original.wav;
      await this.assign([{ pad: i, sound, pair: { original, resynth: sound } }], `re-synthesis on pad ${i + 1}`);
      await kept;
    });
    this.hints([i]);
  }

  /**
   * Bring back a session's sounds (session.toJSON's pads): a model's sound from its latent (POST /api/decode), an
   * upload as the file itself (POST /api/uploads) plus its re-synthesis from the latent, A/B as it was. A pad
   * that cannot come back (its model is gone, say) does not stop the others: an upload keeps its file alone,
   * any other pad keeps its current sound. Not undoable: it is where the session starts.
   * @returns {{pad: number, reason: string}[]} the pads that did not come back, and why
   */
  async restore(saved) {
    const settled = await Promise.allSettled(saved.map(async (pd, pad) => {
      if (pd.upload && pd.upload.wav) {
        const original = await api.upload(new Blob([fromBase64(pd.upload.wav)]), `${pd.upload.name}.wav`);
        original.name = pd.upload.name;
        if (pd.upload.label) original.label = pd.upload.label;
        this.uploads.set(original.id, pd.upload.wav);
        if (!pd.model || !pd.latent) return { pad, sound: original };  // a loop's slice: the file alone
        let resynth;
        try {
          resynth = await api.decode(pd.model, pd.latent, pd.label);
        } catch {
          return { pad, sound: original };  // the file is what matters; its re-synthesis can be made again
        }
        const sound = pd.upload.playing === "original" ? original : resynth;
        return { pad, sound, pair: { original, resynth } };
      }
      if (!pd.model || !pd.latent) return null;
      const sound = await api.decode(pd.model, pd.latent, pd.label);
      if (pd.name) sound.name = pd.name;
      if (pd.seed !== undefined && sound.seed === null) sound.seed = pd.seed;
      return { pad, sound };
    }));
    await this.assign(settled.filter((r) => r.status === "fulfilled" && r.value).map((r) => r.value));
    return settled.flatMap((r, pad) => (r.status === "rejected" ? [{ pad, reason: r.reason.message }] : []));
  }

  /** The base64 WAV of pad i's upload (a re-synthesized file's original, or a loop's slice), for a session, or null. */
  uploadOf(i) {
    const p = this.pads[i];
    const s = p.pair ? p.pair.original : p.sound;
    return (s && this.uploads.get(s.id)) || null;
  }

  async toggleAB(i) {
    const p = this.pads[i];
    if (!p.pair) return;
    const next = p.sound === p.pair.original ? p.pair.resynth : p.pair.original;
    await this.assign([{ pad: i, sound: next, pair: p.pair }]);
  }

  async saveWav(i) {
    const s = this.pads[i].sound;
    if (!s) throw new Error(`Pad ${i + 1} has no sound to save.`);
    const safe = this.words(i).name.replace(/[^a-z0-9_-]+/gi, "_");
    download(new Blob([await api.bytes(s.url)], { type: "audio/wav" }), `pad${i + 1}_${safe}.wav`);
  }
}

/** "my snare.wav" -> "my snare" */
export const stem = (filename) => (filename || "").replace(/^.*[\\/]/, "").replace(/\.[^.]+$/, "");
