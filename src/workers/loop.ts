// What every worker loop shares: the stop flag, the idle policy and the
// orderly shutdown (close endpoints, wait for the owned pool to fill up).
import { C } from './counters.js';
import type { Endpoints } from './endpoints.js';
import type { FilterBoxReader } from './filter-box.js';
import { MIN_NAP_MS, nextNap } from '../devices/coalesce.js';

/** After this many empty polls in a row a non-busy worker starts sleeping between polls. */
const SPIN_POLLS = 64;
/** The longest sleep between polls: the most latency idling adds to a packet. */
const MAX_SLEEP_MS = 1;

export interface LoopEnv {
  counters: Float64Array;
  /** the cluster's buffer metadata (the lengths RECEIVED_BYTES adds up) */
  meta: Uint32Array;
  /**
   * beats this thread's attach slots (Cluster.beat): the loop keeps the
   * thread's timers from running, so it beats them itself
   */
  beat: () => void;
  /** word 0 becomes non-zero to stop; notified so a sleeping worker wakes at once */
  stop: Int32Array;
  busy: boolean;
  burst: number;
  drainMs: number;
  /** replacements of the input devices' kernel filters (balance -F + SIGUSR1) */
  filters?: FilterBoxReader;
}

/** Input devices' kernel drop counters are read (a system call each), and the slots beaten, at most this often. */
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

/**
 * The next sleep of an idle worker, in ms: a quarter of `capacity` at
 * `perMs` packets per ms, within [MIN_NAP_MS, MAX_SLEEP_MS], and at most twice
 * `lastMs` (the rate was measured over that sleep, not longer).
 */
export function workerSleepMs(perMs: number, capacity: number, lastMs: number): number {
  return nextNap(perMs, capacity, lastMs, MAX_SLEEP_MS);
}

/**
 * What a worker does between empty polls: housekeeping every 16th, and after
 * SPIN_POLLS in a row (a non-busy worker) a sleep. The sleep lasts as long as
 * the smallest input takes to fill to a quarter at the rate seen since the
 * previous sleep, between MIN_NAP_MS and MAX_SLEEP_MS (devices/coalesce.ts
 * nextNap, as the capture commands' naps): up to 2 Mpps into an 8192-frame ring that is the 1 ms it always
 * was; at 9 Mpps a fixed 1 ms (often 1.2-2 ms on a VM) overflowed that ring at
 * every sleep. After an idle spell (two sleeps in a row found nothing) the
 * rate is unknown: the first sleep is the floor, and each one at most doubles.
 */
export class Idler {
  private run = 0;
  private bursts = 0;
  private lastStats = 0;
  /** C.RECEIVED and the time when the last sleep began: the rate is measured from there */
  private received = 0;
  private since = performance.now();
  private lastSleepMs = MIN_NAP_MS / 2;
  private readonly capacity: number;
  constructor(private readonly env: LoopEnv, private readonly ep: Endpoints, private readonly extra?: () => void) {
    this.capacity = Math.min(...ep.inputs.map((i) => i.capacity));
  }

  private maybeKernelStats(): void {
    const now = Date.now();
    if (now - this.lastStats < KERNEL_STATS_MS) return;
    this.lastStats = now;
    this.env.beat();
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
    if (!this.env.busy && run > SPIN_POLLS) Atomics.wait(this.env.stop, 0, 0, this.sleepMs());
  }

  /** Call after a poll that returned packets. */
  busyAgain(): void {
    if (this.run > SPIN_POLLS + 1) this.lastSleepMs = MIN_NAP_MS / 2; // after an idle spell
    this.run = 0;
    if ((++this.bursts & 1023) === 0) this.maybeKernelStats();
  }

  private sleepMs(): number {
    const now = performance.now();
    const dt = now - this.since;
    const received = this.env.counters[C.RECEIVED]; // the loop counts every burst there before it polls again
    const ms = workerSleepMs(dt > 0 ? (received - this.received) / dt : 0, this.capacity, this.lastSleepMs);
    this.received = received;
    this.since = now; // what arrives during the sleep counts towards the next rate
    this.lastSleepMs = ms;
    return ms;
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
      env.beat(); // the pool is still ours
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
