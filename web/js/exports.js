// Exports, as the user hears the beat: the .mid (muted pads' notes left out), the kit as a zip (WAVs with tune and
// decay rendered in, SFZ, Hydrogen kit, .mid) and the beat bounced to a WAV for a DAW (POST /api/export/*).

import * as api from "./api.js";
import { download } from "./session.js";

export class Exports {
  /**
   * @param {object} app pads, engine (settings, audible), names() -> [str], apiPattern(audibleOnly) -> Pattern,
   *   straight() -> bool (the "Straight" box), info(text)
   */
  constructor(app) { this.app = app; }

  /** The beat as heard: muted pads (or pads silenced by another's solo) are left out. */
  async midi() {
    const beat = this.app.apiPattern(true);
    if (!beat.tracks.length) throw new Error("Every pad is muted, so the MIDI file would be empty; unmute a pad first.");
    download(await api.exportMidi(beat, this.app.straight()), "drumgen-beat.mid");
  }

  /** The kit as the export routes take it: each pad's sound, name, note and knobs, and the pattern. */
  body(what) {
    const { pads, engine } = this.app, names = this.app.names();
    if (pads.some((p) => !p.sound)) throw new Error(`Every pad needs a sound before the ${what} can be exported.`);
    return {
      name: "drumgen-kit",
      pads: pads.map((p, i) => {
        const { volume, pan, tune, decay, roundRobin, velocityLayers, variation, variationSeed } = engine.settings[i];
        const pad = { sound: p.sound.id, name: names[i], note: p.note, volume, pan, tune, decay, mute: !engine.audible(i) };
        // the server makes the pad's round robins and layers again from its sound, as the page made them
        if (roundRobin > 1 || velocityLayers > 1) {
          Object.assign(pad, { round_robin: roundRobin, velocity_layers: velocityLayers, variation, seed: variationSeed });
        }
        return pad;
      }),
      pattern: this.app.apiPattern(),
      straight: this.app.straight(),
    };
  }

  async kit() {
    download(await api.exportKit(this.body("kit")), "drumgen-kit.zip");
  }

  /** The beat as audio (POST /api/export/audio): a WAV to drag into a DAW. */
  async audio() {
    const body = this.body("audio");
    if (!body.pattern.tracks.some((t, i) => this.app.engine.audible(i) && t.steps.some((v) => v > 0))) {
      throw new Error("The grid is empty (or every pad with steps is muted): there is no beat to bounce.");
    }
    download(await api.exportAudio(body), "drumgen-beat.wav");
    this.app.info("Exported the beat as a 44.1 kHz 24-bit WAV.");
  }
}
