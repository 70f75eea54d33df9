// Opens a worker's inputs and outputs from their plain-data specs, inside the
// worker, and checks that every buffer can find its way home: outputs must
// return their buffers to the pool the packets were allocated from.
//
// Ownership while forwarding: a buffer received from a queue input belongs
// to that queue's consumer (us); once an output accepts it, it is the
// output's, so the input consumer's `held` count drops (forwarded()). Refused
// buffers go back where they came from (giveBack): the input queue's return
// ring, or the worker's own pool.
import type { Cluster } from '../zc/cluster.js';
import { attachToSocket } from '../filter/socket.js';
import { checkProgram } from '../filter/check.js';
import type { BufferPool } from '../zc/pool.js';
import type { QueueConsumer } from '../zc/consumer.js';
import type { QueueProducer } from '../zc/queue.js';
import { META_OFF, META_PORT, META_WORDS, type BufferMemory, type BufferSource } from '../zc/meta.js';
import { InvalidArgumentError } from '../errors.js';
import type { Device } from '../devices/types.js';
import { normalizeInput, normalizeOutput, type InputSpec, type OutputSpec } from './types.js';

export interface Input {
  readonly name: string;
  /** about how many packets it holds while the worker sleeps (Device.rxCapacity, queue slots); Infinity: it waits */
  readonly capacity: number;
  recvBurst(out: Uint32Array, max: number): number;
  /** n buffers of the last burst were handed to an output */
  forwarded(n: number): void;
  /** gives back buffers of the current burst (dropped, or done with) */
  giveBack(indices: Uint32Array, n: number): void;
  /** gives back buffers forwarded earlier (e.g. TX completions of a device output) */
  giveBackLater(indices: ArrayLike<number>, n: number): void;
  /** a memory input that reached its count */
  readonly exhausted: boolean;
  /**
   * Device inputs: packets the kernel dropped before this input saw them, and
   * frames longer than a cluster buffer that it cut (0 for other inputs). One
   * device stats read (system calls): call rarely.
   */
  deviceCounts(): { kernelDrops: number; truncated: number };
  /** replaces a device input's kernel filter (XDP subprogram or classic BPF, by device kind) */
  setKernelFilter?(socketProgram: Uint8Array, xdpFunction: Uint8Array): void;
  /** a device input whose interface went away throws InterfaceGoneError (a system call: call when idle) */
  checkAlive?(): void;
  close(): void;
}

export interface Output {
  readonly name: string;
  /** queue id, or -1 for a device (whose refused and completed buffers both come back through its sink) */
  readonly queue: number;
  sendBurst(indices: Uint32Array, n: number): number;
  /** idle work: pending reclaim (queue), TX kick and completions (device) */
  maintain(): void;
  /** a queue output calls `fn` in this thread just before it reclaims a dead consumer */
  setBeforeReclaim(fn: () => void): void;
  close(): void;
}

export type Sink = Pick<BufferSource, 'free'>;

export interface OpenOptions {
  inputs: Array<InputSpec | number>;
  outputs: Array<OutputSpec | number>;
  /** the pool the worker owns, if any */
  pool?: number;
  /** fanout: the worker needs its own pool even with queue inputs (it copies into it) */
  needPool: boolean;
  /** where output i's refused buffers (and a TX device's completions) go; `device` tells which kind output i is */
  sinkFor(i: number, ctx: Endpoints, device: boolean): Sink;
}

export interface Endpoints {
  inputs: Input[];
  outputs: Output[];
  pool: BufferPool | null;
  /** the pool the outputs return buffers to */
  returnPool: number;
  close(): void;
}

const NO_DEVICE_COUNTS = Object.freeze({ kernelDrops: 0, truncated: 0 });

class QueueInput implements Input {
  readonly exhausted = false;
  constructor(readonly name: string, private readonly c: QueueConsumer, readonly capacity: number) {}
  deviceCounts(): { kernelDrops: number; truncated: number } { return NO_DEVICE_COUNTS; }
  recvBurst(out: Uint32Array, max: number): number { return this.c.recvBurst(out, max); }
  forwarded(n: number): void { this.c.held -= n; }
  giveBack(indices: Uint32Array, n: number): void { if (n > 0) this.c.release(indices, n); }
  giveBackLater(indices: ArrayLike<number>, n: number): void {
    if (n === 0) return;
    this.c.held += n;
    this.c.release(indices instanceof Uint32Array ? indices : Uint32Array.from({ length: n }, (_, i) => indices[i]), n);
  }
  close(): void { this.c.close(); }
}

