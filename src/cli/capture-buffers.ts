// How big the cluster buffers are that devices receive into: a capture
// input's (count, dump) and an owner command's (balance, fanout, pipeline;
// ownedBufferSize below). A frame is kept whole only if it fits one buffer; a
// longer one is cut to the buffer and counted (DeviceStats.rxTruncated), and
// the commands report the count.
//
// Frames longer than the MTU are common on a standard (AF_PACKET) device: a
// TCP sender on the same host hands veth and loopback GSO packets of up to 64
// KiB, and a NIC with GRO merges received segments. tcpdump keeps them whole
// (snaplen 262144), so the standard device and capture files get buffers for
// 64 KiB frames by default, in fewer buffers so the region stays at 64 MiB.
// Measured with `npm run bench -- files` (live part, 2 runs each): dump -i
// IFACE used 189/216 CPU ns per frame with 64 KiB buffers against 179/198 with
// 2 KiB ones; reading a 2M-frame file took the same time. `-s` below 64 KiB
// gives smaller buffers. AF_XDP frames never exceed the MTU (no GSO, no
// multi-buffer here), and its chunks are at most a page: 2048 or 4096 bytes.
// Above MTU 3822 (generic XDP allows it) the longest frames cannot fit: the
// commands warn at start (devices/xdp/frame-limit.ts).
import { mtuOf } from '../devices/iface.js';
import { XDP_MAX_CHUNK } from '../devices/xdp/device.js';
import { L2_OVERHEAD, XDP_PACKET_HEADROOM } from '../devices/xdp/frame-limit.js';

/** The largest cluster buffer (zc/layout.ts). */
const MAX_BUFFER = 65536;
/** The region a capture input maps: at most this many bytes of buffers, unless that leaves fewer than MIN_BUFFERS. */
const REGION_BYTES = 64 << 20;
const MIN_BUFFERS = 1024;
/** An AF_XDP input keeps 8192 buffers in its fill ring and needs as many again to hand out. */
const XDP_BUFFERS = 16384;

/** The smallest power of two >= n. */
export function pow2AtLeast(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * Buffer size and count for capturing from `spec` (zc:IFACE[@Q], IFACE or
 * pcap:FILE) keeping up to `snaplen` bytes of each frame.
 */
export function captureBuffers(spec: string, snaplen = 262144): { bufferSize: number; buffers: number } {
  if (spec.startsWith('zc:')) {
    const mtu = mtuOf(spec.slice(3).split('@')[0]);
    const frame = Math.min(snaplen, mtu + L2_OVERHEAD);
    return { bufferSize: Math.min(XDP_MAX_CHUNK, Math.max(2048, pow2AtLeast(frame + XDP_PACKET_HEADROOM))), buffers: XDP_BUFFERS };
  }
  // The standard device and the file reader shift a frame by up to 3 bytes to copy it in words,
  // but not a frame the shift would cut: a buffer keeps every frame that fits it (no slack needed).
  const bufferSize = Math.min(MAX_BUFFER, Math.max(2048, pow2AtLeast(Math.min(snaplen, MAX_BUFFER))));
  return { bufferSize, buffers: Math.min(XDP_BUFFERS, Math.max(MIN_BUFFERS, REGION_BYTES / bufferSize)) };
}

/** The largest buffer an owner command (balance, fanout, pipeline) sizes for an interface's MTU: jumbo frames. */
const MAX_OWNED_BUFFER = 16384;

/**
 * Buffer size of a cluster whose queues are fed by the devices `names`, as
 * zbalance_ipc sizes its buffers: every frame up to the largest input's MTU
 * fits whole (2048 at MTU 1500; 16384 at MTU 9000). The buffers are many
 * (queues x queue length), so GSO frames longer than the MTU are not sized
 * for: they are cut, counted and reported (owner.ts).
 */
export function ownedBufferSize(names: readonly string[]): number {
  let size = 2048;
  for (const name of names) {
    if (name === '' || name.startsWith('pcap:')) continue; // a queue or a file: no MTU
    const zc = name.startsWith('zc:');
    const mtu = mtuOf((zc ? name.slice(3) : name).split('@')[0]);
    const need = zc ? mtu + L2_OVERHEAD + XDP_PACKET_HEADROOM : mtu + L2_OVERHEAD;
    size = Math.max(size, Math.min(zc ? XDP_MAX_CHUNK : MAX_OWNED_BUFFER, pow2AtLeast(need)));
  }
  return size;
}
