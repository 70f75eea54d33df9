// Flow hashes for load balancing. Symmetric: both directions of a flow hash
// the same (each endpoint becomes one 32-bit key, address and port; the two
// keys are combined with + and ^, which commute), so a balancer keeps both
// halves of a conversation on one queue. The mixer is MurmurHash3's 32-bit
// finaliser (fmix32): every input bit flips each output bit with probability
// ~1/2, so `hash % queues` spreads flows evenly even when addresses differ in
// a few low bits only.
//
// Fragments: ports only exist in the first fragment, so a fragmented
// datagram (first fragment included) hashes without ports; all its fragments
// land with its 2-tuple. Non-IP frames hash on their MAC pair (symmetric too).
import { hasPorts } from './constants.js';
import { parsePacket } from './parse.js';
import type { IpInfo, PacketInfo } from './packet-info.js';

/** MurmurHash3 fmix32 (public domain, Austin Appleby). */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const GOLDEN = 0x9e3779b1; // 2^32 / phi: spreads small integers (ports, protocols) over all bits
const C1 = 0xcc9e2d51; // MurmurHash3's multiplicative constant for folding words

const rd32 = (b: Uint8Array, o: number) => (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];

/** One endpoint's key: address (4 or 16 bytes at `off`, folded to 32 bits) with its port spread over all bits. */
function endpoint(b: Uint8Array, off: number, v6: boolean, port: number): number {
  let f = rd32(b, off);
  if (v6) {
    f = Math.imul(f, C1) + rd32(b, off + 4);
    f = Math.imul(f, C1) + rd32(b, off + 8);
    f = Math.imul(f, C1) + rd32(b, off + 12);
  }
  return f ^ Math.imul(port + 1, GOLDEN);
}

/**
 * The symmetric combination of two endpoint keys, mixed once: x + y and x ^ y
 * do not change when the endpoints swap, and together they tell the pair
 * apart (up to one bit), so one fmix32 over both (x ^ y rotated) spreads
 * flows as well as mixing each endpoint first, for a third of the work.
 */
function pair(x: number, y: number, extra: number): number {
  const d = x ^ y;
  return mix32(((x + y) | 0) ^ ((d << 16) | (d >>> 16)) ^ extra);
}

/**
 * Symmetric hash of an already parsed IP layer: the address pair, plus ports
 * and protocol when `ports` is true (and the layer has ports and is not a fragment).
 */
export function ipLayerHash(b: Uint8Array, ip: IpInfo, ports: boolean): number {
  const v6 = ip.version === 6;
  if (ports && ip.hasPorts && !ip.fragment) {
    return pair(endpoint(b, ip.src, v6, ip.srcPort), endpoint(b, ip.dst, v6, ip.dstPort), Math.imul(ip.proto, GOLDEN));
  }
  if (ports) return pair(endpoint(b, ip.src, v6, 0), endpoint(b, ip.dst, v6, 0), Math.imul(ip.proto, GOLDEN));
  return pair(endpoint(b, ip.src, v6, 0), endpoint(b, ip.dst, v6, 0), 0);
}

/** Symmetric hash of the MAC pair and EtherType (frames without IP). */
export function l2Hash(b: Uint8Array, info: PacketInfo): number {
  if (info.length < 14) return 0;
  const o = info.offset;
  const d = mix32(rd32(b, o) ^ Math.imul((b[o + 4] << 8) | b[o + 5], GOLDEN));
  const s = mix32(rd32(b, o + 6) ^ Math.imul((b[o + 10] << 8) | b[o + 11], GOLDEN));
  return mix32((d + s) ^ info.etherType);
}

// Fast path for the common frame (untagged Ethernet + IPv4, or IPv6 without
// extension headers): the hash is computed straight from the bytes, without
// filling a PacketInfo. It gives exactly what the general path gives (tested
// in net-hash.test.ts); anything else takes the general path.

