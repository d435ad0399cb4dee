// The kit: which sound sits on each pad, where it came from, and the undo history of sound changes.
// Every change goes through assign(), which decodes first (so a pad never goes silent while loading)
// and records what it replaced.

import * as api from "./api.js";
import { DEFAULT_NAMES } from "./pads.js";
import { download } from "./session.js";

const UNDO_DEPTH = 50;

// The classes each pad slot prefers, so a fresh kit lands where the default pattern expects it
// (kick on 1, snare on 2, hats on 3-4, ...); the 8 sounds still come from one /api/sample request.
const SLOT_CLASSES = [["kick"], ["snare"], ["hihat"], ["hihat", "cymbal"], ["clap", "snare"], ["tom"],
  ["tom", "perc"], ["cymbal", "perc"]];

/** A class for pad slot `pad` that the model knows: one of the slot's preferred classes at random, else null. */
export function slotLabel(pad, known) {
  const options = SLOT_CLASSES[pad].filter((c) => known.includes(c));
  return options.length ? options[Math.floor(Math.random() * options.length)] : null;
}

/** Pair free pads with sounds: each pad takes the first unused sound of a class it prefers, else any. */
export function arrange(free, got) {
  const left = [...got];
  const take = (pick) => { const k = left.findIndex(pick); return k < 0 ? null : left.splice(k, 1)[0]; };
  const chosen = free.map((pad) => take((s) => SLOT_CLASSES[pad].includes(s.heard || s.label)));
  return free.map((pad, k) => ({ pad, sound: chosen[k] || take(() => true) }));
}

export class Kit {
  /**
   * @param {import("./audio.js").AudioEngine} engine
   * @param {(pads: number[]) => void} onChange called after pads changed (sound, busy, lock)
   */
  constructor(engine, onChange) {
    this.engine = engine;
    this.onChange = onChange;
    this.pads = Array.from({ length: 8 }, () => ({ sound: null, pair: null, locked: false, learning: false, busy: false }));
    this.sounds = new Map();  // id -> Sound, every sound this page has seen (for drag and drop)
    this.buffers = new Map(); // id -> AudioBuffer, decoded once
    this.undo = [];           // [[{pad, sound, pair}, ...]], one entry per user action
  }

  names() { return this.pads.map((p, i) => (p.sound && (p.sound.name || p.sound.label)) || DEFAULT_NAMES[i]); }

  async bufferOf(sound) {
    if (!this.buffers.has(sound.id)) this.buffers.set(sound.id, await this.engine.decode(await api.bytes(sound.url)));
    this.sounds.set(sound.id, sound);
    return this.buffers.get(sound.id);
  }

  /** Put sounds on pads: [{pad, sound, pair?}]; undoable unless record is false. */
  async assign(changes, { record = true } = {}) {
    const decoded = await Promise.all(changes.map((c) => this.bufferOf(c.sound)));
    if (record) {
      this.undo.push(changes.map((c) => ({ pad: c.pad, sound: this.pads[c.pad].sound, pair: this.pads[c.pad].pair })));
      if (this.undo.length > UNDO_DEPTH) this.undo.shift();
    }
    changes.forEach((c, k) => {
      this.pads[c.pad].sound = c.sound;
      this.pads[c.pad].pair = c.pair || null;
      this.engine.setBuffer(c.pad, decoded[k]);
    });
    this.onChange(changes.map((c) => c.pad));
  }

  /** @returns {Promise<boolean>} whether there was something to undo */
  async undoLast() {
    const entry = this.undo.pop();
    if (!entry) return false;
    await this.assign(entry.filter((c) => c.sound), { record: false });
    return true;
  }

  /** Mark pads busy while `work` runs, so they say "working…". */
  async busy(pads, work) {
    const mark = (on) => { pads.forEach((i) => { this.pads[i].busy = on; }); this.onChange(pads); };
    mark(true);
    try { return await work(); } finally { mark(false); }
  }

  /**
   * Re-roll every unlocked pad with one /api/sample request; a class-conditional model is asked for each pad's
   * slot class (kick on 1, snare on 2, ...). @returns the number of pads re-rolled
   */
  async newKit(model) {
    const free = this.pads.map((_, i) => i).filter((i) => !this.pads[i].locked);
    if (!free.length) return 0;
    if (!model.conditional) {
      await this.busy(free, async () => this.assign(arrange(free, await api.sample(model.name, free.length))));
      return free.length;
    }
    const labels = free.map((pad) => slotLabel(pad, model.labels));
    await this.busy(free, async () => {
      const got = await api.sample(model.name, free.length, { labels });
      await this.assign(free.map((pad, k) => ({ pad, sound: got[k] })));  // each pad gets what it asked for
    });
    return free.length;
  }

  /** A new sound for pad i, of the same class as its current one when `sameClass` (needs a conditional model). */
  async newSound(i, model, sameClass = false) {
    const label = sameClass ? this.pads[i].sound && this.pads[i].sound.label : null;
    if (sameClass && !label) throw new Error(`Pad ${i + 1}'s sound has no class to keep; use New instead.`);
    if (label && !model.conditional) {
      throw new Error(`Model "${model.name}" is not class-conditional, so it cannot pick a ${label}; use New instead.`);
    }
    await this.busy([i], async () => {
      const [sound] = await api.sample(model.name, 1, { label });
      await this.assign([{ pad: i, sound }]);
    });
  }

  /** Re-synthesize an audio file through `model` onto pad i, keeping the original for A/B. */
  async resynthesize(i, file, model) {
    await this.busy([i], async () => {
      const { sound, original } = await api.resynthesize(file, model);
      if (!original.name || original.name === "sound") original.name = file.name.replace(/\.[^.]+$/, "");
      await this.assign([{ pad: i, sound, pair: { original, resynth: sound } }]);
    });
  }

  async toggleAB(i) {
    const p = this.pads[i];
    if (!p.pair) return;
    const next = p.sound === p.pair.original ? p.pair.resynth : p.pair.original;
    await this.assign([{ pad: i, sound: next, pair: p.pair }], { record: false });
  }

  async saveWav(i) {
    const s = this.pads[i].sound;
    if (!s) throw new Error(`Pad ${i + 1} has no sound to save.`);
    const safe = (s.name || s.label || "sound").replace(/[^a-z0-9_-]+/gi, "_");
    download(new Blob([await api.bytes(s.url)], { type: "audio/wav" }), `pad${i + 1}_${safe}.wav`);
  }
}