class PoolInput implements Input {
  /** AF_XDP: the kernel wrote the frames on another CPU (see touchHeaders) */
  private readonly coldFrames: boolean;
  private touched = 0;
  constructor(readonly name: string, private readonly pool: BufferPool, private readonly dev: Device | null, private left: number,
    private readonly port: number, private readonly mem: BufferMemory) {
    this.coldFrames = dev !== null && dev.mode !== 'standard';
  }
  get exhausted(): boolean { return this.left === 0; }
  get capacity(): number { return this.dev ? this.dev.rxCapacity : Infinity; }
  deviceCounts(): { kernelDrops: number; truncated: number } {
    if (!this.dev) return NO_DEVICE_COUNTS;
    const st = this.dev.stats();
    return { kernelDrops: st.kernelDrops, truncated: st.rxTruncated };
  }
  // A zero wait: clears a pending socket error and looks whether the interface is still there (devices/types.ts).
  checkAlive(): void { this.dev?.wait(0); }
  setKernelFilter(socketProgram: Uint8Array, xdpFunction: Uint8Array): void {
    const d = this.dev as (Device & { setXdpFilter?: (f: Uint8Array) => void; setSocketFilter?: (a: (fd: number) => void) => void }) | null;
    if (d?.setXdpFilter) d.setXdpFilter(xdpFunction);
    else if (d?.setSocketFilter) d.setSocketFilter((fd) => attachToSocket(fd, checkProgram(socketProgram)));
  }
  recvBurst(out: Uint32Array, max: number): number {
    if (this.dev) {
      const n = this.dev.recvBurst(out, max);
      if (this.coldFrames && n > 0) this.touchHeaders(out, n);
      return n;
    }
    if (this.left === 0) return 0;
    const k = this.pool.alloc(out, this.left > 0 && this.left < max ? this.left : max);
    if (this.left > 0) this.left -= k;
    if (this.port >= 0) for (let i = 0; i < k; i++) this.mem.meta[out[i] * META_WORDS + META_PORT] = this.port;
    return k;
  }

  /**
   * Loads the first header line of every frame of the burst, in a loop with nothing waiting on the
   * loads: an AF_XDP frame sits in its own 2 KiB buffer, written by the kernel on another CPU, so
   * the hash's first read of each one misses the cache; issued here, the misses overlap instead of
   * stalling the classification one frame at a time (as dump's copy, cli/dump.ts).
   */
  private touchHeaders(out: Uint32Array, n: number): void {
    const { meta, bytes, bufferOffset, bufferSize } = this.mem;
    let t = 0;
    for (let i = 0; i < n; i++) {
      const b = out[i];
      const at = bufferOffset + b * bufferSize + meta[b * META_WORDS + META_OFF];
      t ^= bytes[at] ^ bytes[at + 40]; // Ethernet, IPv4 and the L4 ports: one or two lines
    }
    this.touched = t; // kept, so the compiler keeps the loads
  }
  forwarded(): void {}
  giveBack(indices: Uint32Array, n: number): void { if (n > 0) this.pool.free(indices, n); }
  giveBackLater(indices: ArrayLike<number>, n: number): void { if (n > 0) this.pool.free(indices, n); }
  close(): void { this.dev?.close(); }
}

class QueueOutput implements Output {
  constructor(readonly name: string, readonly queue: number, private readonly p: QueueProducer) {}
  sendBurst(indices: Uint32Array, n: number): number { return this.p.sendBurst(indices, n); }
  maintain(): void { this.p.maintain(); }
  setBeforeReclaim(fn: () => void): void { this.p.beforeReclaim = fn; }
  close(): void { this.p.close(); }
}

class DeviceOutput implements Output {
  readonly queue = -1;
  constructor(readonly name: string, private readonly d: Device) {}
  sendBurst(indices: Uint32Array, n: number): number { return this.d.sendBurst(indices, n); }
  maintain(): void { this.d.flush(); }
  setBeforeReclaim(): void { /* devices have no consumer to reclaim */ }
  close(): void { this.d.close(); }
}

