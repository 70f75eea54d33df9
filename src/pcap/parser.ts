// What the classic pcap and pcapng parsers share: the read buffer, the
// counters, and how the end of input is judged (clean end or truncation).
import { PcapTruncatedError } from '../errors.js';
import type { Mapping } from '../memory/copy.js';
import type { PacketRecords } from './records.js';
import type { ReadBuffer } from './read-buffer.js';

/** Counters of one reader; plain numbers, updated once per burst or per event. */
export class PcapReadStats {
  /** packets delivered */
  packets = 0;
  /** captured bytes delivered */
  bytes = 0;
  /** records whose captured length exceeded the interface's snaplen: delivered cut to snaplen */
  clampedToSnaplen = 0;
  /** records longer than the caller's slot capacity: delivered cut to the capacity */
  cutToCapacity = 0;
  /** timestamps that did not fit (sec beyond u32, classic fraction >= 1 s): wrapped/normalised */
  timestampFixes = 0;
  /** pcapng blocks read but not delivered (NRB, ISB, custom, unknown) */
  blocksSkipped = 0;
  /** pcapng section header blocks seen */
  sections = 0;
  /** interface description blocks seen (all sections) */
  interfaces = 0;
}

/** What to do when the input ends inside a record. */
export type TruncationPolicy = 'error' | 'end';

export interface ParserContext {
  readonly rb: ReadBuffer;
  readonly stats: PcapReadStats;
  readonly name: string;
  readonly onTruncated: TruncationPolicy;
  readonly maxBlockLength: number;
  readonly matchAlignment: boolean;
  /** refuse pcapng interfaces whose link type differs from the first's (PcapLinkTypesError) */
  readonly oneLinkType: boolean;
}

export abstract class RecordParser {
  /** the input ended cleanly (or truncated with onTruncated 'end') */
  done = false;
  /** file offset of the record cut short by the end of input; -1 when none */
  truncatedAt = -1;
  /** LINKTYPE_ of the first interface (classic: the file's) */
  abstract readonly linkType: number;
  abstract readonly snaplen: number;

  /** an error met after some packets of a burst were already copied: thrown by the next call */
  private deferred: unknown = null;

  constructor(protected readonly ctx: ParserContext) {}

  /**
   * Delivers up to `max` packets. An error met mid-burst is held back while the
   * packets before it are returned, and thrown by the next call, so a caller
   * always receives every good record before the failure.
   */
  readBurst(dst: Mapping, dstBase: number, capacity: number, rec: PacketRecords, max: number): number {
    if (this.deferred !== null) { const e = this.deferred; this.deferred = null; throw e; }
    this.delivered = 0;
    try {
      return this.burst(dst, dstBase, capacity, rec, max);
    } catch (e) {
      const n = this.delivered;
      if (n === 0) throw e;
      // burst() counts its packets on return; this one did not return.
      this.ctx.stats.packets += n;
      for (let i = 0; i < n; i++) this.ctx.stats.bytes += rec.caplen[i];
      this.deferred = e;
      return n;
    }
  }

  /**
   * With matchAlignment, moves packet n's destination forward by 0..3 bytes to
   * agree mod 4 with its source byte `from` (a map position of the read
   * buffer) and returns the room left in its slot; else returns `capacity`.
   * A packet of `len` bytes that the shift would cut stays where it is
   * instead (its copy is slower, but whole): a slot of N bytes keeps every
   * packet of up to N bytes, whatever its place in the file. The cut to the
   * room, the copy and the record fields stay at each of the three call sites
   * on purpose: one helper doing all of it measured 10% slower reads (56 vs 51
   * ns per 64-byte packet), the copy no longer fitting V8's inlining budget of
   * the parser loop.
   */
  protected place(rec: PacketRecords, n: number, from: number, dstBase: number, capacity: number, len: number): number {
    if (!this.ctx.matchAlignment || capacity < 4) return capacity;
    const shift = (from - dstBase - rec.offset[n]) & 3;
    if (len > capacity - shift) return capacity;
    rec.offset[n] += shift;
    return capacity - shift;
  }

  /** packets completed by the running burst (kept current by burst() for the error path) */
  protected delivered = 0;

  protected abstract burst(dst: Mapping, dstBase: number, capacity: number, rec: PacketRecords, max: number): number;

  /**
   * ensure() failed for the record starting at buffer position p: either wait
   * for an async source (nothing to do), or the input is over.
   */
  protected stopAt(p: number, what: string): void {
    const rb = this.ctx.rb;
    if (!rb.eof) return;
    if (rb.end === p) { this.done = true; return; }
    this.truncated(rb.offsetOf(p), what, rb.end - p);
  }

  /** The input ended inside `what`, which starts at file offset `off`: error, or end there. */
  protected truncated(off: number, what: string, present: number): void {
    if (this.ctx.onTruncated === 'end') {
      this.truncatedAt = off;
      this.done = true;
      return;
    }
    throw new PcapTruncatedError(
      `${this.ctx.name}: truncated ${what} at offset ${off} (only ${present} bytes follow): the file was cut short ` +
      '(still being written, or copied incompletely). Every complete record before the cut was delivered first: the ' +
      'commands (count, dump, send -f) have counted, written or sent them and exit 1 to flag the cut; API callers who ' +
      'want to end there without an error open the reader with onTruncated: \'end\'',
      off);
  }
}
