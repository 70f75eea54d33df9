// What every worker loop shares: the stop flag, the idle policy and the
// orderly shutdown (close endpoints, wait for the owned pool to fill up).
import { C } from './counters.js';
import type { Endpoints } from './endpoints.js';
import type { FilterBoxReader } from './filter-box.js';

/** After this many empty polls in a row a non-busy worker starts sleeping ~1 ms per poll. */
const SPIN_POLLS = 64;

export interface LoopEnv {
  counters: Float64Array;
  /** word 0 becomes non-zero to stop; notified so a sleeping worker wakes at once */
  stop: Int32Array;
  busy: boolean;
  burst: number;
  drainMs: number;
  /** replacements of the input devices' kernel filters (balance -F + SIGUSR1) */
  filters?: FilterBoxReader;
}

/** Input devices' kernel drop counters are read (a system call each) at most this often. */
const KERNEL_STATS_MS = 100;

/** Copies the input devices' kernel drop and cut-frame counts into the worker's counters. */
export function refreshKernelDrops(env: LoopEnv, ep: Endpoints): void {
  let d = 0, t = 0;
  for (const i of ep.inputs) {
    const k = i.deviceCounts();
    d += k.kernelDrops;
    t += k.truncated;
  }
  env.counters[C.INPUT_KERNEL_DROPS] = d;
  env.counters[C.INPUT_TRUNCATED] = t;
}

export class Idler {
  private run = 0;
  private bursts = 0;
  private lastStats = 0;
  constructor(private readonly env: LoopEnv, private readonly ep: Endpoints, private readonly extra?: () => void) {}

  private maybeKernelStats(): void {
    const now = Date.now();
    if (now - this.lastStats < KERNEL_STATS_MS) return;
    this.lastStats = now;
    refreshKernelDrops(this.env, this.ep);
    for (const i of this.ep.inputs) i.checkAlive?.(); // an input whose interface was deleted ends the worker with the error
    const f = this.env.filters?.take();
    if (f) for (const i of this.ep.inputs) i.setKernelFilter?.(f.socketProgram, f.xdpFunction);
  }

  /** Call after an empty poll. */
  idle(): void {
    this.env.counters[C.IDLE_POLLS]++;
    const run = ++this.run;
    if ((run & 15) === 1) {
      this.maybeKernelStats();
      for (const o of this.ep.outputs) o.maintain();
      this.extra?.();
      this.ep.pool?.drain();
    }
    if (!this.env.busy && run > SPIN_POLLS) Atomics.wait(this.env.stop, 0, 0, 1);
  }

  /** Call after a non-empty poll. */
  busyAgain(): void {
    this.run = 0;
    if ((++this.bursts & 1023) === 0) this.maybeKernelStats();
  }
}

export const stopped = (env: LoopEnv): boolean => Atomics.load(env.stop, 0) !== 0;

/**
 * Shutdown: closes inputs and outputs, then waits up to drainMs for the
 * owned pool's buffers to come back (consumers may still be releasing),
 * records the pool count, and gives the pool up.
 */
export function finish(env: LoopEnv, ep: Endpoints, beforeClose?: () => void): void {
  beforeClose?.();
  refreshKernelDrops(env, ep); // the final count, before the devices close
  ep.close();
  const c = env.counters;
  const pool = ep.pool;
  if (pool) {
    const deadline = Date.now() + env.drainMs;
    let free = pool.drain();
    while (free < pool.size && Date.now() < deadline) {
      Atomics.wait(env.stop, 1, 0, 1);
      free = pool.drain();
    }
    c[C.POOL_FREE_AT_END] = free;
    c[C.POOL_SIZE] = pool.size;
    pool.detach();
  } else {
    c[C.POOL_FREE_AT_END] = -1;
  }
  c[C.STATE] = 2;
}
