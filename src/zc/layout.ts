// Where everything lives inside a cluster region. Computed identically by the
// owner (from options) and by an attaching process (from the header, after
// checking it), so both agree on every offset.
//
//   [header 4 KiB][attach table][pools][queues][buffer metadata][buffers]
//
// Buffers start on a 2 MiB boundary: page-aligned as AF_XDP's UMEM requires,
// and hugepage-aligned so the buffer area can be mapped on its own.
import { HEADER_BYTES, H } from '../memory/header.js';
import { META_WORDS } from './meta.js';
import { LINE_WORDS } from './ring.js';
import { InvalidArgumentError } from '../errors.js';

/** Cluster-specific header words (u32 indices, after the common header). */
export const CH = {
  ID: H.LAYOUT + 0,
  BUFFER_SIZE: H.LAYOUT + 1,
  BUFFER_COUNT: H.LAYOUT + 2,
  HEADROOM: H.LAYOUT + 3,
  QUEUE_COUNT: H.LAYOUT + 4,
  QUEUE_SLOTS: H.LAYOUT + 5,
  RETURN_SLOTS: H.LAYOUT + 6,
  POOL_COUNT: H.LAYOUT + 7,
  ATTACH_SLOTS: H.LAYOUT + 8,
  /** guests (no host pid) are declared dead after this many ms without a heartbeat */
  GUEST_TIMEOUT_MS: H.LAYOUT + 9,
  /** CLUSTER_FLAG bits (0 in regions written before the word had a use) */
  FLAGS: H.LAYOUT + 10,
  /** u32 words 64.. : pool sizes, one word per pool */
  POOL_SIZES: 64,
  /** u32 words 320.. : the pool each queue returns its buffers to */
  QUEUE_POOLS: 320,
} as const;
/**
 * PRIVATE: the cluster of one command run, under an id derived from its pid
 * (cli/private-cluster.ts), not one a user named: once its owner is dead,
 * the next command that creates a private cluster may remove its region.
 */
export const CLUSTER_FLAG = { PRIVATE: 1 } as const;

/** Cluster-specific f64 fields (float64 indices; words 32..63). */
export const CHF = {
  ATTACH_OFFSET: 16,
  POOLS_OFFSET: 17,
  QUEUES_OFFSET: 18,
  META_OFFSET: 19,
  BUFFER_OFFSET: 20,
  POOL_STRIDE: 21,
  QUEUE_STRIDE: 22,
} as const;

export const MAX_POOLS = 256;
export const MAX_QUEUES = (HEADER_BYTES / 4) - CH.QUEUE_POOLS; // 704

/** Attach table: one 64-byte slot per registered thread or process. */
export const ATTACH_SLOT_BYTES = 64;
/**
 * Slot words. HEARTBEAT is beaten by the thread holding the slot, from its
 * timer or from its loop (Cluster.beat): stall detection, and how a guest is
 * judged; PROC_BEAT by a timer of its process for all the process's slots:
 * how a checker in another PID namespace (PIDNS differs), which cannot look
 * the pid up, knows the process is still there.
 */
export const A = { STATE: 0, TID: 1, PID: 2, HEARTBEAT: 3, ROLE: 4, TARGET: 5, FLAGS: 6, PIDNS: 7, START_F64: 4, PROC_BEAT: 10 } as const;
export const ATTACH_STATE = { FREE: 0, CLAIMING: 1, LIVE: 2, DEAD: 3 } as const;
export const ROLE = { OWNER: 1, CONSUMER: 2, PRODUCER: 3, POOL: 4 } as const;
export const ATTACH_FLAG_GUEST = 1;

/** Pool control block: 256 bytes of words, then the free stack. */
export const POOL_CTRL_WORDS = 64;
export const P = { OWNER_SLOT: 0, COUNT: 1, CAPACITY: 2, FIRST: 3, NBUF: 4, ALLOC_FAIL_F64: 4 } as const;

/**
 * Queue control: six 128-byte lines, then the forward slots, then the return slots.
 * line 0 (producer writes): PROD, PROD_SLOT, counters IN, IN_BYTES, DROP_FULL
 * line 1 (consumer writes): CONS, CONS_SLOT, GEN, counters OUT
 * line 2 (consumer sets, producer reads): WAITERS (futex flag), RECLAIM request
 * line 3 (consumer writes): RET_PROD
 * line 4 (pool owner writes): RET_CONS
 * line 5 (set once): POOL, QUEUE id, CLOSED; reclaim counters
 */
