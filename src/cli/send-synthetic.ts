// The synthetic half of `send` (zsend / pfsend): pre-built UDP frames copied
// into cluster buffers and sent in bursts, at a packet rate (-p) or as fast as
// the device or queue takes them.
//
// A full queue or TX ring makes the sender wait, as zsend waits for
// pfring_zc_send_pkt: it offers only what the endpoint has room for, so no
// frame is refused and counted as a drop for the consumer being slow. While
// it waits the rate clock stops: -p is an upper bound, and the frames a stall
// held back are not sent afterwards in one catch-up burst.
import { META_LEN, META_OFF, META_WORDS } from '../zc/meta.js';
import { sleepSync } from '../sleep.js';
import type { TxEndpoint } from './tx-endpoint.js';

/** Nap while the endpoint is full: short enough that a 4096-slot queue drained at 10 Mpps is not left empty for long. */
const STALL_NAP_MS = 0.1;
/** Stalls shorter than this are spun through (flush and retry at once). */
const STALL_SPIN_MS = 1;
/** Sleep (rather than spin) until this long before the next departure at a low rate. */
const SPIN_MS = 1;

export interface SyntheticOptions {
  /** frames back to back, `count` of `length` bytes (buildFrames) */
  frames: { bytes: Uint8Array; count: number; length: number };
  /** packets per second, 0 = as fast as the endpoint takes them */
  pps: number;
  /** stop after this many packets, 0 = no limit */
  limit: number;
}

export class SyntheticSender {
  /** frames the endpoint accepted */
  sent = 0;
  private readonly burst = new Uint32Array(64);
  private next = 0;
  /** performance.now() the rate clock counts from (the first slice); moved forward by every stall */
  private base = -1;
  /** when the current stall began, or -1 */
  private stalledAt = -1;

  /** one view per template, made once: no view (allocation) per packet */
  private readonly templates: Uint8Array[];

  constructor(private readonly dev: TxEndpoint, private readonly o: SyntheticOptions) {
    const { bytes, count, length } = o.frames;
    this.templates = Array.from({ length: count }, (_, f) => bytes.subarray(f * length, (f + 1) * length));
  }

  get bytes(): number { return this.sent * this.o.frames.length; }

  /** Runs for about budgetMs; returns false once `limit` frames were sent. */
  slice(budgetMs: number): boolean {
    const { dev, burst } = this;
    const { pps, limit, frames } = this.o;
    const pool = dev.pool, mem = dev.memory, bytes = mem.bytes, meta = mem.meta;
    const length = frames.length;
    const end = performance.now() + budgetMs;
    if (this.base < 0) this.base = performance.now();
    do {
      let want = 64;
      if (limit > 0) want = Math.min(want, limit - this.sent);
      if (want <= 0) break;
      const room = dev.room();
      if (room === 0) { this.stall(end); continue; }
      if (this.stalledAt >= 0) { this.base += performance.now() - this.stalledAt; this.stalledAt = -1; }
      want = Math.min(want, room);
      if (pps > 0) {
        const now = performance.now();
        const allowed = Math.floor(((now - this.base) / 1000) * pps) - this.sent;
        if (allowed <= 0) {
          dev.flush();
          const wait = this.base + ((this.sent + 1) / pps) * 1000 - now;
          if (wait > SPIN_MS * 2) sleepSync(Math.min(wait - SPIN_MS, end - now));
          continue;
        }
        want = Math.min(want, allowed);
      }
      // No free buffer: all are in flight in the device; wait for completions like for room.
      const k = pool.alloc(burst, want);
      if (k === 0) { this.stall(end); continue; }
      const templates = this.templates;
      for (let i = 0; i < k; i++) {
        const b = burst[i];
        const m = b * META_WORDS;
        bytes.set(templates[this.next++ % templates.length], mem.bufferOffset + b * mem.bufferSize + meta[m + META_OFF]);
        meta[m + META_LEN] = length;
      }
      this.sent += dev.sendBurst(burst, k);
    } while (performance.now() < end);
    return limit === 0 || this.sent < limit;
  }

  /**
   * The endpoint is full or every buffer is in flight: flush, stop the rate
   * clock meanwhile, and once the stall outlasts STALL_SPIN_MS nap between
   * tries (a short one, as at top speed into a device, is spun through).
   */
  private stall(end: number): void {
    const now = performance.now();
    if (this.stalledAt < 0) this.stalledAt = now;
    this.dev.flush();
    if (now - this.stalledAt > STALL_SPIN_MS && now < end) sleepSync(Math.min(STALL_NAP_MS, end - now));
  }
}
