// PcapReader: classic pcap or pcapng, detected from the first four bytes,
// read in large chunks into one reusable buffer and delivered burst by burst
// into caller-owned memory (see records.ts and index.ts for the contract).
import type { Readable } from 'node:stream';
import { InvalidArgumentError, PcapFormatError, PcapTruncatedError } from '../errors.js';
import {
  BT_SHB, DEFAULT_BUFFER_SIZE, DEFAULT_MAX_BLOCK_LEN, MIN_BUFFER_SIZE, PCAP_FILE_HEADER_LEN, PCAP_MAGIC_MODIFIED,
  PCAP_MAGIC_NS, PCAP_MAGIC_US,
} from './constants.js';
import { ClassicParser } from './classic.js';
import { PcapReadStats, type ParserContext, type RecordParser, type TruncationPolicy } from './parser.js';
import { PcapngParser, type PcapngInterface } from './pcapng.js';
import { ReadBuffer } from './read-buffer.js';
import { mappingOfArray, type Mapping } from '../memory/copy.js';
import { recordsCapacity, type PacketRecords } from './records.js';
import { BytesSource, FdSource, StreamSource, type ByteSource } from './source.js';
import { bufferFirstRecord, longerHeaderVariant, modifiedHeaderLength } from './variants.js';

export interface PcapReaderOptions {
  /** bytes per read(2) and size of the one buffer (default 1 MiB, at least 260 KiB) */
  bufferSize?: number;
  /**
   * A caller-owned read buffer to use instead of allocating one (its length is
   * the buffer size): lets a program that opens many files in turn reuse one.
   * The reader owns it until close().
   */
  buffer?: Uint8Array;
  /**
   * Input that ends inside a record: 'error' (default) throws PcapTruncatedError
   * after every complete record was delivered; 'end' ends the input there and
   * sets `truncatedAt` to the cut record's file offset.
   */
  onTruncated?: TruncationPolicy;
  /** pcapng blocks longer than this are corrupt (default 16 MiB) */
  maxBlockLength?: number;
  /**
   * Deliver each packet 0..3 bytes past rec.offset[i], so that it has the same
   * alignment mod 4 as in the file, and write the offset used back to
   * rec.offset[i]. Copies then move whole words (about 2x faster for
   * odd-sized records), and a file copied to a file keeps that alignment.
   * Room per slot stays `capacity` bytes from the given offset: a packet the
   * shift would cut is delivered unshifted instead, so it stays whole.
   */
  matchAlignment?: boolean;
  /**
   * Refuse a pcapng file whose interfaces have different link types, with
   * PcapLinkTypesError when the first odd interface is read (packets before
   * it are delivered first), as tcpdump does. For callers that handle every
   * packet as `linkType` (one filter, one output header). Default false:
   * each packet's link type is in rec.linkType[i].
   */
  oneLinkType?: boolean;
  /** name used in error messages (default: the path, `stdin`, `fd N` or `memory`) */
  name?: string;
}

/** What a reader can be opened on: a path (`-` = standard input), an open fd, a stream, or bytes. */
export type PcapInput = string | number | Readable | Uint8Array;

