// The standard device `IFACE`: AF_PACKET with a TPACKET_V3 RX ring (each frame
// copied once from the ring into a cluster buffer) and a TPACKET_V2 TX ring on
// a second socket (each frame copied once from its buffer into the ring; the
// buffer is free again right away). This file: the sockets' lifetime and RX;
// tx.ts: TX.
import { native } from '../../native/index.js';
import { DeviceClosedError, InvalidArgumentError } from '../../errors.js';
import { attachToSocket } from '../../filter/socket.js';
import { checkProgram } from '../../filter/check.js';
import {
  META_HASH, META_LEN, META_NSEC, META_OFF, META_PORT, META_SEC, META_WIRELEN, META_WORDS,
  type BufferSource,
} from '../../zc/meta.js';
import { copyBytes, mappingOf, type Mapping } from '../../memory/copy.js';
import { FreeBatch } from '../free-batch.js';
import { LinkWatch, ifindexOf, mtuOf, takeSocketError } from '../iface.js';
import { sleepSync } from '../../sleep.js';
import { emptyStats, type Device, type DeviceOptions, type DeviceStats, type TxPending } from '../types.js';
import { RxRing, TP_STATUS_VLAN_TPID_VALID, TP_STATUS_VLAN_VALID } from './rx-ring.js';
import {
  addPromiscuous, bindTo, ignoreOutgoing, joinFanout, packetSocket, readStats, setTxOptions, type FanoutOptions,
} from './socket.js';
import { TX_DATA_MIN, TxRing } from './tx-ring.js';
import { PacketTx } from './tx.js';

const POLLIN = 0x1;
/** POLLERR | POLLHUP | POLLNVAL */
const POLL_FAULT = 0x8 | 0x10 | 0x20;

export interface PacketDeviceOptions extends DeviceOptions {
  /** RX ring block size in bytes (power of two, multiple of the page size; default 1 MiB) */
  blockSize?: number;
  /** RX ring blocks (default 8) */
  blockCount?: number;
  /** ms before the kernel hands over a partly filled block (default 2) */
  blockTimeoutMs?: number;
  /** TX ring frames (power of two, >= 16; default 1024) */
  txFrames?: number;
  /** put the interface in promiscuous mode while open (default true) */
  promiscuous?: boolean;
  /** also capture the frames this host sends (default false: received frames only) */
  captureOutgoing?: boolean;
  /** TX straight to the driver, skipping the qdisc (default true) */
  qdiscBypass?: boolean;
  /** join a PACKET_FANOUT group: the kernel splits the traffic among its members */
  fanout?: FanoutOptions;
  /**
   * Called with the RX socket fd after the ring is set up and before the socket
   * is bound, so no unfiltered frame slips in (e.g. SO_ATTACH_FILTER with a
   * classic BPF program from filter/).
   */
  attachFilter?: (fd: number) => void;
  /**
   * The same as plain data (e.g. for a device opened inside a worker thread):
   * a classic BPF program, 8 bytes per instruction (struct sock_filter),
   * checked and attached with SO_ATTACH_FILTER before bind.
   */
  socketFilter?: Uint8Array;
}

export class PacketDevice implements Device {
  readonly name: string;
  readonly ifindex: number;
  /** the interface's name: as opened, or as renamed since (it is followed by its index) */
  get ifname(): string { return this.link.ifname; }
  readonly mode = 'standard' as const;
  readonly queues: readonly number[] = [];
  readonly port: number;
  readonly rxCapacity: number;
  closed = false;

  private readonly source: BufferSource;
  private readonly meta: Uint32Array;
  private readonly bufferSize: number;
  private readonly bufferOffset: number;
  private readonly headroom: number;
  private readonly cluster: Mapping;
  private rxFd = -1;
  private txFd = -1;
  private rx: RxRing | null = null;
  private tx: TxRing | null = null;
  /** alloc bursts for RX */
  private readonly scratch = new Uint32Array(256);
  private readonly counters: DeviceStats = emptyStats();
  private readonly kernel = { tp_packets: 0, tp_drops: 0, tp_freeze_q_cnt: 0 };
  private readonly txPath: PacketTx;
  private readonly link: LinkWatch;