export const Q = {
  PROD: 0, PROD_SLOT: 1, IN_F64: 1, IN_BYTES_F64: 2, DROP_FULL_F64: 3,
  CONS: LINE_WORDS, CONS_SLOT: LINE_WORDS + 1, GEN: LINE_WORDS + 2, OUT_F64: LINE_WORDS / 2 + 2,
  WAITERS: 2 * LINE_WORDS, RECLAIM: 2 * LINE_WORDS + 1,
  RET_PROD: 3 * LINE_WORDS,
  RET_CONS: 4 * LINE_WORDS,
  POOL: 5 * LINE_WORDS, QUEUE_ID: 5 * LINE_WORDS + 1, CLOSED: 5 * LINE_WORDS + 2, RECLAIMS: 5 * LINE_WORDS + 3,
  RECLAIMED_BUFS_F64: (5 * LINE_WORDS) / 2 + 4,
} as const;
export const QUEUE_CTRL_WORDS = 6 * LINE_WORDS;

/** Tags in META_TAG: which holder a buffer belongs to (see pool.ts). */
export const TAG_POOL = 0x80000000; // | pool id ; a queue id otherwise

export interface ClusterShape {
  id: number;
  bufferSize: number;
  bufferCount: number;
  headroom: number;
  queueCount: number;
  queueSlots: number;
  returnSlots: number;
  poolSizes: number[];
  queuePools: number[];
  attachSlots: number;
  guestTimeoutMs: number;
}

export interface ClusterLayout extends ClusterShape {
  attachOffset: number;
  poolsOffset: number;
  poolStride: number;
  queuesOffset: number;
  queueStride: number;
  metaOffset: number;
  bufferOffset: number;
  totalBytes: number;
}

const align = (n: number, a: number) => Math.ceil(n / a) * a;
const isPow2 = (n: number) => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;

export function validateShape(s: ClusterShape): void {
  const bad = (m: string) => { throw new InvalidArgumentError(m); };
  if (!Number.isInteger(s.id) || s.id < 0 || s.id > 0xffffffff) bad(`cluster id must be an integer 0..4294967295, got ${s.id}`);
  if (!isPow2(s.bufferSize) || s.bufferSize < 256 || s.bufferSize > 65536) bad(`bufferSize must be a power of two 256..65536, got ${s.bufferSize}`);
  if (!Number.isInteger(s.bufferCount) || s.bufferCount < 1 || s.bufferCount > 0x4000000) bad(`buffers must be 1..67108864, got ${s.bufferCount}`);
  if (!Number.isInteger(s.headroom) || s.headroom < 0 || s.headroom > s.bufferSize - 64 || s.headroom % 8 !== 0) bad(`headroom must be a multiple of 8 below bufferSize - 64, got ${s.headroom}`);
  if (!Number.isInteger(s.queueCount) || s.queueCount < 0 || s.queueCount > MAX_QUEUES) bad(`queues must be 0..${MAX_QUEUES}, got ${s.queueCount}`);
  if (!isPow2(s.queueSlots) || s.queueSlots < 2 || s.queueSlots > 1 << 24) bad(`queueLength must be a power of two 2..16777216, got ${s.queueSlots}`);
  if (s.poolSizes.length < 1 || s.poolSizes.length > MAX_POOLS) bad(`pools must be 1..${MAX_POOLS}`);
  if (s.poolSizes.reduce((a, b) => a + b, 0) !== s.bufferCount || s.poolSizes.some((n) => !Number.isInteger(n) || n < 0)) bad(`pool sizes ${s.poolSizes} must be non-negative and add up to buffers (${s.bufferCount})`);
  if (s.queuePools.length !== s.queueCount || s.queuePools.some((p) => p < 0 || p >= s.poolSizes.length)) bad('every queue must name an existing pool');
  if (!Number.isInteger(s.attachSlots) || s.attachSlots < 1 || s.attachSlots > 4096) bad(`attachSlots must be 1..4096, got ${s.attachSlots}`);
}