function swap32(x: number): number {
  return (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;
}

export class PcapReader {
  readonly stats = new PcapReadStats();
  private readonly rb: ReadBuffer;
  private readonly ctx: ParserContext;
  private parser: RecordParser | null = null;
  private failure: unknown = null;
  private lastData: Uint8Array | null = null;
  private lastMap: Mapping | null = null;
  private closed = false;

  private constructor(source: ByteSource, opts: PcapReaderOptions) {
    const size = opts.buffer?.length ?? opts.bufferSize ?? DEFAULT_BUFFER_SIZE;
    if (!Number.isInteger(size) || size < MIN_BUFFER_SIZE || size > 1 << 30) {
      throw new InvalidArgumentError(`bufferSize ${size} must be an integer from ${MIN_BUFFER_SIZE} to 2^30 bytes`);
    }
    const maxBlockLength = opts.maxBlockLength ?? DEFAULT_MAX_BLOCK_LEN;
    if (!Number.isInteger(maxBlockLength) || maxBlockLength < 32) {
      throw new InvalidArgumentError(`maxBlockLength ${maxBlockLength} must be an integer of at least 32`);
    }
    const onTruncated = opts.onTruncated ?? 'error';
    if (onTruncated !== 'error' && onTruncated !== 'end') {
      throw new InvalidArgumentError(`onTruncated must be 'error' or 'end', not ${String(onTruncated)}`);
    }
    this.rb = new ReadBuffer(source, opts.buffer ?? new Uint8Array(size));
    this.ctx = {
      rb: this.rb, stats: this.stats, name: opts.name ?? source.name, onTruncated, maxBlockLength,
      matchAlignment: opts.matchAlignment === true, oneLinkType: opts.oneLinkType === true,
    };
  }

  /**
   * Opens `input` and reads its header synchronously (files, fds, bytes; `-` reads fd 0 with blocking reads).
   * A classic pcap file is read up to its second record header (to tell old variants apart, variants.ts).
   */
  static openSync(input: string | number | Uint8Array, opts: PcapReaderOptions = {}): PcapReader {
    const r = new PcapReader(PcapReader.syncSource(input), opts);
    try {
      if (!r.start()) throw new Error('unreachable: a sync source never starves');
    } catch (e) {
      r.close();
      throw e;
    }
    return r;
  }

  /** Opens `input` and reads its header; `-` is process.stdin read as a stream. */
  static async open(input: PcapInput, opts: PcapReaderOptions = {}): Promise<PcapReader> {
    let source: ByteSource;
    if (input === '-') source = new StreamSource(process.stdin, 'stdin');
    else if (typeof input === 'string' || typeof input === 'number' || input instanceof Uint8Array) source = PcapReader.syncSource(input);
    else source = new StreamSource(input, 'stream');
    const r = new PcapReader(source, opts);
    try {
      while (!r.start()) await r.rb.fill();
    } catch (e) {
      r.close();
      throw e;
    }
    return r;
  }

  private static syncSource(input: string | number | Uint8Array): ByteSource {
    if (input instanceof Uint8Array) return new BytesSource(input);
    if (typeof input === 'number') return new FdSource(input, `fd ${input}`, false);
    if (input === '-') return new FdSource(0, 'stdin', false);
    return FdSource.open(input);
  }

  /** 'pcap' or 'pcapng' */
  get format(): 'pcap' | 'pcapng' {
    return this.parser instanceof PcapngParser ? 'pcapng' : 'pcap';
  }
  /** LINKTYPE_ of the file (classic) or of the first interface (pcapng; -1 if it has none yet) */
  get linkType(): number { return this.parser?.linkType ?? -1; }
  /** snaplen of the file (classic) or of the first interface (pcapng); 0 = none given */
  get snaplen(): number { return this.parser?.snaplen ?? 0; }
  /** classic pcap: true for the nanosecond magic; pcapng: per interface, see interfaces() */
  get nanosecond(): boolean { return this.parser instanceof ClassicParser && this.parser.nanosecond; }
  /** pcapng: the current section's interfaces; classic: one pseudo-interface */
  interfaces(): PcapngInterface[] {
    if (this.parser instanceof PcapngParser) return this.parser.interfaces();
    return [{ index: 0, linkType: this.linkType, snaplen: this.snaplen, tsresol: this.nanosecond ? 9 : 6, tsoffset: 0 }];
  }
  /** the input is exhausted: readBurst returns 0 from now on */
  get ended(): boolean { return this.parser?.done ?? false; }
  /** file offset of a record cut short by the end of input (onTruncated 'end'); -1 if none */
  get truncatedAt(): number { return this.parser?.truncatedAt ?? -1; }
  /** true when readBurst returned early because an async source must be awaited: call `await fill()` */
  get needsInput(): boolean { return this.rb.starved; }
  /** file offset of the next unread byte */
  get offset(): number { return this.rb.offsetOf(this.rb.pos); }

  /**
   * Copies up to `max` packets into `data`: packet i goes to rec.offset[i],
   * at most `capacity` bytes (longer ones are cut and counted in
   * stats.cutToCapacity); its lengths, timestamp, interface and link type go
   * to rec's arrays at i. Returns the count; 0 means the input ended (see
   * `ended`) or, for async sources only, that `needsInput` is set. Errors
   * (PcapFormatError, PcapTruncatedError) come only after every good record
   * before them was delivered, and are thrown again by later calls.
   */
  readBurst(data: Uint8Array, capacity: number, rec: PacketRecords, max: number): number {
    if (this.failure !== null) throw this.failure;
    if (this.closed) throw new InvalidArgumentError('readBurst on a closed PcapReader');
    if (max > recordsCapacity(rec)) throw new InvalidArgumentError(`burst of ${max} is longer than the record arrays (${recordsCapacity(rec)})`);
    const p = this.parser;
    if (p === null || p.done) return 0;
    // Every slot must take `capacity` bytes: checked once per burst, not per packet.
    if (!(capacity >= 0)) throw new InvalidArgumentError(`capacity ${capacity} must be a byte count >= 0`);
    const offsets = rec.offset;
    const limit = data.length - capacity;
    for (let i = 0; i < max; i++) {
      const o = offsets[i];
      if (!(o >= 0 && o <= limit)) {
        throw new InvalidArgumentError(`record slot ${i}: offset ${o} + capacity ${capacity} lies outside the destination ` +
          `array (${data.length} bytes): give every slot room for capacity bytes`);
      }
    }
    if (data !== this.lastData) { this.lastData = data; this.lastMap = mappingOfArray(data); }
    this.rb.starved = false;
    try {
      return p.readBurst(this.lastMap!, data.byteOffset, capacity, rec, max);
    } catch (e) {
      this.failure = e;
      throw e;
    }
  }

  /** For async sources: waits for the next chunk of input (when `needsInput`). */
  async fill(): Promise<void> {
    await this.rb.fill();
  }

  /** readBurst that awaits input as needed: resolves to 0 only at the end of input. */
  async read(data: Uint8Array, capacity: number, rec: PacketRecords, max: number): Promise<number> {
    for (;;) {
      const n = this.readBurst(data, capacity, rec, max);
      if (n > 0 || this.ended || max === 0) return n;
      if (!this.rb.starved) return n;
      await this.rb.fill();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.rb.source.close();
  }

  /** Reads the file header / leading pcapng blocks; false when an async source must be awaited. */
  private start(): boolean {
    if (this.parser instanceof PcapngParser) return this.parser.readPreamble();
    if (this.parser !== null) return true;
    const rb = this.rb;
    const name = this.ctx.name;
    if (!rb.ensure(4)) {
      if (!rb.eof) return false;
      throw new PcapTruncatedError(`${name}: ${rb.end === 0 ? 'empty input' : 'input of ' + rb.end + ' bytes'}, no capture file header (offset 0): ` +
        'the file was never written or was cut; check the path', 0);
    }
    const magic = rb.view.getUint32(rb.pos, true);
    if (magic === BT_SHB) {
      const ng = new PcapngParser(this.ctx);
      this.parser = ng;
      return ng.readPreamble();
    }
    let le: boolean;
    let ns = false;
    let modified = false;
    if (magic === PCAP_MAGIC_US || magic === PCAP_MAGIC_NS) { le = true; ns = magic === PCAP_MAGIC_NS; }
    else if (swap32(magic) === PCAP_MAGIC_US || swap32(magic) === PCAP_MAGIC_NS) { le = false; ns = swap32(magic) === PCAP_MAGIC_NS; }
    else if (magic === PCAP_MAGIC_MODIFIED || swap32(magic) === PCAP_MAGIC_MODIFIED) { le = magic === PCAP_MAGIC_MODIFIED; modified = true; }
    else {
      const hex = Array.from(rb.buf.subarray(rb.pos, rb.pos + 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
      const hint = rb.buf[rb.pos] === 0x1f && rb.buf[rb.pos + 1] === 0x8b ? 'it is gzip-compressed: decompress it first'
        : 'expected a pcap (a1 b2 c3 d4 / a1 b2 3c 4d / a1 b2 cd 34, either byte order) or pcapng (0a 0d 0d 0a) file';
      throw new PcapFormatError(`${name}: unknown capture file magic ${hex} at offset 0; ${hint}`, 0);
    }
    if (!rb.ensure(PCAP_FILE_HEADER_LEN)) {
      if (!rb.eof) return false;
      throw new PcapTruncatedError(`${name}: pcap file header cut short (${rb.end - rb.pos} of 24 bytes, offset 0): ` +
        'the file was cut; nothing can be read from it', 0);
    }
    // the record header length is told from the first records (variants.ts)
    if (!bufferFirstRecord(rb, le, PCAP_FILE_HEADER_LEN)) return false;
    let recordHeaderLen = 16;
    if (modified) {
      recordHeaderLen = modifiedHeaderLength(rb, le, PCAP_FILE_HEADER_LEN);
    } else {
      const variant = longerHeaderVariant(rb, le, ns ? 1e9 : 1e6, PCAP_FILE_HEADER_LEN);
      if (variant !== null) {
        throw new PcapFormatError(`${name}: the records do not line up with pcap's 16-byte record headers, but do with ${variant}, ` +
          'which libpcap cannot read either (tcpdump misreads it); convert it with editcap -F pcap IN OUT (Wireshark knows the variant)',
        PCAP_FILE_HEADER_LEN);
      }
    }
    this.parser = new ClassicParser(this.ctx, le, ns, recordHeaderLen);
    return true;
  }
}
