// Protocol numbers the parser recognises. Values from IEEE 802 / IANA
// registries as Linux names them (include/uapi/linux/if_ether.h, in.h, in6.h).

/** EtherTypes (if_ether.h) */
export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
export const ETH_P_IPV6 = 0x86dd;
/** 802.1Q customer VLAN tag */
export const ETH_P_8021Q = 0x8100;
/** 802.1ad service VLAN tag (QinQ outer tag) */
export const ETH_P_8021AD = 0x88a8;
/** pre-standard QinQ outer tag still sent by some switches */
export const ETH_P_QINQ1 = 0x9100;
/** Transparent Ethernet Bridging: a whole Ethernet frame inside GRE (NVGRE, gretap) */
export const ETH_P_TEB = 0x6558;

export const ETH_HLEN = 14;
export const VLAN_HLEN = 4;
/** at most this many stacked VLAN tags are skipped (802.1ad uses 2; more is malformed or hostile) */
export const MAX_VLAN_TAGS = 4;

/** IP protocol numbers (in.h) */
export const IPPROTO_HOPOPTS = 0;
export const IPPROTO_ICMP = 1;
export const IPPROTO_IPIP = 4;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_IPV6 = 41;
export const IPPROTO_ROUTING = 43;
export const IPPROTO_FRAGMENT = 44;
export const IPPROTO_GRE = 47;
export const IPPROTO_ESP = 50;
export const IPPROTO_AH = 51;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_NONE = 59;
export const IPPROTO_DSTOPTS = 60;
export const IPPROTO_DCCP = 33;
export const IPPROTO_SCTP = 132;
export const IPPROTO_UDPLITE = 136;
/** IPv6 extension headers with the generic (next, len in 8-octet units - 1) layout: RFC 8200 4.1, RFC 6275 (135), RFC 7401 (139), RFC 5533 (140) */
export const IPPROTO_MH = 135;
export const IPPROTO_HIP = 139;
export const IPPROTO_SHIM6 = 140;
/** at most this many IPv6 extension headers are walked */
export const MAX_IPV6_EXT = 8;

/** GTP-U (3GPP TS 29.281): UDP port, G-PDU message type, header flags */
export const GTPU_PORT = 2152;
export const GTP_MSG_GPDU = 0xff;
export const GTP_FLAG_PT = 0x10;
export const GTP_FLAG_E = 0x04;
export const GTP_FLAG_S = 0x02;
export const GTP_FLAG_PN = 0x01;
/** at most this many GTP-U extension headers are walked */
export const MAX_GTP_EXT = 8;

/** GRE (RFC 2784, RFC 2890 key and sequence): flag bits of the first 16-bit word */
export const GRE_FLAG_C = 0x8000;
export const GRE_FLAG_R = 0x4000;
export const GRE_FLAG_K = 0x2000;
export const GRE_FLAG_S = 0x1000;
export const GRE_VERSION_MASK = 0x0007;

/** Tunnel kinds reported in PacketInfo.tunnel */
export const TUNNEL_NONE = 0;
export const TUNNEL_GTPU = 1;
export const TUNNEL_GRE = 2;
/** IPv4/IPv6 directly inside IPv4/IPv6 (protocols 4 and 41) */
export const TUNNEL_IPIP = 3;

/** Transport protocols whose first 4 bytes are source and destination port */
export function hasPorts(proto: number): boolean {
  return proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_SCTP || proto === IPPROTO_DCCP || proto === IPPROTO_UDPLITE;
}
