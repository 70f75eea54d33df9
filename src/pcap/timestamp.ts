// Exact conversion of pcapng timestamps to (seconds, nanoseconds).
//
// An EPB carries a 64-bit count of units of the interface's if_tsresol
// (pcapng section 4.2: MSB clear -> 10^-v s, MSB set -> 2^-v s), plus the
// interface's if_tsoffset in seconds. A double holds only 53 bits, and
// nanoseconds since the epoch need 61, so the 64-bit value is handled as two
// u32 halves and divided digit by digit (base 2^16) — exact, no BigInt and no
// allocation per packet.

/** How an interface's ticks become seconds + nanoseconds. */
export const TS_POW10_COARSE = 0; // 10^-k with k <= 9: sec = t / 10^k, nsec = rest * 10^(9-k)
export const TS_POW10_FINE = 1;   // 10^-k with 9 < k <= 19: ns = t / 10^(k-9), then / 1e9
export const TS_POW2 = 2;         // 2^-k with k <= 63: sec = t >> k, nsec = frac * 1e9 >> k

export interface TsResolution { kind: number; a: number; b: number }

/** Decodes the if_tsresol byte; null when the resolution is beyond what a 64-bit counter can mean. */
export function decodeTsResol(v: number): TsResolution | null {
  const exp = v & 0x7f;
  if (v & 0x80) return exp <= 63 ? { kind: TS_POW2, a: exp, b: 0 } : null;
  if (exp <= 9) return { kind: TS_POW10_COARSE, a: 10 ** exp, b: 10 ** (9 - exp) };
  // 10^19 < 2^64 < 10^20: finer resolutions cannot count even one second.
  if (exp <= 19) return { kind: TS_POW10_FINE, a: 10 ** (exp - 9), b: 0 };
  return null;
}

/** Microseconds: the resolution when an interface has no if_tsresol option. */
export const DEFAULT_TSRESOL: TsResolution = { kind: TS_POW10_COARSE, a: 1e6, b: 1000 };

// (hi * 2^32) / a for the last high word seen (see ticksToTime).
let cacheHi = -1;
let cacheA = 0;
let cacheQuot = 0;
let cacheRem = 0;

// Results of divmod64 (module state instead of an object per call).
let qHi = 0;
let qLo = 0;
let rem = 0;

function digit(cur: number, d: number): number {
  let q = Math.floor(cur / d);
  let r = cur - q * d;
  // The float quotient can round up across an integer; correct it exactly.
  if (r < 0) { q -= 1; r += d; } else if (r >= d) { q += 1; r -= d; }
  rem = r;
  return q;
}

/** (hi:lo) / d for d < 2^37, by four base-2^16 digits so every intermediate stays below 2^53. */
function divmod64(hi: number, lo: number, d: number): void {
  const q3 = digit(hi >>> 16, d);
  const q2 = digit(rem * 65536 + (hi & 0xffff), d);
  const q1 = digit(rem * 65536 + (lo >>> 16), d);
  const q0 = digit(rem * 65536 + (lo & 0xffff), d);
  qHi = q3 * 65536 + q2;
  qLo = q1 * 65536 + q0;
}

/** floor(frac * 1e9 / 2^k) for a fraction frac = (fHi:fLo) < 2^k, 24 <= k <= 63, exactly. */
function fracToNs(fHi: number, fLo: number, k: number): number {
  let t = (fLo & 0xffff) * 1e9;
  const d0 = t % 65536; let c = Math.floor(t / 65536);
  t = (fLo >>> 16) * 1e9 + c;
  const d1 = t % 65536; c = Math.floor(t / 65536);
  t = (fHi & 0xffff) * 1e9 + c;
  const d2 = t % 65536; c = Math.floor(t / 65536);
  t = (fHi >>> 16) * 1e9 + c;
  const d3 = t % 65536; c = Math.floor(t / 65536);
  const mid = d3 * 65536 + d2;
  const low = d1 * 65536 + d0;
  const top = c * 2 ** (64 - k);
  return k >= 32 ? top + Math.floor(mid / 2 ** (k - 32)) : top + mid * 2 ** (32 - k) + Math.floor(low / 2 ** k);
}

/**
 * Converts ticks (hi:lo, both u32) of the given resolution plus `offsetSec`
 * into out[0] = seconds (a double: the caller checks it fits a u32) and
 * out[1] = nanoseconds (0..999999999).
 */
export function ticksToTime(hi: number, lo: number, kind: number, a: number, b: number,
  offsetSec: number, out: Float64Array): void {
  if (kind === TS_POW10_COARSE) {
    // The high word changes every 2^32 ticks (71 minutes in microseconds,
    // 4.3 s in nanoseconds): divide it once and keep (hi * 2^32) / a as
    // quotient + remainder, so each packet costs one small division.
    if (hi !== cacheHi || a !== cacheA) {
      divmod64(hi, 0, a);
      cacheHi = hi;
      cacheA = a;
      cacheQuot = qHi * 4294967296 + qLo;
      cacheRem = rem;
    }
    const t = cacheRem + lo; // < a + 2^32: exact
    let q = Math.floor(t / a);
    let r = t - q * a;
    if (r < 0) { q -= 1; r += a; } else if (r >= a) { q += 1; r -= a; }
    out[0] = cacheQuot + q + offsetSec;
    out[1] = r * b;
  } else if (kind === TS_POW10_FINE) {
    divmod64(hi, lo, a);
    divmod64(qHi, qLo, 1e9);
    out[0] = qHi * 4294967296 + qLo + offsetSec;
    out[1] = rem;
  } else {
    const k = a;
    let sHi: number; let sLo: number; let fHi = 0; let fLo = 0;
    if (k === 0) { sHi = hi; sLo = lo; }
    else if (k < 32) {
      sHi = hi >>> k;
      sLo = ((lo >>> k) | (hi << (32 - k))) >>> 0;
      fLo = (lo & (0xffffffff >>> (32 - k))) >>> 0;
    } else if (k === 32) { sHi = 0; sLo = hi; fLo = lo; }
    else {
      sHi = 0;
      sLo = hi >>> (k - 32);
      fHi = (hi & (0xffffffff >>> (64 - k))) >>> 0;
      fLo = lo;
    }
    out[0] = sHi * 4294967296 + sLo + offsetSec;
    out[1] = k === 0 ? 0 : k <= 23 ? Math.floor(fLo * 1e9 / 2 ** k) : fracToNs(fHi, fLo, k);
  }
}
