// The reusable result of parsing one packet. A worker keeps one PacketInfo
// and parses every packet into it: no object is allocated per packet. All
// offsets are absolute indices into the byte array that was parsed (the
// cluster's memory.bytes on the data path), so addresses and ports are read
// where they lie, without copying.

/** One IP layer: the outer header, or the one inside a tunnel. */
export class IpInfo {
  /** 4, 6, or 0 when there is no (complete) IP header */
  version = 0;
  /** offset of the IP header */
  l3 = 0;
  /** offset of the source address (4 bytes for IPv4, 16 for IPv6) */
  src = 0;
  /** offset of the destination address */
  dst = 0;
  /** transport protocol: IPv4 protocol, or IPv6's last next-header after the extension headers */
  proto = 0;
  /** offset of the transport header; 0 when absent (non-first fragment, ESP, truncated) */
  l4 = 0;
  /** true when srcPort/dstPort were read (TCP, UDP, SCTP, DCCP, UDP-Lite, first fragment or unfragmented) */
  hasPorts = false;
  srcPort = 0;
  dstPort = 0;
  /** part of a fragmented datagram (first fragment included): flow hashes then ignore ports */
  fragment = false;
  /** fragment offset in bytes (0 for the first fragment) */
  fragmentOffset = 0;
  /** IPv4 total length, or IPv6 payload length + 40 */
  totalLength = 0;
  /** TTL / hop limit */
  ttl = 0;

  reset(): void {
    this.version = 0;
    this.l3 = 0;
    this.src = 0;
    this.dst = 0;
    this.proto = 0;
    this.l4 = 0;
    this.hasPorts = false;
    this.srcPort = 0;
    this.dstPort = 0;
    this.fragment = false;
    this.fragmentOffset = 0;
    this.totalLength = 0;
    this.ttl = 0;
  }
}

export class PacketInfo {
  /** offset and captured length of the frame that was parsed */
  offset = 0;
  length = 0;
  /** EtherType after the VLAN tags (0 when the frame is shorter than an Ethernet header) */
  etherType = 0;
  /** number of VLAN tags skipped (802.1Q, 802.1ad, 0x9100) */
  vlanCount = 0;
  /** VLAN id (12 bits) of the outermost tag; valid when vlanCount > 0 */
  vlanId = 0;
  /** VLAN id of the second tag (QinQ customer tag); valid when vlanCount > 1 */
  innerVlanId = 0;
  /** the outer IP layer */
  readonly ip = new IpInfo();
  /** TUNNEL_NONE, TUNNEL_GTPU, TUNNEL_GRE or TUNNEL_IPIP (constants.ts) */
  tunnel = 0;
  /** GTP-U TEID or GRE key (valid when hasTunnelId) */
  tunnelId = 0;
  hasTunnelId = false;
  /** EtherType of the frame inside GRE transparent Ethernet bridging (0 otherwise) */
  innerEtherType = 0;
  /** the IP layer inside the tunnel (version 0 when there is none) */
  readonly inner = new IpInfo();
  /** the frame ended before a header the parser expected */
  truncated = false;

  reset(offset: number, length: number): void {
    this.offset = offset;
    this.length = length;
    this.etherType = 0;
    this.vlanCount = 0;
    this.vlanId = 0;
    this.innerVlanId = 0;
    this.ip.reset();
    this.tunnel = 0;
    this.tunnelId = 0;
    this.hasTunnelId = false;
    this.innerEtherType = 0;
    this.inner.reset();
    this.truncated = false;
  }

  /** The IP layer a tunnel-aware hash uses: the inner one when a tunnel carried IP, else the outer one. */
  get innermost(): IpInfo {
    return this.inner.version !== 0 ? this.inner : this.ip;
  }
}