// Big-endian 32-bit loads through a DataView: one bounds check and one load
// instead of four byte loads and shifts (measured here: 6 vs 9-13 ns for the
// address and port words of a packet). The view is made once per array.
let dvArray: Uint8Array | null = null;
let dvView: DataView = new DataView(new ArrayBuffer(4));
function viewOf(b: Uint8Array): DataView {
  if (b !== dvArray) {
    dvArray = b;
    dvView = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  return dvView;
}

/** endpoint() over the DataView (same result: only the low 32 bits of the key matter). */
function endpointDv(v: DataView, off: number, v6: boolean, port: number): number {
  let f = v.getUint32(off, false);
  if (v6) {
    f = Math.imul(f, C1) + v.getUint32(off + 4, false);
    f = Math.imul(f, C1) + v.getUint32(off + 8, false);
    f = Math.imul(f, C1) + v.getUint32(off + 12, false);
  }
  return f ^ Math.imul(port + 1, GOLDEN);
}

/** -1 when the fast path does not apply; else the hash (u32). Small, so it inlines into the callers. */
function fastHash(b: Uint8Array, off: number, length: number, ports: boolean): number {
  let end = off + length;
  if (end > b.length) end = b.length;
  if (off + 34 > end) return -1;
  const v = viewOf(b);
  const t = v.getUint16(off + 12, false);
  if (t === 0x0800) return fastHash4(v, b, off + 14, end, ports);
  if (t === 0x86dd) return fastHash6(v, b, off + 14, end, ports);
  return -1;
}

/** IPv4 header at p: the hash straight from the words (the common frame, kept short for inlining). */
function fastHash4(v: DataView, b: Uint8Array, p: number, end: number, ports: boolean): number {
  const vihl = b[p];
  const ihl = (vihl & 0x0f) << 2;
  if (vihl >> 4 !== 4 || ihl < 20 || p + ihl > end) return -1;
  const src = v.getUint32(p + 12, false);
  const dst = v.getUint32(p + 16, false);
  if (!ports) return pair(src ^ GOLDEN, dst ^ GOLDEN, 0);
  const proto = b[p + 9];
  const l4 = p + ihl;
  let w = 0;
  // A fragment (MF or offset) hashes without ports.
  if ((v.getUint16(p + 6, false) & 0x3fff) === 0 && l4 + 4 <= end && hasPorts(proto)) w = v.getUint32(l4, false);
  return pair(src ^ Math.imul((w >>> 16) + 1, GOLDEN), dst ^ Math.imul((w & 0xffff) + 1, GOLDEN), Math.imul(proto, GOLDEN));
}

/** IPv6 header at p without extension headers; -1 otherwise. */
function fastHash6(v: DataView, b: Uint8Array, p: number, end: number, ports: boolean): number {
  if (p + 40 > end || b[p] >> 4 !== 6) return -1;
  const proto = b[p + 6];
  if (proto === 0 || proto === 43 || proto === 44 || proto === 51 || proto === 60 || proto === 135 || proto === 139 || proto === 140) return -1;
  if (!ports) return pair(endpointDv(v, p + 8, true, 0), endpointDv(v, p + 24, true, 0), 0);
  const l4 = p + 40;
  const w = l4 + 4 <= end && hasPorts(proto) ? v.getUint32(l4, false) : 0;
  return pair(endpointDv(v, p + 8, true, w >>> 16), endpointDv(v, p + 24, true, w & 0xffff), Math.imul(proto, GOLDEN));
}

/** IP 2-tuple, symmetric; non-IP frames: MAC pair. */
export function hashIp(b: Uint8Array, offset: number, length: number, info: PacketInfo): number {
  const h = fastHash(b, offset, length, false);
  if (h >= 0) return h;
  parsePacket(b, offset, length, info, false);
  return info.ip.version !== 0 ? ipLayerHash(b, info.ip, false) : l2Hash(b, info);
}

/** 5-tuple (addresses, ports, protocol), symmetric; fragments and portless protocols: addresses + protocol. */
export function hash5Tuple(b: Uint8Array, offset: number, length: number, info: PacketInfo): number {
  const h = fastHash(b, offset, length, true);
  if (h >= 0) return h;
  parsePacket(b, offset, length, info, false);
  return info.ip.version !== 0 ? ipLayerHash(b, info.ip, true) : l2Hash(b, info);
}

/** The same hashes through the general parser only (tests compare the fast path against them). */
export function hashGeneral(b: Uint8Array, offset: number, length: number, info: PacketInfo, ports: boolean): number {
  parsePacket(b, offset, length, info, false);
  return info.ip.version !== 0 ? ipLayerHash(b, info.ip, ports) : l2Hash(b, info);
}

/** Inner IP 2-tuple of a GTP-U, GRE or IP-in-IP tunnel, symmetric; untunnelled packets: outer 2-tuple. */
export function hashTunnel(b: Uint8Array, offset: number, length: number, info: PacketInfo): number {
  parsePacket(b, offset, length, info, true);
  const ip = info.innermost;
  return ip.version !== 0 ? ipLayerHash(b, ip, false) : l2Hash(b, info);
}

/** Outer VLAN id (0 when untagged), mixed. */
export function hashVlan(b: Uint8Array, offset: number, length: number, info: PacketInfo): number {
  parsePacket(b, offset, length, info, false);
  return info.vlanCount > 0 ? mix32(Math.imul(info.vlanId + 1, GOLDEN)) : 0;
}

/** Names of the flow hashes, as workers and the CLI use them. */
export type FlowHashName = 'ip' | 'five-tuple' | 'tunnel' | 'vlan';

export type FlowHashFn = (b: Uint8Array, offset: number, length: number, info: PacketInfo) => number;

export const FLOW_HASHES: Readonly<Record<FlowHashName, FlowHashFn>> = {
  ip: hashIp,
  'five-tuple': hash5Tuple,
  tunnel: hashTunnel,
  vlan: hashVlan,
};
