// The pattern (one row per pad x 16/32/64 steps of velocities) and the step grid that shows and edits it.
// Steps are toggle buttons named "Pad N step M" with aria-pressed, so the grid works with a screen reader,
// the keyboard, a phone, and a test. Each pad's steps wrap onto as many lines as the width needs, so the grid
// never scrolls sideways: every step, and so the playhead, is always on screen.

export const STEP_OPTIONS = [16, 32, 64];
export const NORMAL = 100; // velocity of a plain step
export const ACCENT = 127; // velocity of an accented step
const MIN_CELL = 28;       // px per step column: a 24 px (or wider) touch target and its 3 px gap

export class Pattern {
  constructor(rows, steps = 16) {
    this.steps = steps;
    this.rows = Array.from({ length: rows }, () => new Array(steps).fill(0));
  }

  /** The four-on-the-floor groove the page opens with, on whichever pads hold these slots (GET /api/pads). */
  static defaults(slots) {
    const p = new Pattern(slots.length, 16);
    const on = (slot, steps, v = NORMAL) => {
      const row = slots.indexOf(slot);
      if (row >= 0) steps.forEach((s) => { p.rows[row][s] = v; });
    };
    on("kick", [0, 4, 8, 12], ACCENT);
    on("kick", [10]);
    on("snare", [4, 12]);
    on("closed_hat", [0, 2, 4, 6, 8, 10, 12]);
    on("open_hat", [14]);          // cut by the closed hat
    on("clap", [12], 80);
    return p;
  }

  /**
   * A click cycles off -> on -> accent -> off, so a touch screen can accent without a Shift key;
   * shift-click (accent = true) still jumps straight to accent, or back to normal.
   */
  toggle(row, step, accent = false) {
    const v = this.rows[row][step];
    if (accent) this.rows[row][step] = v === ACCENT ? NORMAL : ACCENT;
    else this.rows[row][step] = !v ? NORMAL : v < ACCENT ? ACCENT : 0;
    return this.rows[row][step];
  }

  clear() { this.rows.forEach((r) => r.fill(0)); }

  /** Change the length; a longer pattern repeats the existing bars so the groove carries on. */
  setSteps(steps) {
    this.rows = this.rows.map((r) => Array.from({ length: steps }, (_, i) => r[i % r.length] || 0));
    this.steps = steps;
  }

  /** The API's Pattern: {bpm, swing, steps, tracks: [{name, note, steps}]}, only the rows `keep` says. */
  toAPI({ bpm, swing, names, notes, keep = () => true }) {
    return {
      bpm, swing, steps: this.steps,
      tracks: this.rows.map((r, i) => ({ name: names[i], note: notes[i], steps: [...r] })).filter((_, i) => keep(i)),
    };
  }

  static fromAPI(p, rows) {
    const pattern = new Pattern(rows, p.steps);
    p.tracks.slice(0, rows).forEach((t, i) => {
      pattern.rows[i] = Array.from({ length: p.steps }, (_, s) => Math.max(0, Math.min(127, t.steps[s] | 0)));
    });
    return pattern;
  }
}

export class Grid {
  /**
   * @param {HTMLElement} root
   * @param {() => Pattern} getPattern
   * @param {() => void} onChange called after any edit
   */
  constructor(root, getPattern, onChange) {
    this.root = root;
    this.getPattern = getPattern;
    this.onChange = onChange;
    this.buttons = []; // [row][step]
    this.playhead = -1;
    this.columns = 0;
    root.addEventListener("click", (e) => {
      const b = e.target.closest("button[data-step]");
      if (!b) return;
      const row = +b.dataset.row, step = +b.dataset.step;
      this.getPattern().toggle(row, step, e.shiftKey);
      this.paint(row, step);
      this.onChange();
    });
    // The number of step columns follows the grid's width (a whole number of beats, at most the pattern).
    new ResizeObserver(() => this.fit()).observe(root);
  }

  /** Steps per line: the most of 64, 32, 16, 8, 4 that fits at MIN_CELL px each beside the row labels. */
  fit() {
    const label = parseFloat(getComputedStyle(this.root).getPropertyValue("--label")) || 96;
    const room = this.root.clientWidth - label - 6; // 6: the gap after the label
    const steps = this.getPattern().steps;
    const columns = [64, 32, 16, 8, 4].find((c) => c <= steps && c * MIN_CELL <= room) || 4;
    if (columns !== this.columns) this.root.style.setProperty("--columns", columns);
    this.columns = columns;
  }

  /** Build the buttons; call again when the length or the pad names change. */
  render(names) {
    const p = this.getPattern();
    this.root.replaceChildren();
    this.buttons = p.rows.map((_, row) => {
      const label = document.createElement("div");
      label.className = "row-label";
      label.textContent = `${row + 1} ${names[row] || ""}`;
      const cells = document.createElement("div");
      cells.className = "cells";
      const track = document.createElement("div");
      track.className = "track";
      track.append(label, cells);
      this.root.append(track);
      return Array.from({ length: p.steps }, (_, step) => {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "step" + (step % 4 === 0 ? " beat" : "");
        b.dataset.row = row;
        b.dataset.step = step;
        b.setAttribute("aria-label", `Pad ${row + 1} step ${step + 1}`);
        cells.append(b);
        return b;
      });
    });
    p.rows.forEach((r, row) => r.forEach((_, step) => this.paint(row, step)));
    this.playhead = -1;
    this.fit();
  }

  paint(row, step) {
    const v = this.getPattern().rows[row][step];
    const b = this.buttons[row][step];
    b.setAttribute("aria-pressed", v ? "true" : "false");
    b.classList.toggle("accent", v >= 120);
    b.title = v >= 120 ? "accent" : v ? "on" : "off";
  }

  repaint() { this.getPattern().rows.forEach((r, row) => r.forEach((_, step) => this.paint(row, step))); }

  /** Move the playhead column; called from requestAnimationFrame, so it only touches what changed. */
  setPlayhead(step) {
    if (step === this.playhead) return;
    const mark = (s, on) => this.buttons.forEach((r) => r[s] && r[s].classList.toggle("now", on));
    if (this.playhead >= 0) mark(this.playhead, false);
    if (step >= 0) mark(step, true);
    this.playhead = step;
  }
}
