// The file side of PcapWriter (writer.ts, which extends PcapFileOutput and
// encodes the packet records): the options, the write batch and its write(2),
// the header at the start of every file, tcpdump-like rotation by size (-C),
// time (-G) and file count (-W), flush and close.
import { closeSync, openSync, writeSync } from 'node:fs';
import { InvalidArgumentError, PcapWriteError } from '../errors.js';
import { DEFAULT_BUFFER_SIZE, LINKTYPE_ETHERNET, MAX_CAPLEN, MIN_BUFFER_SIZE } from './constants.js';
import { putInterface, putPcapHeader, putSectionHeader } from './encode.js';
import { hasTimeConversion, makeFileName, suffixWidth } from './file-names.js';
import { mappingOf, type Mapping } from '../memory/copy.js';
import { sleepSync } from '../sleep.js';
import { writeFailure } from './write-failure.js';
import { createFailure } from './file-errors.js';

export interface PcapWriterOptions {
  /** 'pcap' (default) or 'pcapng' */
  format?: 'pcap' | 'pcapng';
  /** nanosecond timestamps (default true): the 0xa1b23c4d magic, or if_tsresol 9 in pcapng */
  nanosecond?: boolean;
  /** LINKTYPE_ value written in the header (default 1, Ethernet) */
  linkType?: number;
  /** packets longer than this are cut (caplen < wirelen); default and maximum 262144 */
  snaplen?: number;
  /** bytes gathered before one write(2) (default 1 MiB, at least 260 KiB) */
  bufferSize?: number;
  /** tcpdump -C: start a new file once the current one holds MORE than this many bytes (-C N = N * 1,000,000) */
  maxFileBytes?: number;
  /** tcpdump -G: start a new file when a packet's timestamp is this many seconds past the file's first packet */
  rotateSeconds?: number;
  /** tcpdump -W: with maxFileBytes, reuse names in a ring of this many files; with rotateSeconds only, stop after this many */
  maxFiles?: number;
  /** expand the name's strftime conversions in UTC instead of local time (tcpdump uses local time) */
  utc?: boolean;
  /** tcpdump -U: write out at the end of every writeBurst instead of when the buffer is full */
  packetBuffered?: boolean;
  /** permission bits of created files (default 0o644) */
  mode?: number;
  /** called after a file is complete and closed (tcpdump -z's moment) */
  onFileClosed?: (path: string) => void;
}

export class PcapWriteStats {
  packets = 0;
  /** captured bytes written (without headers) */
  bytes = 0;
  /** the packets' lengths on the wire (their wirelen, or caplen when 0) */
  wireBytes = 0;
  /** packets cut to snaplen */
  cutToSnaplen = 0;
  /** packets refused because maxFiles was reached with time rotation */
  refused = 0;
  /** write(2) calls */
  writes = 0;
  /** files opened (rotation included) */
  files = 0;
  /** packets accepted but in no file: those of a batch whose write failed, after its last complete record */
  lost = 0;
  /** their lengths on the wire: the files hold packets - lost packets of wireBytes - lostWireBytes */
  lostWireBytes = 0;
}

function nowSec(): number { return Math.floor(Date.now() / 1000); }

/** Where PcapWriter's records go; only PcapWriter constructs one. */
export class PcapFileOutput {
  readonly stats = new PcapWriteStats();
  readonly format: 'pcap' | 'pcapng';
  readonly snaplen: number;
  readonly linkType: number;
  readonly nanosecond: boolean;
  /** the write batch: bytes [0, pos) go out with the next write(2) */
  protected readonly out: Mapping;
  protected pos = 0;
  protected fd: number;
  private readonly ownsFd: boolean;
  protected readonly pattern: string | null;
  private currentPath: string | null;
  protected fileBytes = 0;
  protected filePackets = 0;
  /** packets in the batch; and in earlier batches of this file, of all files (counted at each flush) */
  protected batchPackets = 0;
  private flushedFilePackets = 0;
  private flushedPackets = 0;
  /** classic pcap: the batch starts with a new file's header */
  private headerFirst = false;
  /** the write that failed: thrown again by every later write or flush */
  protected failure: PcapWriteError | null = null;
  /** packet time that opened the current -G window: names expand it, rotation measures from it */
  private windowStartSec = 0;
  private windowOpen = false;
  private counter = 0;
  private timeRotations = 0;
  protected readonly width: number;
  private full = false;
  protected closed = false;
  protected readonly unitsPerSec: number;
  /** the first file waits for the first packet's timestamp (time rotation with a time conversion in the name) */
  private get lazyOpen(): boolean {
    return this.opts.rotateSeconds !== undefined && hasTimeConversion(this.pattern ?? '');
  }

