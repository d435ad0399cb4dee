// The pattern (8 rows x 16/32/64 steps of velocities) and the step grid that shows and edits it.
// Steps are toggle buttons named "Pad N step M" with aria-pressed, so the grid works with a screen reader,
// the keyboard, and a test.

export const ROWS = 8;
export const STEP_OPTIONS = [16, 32, 64];
export const NORMAL = 100; // velocity of a plain click
export const ACCENT = 127; // velocity of a shift-click

export class Pattern {
  constructor(steps = 16) {
    this.steps = steps;
    this.rows = Array.from({ length: ROWS }, () => new Array(steps).fill(0));
  }

  /** The four-on-the-floor groove the page opens with. */
  static defaults() {
    const p = new Pattern(16);
    const on = (row, steps, v = NORMAL) => steps.forEach((s) => { p.rows[row][s] = v; });
    on(0, [0, 4, 8, 12], ACCENT); // kick
    on(0, [10]);
    on(1, [4, 12]);                // snare
    on(2, [0, 2, 4, 6, 8, 10, 12]); // closed hat
    on(3, [14]);                   // open hat, cut by the closed hat
    on(4, [12], 80);               // clap
    return p;
  }

  /** Click: off <-> normal; shift-click (accent): accent <-> normal, or off -> accent. */
  toggle(row, step, accent = false) {
    const v = this.rows[row][step];
    if (accent) this.rows[row][step] = v === ACCENT ? NORMAL : ACCENT;
    else this.rows[row][step] = v ? 0 : NORMAL;
    return this.rows[row][step];
  }

  clear() { this.rows.forEach((r) => r.fill(0)); }

  /** Change the length; a longer pattern repeats the existing bars so the groove carries on. */
  setSteps(steps) {
    this.rows = this.rows.map((r) => Array.from({ length: steps }, (_, i) => r[i % r.length] || 0));
    if (steps < this.steps) this.rows = this.rows.map((r) => r.slice(0, steps));
    this.steps = steps;
  }

  /** The API's Pattern: {bpm, swing, steps, tracks: [{name, note, steps}]} */
  toAPI({ bpm, swing, names, notes }) {
    return {
      bpm, swing, steps: this.steps,
      tracks: this.rows.map((r, i) => ({ name: names[i], note: notes[i], steps: [...r] })),
    };
  }

  static fromAPI(p) {
    const pattern = new Pattern(p.steps);
    p.tracks.slice(0, ROWS).forEach((t, i) => {
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
    root.addEventListener("click", (e) => {
      const b = e.target.closest("button[data-step]");
      if (!b) return;
      const row = +b.dataset.row, step = +b.dataset.step;
      this.getPattern().toggle(row, step, e.shiftKey);
      this.paint(row, step);
      this.onChange();
    });
  }

  /** Build the buttons; call again when the length or the pad names change. */
  render(names) {
    const p = this.getPattern();
    this.root.replaceChildren();
    this.root.style.setProperty("--steps", p.steps);
    this.buttons = p.rows.map((_, row) => {
      const label = document.createElement("div");
      label.className = "row-label";
      label.textContent = `${row + 1} ${names[row] || ""}`;
      this.root.append(label);
      return Array.from({ length: p.steps }, (_, step) => {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "step" + (step % 4 === 0 ? " beat" : "");
        b.dataset.row = row;
        b.dataset.step = step;
        b.setAttribute("aria-label", `Pad ${row + 1} step ${step + 1}`);
        this.root.append(b);
        return b;
      });
    });
    p.rows.forEach((r, row) => r.forEach((_, step) => this.paint(row, step)));
    this.playhead = -1;
  }

  paint(row, step) {
    const v = this.getPattern().rows[row][step];
    const b = this.buttons[row][step];
    b.setAttribute("aria-pressed", v ? "true" : "false");
    b.classList.toggle("accent", v >= 120);
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
