// What this machine does to a timed program right now, measured beside it.
// A worker thread of the test process sleeps 1 ms at a time (Atomics.wait,
// the sleep the product's loops use) and, at every wake-up, notes how late
// it woke and, for a watched process, the kernel's count of the time that
// process spent runnable but not running (/proc/PID/schedstat, 2nd field:
// its run-queue wait). The main thread may block meanwhile; the worker keeps
// measuring. Timing tests use what it saw in the same time window as their
// reference for the scheduling jitter no user-space program can get below.
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';

const SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { readFileSync } = require('node:fs');
const ctl = new Int32Array(workerData); // [0] stop, [1] pid to watch
const cell = new Int32Array(new SharedArrayBuffer(4));
const at = [], late = [], queued = [];
parentPort.postMessage('ready');
while (Atomics.load(ctl, 0) === 0) {
  const t = performance.now();
  Atomics.wait(cell, 0, 0, 1);
  const now = performance.now();
  const pid = Atomics.load(ctl, 1);
  let q = -1;
  if (pid > 0) {
    try { q = Number(readFileSync('/proc/' + pid + '/schedstat', 'latin1').split(' ')[1]) / 1e6; } catch { /* exited */ }
  }
  at.push(performance.timeOrigin + now);
  late.push(now - t - 1);
  queued.push(q);
}
parentPort.postMessage({ at, late, queued });
`;

export interface MachineDelay {
  /** how much later than usual (the median) the latest plain 1 ms timed wait late in the window woke up, in ms */
  timerLateMs: number;
  /** how long the kernel kept the watched process waiting for a CPU in the window, in ms */
  runQueueMs: number;
}

export interface TimerProbe {
  /** watch this process's run-queue wait from now on */
  watch(pid: number): void;
  /** Stops the probe; `around(fromMs, toMs)` then reports on that window (Unix ms). */
  stop(): Promise<{ around(fromMs: number, toMs: number): MachineDelay }>;
}

export async function startTimerProbe(): Promise<TimerProbe> {
  const ctl = new Int32Array(new SharedArrayBuffer(8));
  const w = new Worker(SOURCE, { eval: true, workerData: ctl.buffer });
  await once(w, 'message');
  return {
    watch(pid) { Atomics.store(ctl, 1, pid); },
    async stop() {
      Atomics.store(ctl, 0, 1);
      const [r] = (await once(w, 'message')) as [{ at: number[]; late: number[]; queued: number[] }];
      await w.terminate();
      const usual = r.late.length > 0 ? [...r.late].sort((a, b) => a - b)[r.late.length >> 1] : 0;
      return {
        around(fromMs, toMs) {
          let timerLateMs = 0;
          let before = -1; // the watched process's count at the last sample before the window
          let after = -1; // and at the first one after it
          for (let i = 0; i < r.at.length; i++) {
            // this wait was late from at - late to at
            if (r.at[i] >= fromMs && r.at[i] - r.late[i] <= toMs && r.late[i] - usual > timerLateMs) timerLateMs = r.late[i] - usual;
            if (r.queued[i] < 0) continue;
            if (r.at[i] <= fromMs) before = r.queued[i];
            else if (r.at[i] >= toMs && after < 0) after = r.queued[i];
          }
          if (after < 0) after = Math.max(before, ...r.queued); // the process exited before the window's end was sampled
          return { timerLateMs, runQueueMs: before >= 0 ? after - before : 0 };
        },
      };
    },
  };
}
