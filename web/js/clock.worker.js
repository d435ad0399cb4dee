// The scheduler's clock, in a Web Worker (cwilso/metronome's design): a hidden tab throttles the page's own
// timers to once a second or less, which would starve the 100 ms lookahead, but not a worker's. The worker only
// says "tick"; every sound is still placed on the AudioContext clock by the scheduler in the page.

let timer = null;

self.onmessage = (e) => {
  const { command, interval } = e.data;
  clearInterval(timer);
  timer = null;
  if (command === "start") timer = setInterval(() => self.postMessage("tick"), interval);
};
