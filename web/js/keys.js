// Keyboard shortcuts. Keys typed into a text field are text; Space and Enter on a focused control press that
// control (the browser's own behaviour), so Space starts and stops playback only when no control has focus.

const TYPING = "input[type=text], input[type=number], select, textarea";
const CONTROL = "button, a[href], input, select, textarea, summary, [role=slider], [role=button]";

/**
 * @param {object} on hit(i), newSound(i), togglePlay(), help(), undo(); pads: the number of pads (keys 1-9)
 */
export function installKeys(on, pads) {
  document.addEventListener("keydown", (e) => {
    const t = e.target;
    if ((t.matches && t.matches(TYPING)) || e.altKey || e.metaKey) return;
    const digit = /^Digit([1-9])$/.exec(e.code);
    if (digit && +digit[1] <= pads && !e.ctrlKey) {
      e.preventDefault();
      const i = +digit[1] - 1;
      if (e.shiftKey) on.newSound(i);
      else if (!e.repeat) on.hit(i);
    } else if (e.code === "Space") {
      if (t.closest && t.closest(CONTROL)) return; // the focused control's own press
      e.preventDefault();                          // no page scroll
      on.togglePlay();
    } else if (e.key === "?") {
      e.preventDefault();
      on.help();
    } else if (e.key.toLowerCase() === "z" && e.ctrlKey) {
      e.preventDefault();
      on.undo();
    }
  });
}
