// The audio graph: one channel strip per pad (gain -> pan) into a master bus, a reverb send, and one new
// AudioBufferSourceNode per hit. Times are always on the AudioContext clock, so the same code plays live hits
// (when = now) and sequenced hits (when = a lookahead time), online or in an OfflineAudioContext.
//
//   voice (source [-> layer low-pass] -> envelope gain) -> pad gain -> pan -> master -> destination
//                                                                     \-> reverb send -> convolver -> master
//
// A pad with round robins and velocity layers (setTakes) picks its layer by the hit's velocity, with the same
// bounds as the exported kit (drumgen.kit.pad.velocity_ranges: the hardest layer answers 101..127, the sequencer's
// accents), and turns through that layer's takes on every hit. A layer plays at its gain, through its one-pole
// low-pass when it has one (drumgen.engine.variations: the same filter in the kit's WAVs).

import * as wav from "./wav.js";

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

export const DEFAULT_PAD = { volume: 0.8, pan: 0, tune: 0, decay: 1, mute: false, solo: false, choke: 0,
  roundRobin: 1, velocityLayers: 1, variation: 0.3, variationSeed: 0 };

/** [lo, hi] MIDI velocities of each of k layers, soft to hard: drumgen.kit.pad.velocity_ranges in JS. */
export function velocityRanges(k) {
  if (k <= 1) return [[0, 127]];
  const tops = Array.from({ length: k - 1 }, (_, j) => Math.floor((100 * (j + 1)) / (k - 1))).concat([127]);
  return tops.map((top, j) => [j === 0 ? 0 : tops[j - 1] + 1, top]);
}

/** The layer of `ranges` that a velocity 0..1 plays. */
export function layerOf(ranges, velocity) {
  const v = Math.round(Math.max(0, Math.min(1, velocity)) * 127);
  const j = ranges.findIndex(([, hi]) => v <= hi);
  return j < 0 ? ranges.length - 1 : j;
}

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
    // per pad null, or {layers: [{buffers: [AudioBuffer], gain, cutoff}], ranges, next: [take per layer]}
    this.takes = new Array(pads).fill(null);
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

  /** An audio file's bytes -> AudioBuffer: PCM WAVs read here (wav.js), anything else by the browser's decoder. */
  async decode(arrayBuffer) {
    const pcm = wav.read(arrayBuffer);
    if (!pcm) return this.ctx.decodeAudioData(arrayBuffer);
    const buffer = this.ctx.createBuffer(pcm.channels.length, pcm.channels[0].length, pcm.rate);
    pcm.channels.forEach((samples, c) => buffer.copyToChannel(samples, c));
    return buffer;
  }

  setBuffer(pad, buffer) { this.buffers[pad] = buffer; this.takes[pad] = null; }

  /** A pad's round robins and velocity layers, soft to hard: [{buffers, gain, cutoff}] (null: the one buffer). */
  setTakes(pad, layers) {
    this.takes[pad] = layers && layers.length ? { layers, ranges: velocityRanges(layers.length),
      next: layers.map(() => 0) } : null;
  }

  /** The buffer, gain and low-pass a hit of `velocity` plays on pad: the next take of its velocity's layer. */
  pick(pad, velocity) {
    const t = this.takes[pad];
    if (!t) return { buffer: this.buffers[pad], gain: 1, cutoff: null };
    const j = layerOf(t.ranges, velocity);
    const layer = t.layers[j];
    const buffer = layer.buffers[t.next[j] % layer.buffers.length];
    t.next[j] = (t.next[j] + 1) % layer.buffers.length;
    return { buffer, gain: layer.gain, cutoff: layer.cutoff };
  }

  /** y[n] = a x[n] + (1 - a) y[n-1], as drumgen.engine.variations.one_pole_lowpass (the kit's WAVs). */
  lowpass(cutoff) {
    const rate = this.ctx.sampleRate;
    const a = 1 - Math.exp((-2 * Math.PI * Math.min(cutoff, 0.49 * rate)) / rate);
    return this.ctx.createIIRFilter([a], [1, a - 1]);
  }

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
    if (!this.buffers[pad]) return null;
    const { buffer, gain, cutoff } = this.pick(pad, velocity);
    const s = this.settings[pad];
    if (s.choke) this.choke(pad, s.choke, when);
    const src = this.ctx.createBufferSource();
    src.buffer = buffer;
    src.playbackRate.value = Math.pow(2, s.tune / 12);
    const env = this.ctx.createGain();
    env.gain.setValueAtTime(velocity * gain, when);
    const length = buffer.duration / src.playbackRate.value;
    (cutoff ? src.connect(this.lowpass(cutoff)) : src).connect(env).connect(this.strips[pad].gain);
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

  /**
   * Audition a pad's whole set: every velocity layer soft to hard, each layer's round robins in turn, `gap`
   * seconds apart from `when`, through the pad's strip as the sequencer plays them.
   * @returns {number} hits scheduled (0: the pad has no sound yet)
   */
  auditionTakes(pad, when = this.ctx.currentTime, gap = 0.3) {
    if (!this.buffers[pad]) return 0;
    const t = this.takes[pad];
    if (!t) { this.trigger(pad, when, 1); return 1; }
    let k = 0;
    t.layers.forEach((layer, j) => {
      const [lo, hi] = t.ranges[j];
      t.next[j] = 0; // from the first take, so the set sounds in its order
      for (let r = 0; r < layer.buffers.length; r++) this.trigger(pad, when + gap * k++, Math.round((lo + hi) / 2) / 127);
    });
    return k;
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
