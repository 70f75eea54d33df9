// The contract every device kind (AF_XDP, AF_PACKET, later pcap files) meets:
// a queue endpoint that moves u32 buffer indices of a cluster in bursts.
import type { BufferMemory, BufferSource } from '../zc/meta.js';

/**
 * How packets reach user space:
 * - 'zero-copy': AF_XDP, the NIC DMAs into cluster buffers (XDP_ZEROCOPY);
 * - 'copy': AF_XDP, the kernel copies each frame once into a cluster buffer (XDP_COPY);
 * - 'standard': AF_PACKET TPACKET_V3 ring, copied once from the ring into a cluster buffer.
 */
export type DeviceMode = 'zero-copy' | 'copy' | 'standard';

export interface DeviceStats {
  /** packets handed to the caller by recvBurst */
  received: number;
  /** bytes handed to the caller (captured length) */
  receivedBytes: number;
  /**
   * packets accepted by sendBurst and queued to the kernel, less those the
   * kernel refused afterwards (txRejected, taken back out when it says so)
   */
  sent: number;
  /** bytes of the `sent` packets (the refused ones taken back out too) */
  sentBytes: number;
  /** packets the kernel reports dropped before we saw them (ring full, no fill buffers, ...) */
  kernelDrops: number;
  /** sendBurst: buffers dropped because the TX ring was full */
  txRingFull: number;
  /** sendBurst: buffers dropped because their index/offset/length were out of range */
  txInvalid: number;
  /**
   * frames sendBurst queued that the kernel then refused to send. AF_PACKET:
   * a frame longer than the MTU + 14 (+ 4 with a VLAN tag) or shorter than
   * the Ethernet header; the kernel marks it TP_STATUS_WRONG_FORMAT, the
   * device takes it out of the ring (the frames behind it still go) and out
   * of sent/sentBytes. AF_XDP copy mode: a frame the driver dropped once the
   * kernel had taken it (sendto says EBUSY, one frame each time: a veth peer
   * whose ring is full with no qdisc to hold the frame, a carrier gone down);
   * its descriptor completes unsent, so txCompleted counts it too. Invalid
   * descriptors never get that far: sendBurst queues only ones the kernel
   * accepts (the kernel's own count is kernel.tx_invalid_descs).
   */
  txRejected: number;
  /**
   * frames the kernel is done with: AF_XDP, buffers back from the completion
   * rings to the buffer source; AF_PACKET, TX ring slots sent and free again
   * (its buffers went back when they were copied). Equals `sent` once drained
   * (AF_XDP: sent + txRejected, a dropped frame completes too).
   */
  txCompleted: number;
  /** recvBurst: times the buffer source had no buffer for the ring (RX stalls, kernel then drops) */
  rxNoBuffer: number;
  /** frames longer than a cluster buffer, truncated (META_WIRELEN keeps the original length) */
  rxTruncated: number;
  /**
   * link outages seen: by wait() on the receive side and by the TX kick on the
   * send side, each counting an outage once (a device that does both counts it
   * twice). Capture resumes and queued frames go out when the link is up again.
   */
  linkDowns: number;
  /** kernel-specific counters, by their kernel names (xdp_statistics, tpacket_stats_v3) */
  kernel: Record<string, number>;
}

