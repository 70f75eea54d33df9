// pcap:PATH — a capture file as an RX device: each record is copied once
// from the reader's buffer into a cluster buffer (the same single copy as an
// AF_PACKET device), as fast as possible or at the recorded pace (`speed`).
// The device ends at the end of the file (`ended`), so a command can print
// its summary and exit.
import { PcapReader, createPacketRecords, type PacketRecords } from '../pcap/index.js';
import { META_LEN, META_NSEC, META_OFF, META_PORT, META_SEC, META_WIRELEN, META_WORDS, META_HASH } from '../zc/meta.js';
import { InvalidArgumentError, ReplayGapError } from '../errors.js';
import { emptyStats, type Device, type DeviceOptions, type DeviceStats, type TxPending } from './types.js';
import { sleepSync } from '../sleep.js';

export interface PcapDeviceOptions extends DeviceOptions {
  /** replay speed: 0 = as fast as possible (default), 1 = recorded pace, 2 = twice as fast, ... */
  speed?: number;
  /**
   * Refuse (ReplayGapError) a record more than a day of recorded time after
   * the one before it, as a replay at the recorded pace would wait that long:
   * default true when speed > 0. send -f, which reads at top speed and paces
   * on its own, sets it when it paces.
   */
  checkGaps?: boolean;
}

const MAX_BURST = 256;

/** A timed replay refuses a gap between consecutive records longer than this (recorded time). */
export const MAX_REPLAY_GAP_NS = 86_400e9;

/**
 * Packet `packet` (1-based) of `name` is `gapNs` of recorded time after the
 * one before it, at `sec` (u32 seconds): the error a timed replay throws
 * instead of waiting.
 */
export function replayGapError(name: string, packet: number, gapNs: number, sec: number): ReplayGapError {
  const s = gapNs / 1e9;
  const span = s >= 86400 * 365 ? `${(s / (86400 * 365.25)).toFixed(1)} years` : `${(s / 86400).toFixed(1)} days`;
  const at = new Date(sec * 1000).toISOString();
  return new ReplayGapError(`${name}: packet ${packet} is stamped ${at}, ${span} after the packet before it; replaying at the ` +
    `recorded pace would wait that long (a corrupt timestamp?). Replay at top speed (--speed 0, send --topspeed), or remove ` +
    `the packet first (editcap FILE OUT ${packet} deletes it)`, packet, s);
}

export class PcapDevice implements Device {
  readonly name: string;
  readonly ifname: string;
  readonly ifindex = 0;
  readonly mode = 'standard' as const;
  readonly queues: readonly number[] = [];
  readonly port: number;
  readonly rxCapacity = Infinity;
  readonly path: string;
  private readonly reader: PcapReader;
  private readonly o: PcapDeviceOptions;
  private readonly rec: PacketRecords = createPacketRecords(MAX_BURST);
  private readonly st: DeviceStats = emptyStats();
  private readonly speed: number;
  // Timed replay: one packet read ahead, delivered when its time has come.
  private held = -1;
  private startWallNs = 0;
  private startPktNs = 0;
  /** recorded time of the previous packet of a timed replay (-1: none yet) */
  private lastPktNs = -1;
  private readonly checkGaps: boolean;
  /** a gap found: the packets before it are returned, then every call throws it */
  private gapError: ReplayGapError | null = null;
  private _closed = false;

  constructor(name: string, path: string, o: PcapDeviceOptions) {
    if (o.speed !== undefined && !(o.speed >= 0)) throw new InvalidArgumentError(`replay speed must be >= 0 (0 = top speed), got ${o.speed}`);
    if (path === '') throw new InvalidArgumentError(`'${name}' names no file: use pcap:FILE (pcap or pcapng), or pcap:- for standard input`);
    this.name = name;
    this.ifname = path;
    this.path = path;
    this.o = o;
    this.port = o.port ?? 0;
    this.speed = o.speed ?? 0;
    this.checkGaps = o.checkGaps ?? this.speed > 0;
    // One link type for the whole file: a command's filter and output header are compiled/written for
    // `linkType`, so a pcapng file mixing link types is refused (as tcpdump does) rather than misread.
    this.reader = PcapReader.openSync(path === '-' ? 0 : path, { matchAlignment: true, oneLinkType: true });
  }

  /** The file's link type (LINKTYPE_*: 1 = Ethernet). */
  get linkType(): number { return this.reader.linkType; }

  /** True once every record was delivered. */
  get ended(): boolean { return this.held < 0 && this.gapError === null && this.reader.ended; }

  get closed(): boolean { return this._closed; }

  recvBurst(out: Uint32Array, max: number): number {
    if (this._closed || max <= 0) return 0;
    if (this.gapError !== null) throw this.gapError;
    const n = this.speed > 0 ? this.recvTimed(out) : this.readInto(out, Math.min(max, MAX_BURST));
    if (n === 0 && this.gapError !== null) throw this.gapError;
    return n;
  }

