// Test-side capture file builder, written independently of src/pcap (it uses
// BigInt for 64-bit timestamps where the library uses exact double
// arithmetic), so round trips check the library against a second encoder.
// Makes classic pcap and pcapng in either byte order with any resolution.

import { PcapReader, type PcapReaderOptions } from '../../src/pcap/reader.js';
import { createPacketRecords } from '../../src/pcap/records.js';
import { prng } from './prng.js';

export interface GenPacket {
  data: Uint8Array;
  /** original length (defaults to data.length) */
  wirelen?: number;
  sec: number;
  nsec: number;
}


/**
 * `count` Ethernet/IPv4/UDP frames of random lengths in [minLen, maxLen] with
 * random payload bytes and strictly increasing nanosecond timestamps.
 */
export function makePackets(count: number, seed = 1, minLen = 60, maxLen = 1514, startSec = 1_700_000_000): GenPacket[] {
  const r = prng(seed);
  const out: GenPacket[] = [];
  let sec = startSec;
  let nsec = Math.floor(r() * 1e9);
  for (let i = 0; i < count; i++) {
    const len = minLen + Math.floor(r() * (maxLen - minLen + 1));
    const d = new Uint8Array(len);
    for (let j = 0; j < len; j++) d[j] = Math.floor(r() * 256);
    if (len >= 42) {
      d.set([0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00], 0); // dst, src, IPv4
      d[14] = 0x45; d[23] = 17; // version/IHL, UDP
      d[16] = (len - 14) >> 8; d[17] = (len - 14) & 0xff;
      d.set([10, 0, 0, 1, 10, 0, 0, 2], 26);
    }
    nsec += 1 + Math.floor(r() * 3e8);
    if (nsec >= 1e9) { sec += Math.floor(nsec / 1e9); nsec %= 1e9; }
    out.push({ data: d, sec, nsec });
  }
  return out;
}

/** Growable byte builder with a fixed byte order. */
export class Bytes {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  length = 0;
  constructor(public le = true) {}
  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.length));
    this.buf = b;
    this.view = new DataView(b.buffer);
  }
  u8(x: number): this { this.room(1); this.buf[this.length++] = x; return this; }
  u16(x: number): this { this.room(2); this.view.setUint16(this.length, x, this.le); this.length += 2; return this; }
  u32(x: number): this { this.room(4); this.view.setUint32(this.length, x >>> 0, this.le); this.length += 4; return this; }
  u64(x: bigint): this { this.room(8); this.view.setBigUint64(this.length, BigInt.asUintN(64, x), this.le); this.length += 8; return this; }
  bytes(b: Uint8Array): this { this.room(b.length); this.buf.set(b, this.length); this.length += b.length; return this; }
  pad4(): this { while (this.length & 3) this.u8(0); return this; }
  setU32(at: number, x: number): void { this.view.setUint32(at, x >>> 0, this.le); }
  done(): Uint8Array { return this.buf.slice(0, this.length); }
}

export interface PcapGenOptions {
  bigEndian?: boolean; nanosecond?: boolean; snaplen?: number; linkType?: number;
  /**
   * Old variants: bytes after each 16-byte record header, written with the
   * "modified" magic a1b2cd34: 8 (modified: ifindex, protocol, pkt_type, pad)
   * or 12 (SuSE 6.3: the same, cpu1, cpu2 and 3 bytes of pad).
   */
  recordExtra?: 8 | 12;
}

/** Classic pcap; packet bytes are written in full (caplen = data.length). */
export function buildPcap(pkts: GenPacket[], o: PcapGenOptions = {}): Uint8Array {
  const b = new Bytes(!o.bigEndian);
  const magic = o.recordExtra ? 0xa1b2cd34 : o.nanosecond ? 0xa1b23c4d : 0xa1b2c3d4;
  b.u32(magic).u16(2).u16(4).u32(0).u32(0).u32(o.snaplen ?? 262144).u32(o.linkType ?? 1);
  for (const p of pkts) {
    b.u32(p.sec).u32(o.nanosecond ? p.nsec : Math.floor(p.nsec / 1000)).u32(p.data.length).u32(p.wirelen ?? p.data.length);
    if (o.recordExtra) b.u32(2).u16(0x0800).u8(4).u8(0xee); // ifindex 2, IPv4, PACKET_OUTGOING, pad
    if (o.recordExtra === 12) b.u8(1).u8(0).u8(0xee).u8(0xee);
    b.bytes(p.data);
  }
  return b.done();
}

