// send -f FILE: replays a capture file on a device. The file is read as a
// pcap: device (each record copied once into a cluster buffer, metadata
// filled in) and the buffers are sent from there.
// Timing: packet i leaves at start + (ts_i - ts_0) / speed; the loop sleeps
// until 1.5 ms before a departure and spins the rest, so gaps are kept
// to well under a millisecond. speed 0 = top speed. A pps cap applies on top.
// The event loop gets its turns (between slices) only while the next departure
// is at least COMMIT_MS away, never in the last stretch before one.
import { PcapDevice } from '../devices/pcap.js';
import { META_LEN, META_NSEC, META_OFF, META_SEC, META_WORDS } from '../zc/meta.js';
import type { BufferPool } from '../zc/pool.js';
import type { TxEndpoint } from './tx-endpoint.js';
import type { BufferMemory } from '../zc/meta.js';
import { sleepSync } from '../sleep.js';

// Sleep until this long before a departure, then spin: waking from a sleep can be late by a
// millisecond on a busy machine (timer slack, scheduling), spinning is not. Costs up to 1.5 ms of
// CPU per gap longer than that; shorter gaps are spun anyway.
const SPIN_MS = 1.5;

/**
 * A departure closer than this is this slice's to make, even past its budget: it
 * sleeps and spins through it instead of handing the thread to the event loop.
 * A turn of the event loop is not bounded by us (timers, signals, a GC, and on a
 * loaded VM the scheduler): taken in the spin window, it made departures late
 * (the first turn after the start took 0.4 ms on an idle machine, 3.8 ms on a
 * loaded one, 5 ms into a replay whose second packet was due at 5 ms).
 */
const COMMIT_MS = 10;

/** Departures keep coming closer together than COMMIT_MS: yield after this much overrun anyway. */
const MAX_OVERRUN_MS = 20;

/** How long a replay naps while its queue or TX ring has no room (a consumer drains 64+ frames in far less). */
const ROOM_NAP_MS = 0.05;

/**
 * Busy-waits until performance.now() reaches `untilMs` (a departure no more
 * than COMMIT_MS away). A function of its own, warmed up before the
 * clock starts (warmUpSpin): when the spin ran inside slice()'s loop, V8
 * compiled that whole loop on the fly in the middle of a replay, and the
 * departures around it left 0.3-0.9 ms late (measured at the sender).
 */
function spinUntil(untilMs: number): void {
  while (performance.now() < untilMs) { /* spin */ }
}

/** Runs spinUntil hot for ~30 ms, so that it is optimized code before a timed replay starts. */
export function warmUpSpin(): void {
  const end = performance.now() + 30;
  while (performance.now() < end) spinUntil(Math.min(performance.now() + 0.05, end));
}

export interface ReplayOptions {
  path: string;
  /** 1 = recorded pace, 2 = twice as fast, 0 = as fast as possible */
  speed: number;
  /** how many times to play the file (0 = forever) */
  loops: number;
  /** packets per second cap (0 = none) */
  pps: number;
  /** stop after this many packets (0 = no limit) */
  limit: number;
  /** records longer than this are skipped and counted in `tooLong` (default: none are) */
  maxFrame?: number;
  /** the same for records with an 802.1Q tag (default maxFrame) */
  maxTaggedFrame?: number;
  /** the same for records with an 802.1ad outer tag (default maxTaggedFrame) */
  maxQinQFrame?: number;
}

export class Replayer {
  sent = 0;
  bytes = 0;
  loopsDone = 0;
  /** records skipped for being longer than maxFrame (the device would get them cut, or not at all) */
  tooLong = 0;
  /** the file as a top-speed RX device: it copies each record into a cluster buffer and fills its metadata */
  private file: PcapDevice;
  private readonly meta: Uint32Array;
  private readonly burst = new Uint32Array(64);
  private readonly out = new Uint32Array(64);
  private readonly lens = new Uint32Array(64);
  private readonly skipped = new Uint32Array(64);
  private pending = 0; // packets read into burst[0..pending) not yet sent
  private next = 0;
  /** performance.now() when the first packet was read (ms; no BigInt: the spin loop must not allocate) */
  private startWall = -1;
  private startPkt = 0; // ns since the first packet, as a float (relative values only)
  private firstSec = -1;
  private loopOffsetNs = 0; // recorded time added per completed loop
  private lastPktNs = 0;
  private readonly t0 = performance.now();

  constructor(private readonly o: ReplayOptions, private readonly dev: TxEndpoint, private readonly pool: BufferPool, private readonly mem: BufferMemory) {
    this.meta = mem.meta;
    this.file = this.openFile();
  }

  private openFile(): PcapDevice {
    // checkGaps: at the recorded pace, a record stamped days later (a corrupt timestamp) is refused, not waited for
    return new PcapDevice(`pcap:${this.o.path}`, this.o.path, { memory: this.mem, source: this.pool, checkGaps: this.o.speed > 0 });
  }

  /** The file's link type (LINKTYPE_*: 1 = Ethernet), known once it is open. */
  get linkType(): number { return this.file.linkType; }

  /** Relative recorded time of burst[i] in ns (exact enough: seconds are taken relative to the first). */
  private pktNs(i: number): number {
    const m = this.burst[i] * META_WORDS;
    if (this.firstSec < 0) this.firstSec = this.meta[m + META_SEC];
    return (this.meta[m + META_SEC] - this.firstSec) * 1e9 + this.meta[m + META_NSEC] + this.loopOffsetNs;
  }