  constructor(name: string, ifname: string, o: PacketDeviceOptions) {
    this.name = name;
    this.ifindex = ifindexOf(ifname);
    this.link = new LinkWatch(name, ifname, this.ifindex, this.counters);
    this.port = o.port ?? 0;
    this.source = o.source;
    const m = o.memory;
    this.meta = m.meta;
    this.bufferSize = m.bufferSize;
    this.bufferOffset = m.bufferOffset;
    this.headroom = m.headroom;
    if (m.bufferOffset % 4 !== 0) throw new InvalidArgumentError('the cluster buffer area must be 4-byte aligned');
    this.cluster = mappingOf(m.sab);
    const blockSize = o.blockSize ?? 1 << 20;
    const blockCount = o.blockCount ?? 8;
    const txFrames = o.txFrames ?? 1024;
    this.rxCapacity = (o.rx ?? true) ? Math.floor((blockSize * blockCount) / 2048) : 0;
    if (blockSize & (blockSize - 1) || blockSize < 4096) throw new InvalidArgumentError(`blockSize must be a power of two >= 4096, got ${blockSize}`);
    if (txFrames & (txFrames - 1) || txFrames < 16) throw new InvalidArgumentError(`txFrames must be a power of two >= 16, got ${txFrames}`);
    try {
      if (o.rx ?? true) {
        this.rxFd = packetSocket();
        if (!o.captureOutgoing) ignoreOutgoing(this.rxFd);
        this.rx = new RxRing(this.rxFd, { blockSize, blockCount, blockTimeoutMs: o.blockTimeoutMs ?? 2 });
        o.attachFilter?.(this.rxFd);
        if (o.socketFilter) attachToSocket(this.rxFd, checkProgram(o.socketFilter));
        bindTo(this.rxFd, this.ifindex, true);
        if (o.fanout) joinFanout(this.rxFd, o.fanout);
        if (o.promiscuous ?? true) addPromiscuous(this.rxFd, this.ifindex);
      }
      if (o.tx ?? true) {
        this.txFd = packetSocket();
        setTxOptions(this.txFd, o.qdiscBypass ?? true);
        // room for the largest frame the interface sends (MTU + Ethernet + VLAN) after the header
        let frameSize = 2048;
        while (frameSize < TX_DATA_MIN + 4 + mtuOf(ifname) + 18) frameSize *= 2;
        this.tx = new TxRing(this.txFd, frameSize, txFrames);
        bindTo(this.txFd, this.ifindex, false);
      }
    } catch (e) {
      this.teardown();
      throw e;
    }
    this.txPath = new PacketTx(this.txFd, this.tx, {
      name, ifname, ifindex: this.ifindex, meta: this.meta, bufferSize: this.bufferSize, bufferCount: m.bufferCount,
      bufferOffset: this.bufferOffset, cluster: this.cluster, giveBack: new FreeBatch(o.source), counters: this.counters,
    });
  }

