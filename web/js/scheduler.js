// Lookahead step scheduler (after cwilso/metronome): a short timer asks "which steps fall in the next
// `lookahead` seconds?" and schedules each one on the audio clock with start(when). The timer may be late by
// tens of milliseconds; the sound is not, because `when` comes from the audio clock, never from the timer.
// The timer runs in a Web Worker (clock.worker.js), because a hidden tab throttles the page's setInterval.
//
// Swing, MPC convention: steps come in pairs of 16ths; the even step starts the pair, the odd step starts at
// pair_start + 2 * sixteenth * swing (0.5 straight, 0.66 near-triplet, 0.75 hard).
//
// Nothing here touches a real device or the DOM, so a test drives the very same class with an
// OfflineAudioContext: it calls tick() from ctx.suspend() callbacks instead of a timer.

/** Seconds per 16th note. */
export const sixteenth = (bpm) => 60 / bpm / 4;

/** Offset in seconds of `step` from the start of the pattern at a fixed tempo and swing. */
export function stepOffset(step, bpm, swing) {
  const pair = Math.floor(step / 2);
  return 2 * sixteenth(bpm) * (pair + (step % 2 ? swing : 0));
}

export class Scheduler {
  /**
   * @param {object} o
   * @param {BaseAudioContext} o.ctx the clock
   * @param {(step: number, when: number) => any} o.onStep schedules the hits of one step at `when`; what it
   *   returns (the pads it played) is kept with the step in the queue, for drawing
   * @param {() => number} o.length the pattern length in steps (16, 32, 64), read at every wrap
   */
  constructor({ ctx, onStep, length = () => 16, bpm = 120, swing = 0.5, lookahead = 0.1, interval = 0.025 }) {
    this.ctx = ctx;
    this.onStep = onStep;
    this.length = length;
    this.bpm = bpm;          // a tempo change takes effect at the next pair of 16ths
    this.swing = swing;
    this.lookahead = lookahead; // seconds scheduled ahead of the audio clock
    this.interval = interval;   // seconds between timer ticks
    this.playing = false;
    this.step = 0;           // next step to schedule
    this.origin = 0;         // audio time of pair 0 at the current tempo
    this.pair = 0;           // pairs since origin; times are origin + pair * pairLength, not a running sum
    this.pairBpm = bpm;      // tempo of the pairs counted from origin
    this.queue = [];         // [{step, time, hits}] scheduled, for the playhead and pad flashes
    this.clock = null;       // the Worker that ticks (or a setInterval id where there are no workers)
  }

  /** Start at audio time `when`; with timer=false the caller calls tick() itself (offline rendering). */
  start(when = this.ctx.currentTime + 0.05, { timer = true } = {}) {
    this.stop();
    this.playing = true;
    this.step = 0;
    this.origin = when;
    this.pair = 0;
    this.pairBpm = this.bpm;
    this.queue = [];
    if (timer) this.startClock();
    this.tick();
  }

  stop() {
    this.playing = false;
    this.stopClock();
    this.queue = [];
  }

  startClock() {
    const ms = this.interval * 1000;
    if (typeof Worker === "undefined") {
      this.clock = setInterval(() => this.tick(), ms);
      return;
    }
    if (!(this.clock instanceof Worker)) {
      this.clock = new Worker(new URL("./clock.worker.js", import.meta.url));
      this.clock.onmessage = () => this.tick();
    }
    this.clock.postMessage({ command: "start", interval: ms });
  }

  stopClock() {
    if (typeof Worker !== "undefined" && this.clock instanceof Worker) this.clock.postMessage({ command: "stop" });
    else if (this.clock !== null) { clearInterval(this.clock); this.clock = null; }
  }

  /** Audio time of the next step to schedule. */
  nextTime() {
    const pairLength = 2 * sixteenth(this.pairBpm);
    return this.origin + pairLength * (this.pair + (this.step % 2 ? this.swing : 0));
  }

  /** Schedule every step that starts before ctx.currentTime + lookahead. */
  tick() {
    if (!this.playing) return;
    const horizon = this.ctx.currentTime + this.lookahead;
    for (let t = this.nextTime(); t < horizon; t = this.nextTime()) {
      const hits = this.onStep(this.step, t);
      this.queue.push({ step: this.step, time: t, hits: hits || [] });
      this.advance();
    }
  }

  advance() {
    const odd = this.step % 2 === 1;
    this.step = (this.step + 1) % this.length();
    if (!odd) return;
    // A pair ended: move on, and re-anchor if the tempo changed so the new tempo starts from here.
    this.pair += 1;
    if (this.bpm !== this.pairBpm) {
      this.origin += this.pair * 2 * sixteenth(this.pairBpm);
      this.pair = 0;
      this.pairBpm = this.bpm;
    }
  }

  /** The queue entry {step, time, hits} sounding at audio time `now` (the latest started one), or null. */
  currentEntry(now = this.ctx.currentTime) {
    while (this.queue.length > 1 && this.queue[1].time <= now) this.queue.shift();
    return this.queue.length && this.queue[0].time <= now ? this.queue[0] : null;
  }

  /** The step sounding at audio time `now`, or -1. */
  current(now = this.ctx.currentTime) {
    const entry = this.currentEntry(now);
    return entry ? entry.step : -1;
  }
}
