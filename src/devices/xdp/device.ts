// The zero-copy device `zc:IFACE[@Q]`: AF_XDP sockets whose UMEM is the
// cluster's buffer area, so buffer index i <-> UMEM chunk i and a received
// frame is already in a cluster buffer (no copy in zero-copy mode, one kernel
// copy in copy mode). One socket per queue; the first registers the UMEM, the
// others share it (XDP_SHARED_UMEM) with their own fill/completion rings.
//
// Buffer ownership: a buffer on a fill ring or a TX ring belongs to the device
// (`held`), and goes back to the BufferSource when it returns on the RX ring
// (to the caller) or the completion ring (to the source), or at close().
// This file: the sockets' lifetime, RX and the fill rings; tx.ts: TX and the
// completion rings; umem-addr.ts: addresses <-> buffer indices.
import { native } from '../../native/index.js';
import { DeviceClosedError, InvalidArgumentError } from '../../errors.js';
import {
  META_HASH, META_LEN, META_NSEC, META_OFF, META_PORT, META_SEC, META_WIRELEN, META_WORDS,
  type BufferMemory, type BufferSource,
} from '../../zc/meta.js';
import { nowSecNsec } from '../clock.js';
import { FreeBatch } from '../free-batch.js';
import { LinkWatch, checkQueue, ifindexOf, rxQueueCount } from '../iface.js';
import { emptyStats, type Device, type DeviceMode, type DeviceOptions, type DeviceStats, type TxPending } from '../types.js';
import { acquireXdp, releaseXdp, replaceXdpFilter, type XdpAttachMode, type XdpAttachment } from './attach.js';
import { xskMapDelete, xskMapSet } from './bpf.js';
import { raiseMemlock } from './memlock.js';
import { XDP_PACKET_HEADROOM, xdpFrameLimit } from './frame-limit.js';
export { XDP_PACKET_HEADROOM } from './frame-limit.js';
import { XDP_DROP, XDP_PASS } from './program.js';
import { XskSocket } from './xsk.js';
import { XdpTx } from './tx.js';
import { TWO32, highOf, indexOf } from './umem-addr.js';

const MSG_DONTWAIT = 0x40;
const POLLIN = 0x1;
/** the largest UMEM chunk without hugepage-backed chunks: the x86-64/arm64 base page */
export const XDP_MAX_CHUNK = 4096;


export interface XdpDeviceOptions extends DeviceOptions {
  /** one queue; undefined = every RX queue of the interface, one socket each */
  queue?: number;
  /** entries of each ring (RX, TX, fill, completion); a power of two, default 2048 */
  ringSize?: number;
  /** buffers kept on each fill ring; default min(ringSize, bufferCount / (2 * queues)) */
  fillDepth?: number;
  /** 'auto' (default): zero-copy when the driver supports it, else copy mode */
  xdpBind?: 'auto' | 'zero-copy' | 'copy';
  /** 'auto' (default): driver (native) XDP, generic only when the driver has none */
  xdpAttach?: 'auto' | XdpAttachMode;
  /**
   * eBPF function run before the redirect (see xdp/program.ts): R1 = ctx, returns
   * R0 != 0 to deliver the frame to this device, 0 to leave it to the kernel
   * (or drop it with xdpFilterReject: 'drop'). Bytes as for BPF_PROG_LOAD.
   */
  xdpFilter?: Uint8Array;
  xdpFilterReject?: 'pass' | 'drop';
}

export class XdpDevice implements Device {
  readonly name: string;
  readonly ifindex: number;
  /** the interface's name: as opened, or as renamed since (it is followed by its index) */
  get ifname(): string { return this.link.ifname; }
  readonly mode: DeviceMode;
  readonly queues: readonly number[];
  readonly port: number;
  get rxCapacity(): number { return this.fillDepth; }
  /** the longest frame it receives (bytes); longer ones are dropped by the kernel (frame-limit.ts) */
  readonly rxFrameLimit: number;
  /** how the program is attached: 'native' (driver) or 'generic' (skb) */
  readonly xdpAttach: XdpAttachMode;
  closed = false;

