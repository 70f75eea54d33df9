// A single-producer / single-consumer ring of u32 buffer indices in shared
// memory: the primitive under every queue (rte_ring SP/SC, Snabb's link).
//
// Indices are free-running u32 counters: used = (prod - cons) >>> 0, slot =
// index & mask. They wrap at 2^32 without special cases because the size is a
// power of two. The producer owns `prod`, the consumer owns `cons`; each sits
// on its own 128-byte line (two cache lines: no false sharing, no adjacent-line
// prefetch ping-pong).
//
// Memory ordering (JS Atomics are sequentially consistent, which is at least
// release/acquire):
//   producer: plain stores to slots  ->  Atomics.store(PROD)   [publish]
//   consumer: Atomics.load(PROD)     ->  plain loads of slots  [pairs with publish]
//   consumer: plain loads of slots   ->  Atomics.store(CONS)   [release slots]
//   producer: Atomics.load(CONS)     ->  plain stores to slots [pairs with release]
// Each side caches the other side's index and reloads it only when the cached
// value says the ring is full (producer) or empty (consumer): one shared load
// per burst at most.
//
// Naming follows DPDK: *Burst moves as many as possible (best effort), *Bulk
// moves all n or none.

/** Words of one control line (128 bytes). */
export const LINE_WORDS = 32;

export interface RingLayout {
  /** u32 view holding the PROD word */
  ctrl: Uint32Array;
  /** word index of PROD in ctrl */
  prodWord: number;
  /** word index of CONS in ctrl */
  consWord: number;
  /** the slots, exactly `size` u32 words */
  slots: Uint32Array;
}

export class SpscRing {
  readonly size: number;
  readonly mask: number;
  readonly ctrl: Uint32Array;
  readonly slots: Uint32Array;
  readonly prodWord: number;
  readonly consWord: number;
  // Producer-side state (only the producer uses these).
  private prod: number;
  private consCache: number;
  // Consumer-side state (only the consumer uses these).
  private cons: number;
  private prodCache: number;

  constructor(layout: RingLayout) {
    const size = layout.slots.length;
    if (size < 2 || (size & (size - 1)) !== 0 || size > 0x40000000) {
      throw new RangeError(`ring size must be a power of two between 2 and 2^30, got ${size}`);
    }
    this.size = size;
    this.mask = size - 1;
    this.ctrl = layout.ctrl;
    this.slots = layout.slots;
    this.prodWord = layout.prodWord;
    this.consWord = layout.consWord;
    this.prod = Atomics.load(this.ctrl, this.prodWord);
    this.cons = Atomics.load(this.ctrl, this.consWord);
    this.consCache = this.cons;
    this.prodCache = this.prod;
  }

  /** Re-reads both indices from shared memory (after a takeover or a reset). */
  resync(): void {
    this.prod = Atomics.load(this.ctrl, this.prodWord);
    this.cons = Atomics.load(this.ctrl, this.consWord);
    this.consCache = this.cons;
    this.prodCache = this.prod;
  }

  /** Producer: free slots, refreshing the consumer index if needed for `want`. */
  freeCount(want = this.size): number {
    let free = this.size - ((this.prod - this.consCache) >>> 0);
    if (free < want) {
      this.consCache = Atomics.load(this.ctrl, this.consWord); // pairs with the consumer's CONS store
      free = this.size - ((this.prod - this.consCache) >>> 0);
    }
    return free;
  }

  /** Consumer: filled slots, refreshing the producer index if needed for `want`. */
  usedCount(want = 1): number {
    let used = (this.prodCache - this.cons) >>> 0;
    if (used < want) {
      this.prodCache = Atomics.load(this.ctrl, this.prodWord); // pairs with the producer's PROD store
      used = (this.prodCache - this.cons) >>> 0;
    }
    return used;
  }

  /** Producer, best effort: enqueues src[0..k), k <= n, returns k. */
  enqueueBurst(src: Uint32Array, n: number): number {
    const free = this.freeCount(n);
    if (n > free) n = free;
    if (n === 0) return 0;
    const slots = this.slots;
    const mask = this.mask;
    const prod = this.prod;
    const start = prod & mask;
    const first = Math.min(n, this.size - start);
    for (let i = 0; i < first; i++) slots[start + i] = src[i];
    for (let i = first; i < n; i++) slots[i - first] = src[i];
    this.prod = (prod + n) >>> 0;
    Atomics.store(this.ctrl, this.prodWord, this.prod); // publish: pairs with the consumer's PROD load
    return n;
  }

  /** Producer, all or nothing: enqueues all n or returns 0. */
  enqueueBulk(src: Uint32Array, n: number): number {
    return this.freeCount(n) < n ? 0 : this.enqueueBurst(src, n);
  }

  /** Consumer, best effort: dequeues up to max into dst[at..at+k), returns k. */
  dequeueBurst(dst: Uint32Array, max: number, at = 0): number {
    let n = this.usedCount(max);
    if (n > max) n = max;
    if (n === 0) return 0;
    const slots = this.slots;
    const cons = this.cons;
    const start = cons & this.mask;
    const first = Math.min(n, this.size - start);
    for (let i = 0; i < first; i++) dst[at + i] = slots[start + i];
    for (let i = first; i < n; i++) dst[at + i] = slots[i - first];
    this.cons = (cons + n) >>> 0;
    Atomics.store(this.ctrl, this.consWord, this.cons); // release the slots: pairs with the producer's CONS load
    return n;
  }

  /**
   * Consumer, two-phase (libxdp's peek/release): copies up to max indices into
   * dst[at..] without releasing the slots; `releasePeeked(k)` then publishes.
   * Lets the caller finish its own writes (e.g. buffer tags) before the
   * producer can see the slots as free.
   */
  peekBurst(dst: Uint32Array, max: number, at = 0): number {
    let n = this.usedCount(max);
    if (n > max) n = max;
    const slots = this.slots;
    const mask = this.mask;
    const cons = this.cons;
    for (let i = 0; i < n; i++) dst[at + i] = slots[(cons + i) & mask];
    return n;
  }

  /** Consumer: releases k slots returned by peekBurst. */
  releasePeeked(k: number): void {
    this.cons = (this.cons + k) >>> 0;
    Atomics.store(this.ctrl, this.consWord, this.cons); // pairs with the producer's CONS load
  }

  /** Consumer, all or nothing. */
  dequeueBulk(dst: Uint32Array, n: number, at = 0): number {
    return this.usedCount(n) < n ? 0 : this.dequeueBurst(dst, n, at);
  }

  /** Producer's index as this side last published it. */
  get producerIndex(): number {
    return this.prod;
  }

  /** Consumer's index as this side last published it. */
  get consumerIndex(): number {
    return this.cons;
  }

  /** A one-line dump of the shared state, for test failures and `ringzero stats`. */
  describe(): string {
    const p = Atomics.load(this.ctrl, this.prodWord);
    const c = Atomics.load(this.ctrl, this.consWord);
    return `ring{size=${this.size} prod=${p} cons=${c} used=${(p - c) >>> 0} local.prod=${this.prod} local.cons=${this.cons}}`;
  }
}

/** Makes a ring over fresh memory (tests, in-process use). */
export function createLocalRing(size: number, shared = true): SpscRing {
  const bytes = LINE_WORDS * 4 * 2 + size * 4;
  const buf = shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
  return new SpscRing({
    ctrl: new Uint32Array(buf, 0, LINE_WORDS * 2),
    prodWord: 0,
    consWord: LINE_WORDS,
    slots: new Uint32Array(buf, LINE_WORDS * 2 * 4, size),
  });
}
