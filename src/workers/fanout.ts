// Fanout and multi-application distribution with shared buffers: a packet
// goes to several outputs without a copy. The worker owns the pool the
// buffers come from and keeps, per buffer, a mask of the outputs holding it
// (BufferPool.enableSharing/hold); the pool's drain puts a buffer back on its
// stack when the last holder returned it.
//
// Reclaim: the core reclaims a dead consumer of queue q by scanning for
// buffers tagged q (zc/queue.ts). A buffer has one tag but here several
// holders, so shared buffers are tagged TAG_SHARED instead (skipped by that
// scan), and before the core's reclaim of an output queue runs (it runs in
// this thread, inside sendBurst/maintain, when the queue's RECLAIM flag is
// set), this worker drops the dead consumer's holder bit from every buffer
// that is in neither of the queue's rings (releaseHeldBy). The flag is checked
// right before each send; if it is raised between that check and the send's
// own check, the core reclaims first and the dead consumer's shared buffers
// stay out of the pool: counted as RECLAIM_RACES (a nanosecond window).
import { META_HASH, META_LEN, META_NSEC, META_OFF, META_PORT, META_SEC, META_WIRELEN, META_WORDS } from '../zc/meta.js';
import { Q, QUEUE_CTRL_WORDS } from '../zc/layout.js';
import type { Cluster } from '../zc/cluster.js';
import type { BufferPool } from '../zc/pool.js';
import { C, burstBytes } from './counters.js';
import { finish, Idler, stopped, type LoopEnv } from './loop.js';
import type { Endpoints } from './endpoints.js';
import { modU32, type Picker } from './balancer.js';

/** Read-only views of one output queue's shared words and rings, for the reclaim fix-up. */
class QueueRings {
  readonly ctrl: Uint32Array;
  private readonly fwd: Uint32Array;
  private readonly ret: Uint32Array;
  reclaimsSeen: number;
  constructor(cluster: Cluster, q: number) {
    const l = cluster.layout;
    const off = l.queuesOffset + q * l.queueStride;
    const sab = cluster.memory.sab;
    this.ctrl = new Uint32Array(sab, off, QUEUE_CTRL_WORDS);
    this.fwd = new Uint32Array(sab, off + QUEUE_CTRL_WORDS * 4, l.queueSlots);
    this.ret = new Uint32Array(sab, off + QUEUE_CTRL_WORDS * 4 + l.queueSlots * 4, l.returnSlots);
    this.reclaimsSeen = this.ctrl[Q.RECLAIMS];
  }

  /** Buffers in the forward ring or the return ring right now (rare path: allocates). */
  inRings(bufferCount: number): Uint8Array {
    const ctrl = this.ctrl;
    const marks = new Uint8Array(bufferCount);
    const fm = this.fwd.length - 1;
    for (let i = Atomics.load(ctrl, Q.CONS), p = Atomics.load(ctrl, Q.PROD); i !== p; i = (i + 1) >>> 0) marks[this.fwd[i & fm]] = 1;
    const rm = this.ret.length - 1;
    for (let i = Atomics.load(ctrl, Q.RET_CONS), p = Atomics.load(ctrl, Q.RET_PROD); i !== p; i = (i + 1) >>> 0) marks[this.ret[i & rm]] = 1;
    return marks;
  }
}

export interface FanoutPlan {
  /** group sizes (sum = outputs); all 1 = every packet to every output */
  groups: number[];
  /** with groups of size > 1 or a hash function: picks the in-group hash; else null */
  hashPicker: Picker | null;
  /** fn without groups: returns the output mask */
  maskFn: ((b: number) => number) | null;
  lastError: () => string;
}