// ---- pcapng ----

export interface GenInterface {
  linkType?: number;
  snaplen?: number;
  /** if_tsresol byte; undefined = option absent (microseconds) */
  tsresol?: number;
  /** if_tsoffset seconds; undefined = option absent */
  tsoffset?: number;
}

export type GenBlock =
  | { kind: 'epb'; pkt: GenPacket; iface?: number; comment?: string }
  | { kind: 'opb'; pkt: GenPacket; iface?: number }
  | { kind: 'spb'; pkt: GenPacket }
  | { kind: 'nrb' }
  | { kind: 'isb'; iface?: number }
  | { kind: 'raw'; type: number; body: Uint8Array };

export interface GenSection { bigEndian?: boolean; interfaces: GenInterface[]; blocks: GenBlock[] }

/** Ticks per second of an if_tsresol byte. */
export function unitsOf(tsresol: number | undefined): bigint {
  const v = tsresol ?? 6;
  return v & 0x80 ? 1n << BigInt(v & 0x7f) : 10n ** BigInt(v);
}

/** The 64-bit tick count an interface stores for (sec, nsec), truncating below its resolution. */
export function ticksOf(p: GenPacket, iface: GenInterface): bigint {
  const units = unitsOf(iface.tsresol);
  const ns = (BigInt(p.sec) - BigInt(iface.tsoffset ?? 0)) * 1_000_000_000n + BigInt(p.nsec);
  return (ns * units) / 1_000_000_000n;
}

/** What a correct reader must report for `ticks` on `iface` (BigInt reference arithmetic). */
export function expectedTime(ticks: bigint, iface: GenInterface): { sec: number; nsec: number } {
  const units = unitsOf(iface.tsresol);
  const t = BigInt.asUintN(64, ticks);
  const sec = t / units + BigInt(iface.tsoffset ?? 0);
  const nsec = ((t % units) * 1_000_000_000n) / units;
  return { sec: Number(BigInt.asUintN(32, sec)), nsec: Number(nsec) };
}

function block(b: Bytes, type: number, body: (b: Bytes) => void): void {
  const start = b.length;
  b.u32(type).u32(0);
  body(b);
  b.pad4();
  const len = b.length - start + 4;
  b.u32(len);
  b.setU32(start + 4, len);
}

function option(b: Bytes, code: number, value: Uint8Array): void {
  b.u16(code).u16(value.length).bytes(value).pad4();
}

