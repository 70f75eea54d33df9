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
import { mappingOf, type Mapping } from '../../memory/copy.js';
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

  /** Free slots from head on (call reap() first for an up-to-date answer). */
  room(): number {
    return this.frameCount - this.inRing;
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
