// The four AF_XDP rings as seen from user space (Documentation/networking/af_xdp.rst,
// "Rings"): single-producer single-consumer, free-running u32 producer and
// consumer indices, a flags word (XDP_RING_NEED_WAKEUP) and an array of
// descriptors, all in one mapping of the socket. Offsets come from
// getsockopt(XDP_MMAP_OFFSETS) at run time, never from a header.
//
// fill/completion entries: u64 UMEM address; RX/TX entries: struct xdp_desc
// { u64 addr; u32 len; u32 options } (16 bytes). u64s are read and written as
// two u32 words (little endian) so no BigInt appears on the data path.
import { native } from '../../native/index.js';

export const XDP_RING_NEED_WAKEUP = 1;

/** struct xdp_ring_offset: producer, consumer, desc, flags (each u64, byte offsets into the mapping) */
export interface RingOffsets {
  producer: number;
  consumer: number;
  desc: number;
  flags: number;
}

export class XskRing {
  readonly sab: SharedArrayBuffer;
  /** the whole mapping as u32 words */
  readonly u32: Uint32Array;
  readonly size: number;
  readonly mask: number;
  private readonly prodWord: number;
  private readonly consWord: number;
  private readonly flagsWord: number;
  /** word index of descriptor 0 */
  readonly descWord: number;
  /** u32 words per entry: 2 (u64 address) or 4 (xdp_desc) */
  readonly entryWords: number;
  /** our private copy of the index we own (producer for fill/TX, consumer for RX/completion) */
  local = 0;
  private unmapped = false;

  constructor(fd: number, pgoff: number, off: RingOffsets, size: number, entryBytes: number) {
    const length = off.desc + size * entryBytes;
    this.sab = native.mmap(fd, length, pgoff, true, true);
    this.u32 = new Uint32Array(this.sab);
    this.size = size;
    this.mask = size - 1;
    this.prodWord = off.producer >>> 2;
    this.consWord = off.consumer >>> 2;
    this.flagsWord = off.flags >>> 2;
    this.descWord = off.desc >>> 2;
    this.entryWords = entryBytes >>> 2;
  }

  /** The peer's index (acquire): the kernel's consumer for fill/TX, its producer for RX/completion. */
  loadProducer(): number {
    return Atomics.load(this.u32, this.prodWord);
  }
  loadConsumer(): number {
    return Atomics.load(this.u32, this.consWord);
  }
  /** Publishes our producer index (release: descriptors written before are visible first). */
  publishProducer(v: number): void {
    Atomics.store(this.u32, this.prodWord, v);
  }
  publishConsumer(v: number): void {
    Atomics.store(this.u32, this.consWord, v);
  }
  needsWakeup(): boolean {
    return (Atomics.load(this.u32, this.flagsWord) & XDP_RING_NEED_WAKEUP) !== 0;
  }
  /** word index of entry `i` (free-running index) */
  entry(i: number): number {
    return this.descWord + (i & this.mask) * this.entryWords;
  }

  unmap(): void {
    if (this.unmapped) return;
    this.unmapped = true;
    native.unmap(this.sab);
  }
}
