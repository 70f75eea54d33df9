// Header encoders for the writer, in the host's (little-endian) byte order,
// which is what libpcap and Wireshark write on x86 and arm64.
import {
  BT_EPB, BT_IDB, BT_SHB, IF_TSRESOL, PCAP_MAGIC_NS, PCAP_MAGIC_US, PCAP_VERSION_MAJOR, PCAP_VERSION_MINOR,
  PCAPNG_BOM, SHB_USERAPPL,
} from './constants.js';

/** Writes the 24-byte classic pcap file header at p; returns its length. */
export function putPcapHeader(v: DataView, p: number, nanosecond: boolean, snaplen: number, linkType: number): number {
  v.setUint32(p, nanosecond ? PCAP_MAGIC_NS : PCAP_MAGIC_US, true);
  v.setUint16(p + 4, PCAP_VERSION_MAJOR, true);
  v.setUint16(p + 6, PCAP_VERSION_MINOR, true);
  v.setInt32(p + 8, 0, true); // thiszone: always 0 (timestamps are UTC)
  v.setUint32(p + 12, 0, true); // sigfigs: always 0
  v.setUint32(p + 16, snaplen, true);
  v.setUint32(p + 20, linkType, true);
  return 24;
}

const USERAPPL = new TextEncoder().encode('ringzero');

/** Writes an SHB (version 1.0, section length -1 = unknown, shb_userappl) at p; returns its length. */
export function putSectionHeader(v: DataView, p: number): number {
  const optLen = 4 + ((USERAPPL.length + 3) & ~3) + 4; // userappl + opt_endofopt
  const len = 28 + optLen;
  v.setUint32(p, BT_SHB, true);
  v.setUint32(p + 4, len, true);
  v.setUint32(p + 8, PCAPNG_BOM, true);
  v.setUint16(p + 12, 1, true);
  v.setUint16(p + 14, 0, true);
  v.setInt32(p + 16, -1, true);
  v.setInt32(p + 20, -1, true);
  let q = p + 24;
  v.setUint16(q, SHB_USERAPPL, true);
  v.setUint16(q + 2, USERAPPL.length, true);
  for (let i = 0; i < ((USERAPPL.length + 3) & ~3); i++) v.setUint8(q + 4 + i, i < USERAPPL.length ? USERAPPL[i] : 0);
  q += 4 + ((USERAPPL.length + 3) & ~3);
  v.setUint32(q, 0, true); // opt_endofopt
  v.setUint32(p + len - 4, len, true);
  return len;
}

/** Writes an IDB at p (if_tsresol 9 when nanosecond, else the default microseconds); returns its length. */
export function putInterface(v: DataView, p: number, linkType: number, snaplen: number, nanosecond: boolean): number {
  const len = nanosecond ? 20 + 8 + 4 : 20;
  v.setUint32(p, BT_IDB, true);
  v.setUint32(p + 4, len, true);
  v.setUint16(p + 8, linkType, true);
  v.setUint16(p + 10, 0, true);
  v.setUint32(p + 12, snaplen, true);
  if (nanosecond) {
    v.setUint16(p + 16, IF_TSRESOL, true);
    v.setUint16(p + 18, 1, true);
    v.setUint32(p + 20, 9, true); // value 9 (10^-9 s) followed by 3 bytes of padding
    v.setUint32(p + 24, 0, true); // opt_endofopt
  }
  v.setUint32(p + len - 4, len, true);
  return len;
}

/** Bytes an EPB of caplen bytes takes (no options). */
export function epbLength(caplen: number): number {
  return 32 + ((caplen + 3) & ~3);
}

/**
 * TICKS = [high, low] 32 bits of the 64-bit timestamp sec * unitsPerSec + frac,
 * built from 16-bit pieces so every step is exact in a double. A module-level
 * scratch: the writers call this per packet and must not allocate.
 */
const TICKS = new Float64Array(2);
function splitTicks(sec: number, frac: number, unitsPerSec: number): void {
  const a = (sec & 0xffff) * unitsPerSec + frac;
  const b = (sec >>> 16) * unitsPerSec;
  const x = (b % 65536) * 65536 + a;
  TICKS[1] = x % 4294967296;
  TICKS[0] = Math.floor(b / 65536) + Math.floor(x / 4294967296);
}

/**
 * Writes an EPB header for interface 0 at p (the caller copies the packet at
 * p + 28 and calls putEpbTrailer).
 */
export function putEpbHeader(v: DataView, p: number, len: number, sec: number, frac: number, unitsPerSec: number,
  caplen: number, wirelen: number): void {
  splitTicks(sec, frac, unitsPerSec);
  v.setUint32(p, BT_EPB, true);
  v.setUint32(p + 4, len, true);
  v.setUint32(p + 8, 0, true);
  v.setUint32(p + 12, TICKS[0], true);
  v.setUint32(p + 16, TICKS[1], true);
  v.setUint32(p + 20, caplen, true);
  v.setUint32(p + 24, wirelen, true);
}

/** putEpbHeader as u32 stores at word q, for a little-endian host (what the writer's hot path uses). */
export function putEpbHeaderWords(u32: Uint32Array, q: number, len: number, sec: number, frac: number, unitsPerSec: number,
  caplen: number, wirelen: number): void {
  splitTicks(sec, frac, unitsPerSec);
  u32[q] = BT_EPB;
  u32[q + 1] = len;
  u32[q + 2] = 0;
  u32[q + 3] = TICKS[0];
  u32[q + 4] = TICKS[1];
  u32[q + 5] = caplen;
  u32[q + 6] = wirelen;
}

export function putEpbTrailer(v: DataView, p: number, len: number, caplen: number): void {
  for (let q = p + 28 + caplen; q < p + len - 4; q++) v.setUint8(q, 0);
  v.setUint32(p + len - 4, len, true);
}
