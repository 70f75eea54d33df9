// The run loop shared by the commands: the data path runs synchronously in
// slices of a few milliseconds, and between slices the event loop gets a turn
// (signals, the metrics server, timers). Stats lines every second, a final
// summary on SIGINT / SIGTERM / --duration / end of input.
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

export interface LoopResult extends Totals {
  duration_s: number;
  pps: number;
  /** what ended the loop */
  reason: 'signal' | 'duration' | 'done';
}

export async function runLoop(o: LoopOptions): Promise<LoopResult> {
  let stopped: 'signal' | null = null;
  const onSignal = () => { stopped = 'signal'; };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const t0 = performance.now();
  let lastT = t0;
  let last = { ...o.totals() };
  let reason: LoopResult['reason'] = 'done';
  try {
    for (;;) {
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
      if (stopped) { reason = 'signal'; break; }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const t = o.totals();
  const duration = (performance.now() - t0) / 1000;
  return { ...t, duration_s: duration, pps: duration > 0 ? t.packets / duration : 0, reason };
}
