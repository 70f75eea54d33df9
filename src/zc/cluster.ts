// A cluster: one shared region holding buffers, their metadata, pools and
// queues, created by one owner process and attached by others by id (PF_RING
// ZC's cluster). See layout.ts for where things are, pool.ts and queue.ts for
// the protocols.
import { isAlive, selfStartTime } from '../memory/proc.js';
import { checkHeader, H, HEADER_BYTES, HF, REGION_KIND, REGION_MAGIC, REGION_STATE, REGION_VERSION } from '../memory/header.js';
import { createRegion, listRegions, openRegion, openRegionFile, removeRegion, unmapRegion, type HugepagePolicy, type OpenedRegion, type Region } from '../memory/region.js';
import { findBarRegion, isPciResource, openBarRegion } from '../vm/guest.js';
import { native } from '../native/index.js';
import { ClusterClosedError, ClusterExistsError, ClusterNotFoundError, InvalidArgumentError, QueueBusyError, RegionMismatchError, errnoOf } from '../errors.js';
import { AttachTable, beatNow } from './attach.js';
import { ATTACH_STATE, CH, computeLayout, P, pow2AtLeast, Q, QUEUE_CTRL_WORDS, readLayout, ROLE, TAG_POOL, writeShape, type ClusterLayout } from './layout.js';
import { META_OFF, META_TAG, META_WORDS, type BufferMemory } from './meta.js';
import { BufferPool, rebuildPool } from './pool.js';
import { QueueProducer, readCounters, reclaimDeadConsumer, type QueueCounters, type QueueParts } from './queue.js';
import { QueueConsumer } from './consumer.js';
import { SpscRing } from './ring.js';
import { readFileSync } from 'node:fs';
import { sleepSync } from '../sleep.js';

export interface ClusterOptions {
  /** cluster id, as in PF_RING (`-c 99`) */
  id: number;
  /** bytes per buffer, a power of two (2048 fits a 1518-byte frame and is AF_XDP's smallest chunk) */
  bufferSize?: number;
  /** number of buffers */
  buffers?: number;
  /** bytes kept free at the start of every buffer */
  headroom?: number;
  /** number of queues */
  queues?: number;
  /** slots per queue (power of two) */
  queueLength?: number;
  /** number of pools (buffers split evenly) or the size of each */
  pools?: number | number[];
  /** which pool each queue returns its buffers to (default: pool 0) */
  queuePools?: number[];
  hugepages?: HugepagePolicy;
  /** give this group read/write access (mode 0660) */
  group?: number;
  /** how many threads/processes may be registered at once */
  attachSlots?: number;
  /** guests (VMs) without a heartbeat for this long are dead (ms) */
  guestTimeoutMs?: number;
  /** also declare local parties dead when their heartbeat is older than this (ms; 0 = only when their process is gone) */
  stallTimeoutMs?: number;
  /** how often the owner scans for dead parties (ms) */
  livenessIntervalMs?: number;
  /** called when a stale region of a dead owner is removed (default: process.emitWarning) */
  onWarning?: (message: string) => void;
  /** round the region file up to a power of two bytes, so it can back a QEMU ivshmem device (a PCI BAR's size is one; src/vm/) */
  powerOfTwoSize?: boolean;
}

export interface AttachOptions {
  /** attach as a guest (no host pid: alive by heartbeat only) */
  guest?: boolean;
  /**
   * Map the packet buffers read-only in this process: a stray write faults
   * here (SIGSEGV) instead of corrupting what other consumers see. Queues,
   * pools and metadata stay writable. Such a process can consume, not produce.
   */
  readOnlyPackets?: boolean;
  /**
   * a region file to map instead of searching by id, or an ivshmem BAR's sysfs
   * file (/sys/bus/pci/devices/ADDR/resource2). Without it, a cluster not found
   * in the region folders is looked for on the ivshmem devices (inside a VM).
   */
  path?: string;
}

