// MIDI controller input: Web MIDI (Chrome, after a click and a permission prompt; Safari has none, so the
// keyboard stays first-class) and the server's relay at /ws/midi (`drumgen serve --midi-in PORT`).
// Note -> pad: a learned note first, then 36-43 -> pads 1-8 on any channel, then each pad's GM note.

import { wsUrl } from "./api.js";

const STORE = "drumgen.midi.learn";

export class Midi {
  /**
   * @param {object} o
   * @param {(pad: number, velocity: number) => void} o.onNote velocity 0..1
   * @param {() => number[]} o.padNotes each pad's GM note
   * @param {(text: string) => void} o.status
   * @param {(pad: number|null) => void} o.onLearn learning started (pad) or finished (null)
   */
  constructor({ onNote, padNotes, status, onLearn }) {
    Object.assign(this, { onNote, padNotes, status, onLearn });
    this.learning = null; // pad waiting for a note, or null
    this.access = null;
    this.socket = null;
    try { this.learned = JSON.parse(localStorage.getItem(STORE) || "{}"); } catch { this.learned = {}; }
  }

  /** The pad a note plays, or -1. */
  padFor(note) {
    if (this.learned[note] !== undefined) return this.learned[note];
    if (note >= 36 && note <= 43) return note - 36;
    return this.padNotes().indexOf(note);
  }

  /** Ask for Web MIDI and listen to every input, present and future. Needs a user gesture. */
  async enable() {
    if (!navigator.requestMIDIAccess) {
      throw new Error("This browser has no Web MIDI (Safari). Use keys 1-8, or run `drumgen serve --midi-in PORT`.");
    }
    try {
      this.access = await navigator.requestMIDIAccess();
    } catch (e) {
      throw new Error(`MIDI access was refused (${e.message || e.name}). Allow MIDI for this page and try again.`);
    }
    const attach = () => {
      const names = [];
      for (const input of this.access.inputs.values()) {
        input.onmidimessage = (e) => this.message(e.data);
        names.push(input.name);
      }
      this.status(names.length ? `MIDI in: ${names.join(", ")}` : "MIDI on, but no input is connected");
    };
    this.access.onstatechange = attach;
    attach();
  }

  /** Handle one raw MIDI message (Uint8Array). */
  message(data) {
    const [status, note, velocity] = data;
    if ((status & 0xf0) !== 0x90 || !velocity) return; // note-on only; drums are one-shots
    this.note(note, velocity);
  }

  note(note, velocity) {
    if (this.learning !== null) {
      for (const k of Object.keys(this.learned)) if (this.learned[k] === this.learning) delete this.learned[k];
      this.learned[note] = this.learning;
      localStorage.setItem(STORE, JSON.stringify(this.learned));
      this.status(`Pad ${this.learning + 1} learned note ${note}`);
      this.learning = null;
      this.onLearn(null);
      return;
    }
    const pad = this.padFor(note);
    if (pad >= 0) this.onNote(pad, velocity / 127);
  }

  /** Toggle learn mode for a pad: the next note-on is mapped to it. */
  learn(pad) {
    this.learning = this.learning === pad ? null : pad;
    this.status(this.learning === null ? "MIDI learn cancelled" : `Play a note to map it to pad ${pad + 1}`);
    this.onLearn(this.learning);
  }

  /** Listen to the server's MIDI relay; reconnects quietly, since most servers have no --midi-in. */
  connectServer(retry = 5000) {
    const ws = new WebSocket(wsUrl("/ws/midi"));
    this.socket = ws;
    ws.onmessage = (e) => {
      let m;
      try { m = JSON.parse(e.data); } catch { return; }
      if (m.type === "note_on" && m.velocity > 0) this.note(m.note, m.velocity);
    };
    ws.onclose = () => { if (this.socket === ws) setTimeout(() => this.connectServer(retry), retry); };
  }
}
