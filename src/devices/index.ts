// Devices: where packets enter and leave a cluster.
//
//   const dev = openDevice('zc:eth0', { memory: cluster.memory, source: cluster.pool() });
//   const burst = new Uint32Array(64);
//   for (;;) {
//     const n = dev.recvBurst(burst, 64);          // buffer indices, metadata filled in
//     if (n === 0) { dev.wait(100); continue; }     // or spin
//     ... queue.sendBurst(burst, n) / dev2.sendBurst(burst, n) / pool.free(burst, n)
//   }
//   dev.close();
//
// Names
//   zc:IFACE      AF_XDP on every RX queue of IFACE (one socket per queue)
//   zc:IFACE@Q    AF_XDP on queue Q only
//   IFACE         AF_PACKET (TPACKET_V3 RX ring, TPACKET_V2 TX ring), all queues
//
// Contract (types.ts `Device`)
//   recvBurst(out: Uint32Array, max): number  — never blocks; the caller owns the
//       returned buffers. Per buffer: META_LEN (captured bytes), META_OFF (data
//       offset in the buffer), META_SEC/META_NSEC (AF_PACKET: kernel receive time;
//       AF_XDP: one user-space reading per burst, since RX descriptors carry none),
//       META_PORT (options.port), META_WIRELEN (length on the wire), META_HASH = 0.
//   sendBurst(indices: Uint32Array, n): number — takes all n buffers: the queued
//       ones return to the BufferSource when the kernel is done (AF_PACKET: at once,
//       the frame was copied into the ring), the rest are freed and counted
//       (txRingFull, txInvalid). Frame = META_LEN bytes at META_OFF. AF_PACKET: a
//       queued frame the kernel then refuses (too long for the MTU, too short for
//       the Ethernet header) is counted in txRejected and taken out of sent.
//   txRoom(): number — how many frames sendBurst would queue now (free TX ring
//       slots, completions reclaimed first; no system call): offer at most that
//       many and flush()/wait while it is 0, and no frame is dropped as txRingFull.
//   txPending(): { frames, bytes } — what sendBurst queued and the kernel has not
//       finished with (no kick: it answers also once the interface is gone).
//   wait(ms), flush(), stats(), close(), mode: 'zero-copy' | 'copy' | 'standard'.
//
// Buffer memory: AF_XDP registers the cluster's buffer area as UMEM (chunk =
// bufferSize), so RX lands in cluster buffer i without a copy in user space
// (zero-copy drivers: none at all; copy mode, e.g. veth: one kernel copy).
// Data starts at offset 256 (XDP_PACKET_HEADROOM) + max(0, headroom - 256).
// AF_PACKET copies once, to offset `headroom` (+0..3 to keep word alignment).
//
// Hooks for the filter layer
//   AF_XDP:    { xdpFilter: Uint8Array } eBPF bytes, called as a subprogram with
//              R1 = xdp_md ctx, returning R0 != 0 to accept (see xdp/program.ts);
//              rejected frames go to the kernel stack (or are dropped with
//              xdpFilterReject: 'drop').
//   AF_PACKET: { attachFilter: (fd) => void } runs before bind (SO_ATTACH_FILTER).
//
// Teardown: close() removes the socket from the XSKMAP, unmaps every ring
// (explicitly: a mapping keeps the socket alive), closes the fds and, with the
// last AF_XDP device of this thread on that interface, the BPF link (which
// detaches the XDP program; the kernel also does it if the process dies).
// Every buffer the device held (fill ring, TX in flight) goes back to the source.
// Failure while opening undoes what was done, in reverse order. The kernel frees
// an AF_XDP queue a moment after its socket closes (a deferred worker), so bind
// retries EBUSY for up to 500 ms: reopening right after close() just works, and a
// queue that is really taken reports ERR_RINGZERO_DEVICE_BUSY after that time.
//
// Limits: one XDP program per interface — devices of one thread share it
// (refcounted), another thread or process opening the same interface gets
// ERR_RINGZERO_XDP_PROGRAM_EXISTS. A zc: device spanning several queues reports
// the same META_PORT for all of them; open zc:IFACE@Q devices with distinct
// ports to tell queues apart. In zero-copy mode a NIC may still DMA into fill
// buffers briefly after close() while the kernel tears the queue down.
import { InvalidArgumentError } from '../errors.js';
import type { Device, DeviceOptions } from './types.js';
import { PacketDevice, type PacketDeviceOptions } from './packet/device.js';
import { XdpDevice, type XdpDeviceOptions } from './xdp/device.js';

export type { Device, DeviceMode, DeviceOptions, DeviceStats, TxPending } from './types.js';
export type { FanoutOptions } from './packet/socket.js';
export { PacketDevice, type PacketDeviceOptions } from './packet/device.js';
export { XdpDevice, type XdpDeviceOptions } from './xdp/device.js';
export { buildXdpRedirectProgram, EbpfAssembler, XDP_DROP, XDP_PASS } from './xdp/program.js';
export { listInterfaces, ifaceCounter } from './iface.js';

/** Every option any device kind understands; each kind ignores the others'. */
export type OpenDeviceOptions = DeviceOptions & Partial<Omit<XdpDeviceOptions, keyof DeviceOptions>> &
  Partial<Omit<PacketDeviceOptions, keyof DeviceOptions>>;

export interface ParsedDeviceName {
  kind: 'xdp' | 'packet';
  ifname: string;
  /** AF_XDP queue, undefined = all */
  queue?: number;
}

export function parseDeviceName(name: string): ParsedDeviceName {
  const m = /^(zc:)?([^@:\s/]{1,15})(?:@(\d+))?$/.exec(name);
  if (!m) {
    throw new InvalidArgumentError(
      `cannot parse device name '${name}': use IFACE (AF_PACKET), zc:IFACE (AF_XDP, all queues) or zc:IFACE@QUEUE`,
    );
  }
  if (!m[1] && m[3] !== undefined) {
    throw new InvalidArgumentError(
      `'${name}': a queue (@${m[3]}) needs the zero-copy device, zc:${m[2]}@${m[3]}; AF_PACKET devices see all queues`,
    );
  }
  return m[1] ? { kind: 'xdp', ifname: m[2], queue: m[3] === undefined ? undefined : Number(m[3]) } : { kind: 'packet', ifname: m[2] };
}

/** Opens a device by name on a cluster's memory (see the header for names and options). */
export function openDevice(name: string, options: OpenDeviceOptions): Device {
  const p = parseDeviceName(name);
  if (p.kind === 'xdp') return new XdpDevice(name, p.ifname, { ...options, queue: p.queue ?? options.queue });
  return new PacketDevice(name, p.ifname, options);
}