  private readonly source: BufferSource;
  private readonly meta: Uint32Array;
  private readonly bufferSize: number;
  private readonly bufferCount: number;
  private readonly shift: number;
  private readonly chunksPerHigh: number;
  private readonly socks: XskSocket[] = [];
  private readonly rxSocks: XskSocket[];
  private readonly txPath: XdpTx;
  private readonly fds: Int32Array;
  private readonly inFill: number[];
  private readonly fillDepth: number;
  private readonly held: Uint8Array;
  /** alloc bursts for the fill rings */
  private readonly scratch: Uint32Array;
  private readonly giveBack: FreeBatch;
  private readonly ts = new Uint32Array(2);
  private readonly counters: DeviceStats = emptyStats();
  private attachment: XdpAttachment | null = null;
  /** the kernel's counters as last read, so stats() still answers after close() */
  private lastKernel: Record<string, number> = {};
  private rr = 0;
  private readonly link: LinkWatch;

  constructor(name: string, ifname: string, o: XdpDeviceOptions) {
    const m: BufferMemory = o.memory;
    this.name = name;
    this.ifindex = ifindexOf(ifname);
    this.link = new LinkWatch(name, ifname, this.ifindex, this.counters);
    this.port = o.port ?? 0;
    this.source = o.source;
    this.meta = m.meta;
    this.bufferSize = m.bufferSize;
    this.bufferCount = m.bufferCount;
    if (m.bufferSize & (m.bufferSize - 1) || m.bufferSize < 2048 || m.bufferSize > XDP_MAX_CHUNK) {
      // the kernel refuses a UMEM chunk above the page size with a bare EINVAL (xdp_umem_reg)
      throw new InvalidArgumentError(`AF_XDP needs a power-of-two buffer size of 2048 to ${XDP_MAX_CHUNK} bytes (at most a page), ` +
        `the cluster has ${m.bufferSize}. Fix: create the cluster with bufferSize 2048 or ${XDP_MAX_CHUNK}.`);
    }
    if (m.bufferOffset % 4096 !== 0) throw new InvalidArgumentError('the cluster buffer area must be page-aligned for AF_XDP');
    this.shift = Math.log2(m.bufferSize);
    this.rxFrameLimit = xdpFrameLimit(m.bufferSize, m.headroom);
    this.chunksPerHigh = TWO32 / m.bufferSize;
    const nq = rxQueueCount(ifname);
    let queues: number[];
    if (o.queue === undefined) queues = Array.from({ length: nq }, (_, i) => i);
    else {
      checkQueue(ifname, o.queue);
      queues = [o.queue];
    }
    this.queues = queues;
    const ringSize = o.ringSize ?? 2048;
    if (ringSize & (ringSize - 1) || ringSize < 64) throw new InvalidArgumentError(`ringSize must be a power of two >= 64, got ${ringSize}`);
    const rx = o.rx ?? true;
    const tx = o.tx ?? true;
    this.fillDepth = rx ? Math.max(1, Math.min(o.fillDepth ?? ringSize, ringSize, Math.floor(m.bufferCount / (2 * queues.length)))) : 0;
    this.held = new Uint8Array(m.bufferCount);
    this.scratch = new Uint32Array(ringSize);
    this.giveBack = new FreeBatch(o.source);
    this.inFill = queues.map(() => 0);
    this.txPath = new XdpTx(tx ? this.socks : [], {
      name, ifname, ifindex: this.ifindex, meta: this.meta, held: this.held, bufferSize: this.bufferSize,
      bufferCount: this.bufferCount, shift: this.shift, chunksPerHigh: this.chunksPerHigh, giveBack: this.giveBack, counters: this.counters,
    });

    const headroom = Math.max(0, m.headroom - XDP_PACKET_HEADROOM);
    try {
      this.attachment = rx
        ? acquireXdp({
          ifname, ifindex: this.ifindex, queues: nq, filter: o.xdpFilter,
          rejectAction: o.xdpFilterReject === 'drop' ? XDP_DROP : XDP_PASS, attach: o.xdpAttach ?? 'auto',
        })
        : null;
      raiseMemlock();
      for (const q of queues) {
        const s = new XskSocket({
          ifindex: this.ifindex, ifname, queue: q, ringSize, rx, tx, bind: o.xdpBind ?? 'auto',
          shareUmemOf: this.socks.length ? this.socks[0].fd : undefined,
          umem: { sab: m.sab, offset: m.bufferOffset, length: m.bufferCount * m.bufferSize, chunkSize: m.bufferSize, headroom },
        });
        this.socks.push(s);
      }
      // The first fill in bursts of 64, as the receive loop refills: one call
      // of 8192 iterations gets refill() compiled on stack (OSR) before its
      // tail ever ran, and V8 then re-entered that code and bailed out of it
      // on every later refill (112 deopts, ~3 ms, as traffic began).
      for (let i = 0; i < this.socks.length; i++) {
        if (!rx) break;
        while (this.inFill[i] < this.fillDepth && this.refill(this.socks[i], i, 64) > 0);
      }
      if (this.attachment) for (const s of this.socks) xskMapSet(this.attachment.mapFd, s.queue, s.fd);
    } catch (e) {
      this.teardown();
      throw e;
    }
    this.mode = this.socks[0].zeroCopy ? 'zero-copy' : 'copy';
    this.xdpAttach = this.attachment?.mode ?? 'native';
    this.rxSocks = rx ? this.socks : [];
    this.fds = Int32Array.from(this.socks.map((s) => s.fd));
  }

