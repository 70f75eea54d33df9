// Zero-allocation header parser: Ethernet, stacked VLAN tags, IPv4 (options,
// fragments), IPv6 (extension headers), transport ports, and one level of
// tunnel (GTP-U, GRE with key/sequence/checksum, transparent Ethernet
// bridging, IP-in-IP). Every read is bounds-checked against the captured
// length: a short or hostile frame only stops the parse early (truncated).
import {
  ETH_HLEN, ETH_P_8021AD, ETH_P_8021Q, ETH_P_IP, ETH_P_IPV6, ETH_P_QINQ1, ETH_P_TEB, GRE_FLAG_C, GRE_FLAG_K, GRE_FLAG_R,
  GRE_FLAG_S, GRE_VERSION_MASK, GTP_FLAG_E, GTP_FLAG_PT, GTP_MSG_GPDU, GTPU_PORT, IPPROTO_AH, IPPROTO_DSTOPTS,
  IPPROTO_FRAGMENT, IPPROTO_GRE, IPPROTO_HIP, IPPROTO_HOPOPTS, IPPROTO_IPIP, IPPROTO_IPV6, IPPROTO_MH, IPPROTO_ROUTING,
  IPPROTO_SHIM6, IPPROTO_UDP, MAX_GTP_EXT, MAX_IPV6_EXT, MAX_VLAN_TAGS, TUNNEL_GRE, TUNNEL_GTPU, TUNNEL_IPIP, VLAN_HLEN,
  hasPorts,
} from './constants.js';
import type { IpInfo, PacketInfo } from './packet-info.js';

const u16 = (b: Uint8Array, o: number) => (b[o] << 8) | b[o + 1];
const u32 = (b: Uint8Array, o: number) => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;

/**
 * Parses the Ethernet frame at bytes[offset, offset+length) into `info`
 * (reset first). With `tunnels` false, stops after the outer transport
 * header (faster when only the outer 5-tuple is wanted). Returns false when
 * not even an Ethernet header fits.
 */
export function parsePacket(bytes: Uint8Array, offset: number, length: number, info: PacketInfo, tunnels = true): boolean {
  info.reset(offset, length);
  let end = offset + length;
  if (end > bytes.length) end = bytes.length;
  const l3 = parseEthernet(bytes, offset, end, info, false);
  if (l3 < 0) return false;
  const ip = info.ip;
  if (!parseIp(bytes, l3, end, info.etherType, ip, info)) return true;
  if (tunnels && ip.l4 !== 0) parseTunnel(bytes, end, info);
  return true;
}

/**
 * Reads the Ethernet header and VLAN tags at `pos`; sets etherType (or
 * innerEtherType) and the VLAN fields. Returns the offset of the L3 header,
 * or -1 when the frame is too short.
 */
function parseEthernet(b: Uint8Array, pos: number, end: number, info: PacketInfo, inner: boolean): number {
  if (pos + ETH_HLEN > end) {
    info.truncated = true;
    return -1;
  }
  let type = u16(b, pos + 12);
  pos += ETH_HLEN;
  let tags = 0;
  while ((type === ETH_P_8021Q || type === ETH_P_8021AD || type === ETH_P_QINQ1) && tags < MAX_VLAN_TAGS) {
    if (pos + VLAN_HLEN > end) {
      info.truncated = true;
      return -1;
    }
    if (!inner) {
      const vid = u16(b, pos) & 0x0fff;
      if (tags === 0) info.vlanId = vid;
      else if (tags === 1) info.innerVlanId = vid;
    }
    type = u16(b, pos + 2);
    pos += VLAN_HLEN;
    tags++;
  }
  if (inner) info.innerEtherType = type;
  else {
    info.etherType = type;
    info.vlanCount = tags;
  }
  return pos;
}

