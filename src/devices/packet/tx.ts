// The TX half of the standard device: each frame is copied once from its
// cluster buffer into a PACKET_TX_RING slot (the buffer is free again right
// away), the kernel is kicked with sendto(), and slots come back to us as the
// kernel finishes with them (tx-ring.ts). Counters follow what the kernel
// did: a frame it refuses is taken back out of sent (txRejected), a slot it
// has sent counts in txCompleted. The RX half and the sockets' lifetime are
// in device.ts.
import { copyBytes, type Mapping } from '../../memory/copy.js';
import { META_LEN, META_OFF, META_WORDS } from '../../zc/meta.js';
import type { FreeBatch } from '../free-batch.js';
import { TxKick } from '../iface.js';
import { rejectSent, type DeviceStats, type TxPending } from '../types.js';
import { TX_DATA_MIN, type TxRing } from './tx-ring.js';

const EMPTY32 = new Uint32Array(0);

/** What the TX half shares with its device (same objects: the counters are one). */
export interface PacketTxState {
  readonly name: string;
  readonly ifname: string;
  readonly ifindex: number;
  readonly meta: Uint32Array;
  readonly bufferSize: number;
  readonly bufferCount: number;
  readonly bufferOffset: number;
  /** the cluster's whole memory, frames are copied from it */
  readonly cluster: Mapping;
  readonly giveBack: FreeBatch;
  readonly counters: DeviceStats;
}

export class PacketTx {
  private readonly txKick: TxKick;

  /** `ring`: null when the device was opened without TX (fd -1) */
  constructor(private readonly fd: number, private readonly ring: TxRing | null, private readonly d: PacketTxState) {
    this.txKick = new TxKick(d.name, d.ifname, d.ifindex, d.counters);
  }

  /** Device.sendBurst: copies what fits into the ring, kicks once, gives every buffer back. */
  sendBurst(indices: Uint32Array, n: number): number {
    const ring = this.ring, d = this.d, c = d.counters;
    const back = d.giveBack, meta = d.meta, count = d.bufferCount, bs = d.bufferSize, base = d.bufferOffset;
    const t32 = ring ? ring.map.u32 : EMPTY32, fs = ring ? ring.frameSize : 0;
    if (ring) c.txCompleted += ring.reap();
    const room = ring ? ring.room() : 0;
    let queued = 0, bytes = 0;
    for (let i = 0; i < n; i++) {
      const idx = indices[i];
      if (idx >= count) { c.txInvalid++; continue; } // not a buffer: nothing to give back
      // copied into the ring or dropped: either way the buffer is free again after this burst
      back.add(idx);
      if (!ring) { c.txRingFull++; continue; } // opened with tx: false
      const mm = idx * META_WORDS;
      const len = meta[mm + META_LEN], off = meta[mm + META_OFF];
      if (len === 0 || off + len > bs || len > fs - TX_DATA_MIN - 3) { c.txInvalid++; continue; }
      if (queued >= room) { c.txRingFull++; continue; }
      const from = base + idx * bs + off;
      const frame = ring!.head * fs;
      const fw = frame >>> 2;
      const dataOff = TX_DATA_MIN + ((from - TX_DATA_MIN) & 3);
      copyBytes(d.cluster, from, ring!.map, frame + dataOff, len);
      t32[fw + 1] = len; // tp_len
      t32[fw + 3] = dataOff; // tp_mac (low half), tp_net = 0
      ring!.publish();
      queued++;
      bytes += len;
    }
    back.flush();
    c.sent += queued;
    c.sentBytes += bytes;
    if (queued > 0) this.kick(ring!);
    return queued;
  }

  /**
   * sendto() on the ring. The kernel stops at a frame it refuses (longer
   * than the MTU + 14, + 4 with a VLAN tag; shorter than the Ethernet
   * header) and fails the send (EMSGSIZE, EINVAL): that frame comes out of
   * the ring and out of sent/sentBytes into txRejected, and the kick is
   * repeated for the frames queued behind it. An error with no refused
   * frame is the kick's own (TxKick: a link gone, ...). A refusal costs an
   * exception and a copy of the queue behind it, nothing when there is none.
   */
  private kick(ring: TxRing): void {
    for (;;) {
      try {
        this.txKick.kick(this.fd);
        return;
      } catch (e) {
        const len = ring.takeRefused();
        if (len < 0) throw e;
        rejectSent(this.d.counters, len);
      }
    }
  }

  /** Device.txRoom: free ring slots from the next one on, after reaping those the kernel has sent (no system call). */
  room(): number {
    const ring = this.ring;
    if (!ring) return 0;
    this.d.counters.txCompleted += ring.reap();
    return ring.room();
  }

  /** Device.txPending: the frames left in the ring once those the kernel is done with are reaped (no kick). */
  pending(): TxPending {
    const ring = this.ring;
    if (!ring) return { frames: 0, bytes: 0 };
    this.d.counters.txCompleted += ring.reap();
    return { frames: ring.inRing, bytes: ring.pendingBytes() };
  }

  /** Device.flush: kicks what waits in the ring; returns how many frames the kernel still has. */
  flush(): number {
    const ring = this.ring, c = this.d.counters;
    if (!ring) return 0;
    c.txCompleted += ring.reap();
    if (ring.inRing === 0) return 0;
    this.kick(ring);
    c.txCompleted += ring.reap();
    return ring.inRing;
  }
}
