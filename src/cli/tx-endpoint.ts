// Where `send` puts packets: a TX device on a private cluster, or a queue of
// another process's cluster (zc:CLUSTER@QUEUE, PF_RING's zsend to an IPC
// queue). The queue case takes ownership of the queue's pool and producer side.
//
// Frame size: every endpoint says the longest frame it puts on the wire whole
// (maxFrame). The private cluster's buffers are sized from the interface's MTU
// so that limit is the device's, not the buffer's: a frame is never cut on its
// way out, and `send` refuses or skips a longer one by name.
//
// Back-pressure: room() says how many frames the endpoint takes right now
// (a queue's free slots, a device's free TX ring slots: Device.txRoom); send
// offers no more than that and waits while it is 0, as zsend waits for a
// full queue, instead of offering frames that would be refused and counted
// as drops.
import { XDP_MAX_CHUNK } from '../devices/xdp/device.js';
import { pow2AtLeast } from './capture-buffers.js';
import { Cluster } from '../zc/cluster.js';
import type { BufferPool } from '../zc/pool.js';
import type { QueueProducer } from '../zc/queue.js';
import { openDevice, parseDeviceName, type DeviceStats, type TxPending } from '../devices/index.js';
import { emptyStats } from '../devices/types.js';
import { linkState, mtuOf } from '../devices/iface.js';
import type { BufferMemory } from '../zc/meta.js';
import { parseQueueSpec } from './endpoint.js';
import { createRunCluster } from './private-cluster.js';
import { UsageError } from './args.js';

export interface TxEndpoint {
  readonly name: string;
  readonly mode: string;
  readonly memory: BufferMemory;
  readonly pool: BufferPool;
  /** the longest frame (bytes, without FCS) this endpoint sends whole */
  readonly maxFrame: number;
  /** the same for a frame with an 802.1Q tag (ethertype 0x8100 at byte 12) */
  readonly maxTaggedFrame: number;
  /**
   * the same for an 802.1ad (0x88a8) outer tag: AF_PACKET grants the 4 extra
   * bytes to 802.1Q only (packet_extra_vlan_len_allowed), so there it is maxFrame
   */
  readonly maxQinQFrame: number;
  /** what sets maxFrame and how to raise it, for messages */
  readonly maxFrameWhy: string;
  /** frames it takes right now without refusing any (0: full, wait and flush) */
  room(): number;
  /** takes all n buffers; returns how many were accepted */
  sendBurst(indices: Uint32Array, n: number): number;
  /** kicks and reaps TX; returns buffers still in flight. A queue: throws ClusterClosedError once its owner is gone */
  flush(): number;
  stats(): DeviceStats;
  /** frames queued and not yet sent, and their bytes (Device.txPending; a queue holds none back) */
  pending(): TxPending;
  /** the device's interface: up, down (frames wait in the ring) or gone; a queue is always 'up' */
  linkState(): 'up' | 'down' | 'gone';
  close(): void;
}

/**
 * Kept free at the end of a buffer: the capture file reader moves a record up
 * to 3 bytes to keep its alignment, and a record that fills what is left may
 * have been cut. Below this margin a frame is known whole (replay.ts).
 */
export const ALIGN_SLACK = 4;
/**
 * The kernel sends MTU + 14 bytes (the Ethernet header), 4 more when the frame
 * carries a VLAN tag: AF_PACKET refuses a longer untagged frame
 * (packet_extra_vlan_len_allowed), and a veth peer drops what exceeds MTU + 18.
 */
const ETH_HLEN = 14;
const VLAN_HLEN = 4;
/** Buffer memory of an AF_PACKET sender (frames are copied into the TX ring: few buffers are ever in flight). */
const PACKET_CLUSTER_BYTES = 16 << 20;
/** How often a queue producer checks that the cluster's owner is still there (ms). */
const OWNER_CHECK_MS = 20;