/** Parses an IPv4 or IPv6 header (by EtherType) at `pos` into `ip`. False when it is not complete IP. */
function parseIp(b: Uint8Array, pos: number, end: number, etherType: number, ip: IpInfo, info: PacketInfo): boolean {
  if (etherType === ETH_P_IP) return parseIpv4(b, pos, end, ip, info);
  if (etherType === ETH_P_IPV6) return parseIpv6(b, pos, end, ip, info);
  return false;
}

function parseIpv4(b: Uint8Array, pos: number, end: number, ip: IpInfo, info: PacketInfo): boolean {
  if (pos + 20 > end || b[pos] >> 4 !== 4) {
    if (pos + 20 > end) info.truncated = true;
    return false;
  }
  const ihl = (b[pos] & 0x0f) * 4;
  if (ihl < 20 || pos + ihl > end) {
    info.truncated = true;
    return false;
  }
  ip.version = 4;
  ip.l3 = pos;
  ip.totalLength = u16(b, pos + 2);
  ip.ttl = b[pos + 8];
  ip.proto = b[pos + 9];
  ip.src = pos + 12;
  ip.dst = pos + 16;
  // flags(3) | fragment offset(13) in 8-byte units (RFC 791): MF = 0x2000
  const frag = u16(b, pos + 6);
  const fragOff = (frag & 0x1fff) * 8;
  ip.fragment = (frag & 0x2000) !== 0 || fragOff !== 0;
  ip.fragmentOffset = fragOff;
  if (fragOff === 0) setL4(b, pos + ihl, end, ip, info);
  return true;
}

function parseIpv6(b: Uint8Array, pos: number, end: number, ip: IpInfo, info: PacketInfo): boolean {
  if (pos + 40 > end || b[pos] >> 4 !== 6) {
    if (pos + 40 > end) info.truncated = true;
    return false;
  }
  ip.version = 6;
  ip.l3 = pos;
  ip.totalLength = u16(b, pos + 4) + 40;
  ip.ttl = b[pos + 7];
  ip.src = pos + 8;
  ip.dst = pos + 24;
  let next = b[pos + 6];
  let p = pos + 40;
  for (let i = 0; i < MAX_IPV6_EXT; i++) {
    if (next === IPPROTO_HOPOPTS || next === IPPROTO_ROUTING || next === IPPROTO_DSTOPTS || next === IPPROTO_MH ||
      next === IPPROTO_HIP || next === IPPROTO_SHIM6) {
      if (p + 8 > end) { info.truncated = true; ip.proto = next; return true; }
      next = b[p];
      p += (b[p + 1] + 1) * 8; // RFC 8200 4.3: Hdr Ext Len in 8-octet units, not counting the first 8
    } else if (next === IPPROTO_FRAGMENT) {
      if (p + 8 > end) { info.truncated = true; ip.proto = next; return true; }
      // RFC 8200 4.5: offset (13 bits, 8-octet units) | res(2) | M(1)
      const fo = u16(b, p + 2);
      ip.fragment = true;
      ip.fragmentOffset = fo & 0xfff8;
      next = b[p];
      p += 8;
    } else if (next === IPPROTO_AH) {
      if (p + 8 > end) { info.truncated = true; ip.proto = next; return true; }
      next = b[p];
      p += (b[p + 1] + 2) * 4; // RFC 4302 2.2: Payload Len in 4-octet units minus 2
    } else break;
  }
  ip.proto = next;
  if (ip.fragmentOffset === 0) setL4(b, p, end, ip, info);
  return true;
}

function setL4(b: Uint8Array, p: number, end: number, ip: IpInfo, info: PacketInfo): void {
  if (p >= end) {
    if (p > end || hasPorts(ip.proto)) info.truncated = true;
    return;
  }
  ip.l4 = p;
  if (hasPorts(ip.proto)) {
    if (p + 4 > end) { info.truncated = true; return; }
    ip.srcPort = u16(b, p);
    ip.dstPort = u16(b, p + 2);
    ip.hasPorts = true;
  }
}