  protected constructor(target: string | number, protected readonly opts: PcapWriterOptions) {
    this.format = opts.format ?? 'pcap';
    if (this.format !== 'pcap' && this.format !== 'pcapng') throw new InvalidArgumentError(`format must be 'pcap' or 'pcapng', not ${String(this.format)}`);
    this.nanosecond = opts.nanosecond ?? true;
    this.unitsPerSec = this.nanosecond ? 1e9 : 1e6;
    this.linkType = opts.linkType ?? LINKTYPE_ETHERNET;
    const linkMax = this.format === 'pcapng' ? 0xffff : 0x03ffffff;
    if (!Number.isInteger(this.linkType) || this.linkType < 0 || this.linkType > linkMax) {
      throw new InvalidArgumentError(`linkType ${this.linkType} must be an integer from 0 to ${linkMax}`);
    }
    this.snaplen = opts.snaplen ?? MAX_CAPLEN;
    if (!Number.isInteger(this.snaplen) || this.snaplen < 1 || this.snaplen > MAX_CAPLEN) {
      throw new InvalidArgumentError(`snaplen ${this.snaplen} must be an integer from 1 to ${MAX_CAPLEN}`);
    }
    const size = opts.bufferSize ?? DEFAULT_BUFFER_SIZE;
    if (!Number.isInteger(size) || size < MIN_BUFFER_SIZE || size > 1 << 30) {
      throw new InvalidArgumentError(`bufferSize ${size} must be an integer from ${MIN_BUFFER_SIZE} to 2^30 bytes`);
    }
    for (const k of ['maxFileBytes', 'rotateSeconds', 'maxFiles'] as const) {
      const x = opts[k];
      if (x !== undefined && !(Number.isInteger(x) && x > 0)) throw new InvalidArgumentError(`${k} ${x} must be a positive integer`);
    }
    const rotating = opts.maxFileBytes !== undefined || opts.rotateSeconds !== undefined;
    if (opts.maxFiles !== undefined && !rotating) {
      throw new InvalidArgumentError('maxFiles (-W) needs maxFileBytes (-C) or rotateSeconds (-G)');
    }
    if (rotating && (typeof target !== 'string' || target === '-')) {
      throw new InvalidArgumentError('rotation (-C/-G) needs a file name pattern, not standard output or an fd');
    }
    this.width = opts.maxFileBytes !== undefined && opts.maxFiles !== undefined ? suffixWidth(opts.maxFiles) : 0;
    this.out = mappingOf(new ArrayBuffer(size));
    if (typeof target === 'number' || target === '-') {
      this.fd = target === '-' ? 1 : target;
      this.ownsFd = false;
      this.pattern = null;
      this.currentPath = null;
      this.stats.files = 1;
      this.startFile();
    } else {
      this.ownsFd = true;
      this.pattern = target;
      this.currentPath = null;
      this.fd = -1;
      // A time-rotated name is expanded with the time of the file's first
      // packet, so the first file opens with the first packet (or at close()
      // with the current time, when there was none). Otherwise open now, so a
      // bad path fails here.
      if (!this.lazyOpen) this.openFile(makeFileName(target, nowSec(), 0, this.width, opts.utc));
    }
  }

  /** the file being written (null for an fd or standard output) */
  get path(): string | null { return this.currentPath; }
  /** true when maxFiles was reached with time rotation: further packets are refused */
  get limitReached(): boolean { return this.full; }

  /** Writes out everything buffered. */
  flush(): void {
    if (!this.closed) this.flushBuffer();
  }

  close(): void {
    if (this.closed) return;
    if (this.failure !== null) {
      // Already reported, and the file already cut back: only the fd is left.
      this.closed = true;
      if (this.ownsFd && this.fd >= 0) closeSync(this.fd); // -1 when the next file of a rotation could not be created
      return;
    }
    // Like tcpdump, an empty capture still leaves a (header-only) file.
    if (this.fd < 0) this.openFile(makeFileName(this.pattern!, nowSec(), 0, this.width, this.opts.utc));
    try {
      this.flushBuffer();
    } finally {
      this.closed = true;
      if (this.ownsFd) {
        closeSync(this.fd);
        if (this.currentPath !== null) this.opts.onFileClosed?.(this.currentPath);
      }
    }
  }

