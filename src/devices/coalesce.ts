// User-space interrupt coalescing for receive loops that poll a ring. After a
// short burst (fewer than COALESCE_BELOW packets: the ring is drained), or an
// empty one right after packets, the next receive first sleeps, so packets
// arrive in bursts worth waking up for instead of one wake-up per handful.
// TPACKET_V3 does the same in the kernel with its block timeout. A busy input
// never sleeps: its bursts are full. The loop blocks in poll() only when it
// finds the input empty twice in a row (idle()): blocking while packets flow
// gets the loop woken by the next kernel batch, a wake-up per few dozen frames
// that the delivering CPU pays for (perf at ~10 Mpps of XDP frames: a fifth
// of that CPU in sock_def_readable; the receiver delivered 2.3-2.7 Mpps
// instead of 9.4-10).
//
// The nap lasts as long as the ring takes to fill to a quarter at the rate
// seen since the previous nap, between 0.25 and 8 ms. Each wake-up costs
// ~20 us of CPU on a VM (timer, halt and IPI exits), so at 0.55 Mpps a fixed
// 1 ms nap spent ~45 ns per packet on wake-ups alone; the adaptive nap (~4 ms
// there) cuts that by four. A quarter of the ring leaves room for the rate to
// quadruple during a nap before anything is dropped; at low rates the nap is
// the cap, which is also the most latency it adds. The floor is for the
// fastest inputs: an 8192-frame ring fills in 0.8 ms at 10 Mpps.
//
// The rate is unknown when traffic starts after an idle spell (the loop slept
// in poll()): the time since the last nap then measures the silence, not the
// traffic, and an 8 ms nap at 1.3 Mpps overflows an 8192-frame ring. So the
// first nap after idle() is the floor, and each nap is at most twice the one
// before: the nap reaches its target in a few steps, each long enough to
// measure the new rate.

/** A burst shorter than this means the ring was drained: nap before the next receive. */
export const COALESCE_BELOW = 16;
export const MIN_NAP_MS = 0.25;
export const MAX_NAP_MS = 8;

/** Nap for `capacity` ring slots at `perMs` packets per ms: a quarter of the ring, clamped to [MIN_NAP_MS, MAX_NAP_MS]. */
export function napFor(perMs: number, capacity: number): number {
  if (!(perMs > 0)) return MAX_NAP_MS;
  const t = capacity / 4 / perMs;
  return t < MIN_NAP_MS ? MIN_NAP_MS : t > MAX_NAP_MS ? MAX_NAP_MS : t;
}

/**
 * The next nap after one of `lastMs`: napFor, at most `maxMs`, and at most
 * twice `lastMs` (the rate was measured over that nap, not longer; after an
 * idle spell the caller sets lastMs to MIN_NAP_MS / 2, so it starts at the floor).
 */
export function nextNap(perMs: number, capacity: number, lastMs: number, maxMs = MAX_NAP_MS): number {
  const target = Math.min(maxMs, napFor(perMs, capacity));
  return target > 2 * lastMs ? Math.max(MIN_NAP_MS, 2 * lastMs) : target;
}

export class Coalescer {
  private short = false;
  /** the previous receive returned packets */
  private flowing = false;
  private count = 0;
  private since: number;
  /** the last nap, in ms (for stats and tests); MIN_NAP_MS / 2 after idle, so the next nap is the floor */
  lastNapMs = MIN_NAP_MS / 2;

  /**
   * `capacity`: how many packets the input can hold while we sleep (the RX
   * ring or fill depth, the queue length); `sleep` blocks for a number of ms;
   * `now` reads a ms clock (tests pass one that the sleep advances).
   */
  constructor(
    private readonly capacity: number,
    private readonly sleep: (ms: number) => void,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.since = now();
  }

  /** Call before a receive: naps if the previous burst was short. */
  before(): void {
    if (!this.short) return;
    this.short = false;
    const now = this.now();
    const dt = now - this.since;
    const ms = nextNap(dt > 0 ? this.count / dt : 0, this.capacity, this.lastNapMs);
    this.count = 0;
    this.since = now;
    this.lastNapMs = ms;
    this.sleep(ms);
  }

  /**
   * Call when a receive found the input empty. True: block waiting for
   * packets (the receive before found none either). False: the loop has just
   * drained a flowing input; return the empty receive, and the next before()
   * naps instead. Blocking there would be woken by the very next frames, one
   * wake-up (an IPI from the CPU delivering them) per kernel batch of a
   * handful of frames: at several Mpps those wake-ups took a fifth of the
   * delivering CPU (perf, sock_def_readable).
   */
  idle(): boolean {
    if (this.flowing) return false;
    this.lastNapMs = MIN_NAP_MS / 2;
    return true;
  }

  /** Call with what the receive returned (`waiting`: the caller waits for packets; false disables naps); passes n through. */
  after(n: number, waiting: boolean): number {
    this.count += n;
    // a short burst, or an empty one right after packets: the ring is drained
    this.short = waiting && n < COALESCE_BELOW && (n > 0 || this.flowing);
    this.flowing = n > 0;
    return n;
  }
}