/** What a worker thread needs to use a cluster mapped by its parent thread. */
export interface ClusterHandle {
  sab: SharedArrayBuffer;
  path: string;
  owner: boolean;
  /** mapped inside a VM (an ivshmem BAR): registrations live by heartbeat */
  guest?: boolean;
}

/** PROD_SLOT value while a consumer-side reclaim runs on a queue without producer. */
const PROD_LOCKED = 0xffffffff;

export const regionName = (id: number) => `ringzero-cluster-${id}`;

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
  private closed = false;
  private ownerSlot = -1;
  private readonly stallTimeoutMs: number;
  private readonly slots = new Set<number>();
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
    this.stallTimeoutMs = stallTimeoutMs;
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
    const c = new Cluster(region.sab, region.path, region.hugetlb, true, region, false, opts.stallTimeoutMs ?? 0);
    c.ownerSlot = c.attach.claim(ROLE.OWNER, 0);
    Atomics.store(c.u32, H.STATE, REGION_STATE.READY); // attachers may now trust the header
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
    if (guest) c.startGuestBeats();
    return c;
  }

  /** Uses, from a worker thread, a cluster mapped by another thread of this process. */
  static fromHandle(h: ClusterHandle): Cluster {
    const c = new Cluster(h.sab, h.path, false, false, null, h.guest ?? false, 0);
    if (h.guest) c.startGuestBeats();
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
    const l = this.layout;
    if (!Number.isInteger(p) || p < 0 || p >= l.poolSizes.length) throw new InvalidArgumentError(`pool ${p} does not exist (cluster ${this.id} has ${l.poolSizes.length})`);
    const words = new Uint32Array(this.memory.sab, l.poolsOffset + p * l.poolStride, l.poolStride / 4);
    const slot = this.attach.claim(ROLE.POOL, p, this.guest);
    const prev = Atomics.load(words, P.OWNER_SLOT);
    if (prev !== 0 && this.attach.alive(prev - 1, l.guestTimeoutMs, this.stallTimeoutMs)) {
      this.attach.release(slot);
      throw new QueueBusyError(`pool ${p} of cluster ${this.id} is owned by ${describeSlot(this.attach, prev - 1)}; a pool has one owner thread at a time`);
    }
    if (Atomics.compareExchange(words, P.OWNER_SLOT, prev, slot + 1) !== prev) {
      this.attach.release(slot);
      throw new QueueBusyError(`pool ${p} of cluster ${this.id} was taken by another thread just now`);
    }
    if (prev !== 0) {
      // The previous owner died: what it held is tagged with the pool; put it all back.
      rebuildPool(words, this.memory.meta, p, words[P.FIRST], words[P.CAPACITY], l.bufferCount);
      this.attach.release(prev - 1);
    }
    this.slots.add(slot);
    const returns: SpscRing[] = [];
    for (let q = 0; q < l.queueCount; q++) if (l.queuePools[q] === p) returns.push(this.queueParts(q).returns);
    const pool = new BufferPool({
      id: p, words, f64: new Float64Array(words.buffer, words.byteOffset, 16), meta: this.memory.meta,
      bufferCount: l.bufferCount, first: words[P.FIRST], size: words[P.CAPACITY], returns,
    });
    pool.onDetach = () => {
      Atomics.compareExchange(words, P.OWNER_SLOT, slot + 1, 0);
      this.attach.release(slot);
      this.slots.delete(slot);
    };
    return pool;
  }

  // ---- queues ------------------------------------------------------------

  private queueParts(q: number): QueueParts {
    const l = this.layout;
    if (!Number.isInteger(q) || q < 0 || q >= l.queueCount) throw new InvalidArgumentError(`queue ${q} does not exist (cluster ${this.id} has ${l.queueCount} queues: 0..${l.queueCount - 1})`);
    const sab = this.memory.sab;
    const off = l.queuesOffset + q * l.queueStride;
    const ctrl = new Uint32Array(sab, off, QUEUE_CTRL_WORDS);
    const slotsOff = off + QUEUE_CTRL_WORDS * 4;
    return {
      id: q,
      ctrl,
      ctrlF64: new Float64Array(sab, off, QUEUE_CTRL_WORDS / 2),
      forward: new SpscRing({ ctrl, prodWord: Q.PROD, consWord: Q.CONS, slots: new Uint32Array(sab, slotsOff, l.queueSlots) }),
      returns: new SpscRing({ ctrl, prodWord: Q.RET_PROD, consWord: Q.RET_CONS, slots: new Uint32Array(sab, slotsOff + l.queueSlots * 4, l.returnSlots) }),
      meta: this.memory.meta,
      bufferCount: l.bufferCount,
    };
  }

  /**
   * The producing end of queue q for the calling thread. Dropped buffers go to
   * `dropSink` (normally the pool the caller allocates from).
   */
  producer(q: number, dropSink: { free(indices: ArrayLike<number>, n: number): void }): QueueProducer {
    this.assertOpen();
    const parts = this.queueParts(q);
    const slot = this.attach.claim(ROLE.PRODUCER, q, this.guest);
    let prev = Atomics.load(parts.ctrl, Q.PROD_SLOT);
    for (let i = 0; prev === PROD_LOCKED && i < 1000; i++) { sleepSync(1); prev = Atomics.load(parts.ctrl, Q.PROD_SLOT); }
    if (prev !== 0 && prev - 1 !== slot && this.attach.alive(prev - 1, this.layout.guestTimeoutMs, this.stallTimeoutMs)) {
      this.attach.release(slot);
      throw new QueueBusyError(`queue ${q} of cluster ${this.id} already has a producer: ${describeSlot(this.attach, prev - 1)}`);
    }
    if (Atomics.compareExchange(parts.ctrl, Q.PROD_SLOT, prev, slot + 1) !== prev) {
      this.attach.release(slot);
      throw new QueueBusyError(`queue ${q} of cluster ${this.id}: another producer attached just now (or a reclaim is running); retry`);
    }
    if (prev !== 0 && this.attach.state(prev - 1) === ATTACH_STATE.DEAD) this.attach.release(prev - 1);
    this.slots.add(slot);
    const p = new QueueProducer(parts, dropSink);
    p.wake = !this.guest;
    p.onReclaimed = (dead) => { if (this.attach.state(dead) === ATTACH_STATE.DEAD) this.attach.release(dead); };
    p.onClose = () => {
      Atomics.compareExchange(parts.ctrl, Q.PROD_SLOT, slot + 1, 0);
      this.attach.release(slot);
      this.slots.delete(slot);
    };
    return p;
  }

  /**
   * The consuming end of queue q for the calling thread. If the previous
   * consumer died, waits up to `waitReclaimMs` for the producer to reclaim it.
   */
  consumer(q: number, opts: { waitReclaimMs?: number } = {}): QueueConsumer {
    this.assertOpen();
    const parts = this.queueParts(q);
    const ctrl = parts.ctrl;
    const slot = this.attach.claim(ROLE.CONSUMER, q, this.guest);
    const deadline = Date.now() + (opts.waitReclaimMs ?? 3000);
    for (;;) {
      if (Atomics.compareExchange(ctrl, Q.CONS_SLOT, 0, slot + 1) === 0) break;
      const holder = Atomics.load(ctrl, Q.CONS_SLOT) - 1;
      if (holder >= 0 && this.attach.alive(holder, this.layout.guestTimeoutMs, this.stallTimeoutMs)) {
        this.attach.release(slot);
        throw new QueueBusyError(`queue ${q} of cluster ${this.id} already has a consumer: ${describeSlot(this.attach, holder)}; a queue has one consumer`);
      }
      if (holder >= 0) this.requestReclaim(q, holder);
      if (Date.now() > deadline) {
        this.attach.release(slot);
        throw new QueueBusyError(`queue ${q} of cluster ${this.id}: its previous consumer died and the producer has not reclaimed the queue yet (is the producer running its loop?); try again`);
      }
      sleepSync(5);
    }
    this.slots.add(slot);
    const gen = Atomics.load(ctrl, Q.GEN);
    return new QueueConsumer(parts, gen, {
      pollOnly: this.guest,
      checkOwner: () => this.checkOwner(),
      beat: () => this.attach.beat(slot),
      detach: (held) => {
        this.slots.delete(slot);
        if (held > 0) {
          // Leave the buffers to the producer's reclaim, as if we had died.
          this.attach.markDead(slot);
          Atomics.store(ctrl, Q.RECLAIM, 1);
        } else {
          Atomics.compareExchange(ctrl, Q.CONS_SLOT, slot + 1, 0);
          this.attach.release(slot);
        }
      },
    });
  }

  /**
   * Asks the producer of q to reclaim a dead consumer's slot, or reclaims it
   * here when q has no live producer (PROD_SLOT is locked meanwhile so no
   * producer can attach and enqueue during the scan).
   */
  private requestReclaim(q: number, slot: number): void {
    if (this.attach.state(slot) === ATTACH_STATE.LIVE) this.attach.scan(this.layout.guestTimeoutMs, this.stallTimeoutMs);
    if (this.attach.state(slot) !== ATTACH_STATE.DEAD) return;
    const parts = this.queueParts(q);
    const ctrl = parts.ctrl;
    Atomics.store(ctrl, Q.RECLAIM, 1);
    const prodSlot = Atomics.load(ctrl, Q.PROD_SLOT);
    if (prodSlot === PROD_LOCKED) return;
    if (prodSlot !== 0 && this.attach.alive(prodSlot - 1, this.layout.guestTimeoutMs, this.stallTimeoutMs)) return; // the producer will do it
    if (Atomics.compareExchange(ctrl, Q.PROD_SLOT, prodSlot, PROD_LOCKED) !== prodSlot) return;
    try {
      if (Atomics.load(ctrl, Q.RECLAIM) !== 0 && Atomics.load(ctrl, Q.CONS_SLOT) === slot + 1) {
        reclaimDeadConsumer(parts, Atomics.load(ctrl, Q.PROD));
        this.attach.release(slot);
      }
    } finally {
      Atomics.store(ctrl, Q.PROD_SLOT, 0);
      if (prodSlot !== 0 && this.attach.state(prodSlot - 1) === ATTACH_STATE.DEAD) this.attach.release(prodSlot - 1);
    }
  }

  /** Counters of queue q, readable from any process. */
  queueCounters(q: number): QueueCounters {
    const p = this.queueParts(q);
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
    const dead = this.attach.scan(this.layout.guestTimeoutMs, this.stallTimeoutMs);
    for (const s of dead) {
      const info = this.attach.info(s);
      if (info.role === ROLE.CONSUMER && info.target < this.layout.queueCount) {
        const ctrl = this.queueParts(info.target).ctrl;
        if (Atomics.load(ctrl, Q.CONS_SLOT) === s + 1) this.requestReclaim(info.target, s);
        else this.attach.release(s);
      } else if (info.role === ROLE.PRODUCER && info.target < this.layout.queueCount) {
        const ctrl = this.queueParts(info.target).ctrl;
        Atomics.compareExchange(ctrl, Q.PROD_SLOT, s + 1, 0);
        this.attach.release(s);
      }
      // POOL: left DEAD; the next pool() call rebuilds the pool from the tags.
    }
    return dead;
  }

  private startLiveness(intervalMs: number): void {
    if (intervalMs <= 0) return;
    this.timer = setInterval(() => {
      this.u32[H.OWNER_HEARTBEAT] = beatNow();
      if (this.ownerSlot >= 0) this.attach.beat(this.ownerSlot);
      this.checkLiveness();
    }, intervalMs);
    this.timer.unref();
  }

  /**
   * Guests: every registration (consumer, producer, pool) is kept alive by
   * its heartbeat alone, so beat them all from a timer, not only while a
   * consumer polls.
   */
  private startGuestBeats(): void {
    const every = Math.max(20, Math.floor(this.layout.guestTimeoutMs / 6));
    this.timer = setInterval(() => { for (const s of this.slots) this.attach.beat(s); }, every);
    this.timer.unref();
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
    } else if (!this.isOwner && !isAlive(this.u32[H.OWNER_PID], this.f64[HF.OWNER_START])) {
      throw new ClusterClosedError(`cluster ${this.id}: its owner (pid ${this.u32[H.OWNER_PID]}) died; restart it`);
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
    for (const s of this.slots) this.attach.release(s);
    this.slots.clear();
    if (this.isOwner && this.region) {
      Atomics.store(this.u32, H.STATE, REGION_STATE.CLOSED);
      for (let q = 0; q < this.layout.queueCount; q++) native.futexWake(this.queueParts(q).ctrl, Q.PROD * 4, 1 << 30);
      if (this.ownerSlot >= 0) this.attach.release(this.ownerSlot);
      removeRegion(this.region.path);
    }
    if (this.region) unmapRegion(this.region);
  }
}