export function computeLayout(s: ClusterShape): ClusterLayout {
  validateShape(s);
  const attachOffset = HEADER_BYTES;
  const poolsOffset = align(attachOffset + s.attachSlots * ATTACH_SLOT_BYTES, 4096);
  const maxPool = Math.max(...s.poolSizes);
  const poolStride = align(POOL_CTRL_WORDS * 4 + maxPool * 4, 128);
  const queuesOffset = align(poolsOffset + poolStride * s.poolSizes.length, 4096);
  const queueStride = align(QUEUE_CTRL_WORDS * 4 + (s.queueSlots + s.returnSlots) * 4, 128);
  const metaOffset = align(queuesOffset + queueStride * s.queueCount, 4096);
  const bufferOffset = align(metaOffset + s.bufferCount * META_WORDS * 4, 2 * 1024 * 1024);
  const totalBytes = align(bufferOffset + s.bufferCount * s.bufferSize, 4096);
  return { ...s, attachOffset, poolsOffset, poolStride, queuesOffset, queueStride, metaOffset, bufferOffset, totalBytes };
}

/** Smallest power of two >= n. */
export function pow2AtLeast(n: number): number {
  let p = 2;
  while (p < n) p *= 2;
  return p;
}

export function writeShape(u32: Uint32Array, f64: Float64Array, l: ClusterLayout): void {
  u32[CH.ID] = l.id;
  u32[CH.BUFFER_SIZE] = l.bufferSize;
  u32[CH.BUFFER_COUNT] = l.bufferCount;
  u32[CH.HEADROOM] = l.headroom;
  u32[CH.QUEUE_COUNT] = l.queueCount;
  u32[CH.QUEUE_SLOTS] = l.queueSlots;
  u32[CH.RETURN_SLOTS] = l.returnSlots;
  u32[CH.POOL_COUNT] = l.poolSizes.length;
  u32[CH.ATTACH_SLOTS] = l.attachSlots;
  u32[CH.GUEST_TIMEOUT_MS] = l.guestTimeoutMs;
  l.poolSizes.forEach((n, i) => { u32[CH.POOL_SIZES + i] = n; });
  l.queuePools.forEach((p, i) => { u32[CH.QUEUE_POOLS + i] = p; });
  f64[CHF.ATTACH_OFFSET] = l.attachOffset;
  f64[CHF.POOLS_OFFSET] = l.poolsOffset;
  f64[CHF.QUEUES_OFFSET] = l.queuesOffset;
  f64[CHF.META_OFFSET] = l.metaOffset;
  f64[CHF.BUFFER_OFFSET] = l.bufferOffset;
  f64[CHF.POOL_STRIDE] = l.poolStride;
  f64[CHF.QUEUE_STRIDE] = l.queueStride;
}

/** Reads the shape back from a header and recomputes the layout; throws on any inconsistency. */
export function readLayout(u32: Uint32Array, f64: Float64Array): ClusterLayout {
  const poolCount = u32[CH.POOL_COUNT];
  const queueCount = u32[CH.QUEUE_COUNT];
  if (poolCount < 1 || poolCount > MAX_POOLS || queueCount > MAX_QUEUES) throw new InvalidArgumentError(`header has ${poolCount} pools and ${queueCount} queues: out of range`);
  const shape: ClusterShape = {
    id: u32[CH.ID],
    bufferSize: u32[CH.BUFFER_SIZE],
    bufferCount: u32[CH.BUFFER_COUNT],
    headroom: u32[CH.HEADROOM],
    queueCount,
    queueSlots: u32[CH.QUEUE_SLOTS],
    returnSlots: u32[CH.RETURN_SLOTS],
    poolSizes: Array.from(u32.subarray(CH.POOL_SIZES, CH.POOL_SIZES + poolCount)),
    queuePools: Array.from(u32.subarray(CH.QUEUE_POOLS, CH.QUEUE_POOLS + queueCount)),
    attachSlots: u32[CH.ATTACH_SLOTS],
    guestTimeoutMs: u32[CH.GUEST_TIMEOUT_MS],
  };
  const l = computeLayout(shape);
  const stored = [f64[CHF.ATTACH_OFFSET], f64[CHF.POOLS_OFFSET], f64[CHF.QUEUES_OFFSET], f64[CHF.META_OFFSET], f64[CHF.BUFFER_OFFSET], f64[CHF.POOL_STRIDE], f64[CHF.QUEUE_STRIDE]];
  const computed = [l.attachOffset, l.poolsOffset, l.queuesOffset, l.metaOffset, l.bufferOffset, l.poolStride, l.queueStride];
  if (stored.some((v, i) => v !== computed[i])) throw new InvalidArgumentError(`header offsets ${stored} disagree with the layout computed from its shape ${computed}`);
  return l;
}