/** One level of tunnel over the outer IP layer: GTP-U, GRE, IP-in-IP. */
function parseTunnel(b: Uint8Array, end: number, info: PacketInfo): void {
  const ip = info.ip;
  if (ip.fragment) return; // a tunnel inside fragments cannot be parsed from one fragment
  const p = ip.l4;
  if (ip.proto === IPPROTO_UDP && ip.hasPorts && (ip.dstPort === GTPU_PORT || ip.srcPort === GTPU_PORT)) {
    parseGtpu(b, p + 8, end, info);
  } else if (ip.proto === IPPROTO_GRE) {
    parseGre(b, p, end, info);
  } else if (ip.proto === IPPROTO_IPIP || ip.proto === IPPROTO_IPV6) {
    info.tunnel = TUNNEL_IPIP;
    parseIp(b, p, end, ip.proto === IPPROTO_IPIP ? ETH_P_IP : ETH_P_IPV6, info.inner, info);
  }
}

/** GTP-U v1 (3GPP TS 29.281 5.1): flags, type, length, TEID, [seq, N-PDU, next ext], extensions, T-PDU. */
function parseGtpu(b: Uint8Array, p: number, end: number, info: PacketInfo): void {
  if (p + 8 > end) return;
  const flags = b[p];
  if (flags >> 5 !== 1 || (flags & GTP_FLAG_PT) === 0 || b[p + 1] !== GTP_MSG_GPDU) return;
  info.tunnel = TUNNEL_GTPU;
  info.tunnelId = u32(b, p + 4);
  info.hasTunnelId = true;
  let h = p + 8;
  if ((flags & 0x07) !== 0) {
    // Any of E, S, PN makes the 4 optional bytes present (sequence, N-PDU, next extension type).
    if (h + 4 > end) { info.truncated = true; return; }
    let nextExt = (flags & GTP_FLAG_E) !== 0 ? b[h + 3] : 0;
    h += 4;
    for (let i = 0; nextExt !== 0; i++) {
      if (h + 4 > end) { info.truncated = true; return; }
      if (i === MAX_GTP_EXT) return;
      const len = b[h] * 4; // 5.2.1: length in 4-octet units, including length and next-type bytes
      if (len === 0 || h + len > end) { info.truncated = true; return; }
      nextExt = b[h + len - 1];
      h += len;
    }
  }
  if (h >= end) return;
  const v = b[h] >> 4;
  if (v === 4) parseIpv4(b, h, end, info.inner, info);
  else if (v === 6) parseIpv6(b, h, end, info.inner, info);
}

/** GRE (RFC 2784 + RFC 2890): C|R|K|S flags, version 0; inner IPv4, IPv6 or Ethernet (TEB). */
function parseGre(b: Uint8Array, p: number, end: number, info: PacketInfo): void {
  if (p + 4 > end) return;
  const flags = u16(b, p);
  if ((flags & GRE_VERSION_MASK) !== 0 || (flags & GRE_FLAG_R) !== 0) return; // PPTP (v1) and source routing: not parsed
  const proto = u16(b, p + 2);
  info.tunnel = TUNNEL_GRE;
  let h = p + 4;
  if ((flags & GRE_FLAG_C) !== 0) h += 4; // checksum + reserved1
  if ((flags & GRE_FLAG_K) !== 0) {
    if (h + 4 > end) { info.truncated = true; return; }
    info.tunnelId = u32(b, h);
    info.hasTunnelId = true;
    h += 4;
  }
  if ((flags & GRE_FLAG_S) !== 0) h += 4;
  if (h > end) { info.truncated = true; return; }
  if (proto === ETH_P_TEB) {
    const l3 = parseEthernet(b, h, end, info, true);
    if (l3 >= 0) parseIp(b, l3, end, info.innerEtherType, info.inner, info);
  } else {
    parseIp(b, h, end, proto, info.inner, info);
  }
}
