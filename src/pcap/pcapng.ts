// pcapng (draft-ietf-opsawg-pcapng): a sequence of blocks, each
// [type u32][total length u32][body][total length u32], lengths multiples of 4.
// A Section Header Block fixes the byte order (its byte-order magic) and
// starts a fresh list of interfaces; Interface Description Blocks give each
// interface its link type, snaplen and timestamp resolution/offset; Enhanced,
// Simple and (obsolete) Packet Blocks carry packets. Every other block is
// skipped — streamed past if it does not fit the buffer, never allocated.
import { PcapFormatError } from '../errors.js';
import {
  BT_EPB, BT_IDB, BT_OPB, BT_SHB, BT_SPB, MAX_CAPLEN, MIN_BLOCK_LEN, MIN_EPB_LEN, MIN_IDB_LEN, MIN_OPB_LEN,
  MIN_SHB_LEN, MIN_SPB_LEN, PCAPNG_BOM, PCAPNG_BOM_SWAPPED,
} from './constants.js';
import { RecordParser, type ParserContext } from './parser.js';
import { copyBytes, mappingOf, type Mapping } from '../memory/copy.js';
import type { PacketRecords } from './records.js';
import { InterfaceTable, mixedLinkTypes, type PcapngInterface } from './pcapng-interfaces.js';
import { ticksToTime } from './timestamp.js';

export type { PcapngInterface };

const U32 = 4294967296;

export class PcapngParser extends RecordParser {
  private le = true;
  /** interfaces of the current section (reset by every SHB) */
  private readonly ifs = new InterfaceTable();
  /** bytes of a skipped block still to stream past, and where it began */
  private skipLeft = 0;
  private skipStart = 0;
  /** declared length of the block being skipped; non-zero until its trailer is checked */
  private skipLen = 0;
  private readonly ts = new Float64Array(2);
  private firstLinkType = -1;
  private firstSnaplen = 0;

  constructor(ctx: ParserContext) {
    super(ctx);
  }

  get linkType(): number { return this.firstLinkType; }
  get snaplen(): number { return this.firstSnaplen; }
  get littleEndian(): boolean { return this.le; }

  /** The current section's interfaces. */
  interfaces(): PcapngInterface[] {
    return this.ifs.list();
  }

  /**
   * Reads blocks until the first packet's interface is known (SHB + IDBs), so
   * linkType is meaningful before the first burst; with oneLinkType, every
   * block before the first packet, so that a file whose leading interfaces
   * mix link types is refused at open. Returns false when an async source
   * must be awaited.
   */
  readPreamble(): boolean {
    const rb = this.ctx.rb;
    while ((this.firstLinkType < 0 || this.ctx.oneLinkType) && !this.done) {
      if (this.skipLen === 0) {
        if (!rb.ensure(8)) { this.stopAt(rb.pos, 'block header'); return this.done; }
        const type = rb.view.getUint32(rb.pos, this.le);
        if (type === BT_EPB || type === BT_SPB || type === BT_OPB) break;
      }
      const before = rb.offsetOf(rb.pos);
      this.burst(NO_MAPPING, 0, 0, NO_RECORDS, 0);
      if (rb.offsetOf(rb.pos) === before && !this.done) return false; // starved inside the block
    }
    return true;
  }

