// The consuming side of a queue. recvBurst hands out buffer indices; the
// consumer reads the packets (cluster.memory) and gives the buffers back with
// release(), which pushes them on the queue's return ring for the pool owner.
//
// Waiting: busy polling by default. waitBurst() sleeps on a futex on the PROD
// word when the queue is empty (~0% CPU idle) and the producer, in any
// process, wakes it: consumer stores WAITERS=1 then re-reads PROD; producer
// stores PROD then reads WAITERS. Both are sequentially consistent, so one of
// them sees the other (no lost wake-up); futex_wait itself re-checks PROD.
// Inside a VM (the queue on an ivshmem BAR) there is no futex: the kernel
// refuses one on device memory (EFAULT) and the producer runs under another
// kernel anyway, so waitBurst sleeps in 1 ms steps and polls PROD instead.
import { native } from '../native/index.js';
import { Q } from './layout.js';
import type { QueueCounters, QueueParts } from './queue.js';
import { readCounters } from './queue.js';
import { SpscRing } from './ring.js';
import { EvictedError, InvalidArgumentError } from '../errors.js';
import { sleepSync } from '../sleep.js';

/** What the consumer checks while idle: the cluster's and its own liveness. */
export interface ConsumerHooks {
  /** throws ClusterClosedError when the owner closed the cluster or died */
  checkOwner(): void;
  /** refreshes this consumer's heartbeat */
  beat(): void;
  /** releases the registration (attach slot) */
  detach(held: number): void;
  /** no futex (a guest on an ivshmem BAR): waitBurst polls in short sleeps */
  pollOnly?: boolean;
}

const IDLE_CHECK_MS = 250;
const WAIT_SLICE_MS = 100;
const POLL_SLEEP_MS = 1;

export class QueueConsumer {
  readonly id: number;
  private readonly ctrl: Uint32Array;
  private readonly f64: Float64Array;
  private readonly ring: SpscRing;
  private readonly ret: SpscRing;
  private readonly bufferCount: number;
  private readonly hooks: ConsumerHooks;
  private readonly one = new Uint32Array(1);
  private gen: number;
  private calls = 0;
  private lastIdleCheck = 0;
  private closed = false;
  /** buffers received and not yet released */
  held = 0;

  constructor(parts: QueueParts, gen: number, hooks: ConsumerHooks) {
    this.id = parts.id;
    this.ctrl = parts.ctrl;
    this.f64 = parts.ctrlF64;
    this.ring = parts.forward;
    this.ret = parts.returns;
    this.ring.resync();
    this.ret.resync();
    this.bufferCount = parts.bufferCount;
    this.gen = gen;
    this.hooks = hooks;
  }

  private checkGen(): void {
    if (Atomics.load(this.ctrl, Q.GEN) !== this.gen) {
      this.closed = true;
      throw new EvictedError(`queue ${this.id}: this consumer was declared dead or stalled and its queue reclaimed by the owner; attach again`);
    }
  }

  /** Best effort: up to max buffer indices into out[0..k); returns k (0 when empty). */
  recvBurst(out: Uint32Array, max: number): number {
    this.checkGen();
    const n = this.ring.dequeueBurst(out, max);
    if (n === 0) {
      this.idle();
      return 0;
    }
    this.held += n;
    this.f64[Q.OUT_F64] += n;
    if ((++this.calls & 1023) === 0) this.hooks.beat();
    return n;
  }

  /** One buffer index, or -1 when the queue is empty. */
  recvOne(): number {
    return this.recvBurst(this.one, 1) === 1 ? this.one[0] : -1;
  }

  /** Gives buffers back to their pool (through the return ring; no locks). */
  release(indices: Uint32Array, n: number): void {
    this.checkGen();
    if (n > this.held) throw new InvalidArgumentError(`queue ${this.id}: releasing ${n} buffers but only ${this.held} are held: double release?`);
    for (let i = 0; i < n; i++) {
      if (indices[i] >= this.bufferCount) throw new InvalidArgumentError(`queue ${this.id}: release of buffer ${indices[i]} out of range`);
    }
    // Sized to hold every buffer of the pool, so it cannot be full unless corrupt.
    if (this.ret.enqueueBurst(indices, n) !== n) {
      throw new InvalidArgumentError(`queue ${this.id}: return ring full: ${this.ret.describe()}`);
    }
    this.held -= n;
  }

  releaseOne(index: number): void {
    this.one[0] = index;
    this.release(this.one, 1);
  }

  /**
   * Like recvBurst, but when the queue is empty sleeps on a futex until a
   * producer publishes or `timeoutMs` passes (-1: forever). Returns k >= 0.
   */
  waitBurst(out: Uint32Array, max: number, timeoutMs = -1): number {
    let n = this.recvBurst(out, max);
    if (n > 0 || timeoutMs === 0) return n;
    const deadline = timeoutMs < 0 ? Infinity : Date.now() + timeoutMs;
    const ctrl = this.ctrl;
    if (this.hooks.pollOnly) return this.pollBurst(out, max, deadline);
    for (;;) {
      Atomics.store(ctrl, Q.WAITERS, 1);
      const seen = Atomics.load(ctrl, Q.PROD);
      if (seen === this.ring.consumerIndex) {
        const left = deadline - Date.now();
        if (left <= 0) { Atomics.store(ctrl, Q.WAITERS, 0); return 0; }
        // Sleep in slices so owner death, eviction and heartbeats are noticed.
        native.futexWait(ctrl, Q.PROD * 4, seen, Math.min(left, WAIT_SLICE_MS));
      }
      Atomics.store(ctrl, Q.WAITERS, 0);
      n = this.recvBurst(out, max);
      if (n > 0) return n;
      this.hooks.beat();
      this.hooks.checkOwner();
    }
  }

  /** waitBurst without futex: sleep-poll; never sets WAITERS, so producers make no futex calls for us. */
  private pollBurst(out: Uint32Array, max: number, deadline: number): number {
    let lastCheck = Date.now();
    for (;;) {
      const now = Date.now();
      if (now >= deadline) return 0;
      sleepSync(Math.min(deadline - now, POLL_SLEEP_MS));
      const n = this.recvBurst(out, max);
      if (n > 0) return n;
      if (Date.now() - lastCheck >= WAIT_SLICE_MS) {
        lastCheck = Date.now();
        this.hooks.beat();
        this.hooks.checkOwner();
      }
    }
  }

  /** Packets waiting right now. */
  get pending(): number {
    return this.ring.usedCount(this.ring.size);
  }

  private idle(): void {
    if ((++this.calls & 255) !== 0) return;
    const now = Date.now();
    if (now - this.lastIdleCheck < IDLE_CHECK_MS) return;
    this.lastIdleCheck = now;
    this.hooks.beat();
    this.hooks.checkOwner();
  }

  counters(): QueueCounters {
    return readCounters(this.ctrl, this.f64);
  }

  /** Detaches; buffers still held are reclaimed by the producer (as for a dead consumer). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.hooks.detach(this.held);
  }
}
