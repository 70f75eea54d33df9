// Classic pcap (draft-ietf-opsawg-pcap): a 24-byte file header, then records
// of a 16-byte header (ts_sec, ts_usec|ts_nsec, incl_len, orig_len) and
// incl_len bytes. The magic's byte order is the writer's; its value says
// whether the fraction counts micro- or nanoseconds. Old variants have longer
// record headers whose extra fields are skipped (variants.ts).
import { PcapFormatError } from '../errors.js';
import {
  LINKTYPE_ETHERNET, MAX_CAPLEN, PCAP_FILE_HEADER_LEN, PCAP_LINKTYPE_MASK, PCAP_RECORD_HEADER_LEN, PCAP_VERSION_MAJOR,
} from './constants.js';
import { RecordParser, type ParserContext } from './parser.js';
import { copyBytes, type Mapping } from '../memory/copy.js';
import type { PacketRecords } from './records.js';

export class ClassicParser extends RecordParser {
  readonly linkType: number;
  /** snaplen from the header (0 when the header said 0; + 14 for a modified-variant Ethernet file, as libpcap) */
  readonly snaplen: number;
  /** the limit captured lengths are clamped to: the header's snaplen, or MAX_CAPLEN when it is 0 or larger */
  private readonly clampLen: number;
  private readonly le: boolean;
  /** 1e6 or 1e9: the fraction's unit per second */
  private readonly fracPerSec: number;
  private readonly fracToNs: number;
  readonly nanosecond: boolean;
  readonly versionMinor: number;
  /** bytes of each record header: 16, or 24/28 in the old "modified" variants */
  readonly recordHeaderLen: number;

  /**
   * Parses the file header at the buffer's position (the caller has ensured
   * 24 bytes and checked the magic, which tells the record header length).
   */
  constructor(ctx: ParserContext, le: boolean, nanosecond: boolean, recordHeaderLen = PCAP_RECORD_HEADER_LEN) {
    super(ctx);
    this.recordHeaderLen = recordHeaderLen;
    const { rb } = ctx;
    const v = rb.view;
    const p = rb.pos;
    this.le = le;
    this.nanosecond = nanosecond;
    this.fracPerSec = nanosecond ? 1e9 : 1e6;
    this.fracToNs = nanosecond ? 1 : 1000;
    const major = v.getUint16(p + 4, le);
    this.versionMinor = v.getUint16(p + 6, le);
    if (major !== PCAP_VERSION_MAJOR) {
      throw new PcapFormatError(
        `${ctx.name}: pcap version ${major}.${this.versionMinor} at offset ${rb.offsetOf(p + 4)} is not 2.x: ` +
        'the file is corrupt or in an unknown variant; convert it with editcap', rb.offsetOf(p + 4));
    }
    this.linkType = v.getUint32(p + 20, le) & PCAP_LINKTYPE_MASK;
    let snaplen = v.getUint32(p + 16, le);
    // As libpcap (sf-pcap.c): a modified-variant Ethernet capture may have been taken in cooked mode,
    // where the 14-byte Ethernet header was made up after the kernel had cut the packet to snaplen.
    if (recordHeaderLen > PCAP_RECORD_HEADER_LEN && this.linkType === LINKTYPE_ETHERNET && snaplen !== 0) snaplen += 14;
    this.snaplen = snaplen;
    this.clampLen = snaplen === 0 || snaplen > MAX_CAPLEN ? MAX_CAPLEN : snaplen;
    rb.pos = p + PCAP_FILE_HEADER_LEN;
  }

  protected burst(dst: Mapping, dstBase: number, capacity: number, rec: PacketRecords, max: number): number {
    const { rb, stats } = this.ctx;
    const le = this.le;
    const v = rb.view;
    const hdr = this.recordHeaderLen;
    let n = 0;
    let bytes = 0;
    while (n < max) {
      let p = rb.pos;
      if (rb.end - p < hdr) {
        if (!rb.ensure(hdr)) { this.stopAt(rb.pos, 'record header'); break; }
        p = rb.pos;
      }
      const incl = v.getUint32(p + 8, le);
      if (incl > MAX_CAPLEN) {
        const off = rb.offsetOf(p + 8);
        throw new PcapFormatError(
          `${this.ctx.name}: record at offset ${rb.offsetOf(p)} claims ${incl} captured bytes, above the ${MAX_CAPLEN}-byte ` +
          `maximum (field at offset ${off}): the file is corrupt from here on; cut it there (editcap -r) to keep the records before`,
          off);
      }
      const total = hdr + incl;
      if (rb.end - p < total) {
        if (!rb.ensure(total)) { this.stopAt(rb.pos, 'record'); break; }
        p = rb.pos;
      }
      let sec = v.getUint32(p, le);
      let frac = v.getUint32(p + 4, le);
      if (frac >= this.fracPerSec) {
        // A fraction of a second or more: carry whole seconds, as a reader of
        // the timestamp would, and count it (libpcap passes it through as is).
        const carry = Math.floor(frac / this.fracPerSec);
        frac -= carry * this.fracPerSec;
        sec = (sec + carry) >>> 0;
        stats.timestampFixes++;
      }
      let len = incl;
      if (len > this.clampLen) { len = this.clampLen; stats.clampedToSnaplen++; }
      const from = rb.mapBase + p + hdr;
      const room = this.place(rec, n, from, dstBase, capacity, len);
      if (len > room) { len = room; stats.cutToCapacity++; }
      copyBytes(rb.map, from, dst, dstBase + rec.offset[n], len);
      rec.caplen[n] = len;
      rec.wirelen[n] = v.getUint32(p + 12, le);
      rec.sec[n] = sec;
      rec.nsec[n] = frac * this.fracToNs;
      rec.ifIndex[n] = 0;
      rec.linkType[n] = this.linkType;
      rb.pos = p + total;
      bytes += len;
      this.delivered = ++n;
    }
    stats.packets += n;
    stats.bytes += bytes;
    return n;
  }
}
