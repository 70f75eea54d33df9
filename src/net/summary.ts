// One line per packet for `ringzero count -v` (like pfcount -v / tcpdump -e):
//   12:00:01.000000123 [02:00:00:00:00:01 -> 02:00:00:00:00:02] [vlan 10] [IPv4] [10.0.0.1:1234 -> 10.0.0.2:80] [TCP] [caplen=74 len=74]
// This path prints, so it allocates freely; the data path never calls it.
import { ETH_P_ARP, ETH_P_IP, ETH_P_IPV6, IPPROTO_GRE, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, TUNNEL_GRE, TUNNEL_GTPU, TUNNEL_IPIP } from './constants.js';
import { PacketInfo, type IpInfo } from './packet-info.js';
import { parsePacket } from './parse.js';

const PROTO_NAMES: Record<number, string> = {
  [IPPROTO_ICMP]: 'ICMP', [IPPROTO_TCP]: 'TCP', [IPPROTO_UDP]: 'UDP', [IPPROTO_GRE]: 'GRE', [IPPROTO_ICMPV6]: 'ICMPv6',
  [IPPROTO_SCTP]: 'SCTP', 50: 'ESP', 51: 'AH', 4: 'IPIP', 41: 'IPv6', 33: 'DCCP', 136: 'UDPLite', 2: 'IGMP', 89: 'OSPF', 103: 'PIM',
};

export const protoName = (p: number): string => PROTO_NAMES[p] ?? `proto=${p}`;

const hex2 = (n: number) => n.toString(16).padStart(2, '0');

export function formatMac(b: Uint8Array, o: number): string {
  return `${hex2(b[o])}:${hex2(b[o + 1])}:${hex2(b[o + 2])}:${hex2(b[o + 3])}:${hex2(b[o + 4])}:${hex2(b[o + 5])}`;
}

export function formatIpv4(b: Uint8Array, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

/** RFC 5952 text: lower case, leading zeros dropped, the longest run (>= 2) of zero groups as '::'. */
export function formatIpv6(b: Uint8Array, o: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[o + 2 * i] << 8) | b[o + 2 * i + 1]);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const parts = g.map((x) => x.toString(16));
  if (best < 0) return parts.join(':');
  return `${parts.slice(0, best).join(':')}::${parts.slice(best + bestLen).join(':')}`;
}

function addr(b: Uint8Array, ip: IpInfo, o: number): string {
  return ip.version === 4 ? formatIpv4(b, o) : formatIpv6(b, o);
}

function endpoints(b: Uint8Array, ip: IpInfo): string {
  if (ip.hasPorts) {
    const s = ip.version === 6 ? `[${addr(b, ip, ip.src)}]` : addr(b, ip, ip.src);
    const d = ip.version === 6 ? `[${addr(b, ip, ip.dst)}]` : addr(b, ip, ip.dst);
    return `${s}:${ip.srcPort} -> ${d}:${ip.dstPort}`;
  }
  return `${addr(b, ip, ip.src)} -> ${addr(b, ip, ip.dst)}`;
}

/** HH:MM:SS.nnnnnnnnn of a timestamp, local time (like tcpdump) or UTC. */
export function formatTime(sec: number, nsec: number, utc = false): string {
  const d = new Date(sec * 1000);
  const h = utc ? d.getUTCHours() : d.getHours();
  const m = utc ? d.getUTCMinutes() : d.getMinutes();
  const s = utc ? d.getUTCSeconds() : d.getSeconds();
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${p2(h)}:${p2(m)}:${p2(s)}.${String(nsec).padStart(9, '0')}`;
}

export interface SummaryOptions {
  sec?: number;
  nsec?: number;
  /** length on the wire when the capture was truncated (default: length) */
  wireLength?: number;
  /** input port / interface name shown first, e.g. 'eth0' */
  port?: string | number;
  /** flow hash to show (META_HASH) */
  hash?: number;
  utc?: boolean;
  /** a PacketInfo to reuse (else one is made) */
  info?: PacketInfo;
}

/** One-line description of the Ethernet frame at bytes[offset, offset+length). */
export function formatSummary(bytes: Uint8Array, offset: number, length: number, o: SummaryOptions = {}): string {
  const info = o.info ?? new PacketInfo();
  const parts: string[] = [];
  if (o.sec !== undefined) parts.push(formatTime(o.sec, o.nsec ?? 0, o.utc));
  if (o.port !== undefined) parts.push(`[${o.port}]`);
  if (!parsePacket(bytes, offset, length, info, true)) {
    parts.push(`[truncated frame]`, `[caplen=${length} len=${o.wireLength ?? length}]`);
    return parts.join(' ');
  }
  parts.push(`[${formatMac(bytes, offset + 6)} -> ${formatMac(bytes, offset)}]`);
  if (info.vlanCount > 0) parts.push(info.vlanCount > 1 ? `[vlan ${info.vlanId}.${info.innerVlanId}]` : `[vlan ${info.vlanId}]`);
  const ip = info.ip;
  if (ip.version !== 0) {
    parts.push(`[IPv${ip.version}]`, `[${endpoints(bytes, ip)}]`, `[${protoName(ip.proto)}${ip.fragment ? ` frag@${ip.fragmentOffset}` : ''}]`);
  } else {
    const t = info.etherType;
    parts.push(t === ETH_P_ARP ? '[ARP]' : t === ETH_P_IP || t === ETH_P_IPV6 ? '[bad IP header]' : `[ethertype=0x${t.toString(16).padStart(4, '0')}]`);
  }
  if (info.tunnel !== 0) {
    const name = info.tunnel === TUNNEL_GTPU ? 'GTP-U' : info.tunnel === TUNNEL_GRE ? 'GRE' : info.tunnel === TUNNEL_IPIP ? 'IPIP' : 'tunnel';
    const id = info.hasTunnelId ? (info.tunnel === TUNNEL_GTPU ? ` teid=0x${info.tunnelId.toString(16)}` : ` key=${info.tunnelId}`) : '';
    const inner = info.inner.version !== 0 ? ` inner [${endpoints(bytes, info.inner)}] [${protoName(info.inner.proto)}]` : '';
    parts.push(`[${name}${id}${inner}]`);
  }
  if (o.hash !== undefined) parts.push(`[hash=0x${(o.hash >>> 0).toString(16)}]`);
  parts.push(`[caplen=${length} len=${o.wireLength || length}]`);
  if (info.truncated) parts.push('[truncated]');
  return parts.join(' ');
}
