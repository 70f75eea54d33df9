// Queue endpoints: a forward ring of buffer indices (producer -> consumer),
// a return ring (consumer -> pool owner) and counters, all in shared memory.
// A queue can be used from another thread (same mapping) or from another
// process (Cluster.attach). A full queue drops and counts; it never blocks.
import { native } from '../native/index.js';
import { META_LEN, META_TAG, META_WORDS, type BufferSource } from './meta.js';
import { Q } from './layout.js';
import { SpscRing } from './ring.js';
import { InvalidArgumentError } from '../errors.js';

/** The shared-memory parts of one queue. */
export interface QueueParts {
  id: number;
  ctrl: Uint32Array; // QUEUE_CTRL_WORDS words
  ctrlF64: Float64Array; // same bytes, as float64
  forward: SpscRing;
  returns: SpscRing;
  meta: Uint32Array;
  bufferCount: number;
}

export interface QueueCounters {
  /** packets accepted by the queue */
  in: number;
  /** bytes of the accepted packets */
  inBytes: number;
  /** packets refused because the queue was full (dropped and freed) */
  dropFull: number;
  /** packets taken by the consumer */
  out: number;
  /** packets waiting in the queue */
  queued: number;
  /** buffers taken back from dead consumers */
  reclaimedBuffers: number;
  /** times a dead consumer was reclaimed */
  reclaims: number;
}

export function readCounters(ctrl: Uint32Array, f64: Float64Array): QueueCounters {
  return {
    in: f64[Q.IN_F64],
    inBytes: f64[Q.IN_BYTES_F64],
    dropFull: f64[Q.DROP_FULL_F64],
    out: f64[Q.OUT_F64],
    queued: (Atomics.load(ctrl, Q.PROD) - Atomics.load(ctrl, Q.CONS)) >>> 0,
    reclaimedBuffers: f64[Q.RECLAIMED_BUFS_F64],
    reclaims: ctrl[Q.RECLAIMS],
  };
}

/**
 * The producing side. `sendBurst` takes ownership of all n buffers: those the
 * queue accepts go to the consumer; the rest are counted as dropped and given
 * to `dropSink` (the producer's pool, or the return path it got them from).
 */
export class QueueProducer {
  readonly id: number;
  private readonly ctrl: Uint32Array;
  private readonly f64: Float64Array;
  private readonly ring: SpscRing;
  private readonly parts: QueueParts;
  private readonly meta: Uint32Array;
  private readonly sink: Pick<BufferSource, 'free'>;
  private leftovers = new Uint32Array(256);
  private readonly one = new Uint32Array(1);
  /** set by the cluster: frees the attach slot of a reclaimed consumer */
  onReclaimed: ((deadSlot: number) => void) | null = null;
  /**
   * Called in this (the producer's) thread right before a dead consumer is
   * reclaimed, whichever call noticed it: a fanout gives back its shares of
   * the buffers the dead consumer held (tags name one holder only).
   */
  beforeReclaim: (() => void) | null = null;
  /** set by the cluster: releases this producer's registration */
  onClose: (() => void) | null = null;
  /** false in a VM guest: no futex on an ivshmem BAR (EFAULT), and the consumer sleeps under another kernel */
  wake = true;

  constructor(parts: QueueParts, dropSink: Pick<BufferSource, 'free'>) {
    this.id = parts.id;
    this.parts = parts;
    this.ctrl = parts.ctrl;
    this.f64 = parts.ctrlF64;
    this.ring = parts.forward;
    this.ring.resync();
    this.meta = parts.meta;
    this.sink = dropSink;
  }

  /** Sends buffers; returns how many the queue accepted (the others were dropped). */
  sendBurst(indices: Uint32Array, n: number): number {
    const ctrl = this.ctrl;
    if (Atomics.load(ctrl, Q.RECLAIM) !== 0) this.reclaim();
    const k = Math.min(n, this.ring.freeCount(n));
    // Tag and count before publishing: after the PROD store the consumer may
    // already own them.
    const meta = this.meta;
    const id = this.id;
    let bytes = 0;
    for (let i = 0; i < k; i++) {
      const m = indices[i] * META_WORDS;
      meta[m + META_TAG] = id;
      bytes += meta[m + META_LEN];
    }
    this.ring.enqueueBurst(indices, k);
    const f = this.f64;
    f[Q.IN_F64] += k;
    f[Q.IN_BYTES_F64] += bytes;
    if (k < n) this.drop(indices, k, n);
    // Pairs with the consumer's WAITERS store before it re-checks PROD and sleeps.
    if (k > 0 && this.wake && Atomics.load(ctrl, Q.WAITERS) !== 0) native.futexWake(ctrl, Q.PROD * 4, 1);
    return k;
  }