export interface Device {
  /** the name as opened, e.g. 'zc:eth0@1' or 'eth0' */
  readonly name: string;
  /**
   * the interface name, e.g. 'eth0': as opened, or its new name once the
   * device has seen it renamed (a device follows its interface by ifindex)
   */
  readonly ifname: string;
  readonly ifindex: number;
  readonly mode: DeviceMode;
  /** queue ids this device serves (AF_XDP); [] for AF_PACKET (all queues) */
  readonly queues: readonly number[];
  /** the META_PORT value written on every received buffer */
  readonly port: number;
  /**
   * About how many frames the receive side holds while nobody receives, before
   * the kernel drops: how long a receive loop may sleep at a given rate. AF_XDP:
   * the fill depth of a socket; AF_PACKET: the ring in 2 KiB frames (more small
   * ones fit, fewer large ones); a file: Infinity (it waits for us). 0 without RX.
   */
  readonly rxCapacity: number;
  /**
   * Fills out[0..k) with indices of cluster buffers holding received packets
   * (metadata written: META_LEN, META_OFF, META_SEC, META_NSEC, META_PORT,
   * META_WIRELEN, META_HASH=0). The caller owns them. Never blocks. k <= max.
   */
  recvBurst(out: Uint32Array, max: number): number;
  /**
   * Takes ownership of indices[0..n). Returns how many were queued for
   * transmission; the others were dropped (counted) and given back to the
   * buffer source. Sent buffers go back to the source when the kernel is done.
   * Best effort: what does not fit the TX ring is dropped (txRingFull); a
   * sender that must not lose frames offers at most txRoom() of them.
   */
  sendBurst(indices: Uint32Array, n: number): number;
  /**
   * How many frames sendBurst would queue right now: the free slots of the
   * TX ring the next sendBurst uses, after taking back what the kernel is
   * done with (AF_XDP: the completion rings are reclaimed; AF_PACKET: ring
   * slots the kernel has sent are reaped). Cheap: no system call and no
   * allocation, so a sender may ask before every burst, offer only that many
   * and, while it is 0, kick with flush() and wait instead of having frames
   * dropped as txRingFull. Room only grows until the caller's next sendBurst
   * (the kernel frees slots, nothing else takes them). 0 for a device that
   * cannot send (opened with tx: false, a pcap file).
   */
  txRoom(): number;
  /**
   * Blocks the thread until packets may be readable or timeoutMs passes; true
   * when ready. A link that is down is waited out (stats().linkDowns counts
   * it); an interface that went away throws InterfaceGoneError.
   */
  wait(timeoutMs: number): boolean;
  /** Kicks pending TX and reclaims completed TX buffers; returns how many are still in flight. */
  flush(): number;
  /**
   * The frames sendBurst queued that the kernel has not finished with, and
   * their bytes, after taking back those it has (AF_PACKET: ring slots sent;
   * AF_XDP: completions, sent or dropped). No kick and no system call, so it
   * answers also once the interface is gone: what a sender stopping now has
   * not sent (a link that went down, or an interface deleted, keeps frames
   * queued). Walks what is queued: for the end of a run, not per burst.
   */
  txPending(): TxPending;
  stats(): DeviceStats;
  /** Unmaps rings, closes sockets, detaches programs, returns every buffer it holds. Idempotent. */
  close(): void;
  readonly closed: boolean;
}

/** Device.txPending: frames queued and not yet done with, and their bytes. */
export interface TxPending {
  frames: number;
  bytes: number;
}

/** Options shared by all device kinds. */
export interface DeviceOptions {
  /** the cluster's buffer memory (`cluster.memory`) */
  memory: BufferMemory;
  /** where received buffers come from and sent buffers go back to (`cluster.pool()`) */
  source: BufferSource;
  /** written to META_PORT of every received packet (default 0) */
  port?: number;
  /** open for receiving (default true) */
  rx?: boolean;
  /** open for sending (default true) */
  tx?: boolean;
}

export function emptyStats(): DeviceStats {
  return {
    received: 0, receivedBytes: 0, sent: 0, sentBytes: 0, kernelDrops: 0, txRingFull: 0, txInvalid: 0,
    txRejected: 0, txCompleted: 0, rxNoBuffer: 0, rxTruncated: 0, linkDowns: 0, kernel: {},
  };
}

/** A queued frame of `len` bytes the kernel did not send after all: out of sent/sentBytes, into txRejected. */
export function rejectSent(c: DeviceStats, len: number): void {
  c.txRejected++;
  c.sent--;
  c.sentBytes -= len;
}
