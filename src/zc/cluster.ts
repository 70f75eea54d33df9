// A cluster: one shared region holding buffers, their metadata, pools and
// queues, created by one owner process and attached by others by id (PF_RING
// ZC's cluster). See layout.ts for where things are, pool.ts and queue.ts for
// the protocols, cluster-region.ts for the region file and
// cluster-ownership.ts for who may hold a pool or a queue end.
import { H, REGION_STATE } from '../memory/header.js';
import { createRegion, removeRegion, unmapRegion, type Region } from '../memory/region.js';
import { native } from '../native/index.js';
import { ClusterClosedError, InvalidArgumentError, errnoOf } from '../errors.js';
import { AttachTable, beatNow } from './attach.js';
import { CH, CLUSTER_FLAG, computeLayout, P, pow2AtLeast, Q, readLayout, ROLE, type ClusterLayout } from './layout.js';
import { META_OFF, META_WORDS, type BufferMemory } from './meta.js';
import type { BufferPool } from './pool.js';
import { readCounters, type QueueCounters, type QueueProducer } from './queue.js';
import type { QueueConsumer } from './consumer.js';
import type { AttachOptions, ClusterHandle, ClusterOptions } from './cluster-options.js';
import { describeOwner, findRegion, initRegion, ownerLiveness, regionName, removeIfStale, validateHeader } from './cluster-region.js';
import { ClusterOwnership } from './cluster-ownership.js';

export type { ClusterOptions, AttachOptions, ClusterHandle } from './cluster-options.js';
export { regionName, inspectRegion } from './cluster-region.js';

export class Cluster {
  readonly id: number;
  readonly layout: ClusterLayout;
  readonly memory: BufferMemory;
  readonly path: string;
  readonly hugetlb: boolean;
  readonly isOwner: boolean;
  /** packet buffers are mapped read-only in this process (AttachOptions.readOnlyPackets) */
  readOnlyPackets = false;
  readonly attach: AttachTable;
  private readonly u32: Uint32Array;
  private readonly f64: Float64Array;
  private readonly region: Region | null; // null when this object shares a parent thread's mapping
  private readonly guest: boolean;
  private timer: NodeJS.Timeout | null = null;
  private beatTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private ownerSlot = -1;
  private readonly slots = new Set<number>();
  private readonly ownership: ClusterOwnership;
  // Guests: the owner's heartbeat word as last seen, and when (our clock) it changed.
  private ownerBeat = -1;
  private ownerBeatAt = 0;

  private constructor(sab: SharedArrayBuffer, path: string, hugetlb: boolean, owner: boolean, region: Region | null, guest: boolean, stallTimeoutMs: number) {
    this.u32 = new Uint32Array(sab);
    this.f64 = new Float64Array(sab, 0, Math.floor(sab.byteLength / 8));
    this.layout = readLayout(this.u32, this.f64);
    this.id = this.layout.id;
    this.path = path;
    this.hugetlb = hugetlb;
    this.isOwner = owner;
    this.region = region;
    this.guest = guest;
    const l = this.layout;
    this.attach = new AttachTable(this.u32, this.f64, l.attachOffset, l.attachSlots);
    this.memory = {
      sab,
      bufferOffset: l.bufferOffset,
      bufferSize: l.bufferSize,
      bufferCount: l.bufferCount,
      headroom: l.headroom,
      bytes: new Uint8Array(sab),
      meta: new Uint32Array(sab, l.metaOffset, l.bufferCount * META_WORDS),
    };
    this.ownership = new ClusterOwnership(this.id, l, this.memory, this.attach, guest, stallTimeoutMs, this.slots, () => this.checkOwner());
  }