/**
 * The region of cluster `id`: the given file or ivshmem BAR, else by name in
 * the region folders, else (inside a VM) the ivshmem device whose header names
 * cluster `id`.
 */
function findRegion(id: number, path: string | undefined, validate: (head: Uint8Array, size: number, path: string) => void): OpenedRegion {
  if (path !== undefined) {
    if (isPciResource(path)) return openBarRegion(path, HEADER_BYTES, validate);
    const r = openRegionFile(path, HEADER_BYTES, validate);
    if (!r) throw new ClusterNotFoundError(`${path} does not exist: is the owner of cluster ${id} running?`);
    return r;
  }
  try {
    return openRegion(regionName(id), HEADER_BYTES, validate);
  } catch (e) {
    if (!(e instanceof ClusterNotFoundError)) throw e;
    const names = (head: Uint8Array) => {
      const u32 = new Uint32Array(head.buffer, head.byteOffset, CH.ID + 1);
      return u32[H.MAGIC] === REGION_MAGIC && u32[CH.ID] === id;
    };
    const bar = findBarRegion(names, HEADER_BYTES, validate);
    if (bar) return bar;
    throw new ClusterNotFoundError(`${e.message} (nor on an ivshmem device, inside a VM)`);
  }
}

function describeSlot(t: AttachTable, s: number): string {
  const i = t.info(s);
  return i.guest ? `a guest VM (heartbeat ${i.heartbeatAgeMs} ms ago)` : `pid ${i.pid} (thread ${i.tid})`;
}

