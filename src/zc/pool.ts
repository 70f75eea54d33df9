// A buffer pool: a stack of free buffer indices in shared memory, owned by
// exactly one thread at a time (the attach table says which). alloc/free are
// plain array operations in that thread; other threads and processes give
// buffers back through the return ring of the queue they consumed from, and
// the owner drains those rings when its stack runs low. No locks anywhere.
//
// Every buffer carries a holder tag (META_TAG): TAG_POOL|p while it belongs to
// pool p (free, or in its owner's hands, or in a device ring it fills), the
// queue id q from the moment it is published on queue q until the pool owner
// drains it back. Tags make reclaim exact: after a death, the buffers tagged q
// that are in neither of q's rings are the ones the dead consumer held.
//
// Sharing (fanout): after enableSharing(queues), the owner may hand one buffer
// to several of those queues at once. Per buffer it keeps a holder mask (one
// bit per sharing queue, owner-local, so no atomics): drain clears the bit of
// the queue a copy came back from and stacks the buffer only when no holder is
// left. A shared buffer is tagged TAG_SHARED|pool, which matches no queue id,
// so the core's per-queue reclaim skips it; the owner reclaims shared buffers
// itself with releaseHeldBy() (see src/workers/fanout.ts). Without
// enableSharing nothing of this runs. Limits: up to 32 sharing queues per
// pool; shared buffers must come back through the queue they were sent on;
// rebuildPool (owner death) cannot recover buffers shared at that moment.
import { META_TAG, META_WORDS, type BufferSource } from './meta.js';
import { P, Q, TAG_POOL } from './layout.js';
import { SpscRing } from './ring.js';
import { InvalidArgumentError } from '../errors.js';

/** Tag of a buffer shared by several queues: TAG_SHARED | pool id (never a queue id, never TAG_POOL|p). */
export const TAG_SHARED = 0x40000000;
/** Most queues one pool can share a buffer between (bits of the holder mask). */
export const MAX_SHARING_QUEUES = 32;

export interface PoolParts {
  id: number;
  /** pool control block + stack (u32 view starting at the control block) */
  words: Uint32Array;
  f64: Float64Array; // over the control block (for counters)
  meta: Uint32Array;
  bufferCount: number;
  first: number;
  size: number;
  /** consumer side of the return ring of every queue bound to this pool */
  returns: SpscRing[];
}

/** Pools with at most this many return rings drain them on every alloc (see alloc). */
const EAGER_DRAIN_RINGS = 8;

export class BufferPool implements BufferSource {
  readonly id: number;
  readonly tag: number;
  readonly first: number;
  readonly size: number;
  private readonly words: Uint32Array;
  private readonly f64: Float64Array;
  private readonly stack: Uint32Array;
  private readonly meta: Uint32Array;
  private readonly returns: SpscRing[];
  private readonly bufferCount: number;
  private count: number;
  private detached = false;
  /** called after detach so the cluster can free the attach slot */
  onDetach: (() => void) | null = null;
  // Sharing state (null until enableSharing): holder mask per buffer, bit per queue id and per return ring.
  private holders: Uint32Array | null = null;
  private queueBits: Map<number, number> | null = null;
  private ringBits: Uint32Array | null = null;
  /** returns of a shared buffer from a queue that did not hold it (a bug upstream); ignored */
  spuriousReturns = 0;

  constructor(parts: PoolParts) {
    this.id = parts.id;
    this.tag = (TAG_POOL | parts.id) >>> 0;
    this.first = parts.first;
    this.size = parts.size;
    this.words = parts.words;
    this.f64 = parts.f64;
    this.stack = parts.words.subarray(64, 64 + parts.size);
    this.meta = parts.meta;
    this.returns = parts.returns;
    this.bufferCount = parts.bufferCount;
    this.count = parts.words[P.COUNT];
  }

  private allocCalls = 0;

  /** Free buffers on the stack (not counting those waiting in return rings). */
  get available(): number {
    return this.count;
  }