  recvBurst(out: Uint32Array, max: number): number {
    if (this.closed) throw new DeviceClosedError(`${this.name} is closed`);
    const socks = this.rxSocks;
    const n = socks.length;
    if (max > out.length) max = out.length;
    let got = 0;
    for (let k = 0; k < n && got < max; k++) {
      const si = (this.rr + k) % n;
      got += this.rxFrom(socks[si], si, out, got, max - got);
    }
    if (n > 1) this.rr = (this.rr + 1) % n;
    return got;
  }

  private rxFrom(s: XskSocket, si: number, out: Uint32Array, base: number, max: number): number {
    const rx = s.rx!;
    const cons = rx.local;
    let n = (rx.loadProducer() - cons) >>> 0;
    if (n > max) n = max;
    if (n === 0) {
      this.refill(s, si);
      // a zero-copy driver that went to sleep waits for a wakeup to use the fill ring
      if (s.fill!.needsWakeup()) native.recv(s.fd, EMPTY, MSG_DONTWAIT);
      return 0;
    }
    nowSecNsec(this.ts);
    const sec = this.ts[0], nsec = this.ts[1];
    const u32 = rx.u32, meta = this.meta, held = this.held;
    const shift = this.shift, offMask = this.bufferSize - 1, cph = this.chunksPerHigh, port = this.port;
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const w = rx.entry(cons + i);
      // addr: the filled chunk's address in bits 0-47 and, in unaligned
      // chunk mode, the data's offset in it in bits 48-63 (xp_get_handle);
      // aligned, the data's own address (top bits 0). The sum covers both.
      const lo = u32[w], hi = u32[w + 1], len = u32[w + 2];
      const idx = indexOf(lo, hi & 0xffff, shift, cph);
      const mm = idx * META_WORDS;
      meta[mm + META_LEN] = len;
      meta[mm + META_OFF] = (lo & offMask) + (hi >>> 16);
      meta[mm + META_SEC] = sec;
      meta[mm + META_NSEC] = nsec;
      meta[mm + META_HASH] = 0;
      meta[mm + META_PORT] = port;
      meta[mm + META_WIRELEN] = len;
      held[idx] = 0;
      out[base + i] = idx;
      bytes += len;
    }
    rx.local = (cons + n) >>> 0;
    rx.publishConsumer(rx.local);
    this.inFill[si] -= n;
    this.counters.received += n;
    this.counters.receivedBytes += bytes;
    this.refill(s, si);
    return n;
  }

  /** Tops the fill ring up to fillDepth buffers from the source, `most` at a time; returns how many it added. */
  private refill(s: XskSocket, si: number, most = this.scratch.length): number {
    let want = this.fillDepth - this.inFill[si];
    if (want <= 0 || (want < 16 && this.inFill[si] > 0)) return 0;
    const fill = s.fill!;
    const room = fill.size - ((fill.local - fill.loadConsumer()) >>> 0);
    if (want > room) want = room;
    if (want > most) want = most;
    const k = this.source.alloc(this.scratch, want);
    if (k < want) this.counters.rxNoBuffer++;
    if (k === 0) return 0;
    const u32 = fill.u32, bs = this.bufferSize, held = this.held, scratch = this.scratch;
    let p = fill.local;
    for (let i = 0; i < k; i++) {
      const idx = scratch[i];
      const addr = idx * bs;
      const w = fill.entry(p++);
      u32[w] = addr >>> 0;
      u32[w + 1] = highOf(addr);
      held[idx] = 1;
    }
    fill.local = p >>> 0;
    fill.publishProducer(fill.local);
    this.inFill[si] += k;
    return k;
  }

  sendBurst(indices: Uint32Array, n: number): number {
    if (this.closed) throw new DeviceClosedError(`${this.name} is closed`);
    return this.txPath.sendBurst(indices, n);
  }

  txRoom(): number {
    if (this.closed) throw new DeviceClosedError(`${this.name} is closed`);
    return this.txPath.room();
  }

  flush(): number {
    if (this.closed) return 0;
    return this.txPath.flush();
  }

  txPending(): TxPending {
    if (this.closed) throw new DeviceClosedError(`${this.name} is closed`);
    return this.txPath.pending();
  }

  wait(timeoutMs: number): boolean {
    if (this.closed) throw new DeviceClosedError(`${this.name} is closed`);
    for (const s of this.rxSocks) if (s.rx!.loadProducer() !== s.rx!.local) return true;
    if (native.pollFds(this.fds, POLLIN, timeoutMs) > 0) return true;
    // An AF_XDP socket whose interface is unregistered is unbound without a
    // word to poll() (net/xdp/xsk.c, xsk_notifier: sk_err is set, xsk_poll
    // reports nothing), so an idle wait looks (LinkWatch). A link that is down
    // keeps the socket bound and the program attached: frames flow again when
    // it is up.
    this.link.idle();
    return false;
  }

  stats(): DeviceStats {
    const out: DeviceStats = { ...this.counters, kernel: {} };
    if (!this.closed) {
      for (const s of this.socks) {
        for (const [k, v] of Object.entries(s.statistics())) out.kernel[k] = (out.kernel[k] ?? 0) + v;
      }
      this.lastKernel = out.kernel;
    } else {
      out.kernel = { ...this.lastKernel };
    }
    out.kernelDrops = (out.kernel.rx_dropped ?? 0) + (out.kernel.rx_ring_full ?? 0);
    return out;
  }

  /**
   * Replaces the XDP filter (eBPF subprogram bytes, as `xdpFilter`) of the
   * program this device runs, atomically: no packet sees no program. The
   * program is the interface's: while another process or thread holds it
   * (joined, attach.ts) this throws XdpProgramSharedError and nothing changes.
   */
  setXdpFilter(filter: Uint8Array | undefined, reject: 'pass' | 'drop' = 'pass'): void {
    if (this.closed) throw new DeviceClosedError(`${this.name}: closed`);
    if (!this.attachment) throw new InvalidArgumentError(`${this.name}: opened without RX, it runs no XDP program`);
    replaceXdpFilter(this.attachment, filter, reject === 'drop' ? XDP_DROP : XDP_PASS);
  }

  close(): void {
    if (this.closed) return;
    this.stats(); // keep the kernel's last counters readable after close
    this.closed = true;
    this.teardown();
  }

  /** Reverse order of construction; safe on a half-built device. */
  private teardown(): void {
    this.closed = true;
    const att = this.attachment;
    if (att) for (const s of this.socks) xskMapDelete(att.mapFd, s.queue);
    if (this.socks.length) this.reclaimAfterStop();
    for (const s of this.socks.slice().reverse()) s.close();
    if (att) releaseXdp(att);
    this.attachment = null;
    // the sockets are gone: every buffer we held (fill ring, in-kernel, TX) is free again
    for (let i = 0; i < this.held.length; i++) {
      if (this.held[i] === 0) continue;
      this.held[i] = 0;
      this.giveBack.add(i);
    }
    this.giveBack.flush();
    this.socks.length = 0;
  }

  private reclaimAfterStop(): void {
    try {
      this.txPath.reclaim();
    } catch { /* rings already gone */ }
  }
}

const EMPTY = new Uint8Array(0);
