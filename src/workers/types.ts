// Plain-data descriptions of what a worker reads from and writes to, so a
// worker thread or a stage process can open them itself (functions and
// endpoint objects cannot be posted to a thread).
import type { FlowHashName } from '../net/hash.js';

/** Where packets come from. A bare number means `{ kind: 'queue', queue: n }`. */
export type InputSpec =
  /** consume cluster queue `queue` (its producer's pool gets the buffers back) */
  | { kind: 'queue'; queue: number }
  /** open a device for RX (`zc:eth0@1`, `eth0`), fed from the worker's own pool */
  | { kind: 'device'; name: string; port?: number; options?: Record<string, unknown> }
  /**
   * In-memory source: hands out the free buffers of the worker's own pool as
   * received packets, with the contents and metadata last written into them
   * (see prefillPool). `count` stops it after that many packets (0: never).
   */
  | { kind: 'memory'; count?: number; port?: number };

/** Where packets go. A bare number means `{ kind: 'queue', queue: n }`. */
export type OutputSpec =
  | { kind: 'queue'; queue: number }
  /** a device opened for TX (egress); sent buffers return to the pool they came from */
  | { kind: 'device'; name: string; options?: Record<string, unknown> };

/**
 * A user function, as data: `source` is a JavaScript expression evaluating to
 * the function, e.g. `"(p) => p.port === 0 ? 0 : 1"`; or `module` (path or
 * file URL) and `export` (default: 'default'). Loaded inside the worker.
 */
export type FunctionSpec = { source: string } | { module: string; export?: string };

/**
 * How the balancer picks an output: a symmetric flow hash (net/hash.ts),
 * the input port (META_PORT modulo outputs), or round-robin.
 */
export type HashMode = FlowHashName | 'port' | 'round-robin';

export interface CommonOptions {
  /** pin the worker thread to this CPU (native.pinThread) */
  cpu?: number;
  /** the pool this worker owns (needed for device and memory inputs, and for fanout) */
  pool?: number;
  /** true: spin when idle; false (default): sleep ~1 ms after 64 empty polls */
  busy?: boolean;
  /** packets per burst (default 64: each burst costs a few Atomics calls, ~7 ns each on Node 20, so larger bursts amortize them) */
  burst?: number;
  /** on stop, how long to wait for shared/outstanding buffers to come back to an owned pool (ms, default 2000) */
  drainMs?: number;
}

export interface BalancerOptions extends CommonOptions {
  inputs: Array<InputSpec | number>;
  outputs: Array<OutputSpec | number>;
  /** default 'five-tuple' */
  mode?: HashMode;
  /** user function `(view: PacketView) => number`: the output index; negative drops. Overrides mode. */
  fn?: FunctionSpec;
}

export interface FanoutOptions extends CommonOptions {
  inputs: Array<InputSpec | number>;
  outputs: Array<OutputSpec | number>;
  /**
   * Multi-application (zbalance_ipc -n 2,3): group sizes adding up to the
   * number of outputs. Every group gets every packet; inside a group the
   * packet goes to one output by `mode`. Default: one group per output (pure fanout).
   */
  groups?: number[];
  /** in-group balancing (default 'five-tuple') */
  mode?: HashMode;
  /**
   * Without groups: `(view) => mask`, the outputs (bit i = output i) to send to; 0 or negative drops.
   * With groups: `(view) => hash` used inside every group; negative drops.
   */
  fn?: FunctionSpec;
}

export interface StageOptions extends CommonOptions {
  input: InputSpec | number;
  /** none: a last stage that releases every packet after the function */
  output?: OutputSpec | number;
  /** `(view) => number`: negative drops, anything else passes; none: pass-through */
  fn?: FunctionSpec;
}

export const normalizeInput = (s: InputSpec | number): InputSpec => (typeof s === 'number' ? { kind: 'queue', queue: s } : s);
export const normalizeOutput = (s: OutputSpec | number): OutputSpec => (typeof s === 'number' ? { kind: 'queue', queue: s } : s);