  /** Best effort: fills out[0..k) with free buffers, after taking back what the return rings hold. */
  alloc(out: Uint32Array, n: number): number {
    // Drain first, not only when the stack runs short: returned buffers go on
    // top and are handed out next while their lines are still in cache (a
    // stack drained only when empty cycles through the whole pool, so every
    // packet misses the cache on its buffer's metadata and headers). Each ring
    // costs an atomic load (~7 ns on Node 20): with many rings, every 8th call.
    const r = this.returns.length;
    let count = this.count;
    if (r > 0 && (count < n || r <= EAGER_DRAIN_RINGS || (++this.allocCalls & 7) === 0)) count = this.drain();
    const k = n < count ? n : count;
    const stack = this.stack;
    for (let i = 0; i < k; i++) out[i] = stack[--count];
    this.count = count;
    this.words[P.COUNT] = count; // plain store: only for `stats` readers and rebuilds
    if (k < n) this.f64[P.ALLOC_FAIL_F64] += n - k;
    return k;
  }

  /** One buffer, or -1 when none is free. */
  allocOne(): number {
    if (this.count === 0 && this.drain() === 0) return -1;
    const b = this.stack[--this.count];
    this.words[P.COUNT] = this.count;
    return b;
  }

  /** Takes back n buffers the calling (owner) thread holds. */
  free(indices: ArrayLike<number>, n: number): void {
    let count = this.count;
    if (count + n > this.size) {
      throw new InvalidArgumentError(`pool ${this.id}: freeing ${n} buffers onto ${count} free of ${this.size}: a buffer was freed twice or belongs to another pool`);
    }
    const stack = this.stack;
    const meta = this.meta;
    const tag = this.tag;
    const limit = this.bufferCount;
    for (let i = 0; i < n; i++) {
      const b = indices[i] >>> 0;
      if (b >= limit) throw new InvalidArgumentError(`pool ${this.id}: buffer index ${b} out of range (cluster has ${limit})`);
      meta[b * META_WORDS + META_TAG] = tag;
      stack[count++] = b;
    }
    this.count = count;
    this.words[P.COUNT] = count;
  }

  freeOne(index: number): void {
    this.scratch1[0] = index;
    this.free(this.scratch1, 1);
  }
  private readonly scratch1 = new Uint32Array(1);

  /**
   * Moves every buffer waiting in the return rings onto the stack; returns
   * the new free count. Tags are rewritten before the ring slots are released,
   * so a reclaim scan that loads RET_CONS afterwards never sees a drained
   * buffer still tagged with its queue (see zc/queue.ts, reclaim()).
   */
  drain(): number {
    if (this.holders !== null) return this.drainShared();
    let count = this.count;
    const stack = this.stack;
    const meta = this.meta;
    const tag = this.tag;
    const limit = this.bufferCount;
    for (const r of this.returns) {
      const room = this.size - count;
      if (room === 0) break;
      const k = r.peekBurst(stack, room, count);
      for (let i = count; i < count + k; i++) {
        const b = stack[i];
        if (b >= limit) throw new InvalidArgumentError(`pool ${this.id}: return ring delivered buffer index ${b} out of range: ${r.describe()}`);
        meta[b * META_WORDS + META_TAG] = tag;
      }
      r.releasePeeked(k); // publish RET_CONS after the tags
      count += k;
    }
    this.count = count;
    this.words[P.COUNT] = count;
    return count;
  }

  /**
   * Lets this pool share buffers between `queues` (ids of queues returning to
   * this pool, at most 32): afterwards hold() gives a buffer several holders.
   * A negative entry is a holder that is not a queue (e.g. a TX device, which
   * gives buffers back with unhold()). Returns each entry's holder bit, in order.
   */
  enableSharing(queues: readonly number[]): number[] {
    if (queues.length > MAX_SHARING_QUEUES) throw new InvalidArgumentError(`pool ${this.id}: a buffer can be shared by at most ${MAX_SHARING_QUEUES} queues, got ${queues.length}: use fewer outputs or more pools`);
    const bits = new Map<number, number>();
    queues.forEach((q, i) => {
      if (q >= 0 && bits.has(q)) throw new InvalidArgumentError(`pool ${this.id}: queue ${q} listed twice for sharing`);
      bits.set(q >= 0 ? q : -1 - i, (1 << i) >>> 0);
    });
    const ringBits = new Uint32Array(this.returns.length);
    const mine = new Set<number>();
    this.returns.forEach((r, i) => {
      const q = r.ctrl[Q.QUEUE_ID];
      mine.add(q);
      ringBits[i] = bits.get(q) ?? 0;
    });
    for (const q of queues) if (q >= 0 && !mine.has(q)) throw new InvalidArgumentError(`pool ${this.id}: queue ${q} returns its buffers to another pool; bind it to pool ${this.id} (queuePools) to share through it`);
    this.holders ??= new Uint32Array(this.bufferCount);
    this.queueBits = bits;
    this.ringBits = ringBits;
    return queues.map((_, i) => (1 << i) >>> 0);
  }