  protected burst(dst: Mapping, dstBase: number, capacity: number, rec: PacketRecords, max: number): number {
    const { rb, stats } = this.ctx;
    const buf = rb.buf;
    const v = rb.view;
    const maxLen = this.ctx.maxBlockLength;
    const ifs = this.ifs;
    let n = 0;
    let bytes = 0;
    // max === 0 is the preamble mode: process exactly one non-packet block.
    const once = max === 0;
    for (;;) {
      if (n >= max && !once) break;
      if (this.skipLen > 0 && !this.streamSkip()) break;
      let p = rb.pos;
      // Fast path: a whole, well-formed EPB in the buffer (nearly every block of a capture).
      const avail = rb.end - p;
      if (avail >= MIN_EPB_LEN && !once) {
        const le = this.le;
        const len = v.getUint32(p + 4, le);
        if (v.getUint32(p, le) === BT_EPB && len >= MIN_EPB_LEN && len <= avail && (len & 3) === 0 && len <= maxLen
          && v.getUint32(p + len - 4, le) === len) {
          const ifid = v.getUint32(p + 8, le);
          let caplen = v.getUint32(p + 20, le);
          if (ifid < ifs.count && caplen <= MAX_CAPLEN && caplen <= len - MIN_EPB_LEN) {
            ticksToTime(v.getUint32(p + 12, le), v.getUint32(p + 16, le),
              ifs.kind[ifid], ifs.a[ifid], ifs.b[ifid], ifs.offset[ifid], this.ts);
            let sec = this.ts[0];
            if (!(sec >= 0 && sec < U32)) { sec = ((sec % U32) + U32) % U32; stats.timestampFixes++; }
            const snap = ifs.snap[ifid];
            if (snap !== 0 && caplen > snap) { caplen = snap; stats.clampedToSnaplen++; }
            const from = rb.mapBase + p + 28;
            const room = this.place(rec, n, from, dstBase, capacity, caplen);
            if (caplen > room) { caplen = room; stats.cutToCapacity++; }
            copyBytes(rb.map, from, dst, dstBase + rec.offset[n], caplen);
            rec.caplen[n] = caplen;
            rec.wirelen[n] = v.getUint32(p + 24, le);
            rec.sec[n] = sec;
            rec.nsec[n] = this.ts[1];
            rec.ifIndex[n] = ifs.base + ifid;
            rec.linkType[n] = ifs.link[ifid];
            rb.pos = p + len;
            bytes += caplen;
            this.delivered = ++n;
            continue;
          }
        }
      }
      // General path: any block, partial blocks, and every error report.
      if (rb.end - p < 8) {
        if (!rb.ensure(8)) { this.stopAt(rb.pos, 'block header'); break; }
        p = rb.pos;
      }
      const type = v.getUint32(p, this.le);
      if (type === BT_SHB) {
        if (!this.sectionHeader()) break;
        if (once) break;
        continue;
      }
      const len = v.getUint32(p + 4, this.le);
      this.checkLength(p, type, len);
      const packet = type === BT_EPB || type === BT_SPB || type === BT_OPB;
      if (packet || type === BT_IDB) {
        if (once && packet) break;
        if (len > buf.length) {
          throw this.format(p + 4, `block of type ${type} is ${len} bytes, more than the ${buf.length}-byte read buffer`,
            'raise the reader\'s bufferSize option if the file is genuine');
        }
        if (rb.end - p < len) {
          if (!rb.ensure(len)) { this.stopAt(rb.pos, `block (type ${type})`); break; }
          p = rb.pos;
        }
        if (v.getUint32(p + len - 4, this.le) !== len) {
          throw this.format(p + len - 4, `trailing block length ${v.getUint32(p + len - 4, this.le)} differs from the leading ${len}`,
            'the block is corrupt');
        }
        if (type === BT_IDB) {
          this.interfaceDescription(p, len);
          rb.pos = p + len;
          if (once) break;
          continue;
        }
        // A packet block.
        let caplen: number;
        let wirelen: number;
        let ifid: number;
        let dataAt: number;
        let sec = 0;
        let nsec = 0;
        if (type === BT_SPB) {
          if (len < MIN_SPB_LEN) throw this.tooShort(p, type, len, MIN_SPB_LEN);
          if (ifs.count === 0) throw this.format(p, 'simple packet block before any interface description', 'the file is corrupt');
          ifid = 0;
          wirelen = v.getUint32(p + 8, this.le);
          const snap = ifs.snap[0];
          caplen = snap !== 0 && wirelen > snap ? snap : wirelen;
          if (caplen > MAX_CAPLEN) {
            throw this.format(p + 8, `simple packet of ${caplen} bytes is above the ${MAX_CAPLEN}-byte maximum`, 'the block is corrupt');
          }
          if (caplen > len - MIN_SPB_LEN) {
            throw this.format(p + 8, `simple packet block of ${len} bytes cannot hold ${caplen} packet bytes`, 'the block is corrupt');
          }
          dataAt = p + 12;
        } else {
          const min = type === BT_EPB ? MIN_EPB_LEN : MIN_OPB_LEN;
          if (len < min) throw this.tooShort(p, type, len, min);
          ifid = type === BT_EPB ? v.getUint32(p + 8, this.le) : v.getUint16(p + 8, this.le);
          if (ifid >= ifs.count) {
            throw this.format(p + 8, `packet for interface ${ifid}, but the section describes ${ifs.count}`, 'the file is corrupt');
          }
          caplen = v.getUint32(p + 20, this.le);
          wirelen = v.getUint32(p + 24, this.le);
          if (caplen > MAX_CAPLEN) {
            throw this.format(p + 20, `captured length ${caplen} is above the ${MAX_CAPLEN}-byte maximum`, 'the block is corrupt');
          }
          if (caplen > len - min) {
            throw this.format(p + 20, `block of ${len} bytes cannot hold ${caplen} captured bytes`, 'the block is corrupt');
          }
          ticksToTime(v.getUint32(p + 12, this.le), v.getUint32(p + 16, this.le),
            ifs.kind[ifid], ifs.a[ifid], ifs.b[ifid], ifs.offset[ifid], this.ts);
          const s = this.ts[0];
          if (s >= 0 && s < U32) sec = s;
          else { sec = ((s % U32) + U32) % U32; stats.timestampFixes++; }
          nsec = this.ts[1];
          const snap = ifs.snap[ifid];
          if (snap !== 0 && caplen > snap) { caplen = snap; stats.clampedToSnaplen++; }
          dataAt = p + 28;
        }
        const from = rb.mapBase + dataAt;
        const room = this.place(rec, n, from, dstBase, capacity, caplen);
        if (caplen > room) { caplen = room; stats.cutToCapacity++; }
        copyBytes(rb.map, from, dst, dstBase + rec.offset[n], caplen);
        rec.caplen[n] = caplen;
        rec.wirelen[n] = wirelen;
        rec.sec[n] = sec;
        rec.nsec[n] = nsec;
        rec.ifIndex[n] = ifs.base + ifid;
        rec.linkType[n] = ifs.link[ifid];
        rb.pos = p + len;
        bytes += caplen;
        this.delivered = ++n;
        continue;
      }
      // Any other block (NRB, ISB, DSB, custom, unknown): skip it, streaming
      // it through the buffer when it is not all there, trailer checked either way.
      stats.blocksSkipped++;
      this.skipStart = rb.offsetOf(p);
      this.skipLeft = len - 4;
      this.skipLen = len;
      if (!this.streamSkip()) break;
      if (once) break;
    }
    stats.packets += n;
    stats.bytes += bytes;
    return n;
  }

