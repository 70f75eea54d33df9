// PACKET_TX_RING with TPACKET_V2 frames (Documentation/networking/packet_mmap.rst,
// "Transmission"). V2 rather than V3 for TX: V3 TX is frame-based anyway
// (tp_next_offset must be 0) and only exists since 4.11, so V2 gives the same
// behaviour on every kernel. A dedicated socket (protocol 0, so it receives
// nothing) owns this ring; the RX socket keeps its V3 ring.
//
// struct tpacket2_hdr: tp_status @0, tp_len @4, tp_snaplen @8, tp_mac u16 @12,
// tp_net u16 @14, ... (32 bytes). With PACKET_TX_HAS_OFF the frame's data
// starts at tp_mac (>= 32), which lets us match the source's alignment.
import { native } from '../../native/index.js';
import { copyBytes, mappingOf, type Mapping } from '../../memory/copy.js';
import { PACKET_TX_RING, TPACKET_V2, setRing, setVersion } from './socket.js';

export const TP_STATUS_AVAILABLE = 0;
export const TP_STATUS_SEND_REQUEST = 1;
const TP_STATUS_SENDING = 2;
const TP_STATUS_WRONG_FORMAT = 4;
/**
 * The status bits that mean the kernel still owns a frame. A sent frame comes
 * back as TP_STATUS_AVAILABLE, possibly with TP_STATUS_TS_* bits (29-31) set
 * when timestamping is on (tpacket_destruct_skb): those do not make it busy.
 */
const BUSY = TP_STATUS_SEND_REQUEST | TP_STATUS_SENDING | TP_STATUS_WRONG_FORMAT;
/** TPACKET2_HDRLEN - sizeof(struct sockaddr_ll): the first byte frame data may use */
export const TX_DATA_MIN = 32;

export class TxRing {
  readonly sab: SharedArrayBuffer;
  readonly map: Mapping;
  readonly frameSize: number;
  readonly frameCount: number;
  /** next frame we write */
  head = 0;
  /**
   * Frames from `tail` on (`inRing` of them, up to head) were handed to the
   * kernel and not yet seen back. The kernel works through the ring in order
   * and we write in order, so the free slots from head on are exactly the
   * frameCount - inRing up to tail: room is known without scanning, and each
   * slot is looked at once on its way back (reap), not once per question.
   */
  private tail = 0;
  inRing = 0;
  private unmapped = false;

  constructor(fd: number, frameSize: number, frameCount: number) {
    setVersion(fd, TPACKET_V2);
    // frames never straddle blocks; 16 frames per block keeps blocks small and page-multiple
    const perBlock = 16;
    const blockSize = frameSize * perBlock;
    // struct tpacket_req { block_size, block_nr, frame_size, frame_nr }
    setRing(fd, PACKET_TX_RING, Uint32Array.of(blockSize, frameCount / perBlock, frameSize, frameCount));
    this.frameSize = frameSize;
    this.frameCount = frameCount;
    this.sab = native.mmap(fd, frameSize * frameCount, 0, true, true);
    this.map = mappingOf(this.sab);
  }

  /** status word index of frame `i` */
  statusWord(i: number): number {
    return (i * this.frameSize) >>> 2;
  }

  /**
   * Takes back the frames at the tail the kernel is done with; returns how
   * many. Stops at the first it still owns: a frame completed out of order
   * (another TX queue, a slower path) is taken back once those before it
   * are, as slots are only ever reused in ring order.
   */
  reap(): number {
    const u32 = this.map.u32, frames = this.frameCount, fw = this.frameSize >>> 2;
    let t = this.tail, n = 0;
    while (n < this.inRing && (Atomics.load(u32, t * fw) & BUSY) === 0) {
      t = t + 1 === frames ? 0 : t + 1;
      n++;
    }
    this.tail = t;
    this.inRing -= n;
    return n;
  }

  /** Bytes of the frames still in the ring (call reap() first): read from their headers, only when asked. */
  pendingBytes(): number {
    const u32 = this.map.u32, frames = this.frameCount, fw = this.frameSize >>> 2;
    let bytes = 0;
    for (let k = 0, t = this.tail; k < this.inRing; k++, t = t + 1 === frames ? 0 : t + 1) bytes += u32[t * fw + 1]; // tp_len
    return bytes;
  }

  /** Free slots from head on (call reap() first for an up-to-date answer). */
  room(): number {
    return this.frameCount - this.inRing;
  }

  /**
   * The kernel stopped at a frame it refused (TP_STATUS_WRONG_FORMAT, see
   * setTxOptions): takes it out of the ring and returns its length, or -1
   * when no frame is marked so. The kernel would stop at that slot on every
   * later send, so the frames queued behind it move one slot back, in order,
   * and the next one is where the kernel looks. Safe without a lock: the
   * kernel reads SEND_REQUEST frames only inside our own sendto(), and
   * frames it is still sending (before the refused one) are not moved. A
   * copy of what is queued behind, paid only when a frame is refused.
   */
  takeRefused(): number {
    const u32 = this.map.u32, frames = this.frameCount, fs = this.frameSize, fw = fs >>> 2;
    const next = (i: number) => (i + 1 === frames ? 0 : i + 1);
    let at = this.tail, k = 0;
    while (k < this.inRing && (Atomics.load(u32, at * fw) & TP_STATUS_WRONG_FORMAT) === 0) { at = next(at); k++; }
    if (k === this.inRing) return -1;
    const refusedLen = u32[at * fw + 1];
    let to = at;
    for (let from = next(at); from !== this.head; from = next(from)) {
      const f = from * fw, t = to * fw;
      const len = u32[f + 1], mac = u32[f + 3]; // tp_len; tp_mac (data offset) | tp_net << 16
      copyBytes(this.map, from * fs + (mac & 0xffff), this.map, to * fs + (mac & 0xffff), len);
      u32[t + 1] = len;
      u32[t + 3] = mac;
      Atomics.store(u32, t, TP_STATUS_SEND_REQUEST);
      to = from;
    }
    Atomics.store(u32, to * fw, TP_STATUS_AVAILABLE);
    this.head = to;
    this.inRing--;
    return refusedLen;
  }

  /** Marks the frame at head for sending (its data and header already written) and moves head on. */
  publish(): void {
    Atomics.store(this.map.u32, this.statusWord(this.head), TP_STATUS_SEND_REQUEST);
    this.head = this.head + 1 === this.frameCount ? 0 : this.head + 1;
    this.inRing++;
  }

  unmap(): void {
    if (this.unmapped) return;
    this.unmapped = true;
    native.unmap(this.sab);
  }
}