  /** Creates a cluster owned by the calling process. */
  static create(opts: ClusterOptions): Cluster {
    const bufferCount = opts.buffers ?? 4096;
    const queueCount = opts.queues ?? 0;
    const poolSizes = Array.isArray(opts.pools) ? opts.pools : splitEven(bufferCount, opts.pools ?? 1);
    const layout = computeLayout({
      id: opts.id,
      bufferSize: opts.bufferSize ?? 2048,
      bufferCount,
      headroom: opts.headroom ?? 0,
      queueCount,
      queueSlots: opts.queueLength ?? 4096,
      returnSlots: pow2AtLeast(Math.max(...poolSizes, 2)),
      poolSizes,
      queuePools: opts.queuePools ?? new Array(queueCount).fill(0),
      attachSlots: opts.attachSlots ?? Math.min(4096, 2 * queueCount + poolSizes.length + 16),
      guestTimeoutMs: opts.guestTimeoutMs ?? 3000,
    });
    const name = regionName(opts.id);
    const size = opts.powerOfTwoSize ? pow2AtLeast(layout.totalBytes) : layout.totalBytes;
    let region: Region;
    try {
      region = createRegion({ name, size, hugepages: opts.hugepages ?? 'auto', group: opts.group });
    } catch (e) {
      if (errnoOf(e) !== 'EEXIST') throw e;
      removeIfStale(opts.id, opts.onWarning ?? ((m) => process.emitWarning(m, { code: 'RINGZERO_STALE_REGION' })));
      region = createRegion({ name, size, hugepages: opts.hugepages ?? 'auto', group: opts.group });
    }
    initRegion(region.sab, layout);
    if (opts.private) new Uint32Array(region.sab)[CH.FLAGS] = CLUSTER_FLAG.PRIVATE;
    const c = new Cluster(region.sab, region.path, region.hugetlb, true, region, false, opts.stallTimeoutMs ?? 0);
    c.ownerSlot = c.attach.claim(ROLE.OWNER, 0);
    Atomics.store(c.u32, H.STATE, REGION_STATE.READY); // attachers may now trust the header
    c.startBeats();
    c.startLiveness(opts.livenessIntervalMs ?? 200);
    return c;
  }

  /** Attaches to a cluster created by another process. */
  static attach(id: number, opts: AttachOptions = {}): Cluster {
    const validate = (head: Uint8Array, size: number, path: string) => validateHeader(head, size, path, id);
    const region = findRegion(id, opts.path, validate);
    // A BAR is only ever mapped inside a VM: no host pid, alive by heartbeat.
    const guest = opts.guest ?? 'bar' in region;
    const c = new Cluster(region.sab, region.path, region.hugetlb, false, region, guest, 0);
    c.checkOwner();
    if (opts.readOnlyPackets) {
      // The buffer area starts on a 2 MiB boundary (layout.ts), so this is page-aligned even on hugetlbfs.
      native.mprotect(region.sab, c.layout.bufferOffset, region.sab.byteLength - c.layout.bufferOffset, false);
      c.readOnlyPackets = true;
    }
    c.startBeats();
    return c;
  }

  /** Uses, from a worker thread, a cluster mapped by another thread of this process. */
  static fromHandle(h: ClusterHandle): Cluster {
    const c = new Cluster(h.sab, h.path, false, false, null, h.guest ?? false, 0);
    // This thread's slots are beaten by this thread: by the timer while its event loop runs, by
    // beat() from a loop that keeps it from running (a worker's). PROC_BEAT: any thread's timer.
    c.startBeats();
    return c;
  }

  /** A structured-cloneable handle for worker threads (postMessage / workerData). */
  handle(): ClusterHandle {
    return { sab: this.memory.sab, path: this.path, owner: this.isOwner, guest: this.guest };
  }

  // ---- pools -------------------------------------------------------------

  /** Takes ownership of pool p for the calling thread. */
  pool(p = 0): BufferPool {
    this.assertOpen();
    if (this.readOnlyPackets) throw new InvalidArgumentError(`cluster ${this.id} is attached with read-only packet memory: this process can consume but not own a pool (attach without readOnlyPackets to produce)`);
    return this.ownership.pool(p);
  }

  // ---- queues ------------------------------------------------------------

  /**
   * The producing end of queue q for the calling thread. Dropped buffers go to
   * `dropSink` (normally the pool the caller allocates from).
   */
  producer(q: number, dropSink: { free(indices: ArrayLike<number>, n: number): void }): QueueProducer {
    this.assertOpen();
    return this.ownership.producer(q, dropSink);
  }

  /**
   * The consuming end of queue q for the calling thread. If the previous
   * consumer died, waits up to `waitReclaimMs` for the producer to reclaim it.
   */
  consumer(q: number, opts: { waitReclaimMs?: number } = {}): QueueConsumer {
    this.assertOpen();
    return this.ownership.consumer(q, opts);
  }

  /** Counters of queue q, readable from any process. */
  queueCounters(q: number): QueueCounters {
    const p = this.ownership.queueParts(q);
    return readCounters(p.ctrl, p.ctrlF64);
  }

  // ---- buffers -----------------------------------------------------------

  /** Byte offset (in memory.bytes) of the packet in buffer b. */
  dataOffset(b: number): number {
    return this.layout.bufferOffset + b * this.layout.bufferSize + this.memory.meta[b * META_WORDS + META_OFF];
  }

