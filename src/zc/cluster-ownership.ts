// Who holds what in a cluster: a pool has one owner thread, a queue one
// producer and one consumer. Each is registered in the attach table
// (attach.ts) and named by its slot + 1 in the pool's or queue's control
// words. ClusterOwnership claims them for Cluster (cluster.ts, which checks
// first that it is open) and takes back what dead holders left: a pool is
// rebuilt from its buffers' tags, a dead consumer's queue is reclaimed by the
// producer or, when the queue has none, here.
import { QueueBusyError, InvalidArgumentError } from '../errors.js';
import type { AttachTable } from './attach.js';
import { ATTACH_STATE, P, Q, QUEUE_CTRL_WORDS, ROLE, type ClusterLayout } from './layout.js';
import type { BufferMemory } from './meta.js';
import { BufferPool, rebuildPool } from './pool.js';
import { QueueProducer, reclaimDeadConsumer, type QueueParts } from './queue.js';
import { QueueConsumer } from './consumer.js';
import { SpscRing } from './ring.js';
import { sleepSync } from '../sleep.js';

/** PROD_SLOT value while a consumer-side reclaim runs on a queue without producer. */
const PROD_LOCKED = 0xffffffff;

/** The claiming side of one Cluster object; shares its attach table and its set of this process's slots. */
export class ClusterOwnership {
  constructor(
    private readonly id: number,
    private readonly layout: ClusterLayout,
    private readonly memory: BufferMemory,
    private readonly attach: AttachTable,
    /** registrations live by heartbeat (inside a VM) */
    private readonly guest: boolean,
    private readonly stallTimeoutMs: number,
    /** this process's attach slots: Cluster beats them (guests) and releases them on close */
    private readonly slots: Set<number>,
    /** Cluster.checkOwner, for the consumers' wait loops */
    private readonly checkOwner: () => void,
  ) {}

  /** Views of queue q's control words and its two rings. */
  queueParts(q: number): QueueParts {
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

  /** Cluster.pool() once the cluster is open and writable: claims pool p, rebuilding it if its owner died. */
  pool(p: number): BufferPool {
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

  /** Cluster.producer() once the cluster is open: claims queue q's producer slot. */
  producer(q: number, dropSink: { free(indices: ArrayLike<number>, n: number): void }): QueueProducer {
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

  /** Cluster.consumer() once the cluster is open: claims queue q's consumer slot, waiting for a dead one's reclaim. */
  consumer(q: number, opts: { waitReclaimMs?: number }): QueueConsumer {
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
      checkOwner: this.checkOwner,
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
}

function describeSlot(t: AttachTable, s: number): string {
  const i = t.info(s);
  return i.guest ? `a guest VM (heartbeat ${i.heartbeatAgeMs} ms ago)` : `pid ${i.pid} (thread ${i.tid}${i.foreignPidNs ? ', in another PID namespace' : ''})`;
}
