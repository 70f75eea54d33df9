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
/** TPACKET2_HDRLEN - sizeof(struct sockaddr_ll): the first byte frame data may use */
export const TX_DATA_MIN = 32;

export class TxRing {
  readonly sab: SharedArrayBuffer;
  readonly map: Mapping;
  readonly frameSize: number;
  readonly frameCount: number;
  /** next frame we write */
  head = 0;
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

  /** frames the kernel has not sent yet */
  pending(): number {
    let n = 0;
    const u32 = this.map.u32;
    for (let i = 0; i < this.frameCount; i++) if (Atomics.load(u32, this.statusWord(i)) !== TP_STATUS_AVAILABLE) n++;
    return n;
  }

  unmap(): void {
    if (this.unmapped) return;
    this.unmapped = true;
    native.unmap(this.sab);
  }
}