  /** A fresh view of buffer b's whole payload area (allocates: not for the data path). */
  bufferView(b: number): Uint8Array {
    if (!(b >= 0 && b < this.layout.bufferCount)) throw new InvalidArgumentError(`buffer ${b} out of range`);
    return new Uint8Array(this.memory.sab, this.layout.bufferOffset + b * this.layout.bufferSize, this.layout.bufferSize);
  }

  /** Free buffers per pool (as last published by each pool owner). */
  poolFree(p: number): number {
    const l = this.layout;
    return new Uint32Array(this.memory.sab, l.poolsOffset + p * l.poolStride, 8)[P.COUNT];
  }

  // ---- liveness ----------------------------------------------------------

  /** Owner: finds dead parties and asks producers to reclaim their queues. Returns the dead slots. */
  checkLiveness(): number[] {
    return this.ownership.checkLiveness();
  }

  private startLiveness(intervalMs: number): void {
    if (intervalMs <= 0) return;
    this.timer = setInterval(() => this.checkLiveness(), intervalMs);
    this.timer.unref();
  }

  /**
   * Beats the heartbeat of every slot this object holds (those the thread
   * using it claimed: its pools, producers and consumers). The timer does it
   * while the thread's event loop runs; a loop that keeps it from running (a
   * worker's) calls this itself, a few times a second, so a stalled thread's
   * heartbeat grows old and a running one's stays fresh.
   */
  beat(): void {
    for (const s of this.slots) this.attach.beat(s);
  }

  /**
   * The beats that let others judge this process without looking up its
   * pid (checkers in another PID namespace, a VM): the owner's heartbeat in
   * the header, the heartbeat of this object's slots (beat(); guests are
   * judged by it), and PROC_BEAT of every slot this process holds, from any
   * of its threads (attach.ts beatProcess). Six per guest timeout, so a missed
   * one or two never looks like death.
   */
  private startBeats(): void {
    const every = Math.max(20, Math.floor(this.layout.guestTimeoutMs / 6));
    const beat = () => {
      if (this.isOwner) {
        this.u32[H.OWNER_HEARTBEAT] = beatNow();
        if (this.ownerSlot >= 0) this.attach.beat(this.ownerSlot);
      }
      this.beat();
      if (!this.guest) this.attach.beatProcess();
    };
    beat();
    this.beatTimer = setInterval(beat, every);
    this.beatTimer.unref();
  }


  /** Throws ClusterClosedError if the owner closed the cluster or is gone. */
  checkOwner(): void {
    if (Atomics.load(this.u32, H.STATE) === REGION_STATE.CLOSED) {
      throw new ClusterClosedError(`cluster ${this.id} was shut down by its owner (pid ${this.u32[H.OWNER_PID]})`);
    }
    if (this.guest) {
      // The owner's beats carry the host's clock, which the guest's need not
      // match: judge by when we saw the word change, on our own clock.
      const beat = this.u32[H.OWNER_HEARTBEAT];
      const now = Date.now();
      if (beat !== this.ownerBeat) { this.ownerBeat = beat; this.ownerBeatAt = now; }
      const age = now - this.ownerBeatAt;
      if (age > this.layout.guestTimeoutMs) throw new ClusterClosedError(`cluster ${this.id}: no heartbeat from its owner for ${age} ms: the owner is gone`);
    } else if (!this.isOwner) {
      const o = ownerLiveness(this.u32, this.f64);
      if (!o.alive) throw new ClusterClosedError(`cluster ${this.id}: its owner (${describeOwner(this.u32, o)}) died; restart it`);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new ClusterClosedError(`cluster ${this.id} is closed in this process`);
  }

  /**
   * Owner: marks the cluster closed (attached consumers get ClusterClosedError),
   * wakes sleepers, removes the region file and unmaps. Attached: releases
   * this process's registrations and unmaps. Idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.beatTimer) clearInterval(this.beatTimer);
    for (const s of this.slots) this.attach.release(s);
    this.slots.clear();
    if (this.isOwner && this.region) {
      Atomics.store(this.u32, H.STATE, REGION_STATE.CLOSED);
      for (let q = 0; q < this.layout.queueCount; q++) native.futexWake(this.ownership.queueParts(q).ctrl, Q.PROD * 4, 1 << 30);
      if (this.ownerSlot >= 0) this.attach.release(this.ownerSlot);
      removeRegion(this.region.path);
    }
    if (this.region) unmapRegion(this.region);
  }
}

function splitEven(total: number, parts: number): number[] {
  if (!Number.isInteger(parts) || parts < 1) throw new InvalidArgumentError(`pools must be >= 1, got ${parts}`);
  const out = new Array(parts).fill(Math.floor(total / parts));
  for (let i = 0; i < total % parts; i++) out[i]++;
  return out;
}