function splitEven(total: number, parts: number): number[] {
  if (!Number.isInteger(parts) || parts < 1) throw new InvalidArgumentError(`pools must be >= 1, got ${parts}`);
  const out = new Array(parts).fill(Math.floor(total / parts));
  for (let i = 0; i < total % parts; i++) out[i]++;
  return out;
}

function initRegion(sab: SharedArrayBuffer, l: ClusterLayout): void {
  const u32 = new Uint32Array(sab);
  const f64 = new Float64Array(sab, 0, Math.floor(sab.byteLength / 8));
  u32[H.MAGIC] = REGION_MAGIC;
  u32[H.VERSION] = REGION_VERSION;
  u32[H.KIND] = REGION_KIND.CLUSTER;
  u32[H.HEADER_BYTES] = HEADER_BYTES;
  u32[H.STATE] = REGION_STATE.INIT;
  u32[H.OWNER_PID] = process.pid;
  u32[H.OWNER_HEARTBEAT] = beatNow();
  f64[HF.TOTAL_BYTES] = sab.byteLength;
  f64[HF.OWNER_START] = selfStartTime();
  f64[HF.CREATED_MS] = Date.now();
  writeShape(u32, f64, l);
  const meta = new Uint32Array(sab, l.metaOffset, l.bufferCount * META_WORDS);
  let first = 0;
  l.poolSizes.forEach((size, p) => {
    const w = new Uint32Array(sab, l.poolsOffset + p * l.poolStride, l.poolStride / 4);
    w[P.FIRST] = first;
    w[P.CAPACITY] = size;
    w[P.NBUF] = size;
    // Stack top is the lowest index, so allocation starts at buffer `first`.
    for (let i = 0; i < size; i++) w[64 + i] = first + size - 1 - i;
    w[P.COUNT] = size;
    for (let b = first; b < first + size; b++) {
      meta[b * META_WORDS + META_TAG] = (TAG_POOL | p) >>> 0;
      meta[b * META_WORDS + META_OFF] = l.headroom;
    }
    first += size;
  });
  for (let q = 0; q < l.queueCount; q++) {
    const c = new Uint32Array(sab, l.queuesOffset + q * l.queueStride, QUEUE_CTRL_WORDS);
    c[Q.POOL] = l.queuePools[q];
    c[Q.QUEUE_ID] = q;
  }
}