  recvBurst(out: Uint32Array, max: number): number {
    if (this.closed) throw new DeviceClosedError(`${this.name} is closed`);
    const ring = this.rx;
    if (!ring) return 0;
    if (max > out.length) max = out.length;
    const scratch = this.scratch, meta = this.meta, src = ring.map, dst = this.cluster, r32 = src.u32;
    const bs = this.bufferSize, base = this.bufferOffset, headroom = this.headroom, port = this.port;
    let got = 0, bytes = 0;
    while (got < max && ring.next()) {
      // buffers for the frames of this block we can take now (one pool call per block)
      let want = ring.left < max - got ? ring.left : max - got;
      if (want > scratch.length) want = scratch.length;
      const k = this.source.alloc(scratch, want);
      if (k === 0) { this.counters.rxNoBuffer++; break; } // frames stay in the ring; the kernel drops and counts
      for (let i = 0; i < k; i++) {
        const h = ring.at >>> 2;
        const sec = r32[h + 1], nsec = r32[h + 2], snap = r32[h + 3], wire = r32[h + 4], status = r32[h + 5];
        const mac = r32[h + 6] & 0xffff;
        const from = ring.at + mac;
        const idx = scratch[i];
        const start = base + idx * bs;
        // the kernel moved an 802.1Q tag to tp_vlan_tci: it is put back where it was on the wire
        const vlan = (status & TP_STATUS_VLAN_VALID) !== 0;
        const whole = vlan ? snap + 4 : snap;
        // same alignment mod 4 as the source, so copyBytes moves words; a frame the shift would
        // cut stays unshifted (a slower copy, but whole: a buffer keeps every frame that fits it)
        let off = headroom + ((from - start - headroom) & 3);
        if (whole > bs - off) off = headroom;
        const room = bs - off;
        const len = whole > room ? room : whole;
        if (vlan) {
          const tci = r32[h + 8] & 0xffff;
          const tpid = (status & TP_STATUS_VLAN_TPID_VALID) !== 0 ? r32[h + 9] & 0xffff : 0x8100;
          const d = dst.u8, p = start + off;
          copyBytes(src, from, dst, p, 12);
          d[p + 12] = tpid >>> 8; d[p + 13] = tpid & 0xff; d[p + 14] = tci >>> 8; d[p + 15] = tci & 0xff;
          copyBytes(src, from + 12, dst, p + 16, len - 16);
          meta[idx * META_WORDS + META_WIRELEN] = wire + 4;
        } else {
          copyBytes(src, from, dst, start + off, len);
          meta[idx * META_WORDS + META_WIRELEN] = wire;
        }
        if (len < whole) this.counters.rxTruncated++;
        const mm = idx * META_WORDS;
        meta[mm + META_LEN] = len;
        meta[mm + META_OFF] = off;
        meta[mm + META_SEC] = sec;
        meta[mm + META_NSEC] = nsec;
        meta[mm + META_HASH] = 0;
        meta[mm + META_PORT] = port;
        out[got++] = idx;
        bytes += len;
        ring.advance();
      }
      if (k < want) { this.counters.rxNoBuffer++; break; }
    }
    this.counters.received += got;
    this.counters.receivedBytes += bytes;
    return got;
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
    if (!this.rx) return false;
    if (this.rx.ready()) return true;
    const t0 = performance.now();
    const revents = native.poll(this.rxFd, POLLIN, timeoutMs);
    if ((revents & POLL_FAULT) !== 0) return this.afterFault(timeoutMs - (performance.now() - t0));
    if (revents !== 0) return true;
    // An interface unregistered while down raises no new socket error (its
    // hook is already off: packet_notifier sets sk_err only for a running
    // socket), so an idle wait looks now and then (LinkWatch).
    this.link.idle();
    return false;
  }

  /**
   * poll() said POLLERR: the kernel sets ENETDOWN on the socket when the
   * interface goes down or is unregistered (net/packet/af_packet.c,
   * packet_notifier). Reading SO_ERROR clears it, else poll() returns at once
   * forever and the receive loop spins. Down: the kernel re-hooks the socket
   * when the link comes back up, so wait out the rest of the timeout. Gone:
   * nothing will ever arrive.
   */
  private afterFault(leftMs: number): boolean {
    takeSocketError(this.rxFd);
    this.link.check(true);
    if (leftMs > 0) sleepSync(Math.min(leftMs, 1000));
    return this.rx!.ready();
  }

  stats(): DeviceStats {
    if (!this.closed && this.rxFd >= 0) {
      const [packets, drops, freeze] = readStats(this.rxFd); // reading resets: accumulate
      this.kernel.tp_packets += packets;
      this.kernel.tp_drops += drops;
      this.kernel.tp_freeze_q_cnt += freeze;
    }
    return { ...this.counters, kernelDrops: this.kernel.tp_drops, kernel: { ...this.kernel } };
  }

  /** Replaces the socket filter (e.g. `(fd) => filter.attachToSocket(fd)`); SO_ATTACH_FILTER swaps it atomically. */
  setSocketFilter(attach: (fd: number) => void): void {
    if (this.rxFd < 0) throw new InvalidArgumentError(`${this.name}: opened without RX, it has no receive socket`);
    attach(this.rxFd);
  }

  close(): void {
    if (this.closed) return;
    this.stats();
    this.teardown();
  }

  private teardown(): void {
    this.closed = true;
    this.tx?.unmap();
    if (this.txFd >= 0) native.close(this.txFd);
    this.rx?.unmap();
    if (this.rxFd >= 0) native.close(this.rxFd);
    this.tx = null;
    this.rx = null;
    this.txFd = this.rxFd = -1;
  }
}