/** Buffer size, count and longest frame of the private cluster for TX device `spec`. */
export function deviceFrameLimit(spec: string): { bufferSize: number; buffers: number; maxFrame: number; maxTaggedFrame: number; maxQinQFrame: number; why: string } {
  const p = parseDeviceName(spec);
  const mtu = mtuOf(p.ifname);
  const wire = mtu + ETH_HLEN;
  const cap = p.kind === 'xdp' ? XDP_MAX_CHUNK : 65536;
  const bufferSize = Math.min(cap, Math.max(2048, pow2AtLeast(wire + VLAN_HLEN + ALIGN_SLACK)));
  const maxFrame = Math.min(wire, bufferSize - ALIGN_SLACK);
  const maxTaggedFrame = Math.min(wire + VLAN_HLEN, bufferSize - ALIGN_SLACK);
  const why = maxFrame === wire
    ? `the MTU of ${p.ifname} (${mtu}) + 14 for the Ethernet header, 4 more with ${p.kind === 'xdp' ? 'a VLAN tag' : 'an 802.1Q tag (not 802.1ad: AF_PACKET)'}; raise the MTU to send longer frames (ip link set ${p.ifname} mtu N)`
    : `an AF_XDP frame must fit one ${XDP_MAX_CHUNK}-byte page; send longer frames on the AF_PACKET device (-i ${p.ifname}, without zc:)`;
  // AF_XDP: buffers stay in flight until the kernel completes them (TX + completion rings: 4096); AF_PACKET copies.
  const buffers = p.kind === 'xdp' ? 8192 : Math.max(512, Math.min(8192, PACKET_CLUSTER_BYTES / bufferSize));
  const maxQinQFrame = p.kind === 'xdp' ? maxTaggedFrame : maxFrame;
  return { bufferSize, buffers, maxFrame, maxTaggedFrame, maxQinQFrame, why };
}

export function openTx(spec: string, clusterId?: number): TxEndpoint {
  const q = parseQueueSpec(spec);
  if (q) return queueTx(q.cluster, q.queue);
  const lim = deviceFrameLimit(spec);
  const cluster = createRunCluster(clusterId, { bufferSize: lim.bufferSize, buffers: lim.buffers, hugepages: 'auto' });
  const pool = cluster.pool(0);
  try {
    const d = openDevice(spec, { memory: cluster.memory, source: pool, rx: false });
    return {
      name: d.name, mode: d.mode, memory: cluster.memory, pool, maxFrame: lim.maxFrame, maxTaggedFrame: lim.maxTaggedFrame, maxQinQFrame: lim.maxQinQFrame, maxFrameWhy: lim.why,
      room: () => d.txRoom(),
      sendBurst: (i, n) => d.sendBurst(i, n),
      flush: () => d.flush(),
      stats: () => d.stats(),
      pending: () => d.txPending(),
      linkState: () => linkState(d.ifindex),
      close() { d.close(); pool.detach(); cluster.close(); },
    };
  } catch (e) {
    pool.detach();
    cluster.close();
    throw e;
  }
}

function queueTx(id: number, queue: number): TxEndpoint {
  const cluster = Cluster.attach(id);
  let pool: BufferPool | null = null;
  let prod: QueueProducer | null = null;
  try {
    if (queue >= cluster.layout.queueCount) throw new UsageError(`send: cluster ${id} has queues 0..${cluster.layout.queueCount - 1}, not ${queue}`);
    pool = cluster.pool(cluster.layout.queuePools[queue]);
    prod = cluster.producer(queue, pool);
  } catch (e) {
    pool?.detach();
    cluster.close();
    throw e;
  }
  const p = prod;
  const pl = pool;
  const st = emptyStats();
  const room = cluster.layout.bufferSize - cluster.layout.headroom;
  // The owner's death or shutdown is seen here, at most every OWNER_CHECK_MS, from whichever call
  // the send loop makes (a burst, or the flush of a loop that waits for room or for its rate).
  let checkedAt = performance.now();
  const watchOwner = () => {
    const now = performance.now();
    if (now - checkedAt < OWNER_CHECK_MS) return;
    checkedAt = now;
    cluster.checkOwner();
  };
  return {
    name: `zc:${id}@${queue}`, mode: 'queue', memory: cluster.memory, pool: pl,
    maxFrame: room - ALIGN_SLACK,
    maxTaggedFrame: room - ALIGN_SLACK,
    maxQinQFrame: room - ALIGN_SLACK,
    maxFrameWhy: `the buffers of cluster ${id} hold ${room} bytes, ${ALIGN_SLACK} of which are kept for the alignment of replayed records`,
    room: () => p.free,
    sendBurst(i, n) {
      watchOwner();
      const k = p.sendBurst(i, n);
      st.sent += k;
      st.txRingFull += n - k;
      return k;
    },
    flush() { watchOwner(); p.maintain(); pl.drain(); return 0; },
    stats: () => ({ ...st }),
    pending: () => ({ frames: 0, bytes: 0 }),
    linkState: () => 'up',
    close() { p.close(); pl.detach(); cluster.close(); },
  };
}
