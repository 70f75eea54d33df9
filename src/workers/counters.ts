// A worker's counters: float64 words in a SharedArrayBuffer, written by the
// worker once per burst and read by anyone holding the buffer (the handle's
// stats(), the CLI's stats lines). Each drop reason has its own word.

import { META_LEN, META_WORDS } from '../zc/meta.js';

export const MAX_OUTPUTS = 64;

/** Word indices (Float64Array). */
export const C = {
  /** packets taken from the inputs */
  RECEIVED: 0,
  /** packets accepted by outputs (a fanned-out packet counts once per output) */
  SENT: 1,
  /** the user function said drop (negative result, or an empty mask) */
  DROP_FN: 2,
  /** an output refused the packet (queue full, TX ring full) */
  DROP_FULL: 3,
  /** the user function named an output that does not exist */
  DROP_INVALID: 4,
  /** the user function threw */
  DROP_ERROR: 5,
  /** fanout with a queue input: packets copied into the worker's own pool */
  COPIED: 6,
  /** fanout copy: the worker's pool had no free buffer */
  DROP_NO_BUFFER: 7,
  /** shared buffers taken back from dead consumers */
  RECLAIMED_SHARED: 8,
  /** reclaims the queue core ran before the worker could account for shared buffers (those buffers stay out) */
  RECLAIM_RACES: 9,
  /** packets consumed by a last stage (no output) */
  CONSUMED: 10,
  /** 0 starting, 1 running, 2 stopped */
  STATE: 11,
  /** free buffers of the owned pool when the worker stopped (-1: owns none) */
  POOL_FREE_AT_END: 12,
  /** buffers of the owned pool */
  POOL_SIZE: 13,
  /** busy-loop iterations that found no packet */
  IDLE_POLLS: 14,
  /** bursts processed */
  BURSTS: 15,
  /** per-output accepted packets: PER_OUT_SENT + i */
  PER_OUT_SENT: 16,
  /** per-output refused packets */
  PER_OUT_DROPPED: 16 + MAX_OUTPUTS,
  /** packets the kernel dropped at the input devices before the worker saw them (refreshed every ~100 ms) */
  INPUT_KERNEL_DROPS: 16 + 2 * MAX_OUTPUTS,
  /** frames longer than a cluster buffer, cut to it by the input devices (refreshed with the kernel drops) */
  INPUT_TRUNCATED: 17 + 2 * MAX_OUTPUTS,
  /** bytes of the packets taken from the inputs (META_LEN, as a queue counts its bytes): what RECEIVED counts */
  RECEIVED_BYTES: 18 + 2 * MAX_OUTPUTS,
} as const;

export const COUNTER_WORDS = 19 + 2 * MAX_OUTPUTS;

export interface WorkerStats {
  state: 'starting' | 'running' | 'stopped';
  received: number;
  /** bytes of the received packets (buffer lengths), whether or not an output took them */
  receivedBytes: number;
  sent: number;
  consumed: number;
  copied: number;
  drops: { fn: number; full: number; invalid: number; error: number; noBuffer: number };
  /** packets the kernel dropped at the input devices (socket ring full, no fill buffer, ...) */
  inputKernelDrops: number;
  /** frames longer than a cluster buffer, which kept their first bytes (DeviceStats.rxTruncated of the inputs) */
  inputTruncated: number;
  reclaimedShared: number;
  reclaimRaces: number;
  bursts: number;
  idlePolls: number;
  /** per output: accepted and refused */
  outputs: Array<{ sent: number; dropped: number }>;
  /** the owned pool at stop: free buffers and size (null when the worker owns no pool or still runs) */
  pool: { free: number; size: number } | null;
  /** the last error thrown by the user function */
  lastError?: string;
}

export function newCounters(): Float64Array {
  return new Float64Array(new SharedArrayBuffer(COUNTER_WORDS * 8));
}

export function readStats(c: Float64Array, outputs: number, lastError?: string): WorkerStats {
  const state = c[C.STATE] === 2 ? 'stopped' : c[C.STATE] === 1 ? 'running' : 'starting';
  const out: WorkerStats['outputs'] = [];
  for (let i = 0; i < Math.min(outputs, MAX_OUTPUTS); i++) out.push({ sent: c[C.PER_OUT_SENT + i], dropped: c[C.PER_OUT_DROPPED + i] });
  return {
    state,
    received: c[C.RECEIVED],
    receivedBytes: c[C.RECEIVED_BYTES],
    sent: c[C.SENT],
    consumed: c[C.CONSUMED],
    copied: c[C.COPIED],
    drops: { fn: c[C.DROP_FN], full: c[C.DROP_FULL], invalid: c[C.DROP_INVALID], error: c[C.DROP_ERROR], noBuffer: c[C.DROP_NO_BUFFER] },
    inputKernelDrops: c[C.INPUT_KERNEL_DROPS],
    inputTruncated: c[C.INPUT_TRUNCATED],
    reclaimedShared: c[C.RECLAIMED_SHARED],
    reclaimRaces: c[C.RECLAIM_RACES],
    bursts: c[C.BURSTS],
    idlePolls: c[C.IDLE_POLLS],
    outputs: out,
    pool: state === 'stopped' && c[C.POOL_FREE_AT_END] >= 0 ? { free: c[C.POOL_FREE_AT_END], size: c[C.POOL_SIZE] } : null,
    ...(lastError ? { lastError } : {}),
  };
}

/** Bytes of the n buffers in `indices` (META_LEN): a burst's share of RECEIVED_BYTES. */
export function burstBytes(meta: Uint32Array, indices: Uint32Array, n: number): number {
  let bytes = 0;
  for (let i = 0; i < n; i++) bytes += meta[indices[i] * META_WORDS + META_LEN];
  return bytes;
}
