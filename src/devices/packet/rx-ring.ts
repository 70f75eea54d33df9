// TPACKET_V3 receive ring (Documentation/networking/packet_mmap.rst, "TPACKET_V3"):
// the mapping is a ring of blocks; the kernel fills a block with variable-size
// frames and hands it over by setting TP_STATUS_USER in its block header
// (when full, or after tp_retire_blk_tov ms). We walk its frames and give the
// block back with TP_STATUS_KERNEL.
//
// struct tpacket_block_desc: version u32 @0, offset_to_priv u32 @4, then
// struct tpacket_hdr_v1: block_status @8, num_pkts @12, offset_to_first_pkt @16, ...
// struct tpacket3_hdr: tp_next_offset @0, tp_sec @4, tp_nsec @8, tp_snaplen @12,
// tp_len @16, tp_status @20, tp_mac u16 @24, tp_net u16 @26, tp_rxhash @28,
// tp_vlan_tci @32, tp_vlan_tpid u16 @36.
import { native } from '../../native/index.js';
import { mappingOf, type Mapping } from '../../memory/copy.js';
import { PACKET_RX_RING, TPACKET_V3, setRing, setVersion } from './socket.js';

const TP_STATUS_KERNEL = 0;
const TP_STATUS_USER = 1;
export const TP_STATUS_VLAN_VALID = 0x10;
export const TP_STATUS_VLAN_TPID_VALID = 0x40;

export interface RxRingConfig {
  blockSize: number;
  blockCount: number;
  /** ms before a partly filled block is handed to user space */
  blockTimeoutMs: number;
}

/** Position of the next frame to read; the device reads frames through `map`. */
export class RxRing {
  readonly sab: SharedArrayBuffer;
  readonly map: Mapping;
  readonly blockSize: number;
  readonly blockCount: number;
  /** current block, and frames left in it (0 = block not taken yet) */
  private block = 0;
  left = 0;
  /** byte offset of the next frame's tpacket3_hdr */
  at = 0;
  private unmapped = false;

  constructor(fd: number, cfg: RxRingConfig) {
    setVersion(fd, TPACKET_V3);
    // struct tpacket_req3 { block_size, block_nr, frame_size, frame_nr, retire_blk_tov, sizeof_priv, feature_req_word }
    const frameSize = 2048; // only used by the kernel to size its frame count in V3
    const req = Uint32Array.of(
      cfg.blockSize, cfg.blockCount, frameSize, (cfg.blockSize / frameSize) * cfg.blockCount, cfg.blockTimeoutMs, 0, 0,
    );
    setRing(fd, PACKET_RX_RING, req);
    this.blockSize = cfg.blockSize;
    this.blockCount = cfg.blockCount;
    this.sab = native.mmap(fd, cfg.blockSize * cfg.blockCount, 0, true, true);
    this.map = mappingOf(this.sab);
  }

  /**
   * Makes the next frame available: true when `at` points at a frame and
   * `left` > 0. Takes the next block from the kernel when needed.
   */
  next(): boolean {
    if (this.left > 0) return true;
    const u32 = this.map.u32;
    const hdr = (this.block * this.blockSize) >>> 2;
    if ((Atomics.load(u32, hdr + 2) & TP_STATUS_USER) === 0) return false;
    const n = u32[hdr + 3];
    if (n === 0) {
      this.release();
      return this.next();
    }
    this.left = n;
    this.at = this.block * this.blockSize + u32[hdr + 4];
    return true;
  }

  /** Moves past the current frame; returns the block to the kernel after its last one. */
  advance(): void {
    const next = this.map.u32[this.at >>> 2];
    this.left--;
    if (this.left === 0) this.release();
    else this.at += next;
  }

  private release(): void {
    const hdr = (this.block * this.blockSize) >>> 2;
    Atomics.store(this.map.u32, hdr + 2, TP_STATUS_KERNEL);
    this.block = this.block + 1 === this.blockCount ? 0 : this.block + 1;
    this.left = 0;
  }

  /** true when a block is waiting for us (cheap check before a poll) */
  ready(): boolean {
    if (this.left > 0) return true;
    return (Atomics.load(this.map.u32, ((this.block * this.blockSize) >>> 2) + 2) & TP_STATUS_USER) !== 0;
  }

  unmap(): void {
    if (this.unmapped) return;
    this.unmapped = true;
    native.unmap(this.sab);
  }
}
