// What a user function sees: one reusable object re-pointed at each packet
// (no allocation per packet). Bytes are read in place in cluster memory.
//
//   (p) => p.parse().ip.proto === 6 ? 0 : 1        // TCP to output 0
//   (p) => p.u16(12) === 0x0806 ? -1 : p.flowHash('ip') % 4
import { META_HASH, META_LEN, META_NSEC, META_OFF, META_PORT, META_SEC, META_WIRELEN, META_WORDS, type BufferMemory } from '../zc/meta.js';
import { PacketInfo } from '../net/packet-info.js';
import { parsePacket } from '../net/parse.js';
import { FLOW_HASHES, type FlowHashName } from '../net/hash.js';

export class PacketView {
  /** the whole cluster memory: the packet is bytes[offset, offset + length) */
  readonly bytes: Uint8Array;
  /** buffer index */
  index = 0;
  /** absolute offset of the first byte (Ethernet header) in `bytes` */
  offset = 0;
  /** captured length */
  length = 0;
  /** input port (META_PORT): which device or queue it came from */
  port = 0;
  /** flow hash (META_HASH); a function may set it, the worker stores it back */
  hash = 0;
  private readonly meta: Uint32Array;
  private readonly base: number;
  private readonly size: number;
  private readonly parsed = new PacketInfo();
  private isParsed = false;
  private readonly scratch = new PacketInfo();

  constructor(memory: BufferMemory) {
    this.bytes = memory.bytes;
    this.meta = memory.meta;
    this.base = memory.bufferOffset;
    this.size = memory.bufferSize;
  }

  /** Points the view at buffer b (the worker calls this; functions need not). */
  load(b: number): this {
    const m = b * META_WORDS;
    const meta = this.meta;
    this.index = b;
    this.offset = this.base + b * this.size + meta[m + META_OFF];
    this.length = meta[m + META_LEN];
    this.port = meta[m + META_PORT];
    this.hash = meta[m + META_HASH];
    this.isParsed = false;
    return this;
  }

  /** length on the wire (differs from `length` when the capture was truncated) */
  get wireLength(): number {
    return this.meta[this.index * META_WORDS + META_WIRELEN] || this.length;
  }

  get sec(): number {
    return this.meta[this.index * META_WORDS + META_SEC];
  }

  get nsec(): number {
    return this.meta[this.index * META_WORDS + META_NSEC];
  }

  /** Parsed headers (Ethernet, VLAN, IP, ports, tunnel), computed once per packet. */
  parse(): PacketInfo {
    if (!this.isParsed) {
      parsePacket(this.bytes, this.offset, this.length, this.parsed, true);
      this.isParsed = true;
    }
    return this.parsed;
  }

  /** A symmetric flow hash of this packet ('ip', 'five-tuple', 'tunnel', 'vlan'). */
  flowHash(name: FlowHashName): number {
    return FLOW_HASHES[name](this.bytes, this.offset, this.length, this.scratch);
  }

  /** Byte at packet offset i, or -1 beyond the captured length. */
  u8(i: number): number {
    return i >= 0 && i < this.length ? this.bytes[this.offset + i] : -1;
  }

  /** Big-endian u16 at packet offset i, or -1 beyond the captured length. */
  u16(i: number): number {
    if (i < 0 || i + 2 > this.length) return -1;
    const o = this.offset + i;
    return (this.bytes[o] << 8) | this.bytes[o + 1];
  }

  /** Big-endian u32 at packet offset i, or -1 beyond the captured length. */
  u32(i: number): number {
    if (i < 0 || i + 4 > this.length) return -1;
    const b = this.bytes;
    const o = this.offset + i;
    return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
  }

  /** A Uint8Array over the packet (allocates a view object: avoid per packet on hot paths). */
  data(): Uint8Array {
    return this.bytes.subarray(this.offset, this.offset + this.length);
  }
}

export type PacketFunction = (view: PacketView) => number;
