// Sleeping without the event loop: the data-path loops run synchronously (a
// worker thread, or a slice of the main thread), so they cannot await a timer.
// Atomics.wait on a private cell nobody notifies is a plain timed sleep.

const cell = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the calling thread for `ms` milliseconds (fractions allowed). */
export function sleepSync(ms: number): void {
  if (ms > 0) Atomics.wait(cell, 0, 0, ms);
}