export async function openEndpoints(cluster: Cluster, o: OpenOptions): Promise<Endpoints> {
  const ins = o.inputs.map(normalizeInput);
  const outs = o.outputs.map(normalizeOutput);
  if (ins.length === 0) throw new InvalidArgumentError('a worker needs at least one input');
  const l = cluster.layout;
  const queueIns = ins.filter((s): s is { kind: 'queue'; queue: number } => s.kind === 'queue');
  const ownIns = ins.filter((s) => s.kind !== 'queue');
  for (const s of queueIns) if (!Number.isInteger(s.queue) || s.queue < 0 || s.queue >= l.queueCount) throw new InvalidArgumentError(`input queue ${s.queue} does not exist (cluster ${cluster.id} has ${l.queueCount} queues)`);
  const inPools = new Set(queueIns.map((s) => l.queuePools[s.queue]));
  if (inPools.size > 1) throw new InvalidArgumentError(`input queues ${queueIns.map((s) => s.queue)} return to different pools (${[...inPools]}): a worker forwards buffers, so its inputs must share one pool`);
  if (queueIns.length > 0 && ownIns.length > 0 && !o.needPool) throw new InvalidArgumentError('mixing queue inputs with device or memory inputs needs two pools for one output; use separate workers');
  const needOwn = o.needPool || ownIns.length > 0;
  const poolId = o.pool ?? (needOwn ? 0 : -1);
  if (needOwn && (poolId < 0 || poolId >= l.poolSizes.length)) throw new InvalidArgumentError(`pool ${poolId} does not exist (cluster ${cluster.id} has ${l.poolSizes.length})`);
  if (o.needPool && inPools.has(poolId)) throw new InvalidArgumentError(`pool ${poolId} feeds the input queues; a fanout over queue inputs copies into a pool of its own: pass another pool`);
  const returnPool = needOwn ? poolId : [...inPools][0];
  for (const s of outs) {
    if (s.kind !== 'queue') continue;
    if (!Number.isInteger(s.queue) || s.queue < 0 || s.queue >= l.queueCount) throw new InvalidArgumentError(`output queue ${s.queue} does not exist (cluster ${cluster.id} has ${l.queueCount} queues)`);
    if (l.queuePools[s.queue] !== returnPool) throw new InvalidArgumentError(`output queue ${s.queue} returns buffers to pool ${l.queuePools[s.queue]}, but its packets come from pool ${returnPool}: bind it to pool ${returnPool} (cluster option queuePools)`);
    if (queueIns.some((i) => i.queue === s.queue)) throw new InvalidArgumentError(`queue ${s.queue} is both an input and an output`);
  }

  const opened: Array<{ close(): void }> = [];
  const ep: Endpoints = {
    inputs: [], outputs: [], pool: null, returnPool,
    close() { for (const x of opened.splice(0).reverse()) { try { x.close(); } catch { /* keep closing the rest */ } } },
  };
  try {
    if (needOwn) ep.pool = cluster.pool(poolId); // detached by the caller, after it drained it
    const devices = ins.some((s) => s.kind === 'device') || outs.some((s) => s.kind === 'device') ? await import('../devices/index.js') : null;
    for (const s of ins) {
      let input: Input;
      if (s.kind === 'queue') input = new QueueInput(`queue ${s.queue}`, cluster.consumer(s.queue), l.queueSlots);
      else if (s.kind === 'device') {
        const dev = devices!.openDevice(s.name, { ...(s.options ?? {}), memory: cluster.memory, source: ep.pool!, port: s.port ?? 0, tx: false });
        input = new PoolInput(s.name, ep.pool!, dev, -1, -1, cluster.memory);
      } else input = new PoolInput('memory', ep.pool!, null, s.count && s.count > 0 ? s.count : -1, s.port ?? -1, cluster.memory);
      opened.push(input);
      ep.inputs.push(input);
    }
    // Outputs are opened after the inputs so a sink can refer to them.
    outs.forEach((s, i) => {
      let out: Output;
      if (s.kind === 'queue') out = new QueueOutput(`queue ${s.queue}`, s.queue, cluster.producer(s.queue, o.sinkFor(i, ep, false)));
      else {
        const sink = o.sinkFor(i, ep, true);
        const source: BufferSource = { alloc: () => 0, free: (idx, n) => sink.free(idx, n), get available() { return 0; } };
        out = new DeviceOutput(s.name, devices!.openDevice(s.name, { ...(s.options ?? {}), memory: cluster.memory, source, rx: false }));
      }
      opened.push(out);
      ep.outputs.push(out);
    });
  } catch (e) {
    ep.close();
    ep.pool?.detach();
    throw e;
  }
  return ep;
}
