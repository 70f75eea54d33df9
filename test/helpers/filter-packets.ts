// A deterministic corpus of Ethernet frames for filter tests: every protocol
// the expression corpus talks about, IPv4 options and fragments, IPv6
// extension headers, single and double VLAN tags, ARP, LLC, truncated frames
// and random junk. Addresses and ports come from small pools so that host,
// net and port primitives match some frames and not others.
import { prng } from './prng.js';


export interface TestPacket {
  readonly name: string;
  /** captured bytes (caplen = bytes.length) */
  readonly bytes: Uint8Array;
  /** original length on the wire (>= bytes.length) */
  readonly wirelen: number;
}

export const MACS = ['00:11:22:33:44:55', '66:77:88:99:aa:bb', 'ff:ff:ff:ff:ff:ff', '01:00:5e:00:00:fb', '33:33:00:00:00:01', '02:00:00:00:00:02'];
export const IP4 = ['10.0.0.1', '10.0.0.2', '192.168.1.10', '192.168.1.255', '172.16.5.4', '8.8.8.8', '224.0.0.251', '255.255.255.255'];
export const IP6 = ['2001:db8::1', '2001:db8::2', 'fe80::1', 'ff02::1', '::1', '2001:db8:1::53'];
export const PORTS = [22, 53, 80, 443, 1024, 1500, 5353, 6000, 6005, 8080, 40000];

const mac = (s: string): number[] => s.split(':').map((h) => parseInt(h, 16));
const ip4 = (s: string): number[] => s.split('.').map(Number);
function ip6(s: string): number[] {
  const [head, tail] = s.includes('::') ? s.split('::') as [string, string] : [s, ''];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const words = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t].map((w) => parseInt(w, 16));
  return words.flatMap((w) => [w >> 8, w & 255]);
}
const u16 = (v: number): number[] => [(v >> 8) & 255, v & 255];
const u32 = (v: number): number[] => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];