  /** Reads up to n records into freshly allocated buffers; returns how many. */
  private readInto(out: Uint32Array, n: number, at = 0): number {
    const m = this.o.memory;
    const k = this.o.source.alloc(out.subarray(at, at + n), n);
    if (k < n) this.st.rxNoBuffer++;
    if (k === 0) return 0;
    const room = m.bufferSize - m.headroom;
    for (let i = 0; i < k; i++) this.rec.offset[i] = m.bufferOffset + out[at + i] * m.bufferSize + m.headroom;
    let got: number;
    try {
      got = this.reader.readBurst(m.bytes, room, this.rec, k);
    } catch (e) {
      this.o.source.free(out.subarray(at, at + k), k);
      throw e;
    }
    if (this.checkGaps && got > 0) got = this.beforeGap(got);
    const meta = m.meta;
    for (let i = 0; i < got; i++) {
      const idx = out[at + i];
      const b = idx * META_WORDS;
      meta[b + META_LEN] = this.rec.caplen[i];
      // the reader moved the packet up to 3 bytes to keep its alignment in the file (word copies)
      meta[b + META_OFF] = this.rec.offset[i] - m.bufferOffset - idx * m.bufferSize;
      meta[b + META_SEC] = this.rec.sec[i];
      meta[b + META_NSEC] = this.rec.nsec[i];
      meta[b + META_WIRELEN] = this.rec.wirelen[i];
      meta[b + META_PORT] = this.port;
      meta[b + META_HASH] = 0;
      this.st.receivedBytes += this.rec.caplen[i];
    }
    if (got < k) this.o.source.free(out.subarray(at + got, at + k), k - got);
    this.st.received += got;
    return got;
  }

  /**
   * How many of the `got` records just read come before a gap of more than
   * MAX_REPLAY_GAP_NS; sets gapError at the first such gap (its record and
   * those after it in the burst are then freed by readInto, uncounted). One
   * compare per record, and only when checkGaps is set.
   */
  private beforeGap(got: number): number {
    const secs = this.rec.sec, nsecs = this.rec.nsec;
    for (let i = 0; i < got; i++) {
      const t = secs[i] * 1e9 + nsecs[i];
      if (this.lastPktNs >= 0 && t - this.lastPktNs > MAX_REPLAY_GAP_NS) {
        this.gapError = replayGapError(this.name, this.st.received + i + 1, t - this.lastPktNs, secs[i]);
        return i;
      }
      this.lastPktNs = t;
    }
    return got;
  }

  private recvTimed(out: Uint32Array): number {
    const meta = this.o.memory.meta;
    let n = 0;
    for (;;) {
      if (this.held < 0) {
        if (this.readInto(out, 1, n) === 0) return n;
        this.held = out[n];
      }
      const b = this.held * META_WORDS;
      const pktNs = meta[b + META_SEC] * 1e9 + meta[b + META_NSEC];
      const now = Number(process.hrtime.bigint());
      if (this.startWallNs === 0) { this.startWallNs = now; this.startPktNs = pktNs; }
      const due = this.startWallNs + (pktNs - this.startPktNs) / this.speed;
      if (now < due) return n;
      out[n++] = this.held;
      this.held = -1;
      if (n >= out.length) return n;
    }
  }

  sendBurst(indices: Uint32Array, n: number): number {
    this.st.txInvalid += n;
    this.o.source.free(indices, n);
    return 0;
  }

  /** A capture file is read, never written through a device: no room. */
  txRoom(): number { return 0; }

  /** Sleeps until the next held packet is due (timed replay) or up to timeoutMs. */
  wait(timeoutMs: number): boolean {
    if (this.ended) return false;
    if (this.held < 0) return true;
    const b = this.held * META_WORDS;
    const meta = this.o.memory.meta;
    const pktNs = meta[b + META_SEC] * 1e9 + meta[b + META_NSEC];
    const dueMs = (this.startWallNs + (pktNs - this.startPktNs) / this.speed - Number(process.hrtime.bigint())) / 1e6;
    const ms = Math.min(timeoutMs, dueMs);
    if (ms > 1) sleepSync(ms - 1); // the last millisecond is spun in recvBurst's caller loop
    return dueMs <= timeoutMs;
  }

  flush(): number { return 0; }

  txPending(): TxPending { return { frames: 0, bytes: 0 }; }

  /**
   * Records longer than the snaplen the file gives their interface: delivered
   * cut to it, as libpcap (tcpdump -r) reads them; Wireshark keeps them whole.
   * Not in rxTruncated, which counts what the cluster buffers cut.
   */
  get cutToSnaplen(): number { return this.reader.stats.clampedToSnaplen; }

  /** The file's snaplen (classic) or its first interface's (pcapng); 0 = none. */
  get snaplen(): number { return this.reader.snaplen; }

  stats(): DeviceStats {
    // rxTruncated: records longer than a cluster buffer; records the file itself holds cut (caplen < wirelen) are not ours to count
    return { ...this.st, rxTruncated: this.reader.stats.cutToCapacity, kernel: { ...this.reader.stats } as unknown as Record<string, number> };
  }

  close(): void {
    if (this._closed) return;
    this._closed = true;
    if (this.held >= 0) { this.o.source.free(Uint32Array.of(this.held), 1); this.held = -1; }
    this.reader.close();
  }
}