export function runFanout(env: LoopEnv, ep: Endpoints, cluster: Cluster, bits: number[], plan: FanoutPlan, setError: (e: string) => void): void {
  const c = env.counters;
  const B = env.burst;
  const pool = ep.pool as BufferPool;
  const inputs = ep.inputs;
  const outputs = ep.outputs;
  const nIn = inputs.length;
  const M = outputs.length;
  const mem = cluster.memory;
  const meta = mem.meta;
  const bytes = mem.bytes;
  const base = mem.bufferOffset;
  const bsize = mem.bufferSize;
  const bufferCount = mem.bufferCount;
  const rings = outputs.map((o) => (o.queue >= 0 ? new QueueRings(cluster, o.queue) : null));
  const copyIn = inputs.map((i) => i.name.startsWith('queue '));
  const burst = new Uint32Array(B);
  const own = new Uint32Array(B);
  const keep = new Uint32Array(B);
  const masks = new Uint32Array(B);
  const drops = new Uint32Array(B);
  const flat = new Uint32Array(M * B);
  const views = outputs.map((_, o) => flat.subarray(o * B, (o + 1) * B));
  const G = plan.groups.length;
  const gStart = new Int32Array(G);
  const gSize = new Int32Array(G);
  let full = 0;
  for (let g = 0, s = 0; g < G; s += plan.groups[g], g++) { gStart[g] = s; gSize[g] = plan.groups[g]; }
  const bitArr = Uint32Array.from(bits);
  for (const b of bits) full = (full | b) >>> 0;
  const pureFanout = plan.hashPicker === null && plan.maskFn === null;
  const hashPick = plan.hashPicker?.pick ?? null;
  const maskFn = plan.maskFn;

  // `pending[o]`: buffers of the current burst already marked as held but not sent yet (not the dead consumer's).
  const pending = new Int32Array(M);
  // The core calls this in this thread right before it reclaims a dead consumer of output o, whichever
  // check noticed the death first (ours below, or sendBurst's own): no window for a race.
  outputs.forEach((out, o) => out.setBeforeReclaim(() => {
    const r = rings[o];
    if (r === null) return;
    const marks = r.inRings(bufferCount);
    for (let j = 0; j < pending[o]; j++) marks[keep[j]] = 1;
    c[C.RECLAIMED_SHARED] += pool.releaseHeldBy(bitArr[o], marks);
    r.reclaimsSeen = r.ctrl[Q.RECLAIMS] + 1; // the reclaim that follows is accounted for
  }));
  const reclaimCheck = (o: number, nPending: number): void => {
    const r = rings[o];
    if (r === null) return;
    pending[o] = nPending;
    if (Atomics.load(r.ctrl, Q.RECLAIM) !== 0 && Atomics.load(r.ctrl, Q.CONS_SLOT) !== 0) outputs[o].maintain();
  };
  const raceCheck = (o: number): void => {
    const r = rings[o];
    if (r !== null && r.ctrl[Q.RECLAIMS] !== r.reclaimsSeen) {
      c[C.RECLAIM_RACES]++;
      r.reclaimsSeen = r.ctrl[Q.RECLAIMS];
    }
  };
  const idler = new Idler(env, ep, () => { for (let o = 0; o < M; o++) { reclaimCheck(o, 0); raceCheck(o); } });

  let ii = 0;
  c[C.STATE] = 1;
  while (!stopped(env)) {
    const input = inputs[ii];
    const copy = copyIn[ii];
    ii = ii + 1 === nIn ? 0 : ii + 1;
    let n = input.recvBurst(burst, B);
    if (n === 0) {
      idler.idle();
      continue;
    }
    idler.busyAgain();
    const received = n;
    const receivedBytes = burstBytes(meta, burst, n);
    let src = burst;
    if (copy) {
      // Queue input: its buffers belong to another pool's owner; copy into ours (one copy per packet).
      const k = pool.alloc(own, n);
      for (let i = 0; i < k; i++) {
        const from = burst[i] * META_WORDS;
        const to = own[i] * META_WORDS;
        const len = meta[from + META_LEN];
        const srcOff = base + burst[i] * bsize + meta[from + META_OFF];
        const dstOff = base + own[i] * bsize + meta[to + META_OFF];
        const room = bsize - meta[to + META_OFF];
        const cl = len < room ? len : room;
        bytes.copyWithin(dstOff, srcOff, srcOff + cl);
        meta[to + META_LEN] = cl;
        meta[to + META_SEC] = meta[from + META_SEC];
        meta[to + META_NSEC] = meta[from + META_NSEC];
        meta[to + META_HASH] = meta[from + META_HASH];
        meta[to + META_PORT] = meta[from + META_PORT];
        meta[to + META_WIRELEN] = meta[from + META_WIRELEN] || len;
      }
      input.giveBack(burst, n);
      c[C.COPIED] += k;
      if (k < n) c[C.DROP_NO_BUFFER] += n - k;
      n = k;
      src = own;
    }
    let nk = 0;
    let nd = 0;
    let dFn = 0;
    let dInvalid = 0;
    let dError = 0;
    for (let i = 0; i < n; i++) {
      const b = src[i];
      let mask = full;
      if (maskFn !== null) {
        const r = maskFn(b);
        if (r <= 0 || r !== r) { // drop: negative, zero, NaN; -3 marks a thrown error
          drops[nd++] = b;
          if (r === -3) dError++; else dFn++;
          continue;
        }
        mask = r & full;
        if (mask === 0 || (r & ~full) !== 0) { drops[nd++] = b; dInvalid++; continue; }
      } else if (!pureFanout) {
        const h = hashPick!(b); // stores META_HASH; < 0: dropped by the function
        if (h < 0) {
          drops[nd++] = b;
          if (h === -3) dError++; else dFn++;
          continue;
        }
        mask = 0;
        for (let g = 0; g < G; g++) mask |= bitArr[gStart[g] + modU32(h, gSize[g])];
      }
      pool.hold(b, mask);
      keep[nk] = b;
      masks[nk++] = mask;
    }
    if (nd > 0) pool.free(drops, nd);
    let sent = 0;
    let refused = 0;
    for (let o = 0; o < M; o++) {
      const bit = bitArr[o];
      let k = 0;
      const start = o * B;
      for (let j = 0; j < nk; j++) if ((masks[j] & bit) !== 0) flat[start + k++] = keep[j];
      if (k === 0) continue;
      reclaimCheck(o, nk);
      const acc = outputs[o].sendBurst(views[o], k);
      pending[o] = 0; // sent: from now on a reclaim must count them like any other
      raceCheck(o);
      sent += acc;
      refused += k - acc;
      c[C.PER_OUT_SENT + o] += acc;
      c[C.PER_OUT_DROPPED + o] += k - acc;
    }
    for (let j = 0; j < nk; j++) if (pool.holdersOf(keep[j]) !== 0) pool.tagShared(keep[j]);
    c[C.SENT] += sent;
    c[C.BURSTS]++;
    c[C.RECEIVED_BYTES] += receivedBytes;
    c[C.RECEIVED] += received; // last: a reader that sees it sees the burst sent
    if (refused !== 0) c[C.DROP_FULL] += refused;
    if (dFn !== 0) c[C.DROP_FN] += dFn;
    if (dInvalid !== 0) c[C.DROP_INVALID] += dInvalid;
    if (dError !== 0) {
      c[C.DROP_ERROR] += dError;
      setError(plan.lastError());
    }
  }
  finish(env, ep);
}

/** Output i's sink in a fanout: a refused (or TX-completed) buffer loses that holder. */
export function fanoutSink(pool: () => BufferPool, bits: () => number[], i: number): { free(indices: ArrayLike<number>, n: number): void } {
  return {
    free(idx, n) {
      const p = pool();
      const bit = bits()[i];
      for (let j = 0; j < n; j++) p.unhold(idx[j], bit);
    },
  };
}