function validateHeader(head: Uint8Array, fileSize: number, path: string, id: number): void {
  const u32 = new Uint32Array(head.buffer, head.byteOffset, HEADER_BYTES / 4);
  const f64 = new Float64Array(head.buffer, head.byteOffset, HEADER_BYTES / 8);
  const problem = checkHeader(u32, f64, REGION_KIND.CLUSTER, fileSize);
  if (problem) {
    throw new RegionMismatchError(`${path} is not a usable ringzero cluster: ${problem.field} is ${problem.found}, expected ${problem.expected}` +
      (problem.field === 'layout version' ? ' (the owner runs another ringzero version: use the same version on both sides)' : ' (corrupt or foreign file: remove it, or run `ringzero cleanup`)'));
  }
  if (u32[H.STATE] !== REGION_STATE.READY) {
    throw new ClusterClosedError(u32[H.STATE] === REGION_STATE.CLOSED ? `cluster ${id} is shut down` : `cluster ${id} is still being created; retry`);
  }
  try {
    readLayout(u32, f64);
  } catch (e) {
    throw new RegionMismatchError(`${path}: inconsistent layout: ${(e as Error).message}`);
  }
}

/** State of an existing region, from its header. */
export function inspectRegion(path: string): { ownerPid: number; ownerAlive: boolean; magicOk: boolean; id: number } {
  const head = readFileSync(path).subarray(0, HEADER_BYTES);
  const b = new Uint8Array(HEADER_BYTES);
  b.set(head);
  const u32 = new Uint32Array(b.buffer);
  const f64 = new Float64Array(b.buffer);
  const magicOk = u32[H.MAGIC] === REGION_MAGIC;
  const ownerPid = u32[H.OWNER_PID];
  return { ownerPid, ownerAlive: magicOk && isAlive(ownerPid, f64[HF.OWNER_START]), magicOk, id: u32[H.LAYOUT] };
}

function removeIfStale(id: number, warn: (m: string) => void): void {
  for (const path of listRegions(regionName(id))) {
    if (!path.endsWith('/' + regionName(id))) continue;
    let st;
    try { st = inspectRegion(path); } catch { continue; }
    if (!st.magicOk) throw new RegionMismatchError(`${path} exists and is not a ringzero region: remove it by hand or pick another cluster id`);
    if (st.ownerAlive) throw new ClusterExistsError(`cluster ${id} is already owned by live pid ${st.ownerPid}: stop that process or choose another cluster id`);
    warn(`removing stale region ${path} of cluster ${id}: its owner (pid ${st.ownerPid}) is dead`);
    removeRegion(path);
  }
}
