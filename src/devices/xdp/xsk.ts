// One AF_XDP socket bound to one interface queue, with its UMEM rings.
// Protocol (Documentation/networking/af_xdp.rst; include/uapi/linux/if_xdp.h):
// socket(AF_XDP) -> XDP_UMEM_REG (or share another socket's UMEM) -> ring sizes
// -> XDP_MMAP_OFFSETS -> mmap the rings -> bind(sockaddr_xdp).
import { native } from '../../native/index.js';
import { MemlockLimitError, ZeroCopyUnsupportedError, errnoOf } from '../../errors.js';
import { rethrowBusy, rethrowPermission } from '../iface.js';
import { XskRing, type RingOffsets } from './ring.js';
import { memlockHint } from './memlock.js';
import { sleepSync } from '../../sleep.js';

const AF_XDP = 44;
const SOCK_RAW = 3;
const SOL_XDP = 283;
// setsockopt/getsockopt names (if_xdp.h)
const XDP_MMAP_OFFSETS = 1;
const XDP_RX_RING = 2;
const XDP_TX_RING = 3;
const XDP_UMEM_REG = 4;
const XDP_UMEM_FILL_RING = 5;
const XDP_UMEM_COMPLETION_RING = 6;
const XDP_STATISTICS = 7;
const XDP_OPTIONS = 8;
/** since 6.17: how many descriptors one sendto() kick may transmit in copy mode (default 32) */
const XDP_MAX_TX_SKB_BUDGET = 9;
const XDP_OPTIONS_ZEROCOPY = 1;
// sxdp_flags
const XDP_SHARED_UMEM = 1 << 0;
const XDP_COPY = 1 << 1;
const XDP_ZEROCOPY = 1 << 2;
const XDP_USE_NEED_WAKEUP = 1 << 3;
// mmap page offsets of the rings
const XDP_PGOFF_RX_RING = 0;
const XDP_PGOFF_TX_RING = 0x80000000;
const XDP_UMEM_PGOFF_FILL_RING = 0x100000000;
const XDP_UMEM_PGOFF_COMPLETION_RING = 0x180000000;
// xdp_umem_reg.flags
const XDP_UMEM_UNALIGNED_CHUNK_FLAG = 1 << 0;

/** how long bind() retries EBUSY (a queue released by a socket closed just before) */
const BUSY_RETRY_MS = 500;

export interface UmemSpec {
  /** the mapping that holds the UMEM (page-aligned start) */
  sab: SharedArrayBuffer;
  /** byte offset of chunk 0 in `sab` (page-aligned) */
  offset: number;
  length: number;
  /** chunk size = the cluster's buffer size (power of two, 2048..page size) */
  chunkSize: number;
  /** bytes the kernel leaves free before packet data, after its own XDP_PACKET_HEADROOM (256) */
  headroom: number;
}

export interface XskConfig {
  ifindex: number;
  ifname: string;
  queue: number;
  umem: UmemSpec;
  /** fd of the socket that registered the UMEM: this one shares it (XDP_SHARED_UMEM) */
  shareUmemOf?: number;
  ringSize: number;
  rx: boolean;
  tx: boolean;
  /** 'auto': zero-copy when the driver can, else copy */
  bind: 'auto' | 'zero-copy' | 'copy';
}

function u32(v: number): Uint8Array {
  return new Uint8Array(Uint32Array.of(v).buffer);
}

export class XskSocket {
  readonly fd: number;
  readonly queue: number;
  rx: XskRing | null = null;
  tx: XskRing | null = null;
  fill: XskRing | null = null;
  comp: XskRing | null = null;
  zeroCopy = false;
  /** descriptors one TX kick may send (copy mode); 32 unless XDP_MAX_TX_SKB_BUDGET raised it */
  txBudget = 32;
  private closed = false;

  constructor(cfg: XskConfig) {
    this.queue = cfg.queue;
    try {
      this.fd = native.socket(AF_XDP, SOCK_RAW, 0);
    } catch (e) {
      rethrowPermission(e, 'CAP_NET_RAW', 'opening an AF_XDP socket');
    }
    try {
      this.setup(cfg);
    } catch (e) {
      this.close();
      throw e;
    }
  }