function checksum(b: number[]): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) | (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

export function eth(dst: string, srcMac: string, type: number, payload: number[], tags: Array<[number, number]> = []): number[] {
  return [...mac(dst), ...mac(srcMac), ...tags.flatMap(([tpid, tci]) => [...u16(tpid), ...u16(tci)]), ...u16(type), ...payload];
}

export interface Ip4Opts { src: string; dst: string; proto: number; ttl?: number; tos?: number; id?: number; flags?: number; frag?: number; options?: number[] }
export function ipv4(o: Ip4Opts, payload: number[]): number[] {
  const opts = o.options ?? [];
  const ihl = 5 + Math.ceil(opts.length / 4);
  const padded = [...opts, ...Array(ihl * 4 - 20 - opts.length).fill(0)];
  const h = [0x40 | ihl, o.tos ?? 0, ...u16(ihl * 4 + payload.length), ...u16(o.id ?? 0x1234),
    ...u16(((o.flags ?? 0) << 13) | (o.frag ?? 0)), o.ttl ?? 64, o.proto, 0, 0, ...ip4(o.src), ...ip4(o.dst), ...padded];
  const c = checksum(h);
  h[10] = c >> 8; h[11] = c & 255;
  return [...h, ...payload];
}

export function ipv6(src: string, dst: string, next: number, payload: number[], hopLimit = 64): number[] {
  return [0x60, 0, 0, 0, ...u16(payload.length), next, hopLimit, ...ip6(src), ...ip6(dst), ...payload];
}

/** An IPv6 extension header (hop-by-hop 0, routing 43, destination options 60) of 8 bytes. */
export function ext6(next: number, kind: number): number[] {
  return kind === 44 ? [next, 0, 0, 0, 0, 0, 0, 1] : [next, 0, 1, 4, 0, 0, 0, 0];
}

export function tcp(sport: number, dport: number, flags: number, payload: number[] = [], options: number[] = []): number[] {
  const doff = 5 + Math.ceil(options.length / 4);
  const padded = [...options, ...Array(doff * 4 - 20 - options.length).fill(1)];
  return [...u16(sport), ...u16(dport), ...u32(0x01020304), ...u32(0), (doff << 4), flags, ...u16(65535), 0, 0, 0, 0, ...padded, ...payload];
}
export function udp(sport: number, dport: number, payload: number[] = []): number[] {
  return [...u16(sport), ...u16(dport), ...u16(8 + payload.length), 0, 0, ...payload];
}
export const icmp = (type: number, code: number, payload: number[] = []): number[] => [type, code, 0, 0, 0, 1, 0, 1, ...payload];
export function arp(op: number, sha: string, spa: string, tha: string, tpa: string): number[] {
  return [0, 1, 8, 0, 6, 4, ...u16(op), ...mac(sha), ...ip4(spa), ...mac(tha), ...ip4(tpa)];
}

const TCP_FLAGS = [0x02, 0x12, 0x10, 0x18, 0x11, 0x04, 0x14, 0x01, 0x29, 0x00, 0xff, 0xc2];

/** Builds the corpus: about 300 whole frames (caplen = wirelen). */
export function buildPacketCorpus(seed = 1): TestPacket[] {
  const rnd = prng(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
  const bytes = (n: number): number[] => Array.from({ length: n }, () => Math.floor(rnd() * 256));
  const out: TestPacket[] = [];
  const add = (name: string, b: number[]): void => { out.push({ name, bytes: Uint8Array.from(b), wirelen: b.length }); };
  const m = (): [string, string] => [pick(MACS.slice(0, 2).concat(MACS)), pick(MACS.slice(0, 2).concat(MACS.slice(5)))];
  const l4For = (proto: number, v6: boolean): number[] => {
    if (proto === 6) return tcp(pick(PORTS), pick(PORTS), pick(TCP_FLAGS), rnd() < 0.3 ? [...Array.from('GET / HTTP/1.1\r\n', (ch) => ch.charCodeAt(0))] : bytes(Math.floor(rnd() * 40)), rnd() < 0.3 ? [2, 4, 5, 180, 1, 1, 4, 2] : []);
    if (proto === 17) return udp(pick(PORTS), pick(PORTS), bytes(Math.floor(rnd() * 60)));
    if (proto === 1) return icmp(pick([0, 3, 8, 11, 13]), pick([0, 1, 3]), bytes(16));
    if (proto === 58) return icmp(pick([1, 128, 129, 133, 134, 135, 136]), 0, bytes(16));
    if (proto === 132) return [...u16(pick(PORTS)), ...u16(pick(PORTS)), ...bytes(12)];
    return bytes(20 + Math.floor(rnd() * 20));
  };
  // IPv4, every transport, with and without options, some fragments
  for (let n = 0; n < 90; n++) {
    const proto = pick([6, 6, 6, 17, 17, 1, 132, 47, 2]);
    const [d, s] = m();
    const frag = n % 9 === 0 ? { flags: 1, frag: 0 } : n % 9 === 1 ? { flags: 0, frag: 185 } : n % 9 === 2 ? { flags: 2, frag: 0 } : {};
    const options = n % 5 === 0 ? [0x94, 0x04, 0, 0] : n % 7 === 0 ? [0x07, 7, 4, 10, 0, 0, 1, 0] : [];
    const ip = ipv4({ src: pick(IP4), dst: pick(IP4), proto, ttl: pick([1, 32, 64, 128, 255]), tos: pick([0, 0, 0xb8, 0x10]), options, ...frag }, l4For(proto, false));
    add(`ipv4-${proto}-${n}`, eth(d, s, 0x0800, ip));
  }
  // IPv6, with extension headers before the transport header
  for (let n = 0; n < 50; n++) {
    const proto = pick([6, 6, 17, 58, 132]);
    const [d, s] = m();
    const chain = n % 4 === 0 ? [0] : n % 4 === 1 ? [0, 60] : n % 4 === 2 ? [44] : [];
    let payload = l4For(proto, true);
    let next = proto;
    for (let i = chain.length - 1; i >= 0; i--) { payload = [...ext6(next, chain[i]!), ...payload]; next = chain[i]!; }
    add(`ipv6-${proto}-ext${chain.join('.')}-${n}`, eth(d, s, 0x86dd, ipv6(pick(IP6), pick(IP6), next, payload)));
  }
  // VLAN-tagged (802.1Q, QinQ 0x88a8 and 0x9100 outer tags)
  for (let n = 0; n < 40; n++) {
    const [d, s] = m();
    const inner: Array<[number, number]> = [[0x8100, pick([100, 200, 10, 20, 0x2064])]];
    const tags: Array<[number, number]> = n % 3 === 0 ? [[pick([0x88a8, 0x8100, 0x9100]), pick([10, 20, 300])], ...inner] : inner;
    const kind = n % 4;
    const body = kind === 0 ? [0x0806, arp(1, MACS[0]!, pick(IP4), '00:00:00:00:00:00', pick(IP4))] as const
      : kind === 1 ? [0x86dd, ipv6(pick(IP6), pick(IP6), 17, l4For(17, true))] as const
      : [0x0800, ipv4({ src: pick(IP4), dst: pick(IP4), proto: kind === 2 ? 6 : 17 }, l4For(kind === 2 ? 6 : 17, false))] as const;
    add(`vlan${tags.length}-${n}`, eth(d, s, body[0], [...body[1]], tags));
  }
  // ARP / RARP
  for (let n = 0; n < 16; n++) {
    const [, s] = m();
    add(`arp-${n}`, eth(n % 2 ? 'ff:ff:ff:ff:ff:ff' : MACS[0]!, s, n % 8 === 7 ? 0x8035 : 0x0806, arp(n % 2 ? 1 : 2, s, pick(IP4), MACS[0]!, pick(IP4))));
  }
  // 802.3 + LLC (STP, SNAP), and other ethertypes
  add('stp', [...mac('01:80:c2:00:00:00'), ...mac(MACS[0]!), ...u16(38), 0x42, 0x42, 0x03, ...bytes(35)]);
  add('llc-snap', [...mac(MACS[1]!), ...mac(MACS[0]!), ...u16(50), 0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00, ...bytes(42)]);
  add('mpls', eth(MACS[0]!, MACS[1]!, 0x8847, [0, 0x01, 0x01, 0x40, ...ipv4({ src: IP4[0]!, dst: IP4[1]!, proto: 17 }, udp(53, 53))]));
  add('pppoe-session', eth(MACS[0]!, MACS[1]!, 0x8864, [0x11, 0, 0, 1, 0, 30, 0, 0x21, ...ipv4({ src: IP4[0]!, dst: IP4[1]!, proto: 6 }, tcp(80, 1024, 2))]));
  add('lldp', eth('01:80:c2:00:00:0e', MACS[1]!, 0x88cc, bytes(40)));
  // truncated whole frames (the frame really ends early: caplen = wirelen)
  const full = out.slice();
  for (let n = 0; n < 40; n++) {
    const p = full[Math.floor(rnd() * full.length)]!;
    const cut = Math.max(0, Math.min(p.bytes.length - 1, Math.floor(rnd() * 60)));
    add(`${p.name}-cut${cut}`, Array.from(p.bytes.subarray(0, cut)));
  }
  // random junk, some with a plausible ethertype
  for (let n = 0; n < 30; n++) {
    const b = bytes(n < 5 ? n * 3 : 14 + Math.floor(rnd() * 120));
    if (n % 3 === 0 && b.length > 14) { b[12] = 0x08; b[13] = 0x00; }
    if (n % 3 === 1 && b.length > 14) { b[12] = 0x86; b[13] = 0xdd; }
    add(`junk-${n}`, b);
  }
  return out;
}

/** Frames captured with a snap length below their wire length (caplen < wirelen). */
export function snapped(corpus: readonly TestPacket[], snaplens: readonly number[] = [14, 34, 54, 60]): TestPacket[] {
  const out: TestPacket[] = [];
  for (const p of corpus) {
    for (const s of snaplens) {
      if (s < p.bytes.length) out.push({ name: `${p.name}-snap${s}`, bytes: p.bytes.slice(0, s), wirelen: p.wirelen });
    }
  }
  return out;
}