export function buildPcapng(sections: GenSection[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const s of sections) {
    const b = new Bytes(!s.bigEndian);
    block(b, 0x0a0d0d0a, (x) => {
      x.u32(0x1a2b3c4d).u16(1).u16(0).u64(-1n);
      option(x, 4, new TextEncoder().encode('pcap-gen'));
      x.u32(0);
    });
    for (const i of s.interfaces) {
      block(b, 1, (x) => {
        x.u16(i.linkType ?? 1).u16(0).u32(i.snaplen ?? 262144);
        option(x, 2, new TextEncoder().encode('gen0'));
        if (i.tsresol !== undefined) option(x, 9, Uint8Array.of(i.tsresol));
        if (i.tsoffset !== undefined) { const o = new Bytes(x.le); o.u64(BigInt(i.tsoffset)); option(x, 14, o.done()); }
        x.u32(0);
      });
    }
    for (const blk of s.blocks) {
      if (blk.kind === 'epb' || blk.kind === 'opb') {
        const ifc = blk.iface ?? 0;
        const t = ticksOf(blk.pkt, s.interfaces[ifc]);
        block(b, blk.kind === 'epb' ? 6 : 2, (x) => {
          if (blk.kind === 'epb') x.u32(ifc); else x.u16(ifc).u16(0);
          x.u32(Number(t >> 32n)).u32(Number(t & 0xffffffffn));
          x.u32(blk.pkt.data.length).u32(blk.pkt.wirelen ?? blk.pkt.data.length).bytes(blk.pkt.data).pad4();
          if (blk.kind === 'epb' && blk.comment) { option(x, 1, new TextEncoder().encode(blk.comment)); x.u32(0); }
        });
      } else if (blk.kind === 'spb') {
        // The SPB holds min(original length, interface 0's snaplen) bytes (pcapng 4.4).
        const snap = s.interfaces[0].snaplen ?? 0;
        const keep = snap && blk.pkt.data.length > snap ? snap : blk.pkt.data.length;
        block(b, 3, (x) => { x.u32(blk.pkt.wirelen ?? blk.pkt.data.length).bytes(blk.pkt.data.subarray(0, keep)).pad4(); });
      } else if (blk.kind === 'nrb') {
        block(b, 4, (x) => {
          x.u16(1).u16(4 + 10).bytes(Uint8Array.of(10, 0, 0, 1)).bytes(new TextEncoder().encode('host.test')).u8(0).pad4();
          x.u16(0).u16(0);
        });
      } else if (blk.kind === 'isb') {
        block(b, 5, (x) => { x.u32(blk.iface ?? 0).u32(0).u32(0); x.u16(4).u16(8).u64(123n).u32(0); });
      } else {
        block(b, blk.type, (x) => { x.bytes(blk.body); });
      }
    }
    parts.push(b.done());
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

export interface ReadBack {
  data: Uint8Array[];
  caplen: number[];
  wirelen: number[];
  sec: number[];
  nsec: number[];
  ifIndex: number[];
  linkType: number[];
}

/** Reads every record through the library (bursts of `burst`, slots of `capacity` bytes). */
export function readAll(input: string | number | Uint8Array, opts: PcapReaderOptions = {}, burst = 64, capacity = 262144): ReadBack & { reader: PcapReader } {
  const reader = PcapReader.openSync(input, opts);
  try {
    return { ...drain(reader, burst, capacity), reader };
  } finally {
    reader.close();
  }
}

/** Same, for any reader (async sources included). */
export async function readAllAsync(reader: PcapReader, burst = 64, capacity = 262144): Promise<ReadBack> {
  const out = emptyReadBack();
  const mem = new Uint8Array(burst * capacity);
  const rec = createPacketRecords(burst);
  for (let i = 0; i < burst; i++) rec.offset[i] = i * capacity;
  for (;;) {
    const n = await reader.read(mem, capacity, rec, burst);
    if (n === 0) break;
    collect(out, mem, rec, n);
  }
  return out;
}

function drain(reader: PcapReader, burst: number, capacity: number): ReadBack {
  const out = emptyReadBack();
  const mem = new Uint8Array(burst * capacity);
  const rec = createPacketRecords(burst);
  for (let i = 0; i < burst; i++) rec.offset[i] = i * capacity;
  for (;;) {
    const n = reader.readBurst(mem, capacity, rec, burst);
    if (n === 0) break;
    collect(out, mem, rec, n);
  }
  return out;
}

function emptyReadBack(): ReadBack {
  return { data: [], caplen: [], wirelen: [], sec: [], nsec: [], ifIndex: [], linkType: [] };
}

function collect(out: ReadBack, mem: Uint8Array, rec: ReturnType<typeof createPacketRecords>, n: number): void {
  for (let i = 0; i < n; i++) {
    out.data.push(mem.slice(rec.offset[i], rec.offset[i] + rec.caplen[i]));
    out.caplen.push(rec.caplen[i]);
    out.wirelen.push(rec.wirelen[i]);
    out.sec.push(rec.sec[i]);
    out.nsec.push(rec.nsec[i]);
    out.ifIndex.push(rec.ifIndex[i]);
    out.linkType.push(rec.linkType[i]);
  }
}
