// The TX half of the zero-copy device: buffer indices go on a socket's TX
// ring as descriptors (no copy: the frame is already in the UMEM), the kernel
// is kicked (copy mode transmits only inside sendto()), and completed buffers
// come back from the completion rings to the buffer source. The RX half and
// the sockets' lifetime are in device.ts.
import { META_LEN, META_OFF, META_WORDS } from '../../zc/meta.js';
import type { FreeBatch } from '../free-batch.js';
import { TxKick } from '../iface.js';
import { rejectSent, type DeviceStats, type TxPending } from '../types.js';
import { highOf, indexOf } from './umem-addr.js';
import type { XskSocket } from './xsk.js';

/** What the TX half shares with its device (same objects: counters and ownership marks are one). */
export interface TxState {
  readonly name: string;
  readonly ifname: string;
  readonly ifindex: number;
  readonly meta: Uint32Array;
  /** 1 while a buffer is on a ring of ours (device.ts) */
  readonly held: Uint8Array;
  readonly bufferSize: number;
  readonly bufferCount: number;
  readonly shift: number;
  readonly chunksPerHigh: number;
  readonly giveBack: FreeBatch;
  readonly counters: DeviceStats;
}

export class XdpTx {
  private rr = 0;
  /** copy mode transmits only inside sendto() */
  private readonly txKick: TxKick;

  /** `socks`: the device's sockets (the array fills as they open), or [] when opened without TX */
  constructor(private readonly socks: readonly XskSocket[], private readonly d: TxState) {
    this.txKick = new TxKick(d.name, d.ifname, d.ifindex, d.counters);
  }

  /** Device.sendBurst: queues on one socket (round robin over the queues), gives back what it cannot take. */
  sendBurst(indices: Uint32Array, n: number): number {
    this.reclaim();
    const socks = this.socks, d = this.d, c = d.counters;
    const back = d.giveBack;
    const meta = d.meta, held = d.held, bs = d.bufferSize, count = d.bufferCount;
    const s = socks.length ? socks[this.rr] : null;
    if (socks.length > 1) this.rr = (this.rr + 1) % socks.length;
    const tx = s ? s.tx! : null;
    const room = tx ? tx.size - ((tx.local - tx.loadConsumer()) >>> 0) : 0;
    const u32 = tx ? tx.u32 : EMPTY32;
    let p = tx ? tx.local : 0, queued = 0, bytes = 0;
    for (let i = 0; i < n; i++) {
      const idx = indices[i];
      if (idx >= count) { c.txInvalid++; continue; } // not a buffer: nothing to give back
      const mm = idx * META_WORDS;
      const len = meta[mm + META_LEN], off = meta[mm + META_OFF];
      if (len === 0 || off + len > bs) { c.txInvalid++; back.add(idx); continue; }
      if (queued >= room) { c.txRingFull++; back.add(idx); continue; }
      const addr = idx * bs + off;
      const w = tx!.entry(p++);
      u32[w] = addr >>> 0;
      u32[w + 1] = highOf(addr);
      u32[w + 2] = len;
      u32[w + 3] = 0;
      held[idx] = 1;
      queued++;
      bytes += len;
    }
    back.flush();
    if (!tx || !s) return 0;
    if (queued > 0) {
      tx.local = p >>> 0;
      tx.publishProducer(tx.local);
      c.sent += queued;
      c.sentBytes += bytes;
    }
    // copy mode transmits only inside sendto(); zero-copy drivers ask when asleep
    if (tx.needsWakeup() && (tx.local - tx.loadConsumer()) >>> 0) this.kick(s);
    return queued;
  }

  /**
   * Device.txRoom: free slots of the TX ring of the socket the next sendBurst
   * uses (the round robin's current one). Completions are reclaimed first: in
   * copy mode the kernel takes a descriptor off the TX ring only when it can
   * reserve its completion slot, so a full completion ring is a full TX ring.
   */
  room(): number {
    const socks = this.socks;
    if (socks.length === 0) return 0;
    this.reclaim();
    const tx = socks[this.rr].tx!;
    return tx.size - ((tx.local - tx.loadConsumer()) >>> 0);
  }

  /** Completion rings -> buffer source. */
  reclaim(): void {
    const d = this.d, c = d.counters;
    const held = d.held, shift = d.shift, cph = d.chunksPerHigh, back = d.giveBack;
    for (const s of this.socks) {
      const comp = s.comp!;
      const cons = comp.local;
      const n = (comp.loadProducer() - cons) >>> 0;
      if (n === 0) continue;
      const u32 = comp.u32;
      for (let i = 0; i < n; i++) {
        const w = comp.entry(cons + i);
        const idx = indexOf(u32[w], u32[w + 1], shift, cph);
        held[idx] = 0;
        back.add(idx);
      }
      back.flush();
      comp.local = (cons + n) >>> 0;
      comp.publishConsumer(comp.local);
      c.txCompleted += n;
    }
  }

  /**
   * Device.txPending, after reclaiming (no kick). Every descriptor put on a
   * socket's TX ring comes back once on its completion ring, sent or dropped
   * (see kick), so a socket's pending frames are its last tx.local -
   * comp.local descriptors, and their lengths are still in the TX ring: we
   * only write a slot again once the kernel has taken it. A zero-copy driver
   * could hold, besides a full TX ring, up to a completion ring's worth more,
   * whose slots were written again: those count as frames, their bytes as
   * the mean of the rest.
   */
  pending(): TxPending {
    this.reclaim();
    let frames = 0, bytes = 0;
    for (const s of this.socks) {
      const tx = s.tx!, u32 = tx.u32;
      const n = (tx.local - s.comp!.local) >>> 0;
      const readable = n < tx.size ? n : tx.size;
      let b = 0;
      for (let i = 1; i <= readable; i++) b += u32[tx.entry((tx.local - i) >>> 0) + 2];
      frames += n;
      bytes += n > readable ? Math.round((b / readable) * n) : b;
    }
    return { frames, bytes };
  }

  /** Device.flush: kicks what waits, reclaims what completed; returns what is still in flight. */
  flush(): number {
    const c = this.d.counters;
    for (const s of this.socks) {
      const tx = s.tx!;
      if ((tx.local - tx.loadConsumer()) >>> 0 && tx.needsWakeup()) this.kick(s);
    }
    this.reclaim();
    // a frame the driver dropped completes too (see kick)
    return c.sent + c.txRejected - c.txCompleted;
  }

  /**
   * The TX kick. In copy mode the kernel sends inside this sendto(), frame by
   * frame; when the driver drops one (NET_XMIT_DROP: a veth whose peer's ring
   * is full and no qdisc to hold it, a carrier that went down), the kernel
   * completes its descriptor unsent and stops with EBUSY
   * (net/xdp/xsk.c, __xsk_generic_xmit): one frame per EBUSY. That frame is the
   * last one the kernel took off the TX ring; its length is still in the
   * ring, which only we write. It leaves sent for txRejected; the frames
   * behind it go with the next kick.
   */
  private kick(s: XskSocket): void {
    // zero-copy drivers send outside sendto() (it only wakes them): no such count there
    if (this.txKick.kick(s.fd) !== -EBUSY || s.zeroCopy) return;
    const tx = s.tx!;
    rejectSent(this.d.counters, tx.u32[tx.entry((tx.loadConsumer() - 1) >>> 0) + 2]);
  }
}

const EMPTY32 = new Uint32Array(0);
const EBUSY = 16;