  /** Rotation decisions before packet `sec` is written; false when maxFiles stops the writer. */
  protected beforePacket(sec: number): boolean {
    if (this.full) return false;
    if (!this.windowOpen) {
      // The first packet opens the first -G window.
      this.windowOpen = true;
      this.windowStartSec = sec;
      return true;
    }
    const g = this.opts.rotateSeconds;
    const c = this.opts.maxFileBytes;
    const w = this.opts.maxFiles;
    if (g !== undefined && sec - this.windowStartSec >= g) {
      this.timeRotations++;
      if (c === undefined && w !== undefined && this.timeRotations >= w) {
        this.full = true; // tcpdump -G -W: "Maximum file limit reached"
        return false;
      }
      // A time conversion in the name tells windows apart, so the -C counter
      // restarts (as in tcpdump); a plain name keeps counting instead.
      this.counter = hasTimeConversion(this.pattern!) ? 0 : this.counter + 1;
      if (c !== undefined && w !== undefined) this.counter %= w;
      this.windowStartSec = sec;
      this.rotate();
      return true;
    }
    // tcpdump -C: rotate once the file holds MORE than C bytes, checked before each packet.
    if (c !== undefined && this.fileBytes > c) {
      this.counter++;
      if (w !== undefined && this.counter >= w) this.counter = 0;
      this.rotate();
    }
    return true;
  }

  /** Closes the current file and opens the next, named from the window's start time and the counter. */
  private rotate(): void {
    this.flushBuffer();
    closeSync(this.fd);
    this.fd = -1;
    const closedPath = this.currentPath!;
    this.openFile(makeFileName(this.pattern!, this.windowStartSec, this.counter, this.width, this.opts.utc));
    this.opts.onFileClosed?.(closedPath);
  }

  protected openFile(path: string): void {
    try {
      this.fd = openSync(path, 'w', this.opts.mode ?? 0o644);
    } catch (e) {
      this.failure = createFailure(path, this.stats.files, this.flushedPackets, e);
      throw this.failure;
    }
    this.currentPath = path;
    this.flushedFilePackets = 0;
    this.stats.files++;
    this.startFile();
  }

  /** Puts the file header (or SHB + IDB) in the buffer. */
  private startFile(): void {
    this.fileBytes = 0;
    this.filePackets = 0;
    const v = this.out.dv;
    let p = this.pos;
    this.headerFirst = this.format === 'pcap' && p === 0;
    if (this.format === 'pcap') p += putPcapHeader(v, p, this.nanosecond, this.snaplen, this.linkType);
    else {
      p += putSectionHeader(v, p);
      p += putInterface(v, p, this.linkType, this.snaplen, this.nanosecond);
    }
    this.fileBytes = p - this.pos;
    this.pos = p;
  }

  protected flushBuffer(): void {
    if (this.failure !== null) throw this.failure;
    let p = 0;
    while (p < this.pos) {
      try {
        p += writeSync(this.fd, this.out.u8, p, this.pos - p);
        this.stats.writes++;
      } catch (e) {
        const code = (e as { code?: string }).code;
        // stdout may be a non-blocking pipe: wait for the reader and retry.
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') { sleepSync(1); continue; }
        this.failWrite(p, e);
      }
    }
    this.pos = 0;
    this.headerFirst = false;
    this.flushedFilePackets += this.batchPackets;
    this.flushedPackets += this.batchPackets;
    this.batchPackets = 0;
  }

  /** A write failed after `written` bytes of the batch: cut the file back, count, throw (write-failure.ts). */
  private failWrite(written: number, cause: unknown): never {
    const name = this.currentPath ?? (this.fd === 1 ? 'standard output' : `fd ${this.fd}`);
    const { error: err, lostWireBytes } = writeFailure(this.fd, {
      view: this.out.dv, pos: this.pos, written, format: this.format, headerFirst: this.headerFirst,
    }, {
      name, filePackets: this.flushedFilePackets, allPackets: this.flushedPackets, files: this.stats.files,
      batchPackets: this.batchPackets,
    }, cause);
    this.stats.lost += err.lost;
    this.stats.lostWireBytes += lostWireBytes;
    this.failure = err;
    this.pos = 0;
    throw err;
  }
}