  private setup(cfg: XskConfig): void {
    const fd = this.fd;
    if (cfg.shareUmemOf === undefined) this.registerUmem(cfg.umem);
    // Fill and completion rings belong to the UMEM; a socket sharing the UMEM
    // on another queue needs its own pair (kernel >= 5.10).
    native.setsockopt(fd, SOL_XDP, XDP_UMEM_FILL_RING, u32(cfg.ringSize));
    native.setsockopt(fd, SOL_XDP, XDP_UMEM_COMPLETION_RING, u32(cfg.ringSize));
    if (cfg.rx) native.setsockopt(fd, SOL_XDP, XDP_RX_RING, u32(cfg.ringSize));
    if (cfg.tx) native.setsockopt(fd, SOL_XDP, XDP_TX_RING, u32(cfg.ringSize));

    const offs = new Uint32Array(32); // struct xdp_mmap_offsets: rx, tx, fr, cr x {producer, consumer, desc, flags} u64
    native.getsockopt(fd, SOL_XDP, XDP_MMAP_OFFSETS, offs);
    const ring = (k: number): RingOffsets => ({
      producer: offs[k * 8], consumer: offs[k * 8 + 2], desc: offs[k * 8 + 4], flags: offs[k * 8 + 6],
    });
    this.fill = new XskRing(fd, XDP_UMEM_PGOFF_FILL_RING, ring(2), cfg.ringSize, 8);
    this.comp = new XskRing(fd, XDP_UMEM_PGOFF_COMPLETION_RING, ring(3), cfg.ringSize, 8);
    if (cfg.rx) this.rx = new XskRing(fd, XDP_PGOFF_RX_RING, ring(0), cfg.ringSize, 16);
    if (cfg.tx) this.tx = new XskRing(fd, XDP_PGOFF_TX_RING, ring(1), cfg.ringSize, 16);

    this.bind(cfg);
    const opts = new Uint32Array(1);
    native.getsockopt(fd, SOL_XDP, XDP_OPTIONS, opts);
    this.zeroCopy = (opts[0] & XDP_OPTIONS_ZEROCOPY) !== 0;
    if (cfg.tx) {
      // Let one kick drain the whole TX ring in copy mode. Older kernels lack
      // the option (ENOPROTOOPT): keep the default budget of 32.
      try {
        native.setsockopt(fd, SOL_XDP, XDP_MAX_TX_SKB_BUDGET, u32(cfg.ringSize));
        this.txBudget = cfg.ringSize;
      } catch { /* not supported here, or a smaller maximum: the default stays */ }
    }
  }

  /**
   * Registers the UMEM in unaligned chunk mode where the kernel has it
   * (since 5.4), else aligned. Our buffers are chunk-aligned either way; the
   * mode only changes the kernel's bookkeeping: aligned, each RX buffer
   * allocation touches the xdp_buff_xsk of that chunk in an array with one
   * entry per chunk of the whole UMEM (a cache miss per frame once the fill
   * ring cycles thousands of buffers); unaligned, it reuses a few from a LIFO
   * free list. On veth, perf put xp_alloc at 8-11% of the generating CPU
   * aligned and under 1% unaligned, and trafgen got 11-15% more frames
   * through (2 A/B pairs). RX descriptors then carry the data offset in
   * their top 16 bits (see rxFrom), which reads as 0 in aligned mode.
   */
  private registerUmem(umem: UmemSpec): void {
    // struct xdp_umem_reg { u64 addr; u64 len; u32 chunk_size; u32 headroom; u32 flags; u32 tx_metadata_len; }
    const reg = new Uint32Array(8);
    reg[2] = umem.length % 0x100000000;
    reg[3] = Math.floor(umem.length / 0x100000000);
    reg[4] = umem.chunkSize;
    reg[5] = umem.headroom;
    reg[6] = XDP_UMEM_UNALIGNED_CHUNK_FLAG;
    const area = new Uint8Array(umem.sab, umem.offset, umem.length);
    try {
      try {
        native.setsockopt(this.fd, SOL_XDP, XDP_UMEM_REG, reg, [[0, area]]);
      } catch (e) {
        if (errnoOf(e) !== 'EINVAL') throw e;
        reg[6] = 0; // a kernel without unaligned chunks refuses the flag
        native.setsockopt(this.fd, SOL_XDP, XDP_UMEM_REG, reg, [[0, area]]);
      }
    } catch (e) {
      const code = errnoOf(e);
      if (code === 'ENOBUFS' || code === 'ENOMEM' || code === 'EPERM') {
        throw new MemlockLimitError(
          `registering ${umem.length} bytes of cluster memory as AF_XDP UMEM failed (${code}): ` +
          `the pages must be locked and ${memlockHint()}. Fix: run with CAP_IPC_LOCK, or raise the limit ` +
          `(ulimit -l unlimited, or LimitMEMLOCK=infinity in a systemd unit), or make the cluster smaller.`, e,
        );
      }
      throw e;
    }
  }