  /**
   * Discards the body of a skipped block (skipLeft bytes), then checks its
   * trailing length; false when more input is needed first (or it ended).
   */
  private streamSkip(): boolean {
    const rb = this.ctx.rb;
    while (this.skipLeft > 0) {
      const k = Math.min(this.skipLeft, rb.end - rb.pos);
      rb.pos += k;
      this.skipLeft -= k;
      if (this.skipLeft > 0 && !rb.ensure(1)) return this.skipCut();
    }
    if (!rb.ensure(4)) return this.skipCut();
    const trailer = rb.view.getUint32(rb.pos, this.le);
    if (trailer !== this.skipLen) {
      throw this.format(rb.pos, `trailing block length ${trailer} differs from the leading ${this.skipLen}`, 'the block is corrupt');
    }
    rb.pos += 4;
    this.skipLen = 0;
    return true;
  }

  /** The input ran dry inside a skipped block: wait for more, or report the cut. */
  private skipCut(): boolean {
    const rb = this.ctx.rb;
    if (rb.eof) {
      const present = rb.offsetOf(rb.end) - this.skipStart;
      this.skipLeft = 0;
      this.skipLen = 0;
      this.truncated(this.skipStart, 'block', present);
    }
    return false;
  }

  /** Handles an SHB at rb.pos; false when more input is needed first. */
  private sectionHeader(): boolean {
    const { rb, stats } = this.ctx;
    let p = rb.pos;
    if (!rb.ensure(12)) { this.stopAt(rb.pos, 'section header block'); return false; }
    p = rb.pos;
    const v = rb.view;
    const bom = v.getUint32(p + 8, true);
    let le: boolean;
    if (bom === PCAPNG_BOM) le = true;
    else if (bom === PCAPNG_BOM_SWAPPED) le = false;
    else throw this.format(p + 8, `section header byte-order magic 0x${bom.toString(16)} is neither 0x1a2b3c4d nor its swap`, 'the file is corrupt');
    const len = v.getUint32(p + 4, le);
    this.checkLength(p, BT_SHB, len);
    if (len < MIN_SHB_LEN) throw this.tooShort(p, BT_SHB, len, MIN_SHB_LEN);
    if (len > rb.buf.length) {
      throw this.format(p + 4, `section header block is ${len} bytes, more than the ${rb.buf.length}-byte read buffer`,
        'raise the reader\'s bufferSize option if the file is genuine');
    }
    if (!rb.ensure(len)) { this.stopAt(rb.pos, 'section header block'); return false; }
    p = rb.pos;
    if (v.getUint32(p + len - 4, le) !== len) {
      throw this.format(p + len - 4, `trailing block length ${v.getUint32(p + len - 4, le)} differs from the leading ${len}`, 'the block is corrupt');
    }
    const major = v.getUint16(p + 12, le);
    if (major !== 1) {
      throw this.format(p + 12, `pcapng version ${major}.${v.getUint16(p + 14, le)} is not 1.x`, 'this reader knows pcapng 1.x only');
    }
    this.le = le;
    this.ifs.newSection();
    stats.sections++;
    rb.pos = p + len;
    return true;
  }

