// Synthetic frames for `ringzero send` (zsend / pfsend): Ethernet + IPv4 + UDP
// with valid checksums, the source address cycling over `sources` addresses
// so a balancer sees that many flows. Templates are built once; per packet
// the sender copies one template into the buffer (copyWithin: no allocation).

export interface FrameOptions {
  /** frame length without FCS, 60..65535 (send checks it against what the device sends whole) */
  length: number;
  /** number of distinct source IPs (flows) */
  sources: number;
  srcMac?: number[];
  dstMac?: number[];
  /** first source IP, as four bytes */
  srcIp?: number[];
  dstIp?: number[];
  srcPort?: number;
  dstPort?: number;
}

function csum16(b: Uint8Array, off: number, len: number, seed = 0): number {
  let s = seed;
  for (let i = 0; i + 1 < len; i += 2) s += (b[off + i] << 8) | b[off + i + 1];
  if (len & 1) s += b[off + len - 1] << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** Builds one frame per source address, `count` frames laid out back to back in the returned bytes. */
export function buildFrames(o: FrameOptions): { bytes: Uint8Array; count: number; length: number } {
  const len = o.length;
  if (!Number.isInteger(len) || len < 60 || len > 65535) throw new RangeError(`frame length must be 60..65535 (an IPv4 packet's limit), got ${len}`);
  const count = Math.max(1, Math.min(o.sources, 65536));
  const out = new Uint8Array(count * len);
  const srcMac = o.srcMac ?? [0x02, 0x72, 0x7a, 0x00, 0x00, 0x01];
  const dstMac = o.dstMac ?? [0x02, 0x72, 0x7a, 0x00, 0x00, 0x02];
  const srcIp = o.srcIp ?? [10, 0, 0, 1];
  const dstIp = o.dstIp ?? [192, 0, 2, 1]; // TEST-NET-1: only ever sent on the project's own veth pairs
  for (let f = 0; f < count; f++) {
    const b = out.subarray(f * len, (f + 1) * len);
    b.set(dstMac, 0);
    b.set(srcMac, 6);
    b[12] = 0x08; b[13] = 0x00;
    const ip = 14;
    const ipLen = len - 14;
    b[ip] = 0x45; b[ip + 1] = 0;
    b[ip + 2] = ipLen >> 8; b[ip + 3] = ipLen & 0xff;
    b[ip + 4] = 0; b[ip + 5] = 0; b[ip + 6] = 0x40; b[ip + 7] = 0; // DF
    b[ip + 8] = 64; b[ip + 9] = 17;
    const base = ((srcIp[0] << 24) | (srcIp[1] << 16) | (srcIp[2] << 8) | srcIp[3]) >>> 0;
    const s = (base + f) >>> 0;
    b[ip + 12] = s >>> 24; b[ip + 13] = (s >>> 16) & 0xff; b[ip + 14] = (s >>> 8) & 0xff; b[ip + 15] = s & 0xff;
    b.set(dstIp, ip + 16);
    const c = csum16(b, ip, 20);
    b[ip + 10] = c >> 8; b[ip + 11] = c & 0xff;
    const udp = ip + 20;
    const udpLen = ipLen - 20;
    const sp = o.srcPort ?? 10000, dp = o.dstPort ?? 9;
    b[udp] = sp >> 8; b[udp + 1] = sp & 0xff; b[udp + 2] = dp >> 8; b[udp + 3] = dp & 0xff;
    b[udp + 4] = udpLen >> 8; b[udp + 5] = udpLen & 0xff;
    for (let i = udp + 8; i < len; i++) b[i] = i & 0xff;
    // UDP checksum over the pseudo-header (src, dst, proto, length) and the datagram.
    let seed = 17 + udpLen;
    for (let i = 0; i < 8; i += 2) seed += (b[ip + 12 + i] << 8) | b[ip + 13 + i];
    const u = csum16(b, udp, udpLen, seed);
    const uc = u === 0 ? 0xffff : u;
    b[udp + 6] = uc >> 8; b[udp + 7] = uc & 0xff;
  }
  return { bytes: out, count, length: len };
}