  private bind(cfg: XskConfig): void {
    // struct sockaddr_xdp { u16 family; u16 flags; u32 ifindex; u32 queue_id; u32 shared_umem_fd; }
    const addr = new Uint8Array(16);
    const v = new DataView(addr.buffer);
    v.setUint16(0, AF_XDP, true);
    v.setUint32(4, cfg.ifindex, true);
    v.setUint32(8, cfg.queue, true);
    const attempt = (flags: number): void => {
      v.setUint16(2, flags, true);
      // A queue whose previous socket just closed stays EBUSY until a kernel
      // worker finishes tearing its buffer pool down (xp_put_pool defers
      // xp_clear_dev to a workqueue): retry briefly before calling it busy.
      const deadline = Date.now() + BUSY_RETRY_MS;
      for (;;) {
        try {
          native.bind(this.fd, addr);
          return;
        } catch (e) {
          if (errnoOf(e) !== 'EBUSY' || Date.now() >= deadline) throw e;
          sleepSync(2);
        }
      }
    };
    const busyFix = `another AF_XDP socket (maybe another process) holds ${cfg.ifname} queue ${cfg.queue}; ` +
      'close it first, or use another queue.';
    try {
      if (cfg.shareUmemOf !== undefined) {
        // flags come from the UMEM's first socket; the kernel refuses any here
        v.setUint32(12, cfg.shareUmemOf, true);
        attempt(XDP_SHARED_UMEM);
        return;
      }
      if (cfg.bind === 'copy') return attempt(XDP_COPY | XDP_USE_NEED_WAKEUP);
      try {
        attempt(XDP_ZEROCOPY | XDP_USE_NEED_WAKEUP);
      } catch (e) {
        // EOPNOTSUPP: the driver has no zero-copy support (veth, generic XDP) — not an error in 'auto'
        if (errnoOf(e) !== 'EOPNOTSUPP') throw e;
        if (cfg.bind === 'zero-copy') {
          throw new ZeroCopyUnsupportedError(
            `${cfg.ifname} does not support AF_XDP zero-copy (the driver answered EOPNOTSUPP). ` +
            "Open with { xdpBind: 'auto' } or 'copy' to use copy mode.", e,
          );
        }
        attempt(XDP_COPY | XDP_USE_NEED_WAKEUP);
      }
    } catch (e) {
      rethrowBusy(e, `${cfg.ifname} queue ${cfg.queue}`, busyFix);
    }
  }

  /** struct xdp_statistics (six u64 counters), low words summed with high words * 2^32 */
  statistics(): Record<string, number> {
    const s = new Uint32Array(12);
    native.getsockopt(this.fd, SOL_XDP, XDP_STATISTICS, s);
    const at = (k: number): number => s[2 * k] + s[2 * k + 1] * 0x100000000;
    return {
      rx_dropped: at(0), rx_invalid_descs: at(1), tx_invalid_descs: at(2),
      rx_ring_full: at(3), rx_fill_ring_empty_descs: at(4), tx_ring_empty_descs: at(5),
    };
  }

  /** Unmaps every ring (the socket is only released once its mappings are gone), then closes. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const r of [this.tx, this.rx, this.comp, this.fill]) r?.unmap();
    if (this.fd !== undefined) native.close(this.fd);
  }
}
