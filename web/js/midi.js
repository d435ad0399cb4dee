// MIDI controller input: Web MIDI (Chrome, after a click and a permission prompt; Safari has none, so the
// keyboard stays first-class) and the server's relay at /ws/midi (`drumgen serve --midi-in PORT`).
// One note map for everything: a note plays the pad whose note it is (each pad's note comes from GET /api/pads
// and can be changed in the pad's settings or by MIDI learn); the exports write the same notes.

import { wsUrl } from "./api.js";

/** Why requestMIDIAccess failed, in words that say what to do. */
export function midiFailure(e) {
  const name = (e && e.name) || "Error";
  const why = `${name}${e && e.message ? `: ${e.message}` : ""}`;
  if (name === "NotAllowedError" || name === "SecurityError") {
    return `MIDI permission was denied (${why}). Allow MIDI for this page (the icon in the address bar) and try again.`;
  }
  return `No MIDI system is available here (${why}). Use keys 1-9, or run \`drumgen serve --midi-in PORT\`.`;
}

export class Midi {
  /**
   * @param {object} o
   * @param {(pad: number, velocity: number) => void} o.onNote velocity 0..1
   * @param {() => number[]} o.padNotes each pad's note
   * @param {(pad: number, note: number) => void} o.onLearned pad should now play on note
   * @param {(text: string) => void} o.status
   * @param {(pad: number|null) => void} o.onLearn learning started (pad) or finished (null)
   */
  constructor({ onNote, padNotes, onLearned, status, onLearn }) {
    Object.assign(this, { onNote, padNotes, onLearned, status, onLearn });
    this.learning = null; // pad waiting for a note, or null
    this.access = null;
    this.socket = null;
    this.relay = false;   // the server's relay is connected
  }

  /** The pad a note plays, or -1. */
  padFor(note) { return this.padNotes().indexOf(note); }

  /** Ask for Web MIDI and listen to every input, present and future. Needs a user gesture. */
  async enable() {
    if (!navigator.requestMIDIAccess) {
      this.status("No Web MIDI in this browser");
      throw new Error("This browser has no Web MIDI (Safari). Use keys 1-9, or run `drumgen serve --midi-in PORT`.");
    }
    try {
      this.access = await navigator.requestMIDIAccess();
    } catch (e) {
      const denied = e && (e.name === "NotAllowedError" || e.name === "SecurityError");
      this.status(denied ? "MIDI permission denied" : "No MIDI system");
      throw new Error(midiFailure(e));
    }
    const attach = () => {
      const names = [];
      for (const input of this.access.inputs.values()) {
        input.onmidimessage = (e) => this.message(e.data);
        names.push(input.name);
      }
      this.status(names.length ? `MIDI in: ${names.join(", ")}` : "MIDI on, but no input is connected");
      return names.length;
    };
    this.access.onstatechange = attach;
    return attach();
  }

  /** Handle one raw MIDI message (Uint8Array). */
  message(data) {
    const [status, note, velocity] = data;
    if ((status & 0xf0) !== 0x90 || !velocity) return; // note-on only; drums are one-shots
    this.note(note, velocity);
  }

  note(note, velocity) {
    if (this.learning !== null) {
      const pad = this.learning;
      this.learning = null;
      this.onLearned(pad, note);
      this.status(`Pad ${pad + 1} now plays on note ${note}`);
      this.onLearn(null);
      return;
    }
    const pad = this.padFor(note);
    if (pad >= 0) this.onNote(pad, velocity / 127);
  }

  /**
   * Toggle learn mode for a pad: the next note-on sets its note. Without any MIDI source yet it asks for Web
   * MIDI first (the click is the gesture it needs); if there is none, learning stops and the error says why.
   */
  async learn(pad) {
    if (this.learning === pad) return this.cancelLearn("MIDI learn cancelled");
    if (!this.access && !this.relay) {
      try {
        await this.enable();
      } catch (e) {
        this.cancelLearn();
        throw e;
      }
    }
    this.learning = pad;
    this.status(`Play a note to map it to pad ${pad + 1}`);
    this.onLearn(pad);
  }

  cancelLearn(text) {
    this.learning = null;
    if (text) this.status(text);
    this.onLearn(null);
  }

  /** Listen to the server's MIDI relay; reconnects quietly, since most servers have no --midi-in. */
  connectServer(retry = 5000) {
    const ws = new WebSocket(wsUrl("/ws/midi"));
    this.socket = ws;
    ws.onmessage = (e) => {
      let m;
      try { m = JSON.parse(e.data); } catch { return; }
      if (m.type === "status" || m.type === "hello") this.relay = !!m.connected || !!m.input;
      if (m.type === "note_on" && m.velocity > 0) { this.relay = true; this.note(m.note, m.velocity); }
    };
    ws.onclose = () => {
      this.relay = false;
      if (this.socket === ws) setTimeout(() => this.connectServer(retry), retry);
    };
  }
}
