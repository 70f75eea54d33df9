// The run loop shared by the commands: the data path runs synchronously in
// slices of a few milliseconds, and between slices the event loop gets a turn
// (signals, the metrics server, timers). Stats lines every second, a final
// summary on SIGINT / SIGTERM / --duration / end of input.
//
// Stop requests are taken from the start of the process (installStopHandling,
// called by main.ts before a command creates anything), not only while the
// loop runs: a SIGINT during setup would otherwise kill the process between
// creating a cluster region and closing it, and leave the region behind. A
// stop requested during setup is seen by runLoop before its first slice, so
// the command ends through its usual cleanup. A standard output or error
// that the reader closed (`ringzero count | head -1`) is a stop request too:
// without a listener, Node turns its EPIPE into an uncaught exception.
import { performance } from 'node:perf_hooks';

export interface Totals {
  packets: number;
  bytes: number;
  drops: number;
}

export interface LoopOptions {
  /** runs the data path for about `budgetMs`; returns false when there is nothing more to do */
  slice(budgetMs: number): boolean;
  totals(): Totals;
  /** seconds; 0 = until interrupted or done */
  durationS: number;
  /** prints the per-second lines (quiet: nothing) */
  report?: (now: Totals, last: Totals, seconds: number, elapsed: number) => void;
  sliceMs?: number;
}

/** 'signal': SIGINT or SIGTERM; 'output-closed': the reader of standard output (or error) went away */
export type StopReason = 'signal' | 'output-closed';

export interface LoopResult extends Totals {
  duration_s: number;
  pps: number;
  /** what ended the loop */
  reason: StopReason | 'duration' | 'done';
}

let requested: StopReason | null = null;
let installed = false;
let finished = false;
const waiters = new Set<(r: StopReason) => void>();

function requestStop(r: StopReason): void {
  if (requested === null) requested = r;
  for (const w of waiters) w(requested);
  waiters.clear();
}

/**
 * SIGINT / SIGTERM and EPIPE on standard output or error become a stop
 * request; SIGUSR1 is ignored unless a command listens for it (-F reloads),
 * so it never opens Node's inspector in a root process. Idempotent.
 */
export function installStopHandling(): void {
  if (installed) return;
  installed = true;
  // A second signal, or one after the command has returned (something it left
  // running keeps the process alive), ends the process as the signal would:
  // a stop request nobody checks any more must not make it unkillable.
  let signals = 0;
  const onSignal = (code: number) => {
    if (finished || ++signals > 1) process.exit(finished && process.exitCode ? process.exitCode : code);
    requestStop('signal');
  };
  process.on('SIGINT', () => onSignal(130));
  process.on('SIGTERM', () => onSignal(143));
  process.on('SIGUSR1', () => {});
  // Once the reader is gone every later write fails too: nothing more is printed to that stream.
  const closed = () => requestStop('output-closed');
  process.stdout.on('error', closed);
  process.stderr.on('error', closed);
}

/** main.ts: the command has returned (or thrown); from now on a signal ends the process. */
export function commandFinished(): void {
  finished = true;
}

/** The stop requested so far (null: none). */
export function stopRequested(): StopReason | null {
  return requested;
}

/** Resolves when a stop is requested (at once if one already was). */
export function whenStopRequested(): Promise<StopReason> {
  if (requested !== null) return Promise.resolve(requested);
  return new Promise((r) => waiters.add(r));
}

export async function runLoop(o: LoopOptions): Promise<LoopResult> {
  installStopHandling();
  const t0 = performance.now();
  let lastT = t0;
  let last = { ...o.totals() };
  let reason: LoopResult['reason'];
  for (;;) {
    // A stop requested during setup ends the command before its first slice.
    if (requested !== null) { reason = requested; break; }
    const more = o.slice(o.sliceMs ?? 5);
    const now = performance.now();
    if (now - lastT >= 1000) {
      const cur = o.totals();
      o.report?.(cur, last, (now - lastT) / 1000, (now - t0) / 1000);
      last = { ...cur };
      lastT = now;
    }
    if (!more) { reason = 'done'; break; }
    if (o.durationS > 0 && now - t0 >= o.durationS * 1000) { reason = 'duration'; break; }
    await new Promise((r) => setImmediate(r));
  }
  const t = o.totals();
  const duration = (performance.now() - t0) / 1000;
  return { ...t, duration_s: duration, pps: duration > 0 ? t.packets / duration : 0, reason };
}