  private interfaceDescription(p: number, len: number): void {
    if (len < MIN_IDB_LEN) throw this.tooShort(p, BT_IDB, len, MIN_IDB_LEN);
    const ifs = this.ifs;
    ifs.add(this.ctx.rb.view, p, len, this.le, (q, what) => this.format(q, what, 'the block is corrupt'));
    if (this.firstLinkType < 0) { this.firstLinkType = ifs.link[0]; this.firstSnaplen = ifs.snap[0]; }
    this.ctx.stats.interfaces++;
    const link = ifs.link[ifs.count - 1];
    if (this.ctx.oneLinkType && link !== this.firstLinkType) throw mixedLinkTypes(this.ctx.name, this.ctx.rb.offsetOf(p), this.firstLinkType, link, ifs.base + ifs.count - 1);
  }

  private checkLength(p: number, type: number, len: number): void {
    if (len < MIN_BLOCK_LEN || (len & 3) !== 0 || len > this.ctx.maxBlockLength) {
      const why = len < MIN_BLOCK_LEN ? `below the ${MIN_BLOCK_LEN}-byte minimum`
        : (len & 3) !== 0 ? 'not a multiple of 4'
          : `above the ${this.ctx.maxBlockLength}-byte limit (maxBlockLength option)`;
      throw this.format(p + 4, `block of type 0x${type.toString(16)} has length ${len}, ${why}`, 'the file is corrupt from here on');
    }
  }

  private tooShort(p: number, type: number, len: number, min: number): PcapFormatError {
    return this.format(p + 4, `block of type ${type} is ${len} bytes, shorter than its ${min}-byte minimum`, 'the block is corrupt');
  }

  private format(p: number, what: string, fix: string): PcapFormatError {
    const off = this.ctx.rb.offsetOf(p);
    return new PcapFormatError(`${this.ctx.name}: ${what} (offset ${off}); ${fix}`, off);
  }
}

const NO_MAPPING = mappingOf(new ArrayBuffer(0));
const NO_RECORDS: PacketRecords = {
  offset: new Float64Array(0), caplen: new Uint32Array(0), wirelen: new Uint32Array(0), sec: new Uint32Array(0),
  nsec: new Uint32Array(0), ifIndex: new Uint32Array(0), linkType: new Uint32Array(0),
};
