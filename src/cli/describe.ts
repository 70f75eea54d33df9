// One line per packet for `count -v`, like pfcount -v: time, MACs, and the
// IP addresses and ports when the frame carries them. Allocates (it prints).
import { META_LEN, META_NSEC, META_SEC, META_WIRELEN, META_WORDS } from '../zc/meta.js';

const hex2 = (b: number) => b.toString(16).padStart(2, '0');
const mac = (a: Uint8Array, o: number) => Array.from(a.subarray(o, o + 6), hex2).join(':');

export function describePacket(bytes: Uint8Array, off: number, meta: Uint32Array, idx: number): string {
  const m = idx * META_WORDS;
  const len = meta[m + META_LEN];
  const wire = meta[m + META_WIRELEN] || len;
  const t = new Date(meta[m + META_SEC] * 1000).toISOString().slice(11, 19) + '.' + String(meta[m + META_NSEC]).padStart(9, '0');
  if (len < 14) return `${t} [${len} bytes, runt]`;
  let type = (bytes[off + 12] << 8) | bytes[off + 13];
  let l3 = off + 14;
  let vlan = '';
  while ((type === 0x8100 || type === 0x88a8) && l3 + 4 <= off + len) {
    vlan += ` [vlan ${((bytes[l3] & 0x0f) << 8) | bytes[l3 + 1]}]`;
    type = (bytes[l3 + 2] << 8) | bytes[l3 + 3];
    l3 += 4;
  }
  const head = `${t} [${mac(bytes, off + 6)} -> ${mac(bytes, off)}]${vlan}`;
  const end = off + len;
  if (type === 0x0800 && l3 + 20 <= end) {
    const ihl = (bytes[l3] & 0x0f) * 4;
    const proto = bytes[l3 + 9];
    const src = Array.from(bytes.subarray(l3 + 12, l3 + 16)).join('.');
    const dst = Array.from(bytes.subarray(l3 + 16, l3 + 20)).join('.');
    const l4 = l3 + ihl;
    const frag = ((bytes[l3 + 6] & 0x1f) << 8 | bytes[l3 + 7]) !== 0;
    const name = proto === 6 ? 'TCP' : proto === 17 ? 'UDP' : proto === 1 ? 'ICMP' : `proto ${proto}`;
    if ((proto === 6 || proto === 17) && !frag && l4 + 4 <= end) {
      const sp = (bytes[l4] << 8) | bytes[l4 + 1];
      const dp = (bytes[l4 + 2] << 8) | bytes[l4 + 3];
      return `${head} [IPv4][${name}] ${src}:${sp} -> ${dst}:${dp} [len=${wire}]`;
    }
    return `${head} [IPv4][${name}] ${src} -> ${dst} [len=${wire}]`;
  }
  if (type === 0x86dd && l3 + 40 <= end) {
    const addr = (o: number) => Array.from({ length: 8 }, (_, i) => ((bytes[o + 2 * i] << 8) | bytes[o + 2 * i + 1]).toString(16)).join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
    const nh = bytes[l3 + 6];
    const l4 = l3 + 40;
    const name = nh === 6 ? 'TCP' : nh === 17 ? 'UDP' : nh === 58 ? 'ICMPv6' : `next ${nh}`;
    if ((nh === 6 || nh === 17) && l4 + 4 <= end) {
      return `${head} [IPv6][${name}] [${addr(l3 + 8)}]:${(bytes[l4] << 8) | bytes[l4 + 1]} -> [${addr(l3 + 24)}]:${(bytes[l4 + 2] << 8) | bytes[l4 + 3]} [len=${wire}]`;
    }
    return `${head} [IPv6][${name}] ${addr(l3 + 8)} -> ${addr(l3 + 24)} [len=${wire}]`;
  }
  if (type === 0x0806) return `${head} [ARP] [len=${wire}]`;
  return `${head} [ethertype 0x${type.toString(16).padStart(4, '0')}] [len=${wire}]`;
}
