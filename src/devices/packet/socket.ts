// AF_PACKET constants and socket setup (include/uapi/linux/if_packet.h,
// Documentation/networking/packet_mmap.rst). Structures are laid out here.
import { native } from '../../native/index.js';
import { InvalidArgumentError, errnoOf } from '../../errors.js';
import { rethrowPermission } from '../iface.js';

export const AF_PACKET = 17;
const SOCK_RAW = 3;
const SOL_PACKET = 263;
/** ETH_P_ALL (if_ether.h), every protocol */
const ETH_P_ALL = 0x0003;

// socket options (if_packet.h)
const PACKET_ADD_MEMBERSHIP = 1;
export const PACKET_RX_RING = 5;
const PACKET_STATISTICS = 6;
const PACKET_VERSION = 10;
export const PACKET_TX_RING = 13;
const PACKET_FANOUT = 18;
const PACKET_TX_HAS_OFF = 19;
const PACKET_QDISC_BYPASS = 20;
const PACKET_IGNORE_OUTGOING = 23;
const PACKET_MR_PROMISC = 1;

export const TPACKET_V2 = 1;
export const TPACKET_V3 = 2;

const FANOUT_MODES = { hash: 0, lb: 1, cpu: 2, rollover: 3, random: 4, qm: 5 } as const;
const PACKET_FANOUT_FLAG_ROLLOVER = 0x1000;
const PACKET_FANOUT_FLAG_DEFRAG = 0x8000;

export interface FanoutOptions {
  /** fanout group id (0..65535), shared by the sockets (any process) that split the traffic */
  group: number;
  /** how the kernel picks a member: flow hash (default), round robin, CPU, rollover, random, queue mapping */
  mode?: keyof typeof FANOUT_MODES;
  /** reassemble IP fragments first so that all fragments of a datagram go to one member */
  defrag?: boolean;
  /** move to the next member when one is full */
  rollover?: boolean;
}

function int(v: number): Uint8Array {
  return new Uint8Array(Int32Array.of(v).buffer);
}

/** A raw packet socket that receives nothing until bound (protocol 0). */
export function packetSocket(): number {
  try {
    return native.socket(AF_PACKET, SOCK_RAW, 0);
  } catch (e) {
    rethrowPermission(e, 'CAP_NET_RAW', 'opening an AF_PACKET socket');
  }
}

export function setVersion(fd: number, version: number): void {
  native.setsockopt(fd, SOL_PACKET, PACKET_VERSION, int(version));
}

export function setRing(fd: number, which: number, req: Uint32Array): void {
  native.setsockopt(fd, SOL_PACKET, which, req);
}

/** Drop the copies of our own transmitted frames (kernel >= 4.20; older: silently kept). */
export function ignoreOutgoing(fd: number): void {
  try {
    native.setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, int(1));
  } catch (e) {
    if (errnoOf(e) !== 'ENOPROTOOPT') throw e;
  }
}

/**
 * TX tuning: bypass the qdisc (straight to the driver), data offset from tp_mac.
 * PACKET_LOSS stays off on purpose. With it, tpacket_snd skips a frame it
 * refuses (too long for the MTU, shorter than the link header) by marking it
 * TP_STATUS_AVAILABLE, exactly as a frame it sent: nobody could tell, and the
 * frame would be counted as sent. Without it the kernel marks the frame
 * TP_STATUS_WRONG_FORMAT, fails the send and stops there (tx.ts takes the
 * frame out, counts it, and the frames behind it go).
 */
export function setTxOptions(fd: number, qdiscBypass: boolean): void {
  if (qdiscBypass) native.setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, int(1));
  native.setsockopt(fd, SOL_PACKET, PACKET_TX_HAS_OFF, int(1));
}

/** struct sockaddr_ll { u16 family; be16 protocol; s32 ifindex; u16 hatype; u8 pkttype; u8 halen; u8 addr[8]; } */
export function bindTo(fd: number, ifindex: number, allProtocols: boolean): void {
  const sll = new Uint8Array(20);
  const v = new DataView(sll.buffer);
  v.setUint16(0, AF_PACKET, true);
  v.setUint16(2, allProtocols ? ETH_P_ALL : 0, false); // network byte order
  v.setInt32(4, ifindex, true);
  native.bind(fd, sll);
}

/** struct packet_mreq { s32 ifindex; u16 type; u16 alen; u8 address[8]; }; dropped with the socket. */
export function addPromiscuous(fd: number, ifindex: number): void {
  const mreq = new Uint8Array(16);
  const v = new DataView(mreq.buffer);
  v.setInt32(0, ifindex, true);
  v.setUint16(4, PACKET_MR_PROMISC, true);
  native.setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq);
}

export function joinFanout(fd: number, f: FanoutOptions): void {
  const mode = FANOUT_MODES[f.mode ?? 'hash'];
  if (mode === undefined) throw new InvalidArgumentError(`unknown fanout mode '${f.mode}': use ${Object.keys(FANOUT_MODES).join(', ')}`);
  if (!Number.isInteger(f.group) || f.group < 0 || f.group > 0xffff) {
    throw new InvalidArgumentError(`fanout group must be an integer 0..65535, got ${f.group}`);
  }
  const flags = (f.defrag ? PACKET_FANOUT_FLAG_DEFRAG : 0) | (f.rollover ? PACKET_FANOUT_FLAG_ROLLOVER : 0);
  native.setsockopt(fd, SOL_PACKET, PACKET_FANOUT, int(f.group | ((mode | flags) << 16)));
}

/** struct tpacket_stats_v3 { tp_packets, tp_drops, tp_freeze_q_cnt } — reading resets them. */
export function readStats(fd: number): [number, number, number] {
  const s = new Uint32Array(3);
  native.getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, s);
  return [s[0], s[1], s[2]];
}
