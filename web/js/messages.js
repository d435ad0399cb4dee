// What the page tells the user: one error banner (with a close button) and one status line. A new message
// replaces the other kind, so a stale "Loaded session" never sits beside a fresh error, or the other way round.

export class Messages {
  /** @param {HTMLElement} alert the banner, holding .text and a close button; @param {HTMLElement} status */
  constructor(alert, status) {
    this.alert = alert;
    this.text = alert.querySelector(".text");
    this.status = status;
    this.timer = null;
    alert.querySelector("button").addEventListener("click", () => this.clearError());
  }

  error(e) {
    const text = typeof e === "string" ? e : e.message || String(e);
    this.clearInfo();
    this.text.textContent = text;
    this.alert.classList.add("show");
    console.warn(e); // for a developer; the banner is what the user reads
  }

  /** A success or hint on the status line; it fades after a while. */
  info(text) {
    this.clearError();
    this.status.textContent = text;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.clearInfo(), 6000);
  }

  clearInfo() { clearTimeout(this.timer); this.status.textContent = ""; }

  clearError() { this.text.textContent = ""; this.alert.classList.remove("show"); }

  /** Run an async action; report its failure in the page instead of losing it. */
  async guard(fn) {
    try {
      const r = await fn();
      if (this.alert.classList.contains("show")) this.clearError();
      return r;
    } catch (e) {
      if (e && e.name === "LockedError") this.info(e.message); // a lock doing its job is news, not an error
      else this.error(e);
    }
  }
}