  /** Sends one buffer; true if accepted (else it was dropped). */
  sendOne(index: number): boolean {
    this.one[0] = index;
    return this.sendBurst(this.one, 1) === 1;
  }

  private drop(indices: Uint32Array, from: number, n: number): void {
    const count = n - from;
    this.f64[Q.DROP_FULL_F64] += count;
    if (this.leftovers.length < count) this.leftovers = new Uint32Array(count);
    const left = this.leftovers;
    for (let i = 0; i < count; i++) left[i] = indices[from + i];
    this.sink.free(left, count);
  }

  /** Free slots right now. */
  get free(): number {
    return this.ring.freeCount();
  }

  /** Runs a pending reclaim; call from idle loops so dead consumers are reclaimed without traffic. */
  maintain(): void {
    if (Atomics.load(this.ctrl, Q.RECLAIM) !== 0) this.reclaim();
  }

  private reclaim(): void {
    this.beforeReclaim?.();
    const deadSlot = reclaimDeadConsumer(this.parts, this.ring.producerIndex);
    if (deadSlot >= 0) this.onReclaimed?.(deadSlot);
  }

  counters(): QueueCounters {
    return readCounters(this.ctrl, this.f64);
  }

  close(): void {
    this.onClose?.();
    this.onClose = null;
  }
}

export { QueueConsumer } from './consumer.js';

/**
 * Takes back what a dead consumer held; returns its attach slot (-1 if none).
 * Must run where nothing can be enqueued meanwhile: in the queue's producer
 * thread, or, when the queue has no producer, with PROD_SLOT locked (see
 * Cluster). Packets still in the forward ring stay there for the next
 * consumer. The buffers tagged with this queue that are in neither ring are
 * the dead consumer's; they go back through the return ring, where the pool
 * owner takes them (the reclaimer stands in for the dead consumer as the
 * return ring's single producer).
 */
export function reclaimDeadConsumer(parts: QueueParts, prod: number): number {
  const ctrl = parts.ctrl;
  const deadSlot = Atomics.load(ctrl, Q.CONS_SLOT) - 1;
  // RET_CONS first (acquire): the pool owner rewrites tags before it
  // publishes RET_CONS, so buffers drained up to here no longer carry our id.
  const rc = Atomics.load(ctrl, Q.RET_CONS);
  const rp = Atomics.load(ctrl, Q.RET_PROD);
  const cons = Atomics.load(ctrl, Q.CONS);
  const inRings = new Uint8Array(parts.bufferCount); // rare path: allocation is fine here
  const fw = parts.forward;
  for (let i = cons; i !== prod; i = (i + 1) >>> 0) inRings[fw.slots[i & fw.mask]] = 1;
  const ret = parts.returns;
  for (let i = rc; i !== rp; i = (i + 1) >>> 0) inRings[ret.slots[i & ret.mask]] = 1;
  const meta = parts.meta;
  const held: number[] = [];
  for (let b = 0; b < parts.bufferCount; b++) {
    if (meta[b * META_WORDS + META_TAG] === parts.id && inRings[b] === 0) held.push(b);
  }
  ret.resync();
  const batch = Uint32Array.from(held);
  if (ret.enqueueBurst(batch, batch.length) !== batch.length) {
    throw new InvalidArgumentError(`queue ${parts.id}: return ring cannot take ${batch.length} reclaimed buffers: ${ret.describe()}`);
  }
  parts.ctrlF64[Q.RECLAIMED_BUFS_F64] += held.length;
  ctrl[Q.RECLAIMS] += 1;
  Atomics.add(ctrl, Q.GEN, 1); // a stalled consumer that wakes up finds itself evicted
  Atomics.store(ctrl, Q.WAITERS, 0);
  Atomics.store(ctrl, Q.CONS_SLOT, 0); // the queue is free for a new consumer
  Atomics.store(ctrl, Q.RECLAIM, 0);
  return deadSlot;
}
