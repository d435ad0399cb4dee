// The audio graph: one channel strip per pad (gain -> pan) into a master bus, a reverb send, and one new
// AudioBufferSourceNode per hit. Times are always on the AudioContext clock, so the same code plays live hits
// (when = now) and sequenced hits (when = a lookahead time), online or in an OfflineAudioContext.
//
//   voice (source -> envelope gain) -> pad gain -> pan -> master -> destination
//                                                     \-> reverb send -> convolver -> master

/** A synthetic room: stereo noise with an exponential decay, as in the WaveGAN demo. */
export function impulseResponse(ctx, seconds = 2.2, decay = 3.5) {
  const length = Math.round(seconds * ctx.sampleRate);
  const ir = ctx.createBuffer(2, length, ctx.sampleRate);
  for (let ch = 0; ch < 2; ch++) {
    const data = ir.getChannelData(ch);
    for (let i = 0; i < length; i++) data[i] = (Math.random() * 2 - 1) * Math.pow(1 - i / length, decay);
  }
  return ir;
}

export const DEFAULT_PAD = { volume: 0.8, pan: 0, tune: 0, decay: 1, mute: false, solo: false, choke: 0 };

export class AudioEngine {
  /**
   * @param {BaseAudioContext} ctx an AudioContext, or an OfflineAudioContext for rendering tests
   * @param {number} pads how many pads (the server's pad table says)
   */
  constructor(ctx, pads) {
    this.ctx = ctx;
    this.master = ctx.createGain();
    this.master.connect(ctx.destination);
    this.reverb = ctx.createConvolver();
    this.reverb.buffer = impulseResponse(ctx);
    this.send = ctx.createGain();
    this.send.gain.value = 0.15;
    this.send.connect(this.reverb).connect(this.master);
    this.buffers = new Array(pads).fill(null); // AudioBuffer per pad, decoded at the context rate
    this.settings = Array.from({ length: pads }, () => ({ ...DEFAULT_PAD }));
    this.voices = Array.from({ length: pads }, () => new Set()); // sounding sources, for choke groups
    this.strips = this.settings.map(() => {
      const gain = ctx.createGain();
      const pan = ctx.createStereoPanner();
      gain.connect(pan);
      pan.connect(this.master);
      pan.connect(this.send);
      return { gain, pan };
    });
    this.setVolume(0.8);
    this.settings.forEach((_, i) => this.applyPad(i));
  }

  /** Master volume 0..1 on a squared curve, so the slider's travel feels even. */
  setVolume(v) { this.master.gain.value = v * v; }
  setReverb(v) { this.send.gain.value = v; }

  async decode(arrayBuffer) { return this.ctx.decodeAudioData(arrayBuffer); }

  setBuffer(pad, buffer) { this.buffers[pad] = buffer; }

  /** Change a pad's settings ({volume, pan, tune, decay, mute, solo, choke}) and update its strip. */
  setPad(pad, changes) {
    Object.assign(this.settings[pad], changes);
    this.settings.forEach((_, i) => this.applyPad(i)); // solo on one pad changes every pad
  }

  audible(pad) {
    const s = this.settings[pad];
    const anySolo = this.settings.some((p) => p.solo);
    return !s.mute && (!anySolo || s.solo);
  }

  applyPad(pad) {
    const s = this.settings[pad];
    this.strips[pad].gain.gain.value = this.audible(pad) ? s.volume : 0;
    this.strips[pad].pan.pan.value = s.pan;
  }

  /**
   * Start pad's sound at `when` (seconds on ctx's clock; default now), velocity 0..1.
   * @returns {AudioBufferSourceNode|null} null when the pad has no sound yet
   */
  trigger(pad, when = this.ctx.currentTime, velocity = 1) {
    const buffer = this.buffers[pad];
    if (!buffer) return null;
    const s = this.settings[pad];
    if (s.choke) this.choke(pad, s.choke, when);
    const src = this.ctx.createBufferSource();
    src.buffer = buffer;
    src.playbackRate.value = Math.pow(2, s.tune / 12);
    const env = this.ctx.createGain();
    env.gain.setValueAtTime(velocity, when);
    const length = buffer.duration / src.playbackRate.value;
    src.connect(env).connect(this.strips[pad].gain);
    src.start(when);
    if (s.decay < 1) {
      // Shorten the tail: hold briefly for the attack, then fall off so the sound ends at decay * length.
      // The stop is scheduled after start(): stop() on a source that has not started throws InvalidStateError.
      const end = when + Math.max(0.01, s.decay * length);
      env.gain.setTargetAtTime(0, when + 0.005, (end - when) / 5);
      src.stop(end + 0.005);
    }
    this.voices[pad].add(src);
    src.onended = () => this.voices[pad].delete(src);
    return src;
  }

  /** Play a buffer that is on no pad (a morph or training preview) straight into the master bus. */
  preview(buffer, when = this.ctx.currentTime) {
    const src = this.ctx.createBufferSource();
    src.buffer = buffer;
    src.connect(this.master);
    src.start(when);
    return src;
  }

  /** Cut the other pads of a choke group (closed hat cuts open hat) at `when`. */
  choke(pad, group, when) {
    this.settings.forEach((other, i) => {
      if (i === pad || other.choke !== group) return;
      for (const src of this.voices[i]) {
        try { src.stop(when); } catch { /* already stopped */ }
      }
      this.voices[i].clear();
    });
  }
}