  /**
   * Runs for about budgetMs (up to COMMIT_MS more to make a departure that is
   * close, MAX_OVERRUN_MS at most); returns false when the replay is complete.
   */
  slice(budgetMs: number): boolean {
    const end = performance.now() + budgetMs;
    const o = this.o;
    for (;;) {
      if (o.limit > 0 && this.sent >= o.limit) return false;
      if (this.next >= this.pending && !this.refill()) return false;
      // How many of the pending packets may leave now?
      const now = performance.now();
      const elapsed = (now - this.t0) * 1e6; // ns
      const room = this.dev.room(); // a full queue or TX ring: wait (below) rather than have frames refused
      let k = 0;
      while (this.next + k < this.pending && k < room) {
        if (o.speed > 0) {
          const due = (this.pktNs(this.next + k) - this.startPkt) / o.speed;
          if (due > (now - this.startWall) * 1e6) break;
        }
        if (o.pps > 0 && this.sent + k + 1 > (elapsed / 1e9) * o.pps) break;
        if (o.limit > 0 && this.sent + k >= o.limit) break;
        k++;
      }
      if (k > 0) {
        // Lengths are read before sending: once sent, a buffer is no longer ours.
        for (let i = 0; i < k; i++) { this.out[i] = this.burst[this.next + i]; this.lens[i] = this.meta[this.out[i] * META_WORDS + META_LEN]; }
        const sent = this.dev.sendBurst(this.out, k);
        for (let i = 0; i < sent; i++) this.bytes += this.lens[i];
        this.sent += sent;
        this.next += k;
        // A sender that always has something due (top speed, or behind its
        // pace) must still yield, or SIGINT waits for the end of the replay:
        // at top speed at the budget, paced past the overrun allowance.
        const t = performance.now();
        if (t >= end && ((o.speed === 0 && o.pps === 0) || t >= end + MAX_OVERRUN_MS)) return true;
        continue;
      }
      this.dev.flush();
      const t = performance.now();
      // A full queue or TX ring: wait for room as zsend does, but nap rather
      // than spin (a consumer that is away would get a whole CPU burnt).
      if (room === 0) {
        if (t >= end) return true;
        sleepSync(ROOM_NAP_MS);
        continue;
      }
      // Every buffer is in flight (refill found none free): nothing to pace yet.
      if (this.next >= this.pending) {
        if (t >= end) return true;
        continue;
      }
      // Nothing due yet: wait for the next departure.
      const due = this.nextDepartureMs();
      const wait = due - t;
      if (wait > COMMIT_MS) {
        // Far enough: the event loop may have its turn now, with COMMIT_MS to spare.
        if (t >= end) return true;
        sleepSync(Math.min(end - t, wait - COMMIT_MS));
        continue;
      }
      if (t >= end + MAX_OVERRUN_MS) return true;
      // Close: sleep until SPIN_MS before it, spin the rest.
      if (wait > SPIN_MS) sleepSync(wait - SPIN_MS);
      spinUntil(due);
    }
  }

  /** performance.now() (ms) at which burst[next] is due. */
  private nextDepartureMs(): number {
    const o = this.o;
    let at = this.t0;
    if (o.speed > 0) at = this.startWall + (this.pktNs(this.next) - this.startPkt) / o.speed / 1e6;
    if (o.pps > 0) at = Math.max(at, this.t0 + ((this.sent + 1) / o.pps) * 1e3);
    return at;
  }

  /** Reads the next records into fresh buffers; false at the end of the last loop. */
  private refill(): boolean {
    this.pending = 0;
    this.next = 0;
    for (;;) {
      let n = this.file.recvBurst(this.burst, 64);
      if (n === 0 && !this.file.ended) {
        // every buffer is in flight: reap TX completions and try once more
        this.dev.flush();
        n = this.file.recvBurst(this.burst, 64);
        if (n === 0 && !this.file.ended) return true;
      }
      if (n > 0) n = this.dropTooLong(n);
      if (n === 0 && !this.file.ended) continue; // the whole burst was too long: read on
      if (n > 0) {
        if (this.startWall < 0) { this.startWall = performance.now(); this.startPkt = this.pktNs(0); }
        this.lastPktNs = this.pktNs(n - 1);
        this.pending = n;
        return true;
      }
      // End of file: another loop?
      this.loopsDone++;
      if (this.o.loops !== 0 && this.loopsDone >= this.o.loops) return false;
      this.file.close();
      this.file = this.openFile();
      this.firstSec = -1;
      this.loopOffsetNs = this.lastPktNs + 1;
    }
  }

  /** Frees and counts the records of burst[0..n) longer than the device sends; returns how many are left, in order. */
  private dropTooLong(n: number): number {
    const max = this.o.maxFrame ?? Infinity, maxTagged = this.o.maxTaggedFrame ?? max, maxQinQ = this.o.maxQinQFrame ?? maxTagged;
    const m = this.mem, bytes = m.bytes;
    let kept = 0, skip = 0;
    for (let i = 0; i < n; i++) {
      const b = this.burst[i];
      const len = this.meta[b * META_WORDS + META_LEN];
      let long = len > max;
      if (long && len <= maxTagged) {
        // 4 bytes more are fine for a frame with a VLAN tag (ethertype 0x8100, or 0x88a8 where the device allows it)
        const at = m.bufferOffset + b * m.bufferSize + this.meta[b * META_WORDS + META_OFF] + 12;
        const type = (bytes[at] << 8) | bytes[at + 1];
        long = type === 0x8100 ? false : type === 0x88a8 ? len > maxQinQ : true;
      }
      if (long) this.skipped[skip++] = b;
      else this.burst[kept++] = b;
    }
    if (skip > 0) { this.pool.free(this.skipped, skip); this.tooLong += skip; }
    return kept;
  }

  close(): void {
    for (let i = this.next; i < this.pending; i++) this.out[i - this.next] = this.burst[i];
    if (this.next < this.pending) this.pool.free(this.out, this.pending - this.next);
    this.pending = this.next = 0;
    this.file.close();
  }
}
