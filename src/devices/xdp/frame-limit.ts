// The longest frame an AF_XDP socket can receive, and the warning when the
// interface's MTU lets longer ones arrive. Without multi-buffer (not used
// here) a frame must fit one UMEM chunk after the headroom, and a chunk is at
// most a page: 4096 - 256 = 3840 bytes at best. The kernel drops a longer
// frame at the socket and only counts it (rx_dropped): on an interface whose
// MTU allows it (generic XDP, which every driver offers, takes any MTU) that
// loss would be silent, so the commands say so when they start.
import { mtuOf } from '../iface.js';

/** XDP_PACKET_HEADROOM: the kernel keeps 256 bytes before the frame in every chunk */
export const XDP_PACKET_HEADROOM = 256;
/** an Ethernet header and one 802.1Q tag beyond the MTU: what veth and most drivers accept */
export const L2_OVERHEAD = 18;

/** Bytes of a frame a chunk of `bufferSize` holds with the cluster's `headroom` (the kernel's 256 at least). */
export function xdpFrameLimit(bufferSize: number, headroom: number): number {
  return bufferSize - Math.max(headroom, XDP_PACKET_HEADROOM);
}

/** A warning when `ifname`'s MTU allows frames longer than `limit` bytes (device `name`), or null. */
export function longFrameWarning(name: string, ifname: string, limit: number): string | null {
  const mtu = mtuOf(ifname);
  if (mtu + L2_OVERHEAD <= limit) return null;
  return `${name} receives frames of at most ${limit} bytes (an AF_XDP buffer holds one frame, at most a page with ${XDP_PACKET_HEADROOM} bytes ` +
    `of headroom), but the MTU ${mtu} of ${ifname} allows ${mtu + L2_OVERHEAD}: longer frames are dropped by the kernel and show only as drops. ` +
    `Lower the MTU (ip link set dev ${ifname} mtu ${limit - L2_OVERHEAD}) or capture from the standard device '${ifname}'.`;
}