  /** The holder bit of a sharing queue (0 when the queue does not share). */
  bitOf(queue: number): number {
    return queue >= 0 ? this.queueBits?.get(queue) ?? 0 : 0;
  }

  /** Owner: buffer b is (about to be) held by the queues whose bits are in `mask`. */
  hold(b: number, mask: number): void {
    this.holders![b] = mask;
  }

  /** Owner: marks b as shared for reclaim (after the sends tagged it with one queue). */
  tagShared(b: number): void {
    this.meta[b * META_WORDS + META_TAG] = (TAG_SHARED | this.id) >>> 0;
  }

  /** Holder mask of b (0: not shared, or every holder gave it back). */
  holdersOf(b: number): number {
    return this.holders === null ? 0 : this.holders[b];
  }

  /** Owner: the holders in `bit` will not give b back (dropped, or sent to a device that completed); frees b when none is left. */
  unhold(b: number, bit: number): boolean {
    const holders = this.holders!;
    const left = (holders[b] & ~bit) >>> 0;
    holders[b] = left;
    if (left !== 0) return false;
    this.freeOne(b);
    return true;
  }

  /**
   * Owner, reclaim of a dead consumer of the sharing queue with `bit`: every
   * buffer that queue holds and that is not in `inRings` (its forward and
   * return rings) was in the dead consumer's hands: drop that holder.
   * Returns how many buffers were released that way.
   */
  releaseHeldBy(bit: number, inRings: Uint8Array): number {
    const holders = this.holders;
    if (holders === null || bit === 0) return 0;
    let n = 0;
    for (let b = 0; b < holders.length; b++) {
      if ((holders[b] & bit) !== 0 && inRings[b] === 0) {
        this.unhold(b, bit);
        n++;
      }
    }
    return n;
  }

  /** drain() for a sharing pool: a buffer goes on the stack when its last holder gave it back. */
  private drainShared(): number {
    let count = this.count;
    const stack = this.stack;
    const meta = this.meta;
    const tag = this.tag;
    const limit = this.bufferCount;
    const holders = this.holders!;
    const ringBits = this.ringBits!;
    for (let ri = 0; ri < this.returns.length; ri++) {
      const r = this.returns[ri];
      const room = this.size - count;
      if (room === 0) break;
      const k = r.peekBurst(stack, room, count);
      const bit = ringBits[ri];
      let w = count;
      for (let i = count; i < count + k; i++) {
        const b = stack[i];
        if (b >= limit) throw new InvalidArgumentError(`pool ${this.id}: return ring delivered buffer index ${b} out of range: ${r.describe()}`);
        const h = holders[b];
        if (h !== 0) {
          if ((h & bit) === 0) { this.spuriousReturns++; continue; }
          const left = (h & ~bit) >>> 0;
          holders[b] = left;
          if (left !== 0) continue; // other holders still have it
        }
        meta[b * META_WORDS + META_TAG] = tag;
        stack[w++] = b;
      }
      r.releasePeeked(k); // publish RET_CONS after the tags
      count = w;
    }
    this.count = count;
    this.words[P.COUNT] = count;
    return count;
  }

  /** Times alloc could not satisfy a request in full. */
  get allocFailures(): number {
    return this.f64[P.ALLOC_FAIL_F64];
  }

  /** Gives up ownership (buffers stay in shared memory for the next owner). */
  detach(): void {
    if (this.detached) return;
    this.detached = true;
    this.onDetach?.();
  }
}

/**
 * After the previous owner died, rebuilds the stack from the tags: every
 * buffer of the pool's range tagged with the pool belongs on it (whatever the
 * dead owner held in hand or in a device ring is free again).
 */
export function rebuildPool(words: Uint32Array, meta: Uint32Array, id: number, first: number, size: number, bufferCount: number): number {
  const tag = (TAG_POOL | id) >>> 0;
  const stack = words.subarray(64, 64 + size);
  let count = 0;
  for (let b = 0; b < bufferCount && count < size; b++) {
    if (meta[b * META_WORDS + META_TAG] === tag) stack[count++] = b;
  }
  words[P.COUNT] = count;
  return count;
}
