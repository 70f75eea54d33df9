// What `-i` names: a device (zc:IFACE[@Q], IFACE, pcap:FILE) on a private cluster, or a
// queue of another process's cluster (zc:CLUSTER@QUEUE, numeric cluster id).
import { Cluster } from '../zc/cluster.js';
import type { BufferPool } from '../zc/pool.js';
import type { QueueConsumer } from '../zc/consumer.js';
import { openDevice, PacketDevice, XdpDevice, type Device } from '../devices/index.js';
import { PcapDevice } from '../devices/pcap.js';
import { ifindexOrZero } from '../devices/iface.js';
import { intFlag, UsageError, type Parsed } from './args.js';
import { compileFor } from './filter-option.js';
import { PacketDeviceFilter, TAG_NOTE, deviceFilterOptions, type FilterPlace } from './filter-place.js';
import type { CompiledFilter } from '../filter/index.js';
import type { FilterFunction } from '../filter/js.js';
import { Coalescer } from '../devices/coalesce.js';
import { captureBuffers } from './capture-buffers.js';
import { sleepSync } from '../sleep.js';
import { createRunCluster } from './private-cluster.js';

export interface Input {
  readonly cluster: Cluster;
  readonly description: string;
  /** what the user should know about this input (an AF_XDP device takes frames away from the kernel stack), or null */
  readonly notice: string | null;
  /** up to max buffer indices; when idle, blocks up to waitMs first */
  recv(out: Uint32Array, max: number, waitMs: number): number;
  /** hands buffers back (pool or return ring) */
  release(indices: Uint32Array, n: number): void;
  /** packets lost before they reached us (kernel drops, or drops at the queue we consume) */
  drops(): number;
  /** a finite input (a capture file) has delivered everything */
  ended(): boolean;
  /**
   * The filter to run in JS on each packet (queues, files, and `vlan`
   * expressions on standard devices), or null when there is none or it runs
   * in the kernel. Read it after each recv: a reload may change it.
   */
  jsFilter: FilterFunction | null;
  /**
   * where the filter runs, for the user: 'xdp', 'socket', 'js' or 'none', and
   * why when that is not obvious (a reload may move it: filter-place.ts)
   */
  readonly filterWhere: string;
  /** replaces the filter between bursts (SIGUSR1 with -F) */
  setFilter(f: CompiledFilter): void;
  /** link type of the packets (LINKTYPE_*: 1 = Ethernet) */
  readonly linktype: number;
  /** the device, when the input is one */
  readonly device: Device | null;
  close(): void;
}

/**
 * What to tell a user whose AF_XDP inputs (`where`: "eth0", "eth0 queue 1")
 * are open: the frames they take (all, or those a filter matches) no longer
 * reach the kernel's network stack, as with PF_RING ZC.
 */
export function stackNotice(where: readonly string[], filtered: boolean): string {
  return `while this runs, ${filtered ? 'the frames the filter matches' : 'all frames'} on ${where.join(', ')} go to ringzero instead of the kernel's network stack`;
}

/** zc:99@0 -> { cluster: 99, queue: 0 } (a numeric "interface" means a cluster queue, as in PF_RING). */
export function parseQueueSpec(spec: string): { cluster: number; queue: number } | null {
  const m = /^zc:(\d+)@(\d+)$/.exec(spec);
  return m ? { cluster: Number(m[1]), queue: Number(m[2]) } : null;
}

export { privateClusterId, privateClusterIdOf } from './private-cluster.js';

export interface InputOptions {
  clusterId?: number;
  buffers?: number;
  /** pcap: replay speed */
  speed?: number;
  /** tcpdump expression: compiled for the input's link type and placed as low as possible */
  filter?: string;
  /** tcpdump -B: the kernel capture buffer of a standard (AF_PACKET) device, in KiB (default CAPTURE_BUFFER_KIB) */
  bufferKiB?: number;
  /** bytes of each frame the command keeps (dump -s): the cluster buffers are sized to hold them (capture-buffers.ts) */
  snaplen?: number;
  /**
   * Runs once the cluster and its pool exist and before a network device
   * opens (not for files or queues): the capture commands warm their packet
   * path here (devices/synthetic.ts), when no frame can be lost yet.
   */
  beforeOpen?: (cluster: Cluster, pool: BufferPool) => void;
}

/**
 * 32 MiB of TPACKET_V3 ring for the capture commands: about 230k small frames,
 * 0.35 s at 0.65 Mpps. The device default (8 MiB) lost ~15k frames at the
 * start of a capture on veth at that rate (the first ~100 ms, while the packet
 * loop is still being JIT-compiled on the same CPU); 32 MiB lost none.
 */
export const CAPTURE_BUFFER_KIB = 32 * 1024;

/**
 * AF_XDP RX ring (and fill depth) of the capture commands: 8192 frames, 6 ms at 1.3 Mpps, enough
 * for a GC pause or a 1 MiB write (0.5 ms on tmpfs). Not enough for the first ~100 ms of a fresh
 * process, whose packet loop V8 has not compiled yet: the commands warm it up before the device
 * opens (beforeOpen, devices/synthetic.ts).
 */
const CAPTURE_RING_FRAMES = 8192;

/**
 * A ring of `kib` KiB as TPACKET_V3 blocks. At low rates the kernel hands
 * over a block when its timeout expires, however few frames it holds, so the
 * ring lasts (blocks x timeout), not (bytes / rate): 64 blocks (64 KiB to 1 MiB
 * each) retired after 10 ms last 640 ms even at a trickle. 10 ms is also the
 * longest a frame waits in a part-filled block (tcpdump's libpcap waits up to
 * its 1000 ms read timeout).
 */
export function ringBlocks(kib: number): { blockSize: number; blockCount: number; blockTimeoutMs: number } {
  const bytes = kib * 1024;
  let blockSize = 1 << 20;
  while (blockSize > 64 * 1024 && blockSize * 64 > bytes) blockSize /= 2;
  return { blockSize, blockCount: Math.max(2, Math.floor(bytes / blockSize)), blockTimeoutMs: 10 };
}

/** -B KiB: 64 KiB to 4 GiB (the kernel caps a ring at what it can allocate; a refusal names the size). */
export function bufferKiBFlag(a: Parsed): number | undefined {
  return a['buffer-size'] === undefined ? undefined : intFlag(a, 'buffer-size', 0, 64, 4 * 1024 * 1024);
}

/**
 * zc:4713 with no interface of that name: PF_RING's cluster queue syntax
 * without its @QUEUE. Said as such instead of "no interface named 4713".
 */
export function checkQueueSpec(spec: string): void {
  const m = /^zc:(\d+)$/.exec(spec);
  if (m && ifindexOrZero(m[1]) === 0) {
    throw new UsageError(`${spec}: a queue of cluster ${m[1]} needs @QUEUE, e.g. -i ${spec}@0 (and there is no network interface named '${m[1]}')`);
  }
}

export function openInput(spec: string, o: InputOptions = {}): Input {
  const q = parseQueueSpec(spec);
  if (q) return queueInput(q.cluster, q.queue, o.filter);
  checkQueueSpec(spec);
  const sizing = captureBuffers(spec, o.snaplen);
  const cluster = createRunCluster(o.clusterId, { buffers: o.buffers ?? sizing.buffers, bufferSize: sizing.bufferSize, hugepages: 'auto' });
  let pool: BufferPool | null = null;
  let dev: Device | null = null;
  let fileFilter: FilterFunction | null = null;
  let kernelPlace: 'xdp' | 'none' = 'none';
  let packetFilter: PacketDeviceFilter | null = null;
  // what the device holds while the receive loop naps (see Coalescer); a file waits for us, but naps no longer than a ring would
  let capacity = CAPTURE_RING_FRAMES;
  let linktype = 1;
  try {
    pool = cluster.pool(0);
    if (spec.startsWith('pcap:')) {
      const pd = new PcapDevice(spec, spec.slice(5), { memory: cluster.memory, source: pool, speed: o.speed });
      dev = pd;
      linktype = pd.linkType;
      if (o.filter !== undefined) fileFilter = compileFor(o.filter, linktype).match;
    } else {
      const f = o.filter !== undefined ? compileFor(o.filter, 1) : null;
      const kib = o.bufferKiB ?? CAPTURE_BUFFER_KIB;
      o.beforeOpen?.(cluster, pool);
      dev = openDevice(spec, {
        memory: cluster.memory, source: pool, tx: false, ringSize: CAPTURE_RING_FRAMES, ...ringBlocks(kib),
        ...deviceFilterOptions(spec, f),
      });
      if (f && dev instanceof PacketDevice) packetFilter = new PacketDeviceFilter(dev, f);
      else if (f) kernelPlace = 'xdp';
      capacity = dev.rxCapacity;
    }
  } catch (e) {
    pool?.detach();
    cluster.close();
    throw e;
  }
  const d = dev;
  const p = pool;
  const coalesce = new Coalescer(capacity, sleepSync);
  const pf = packetFilter;
  const place = (): FilterPlace => (fileFilter ? 'js' : pf ? pf.place : kernelPlace);
  return {
    cluster,
    device: d,
    get jsFilter() { return pf ? pf.js : fileFilter; },
    get filterWhere() { return pf?.place === 'js' ? TAG_NOTE : place(); },
    linktype,
    setFilter(f) {
      if (fileFilter) fileFilter = f.match;
      else if (pf) pf.replace(f);
      else if (kernelPlace === 'none') throw new UsageError('no filter to replace');
      else if (d instanceof XdpDevice) d.setXdpFilter(f.xdpFunction(), 'pass');
      else throw new UsageError(`${spec}: this device cannot replace its filter while open`);
    },
    description: `${spec} (${d.mode}${d instanceof XdpDevice ? `, ${d.xdpAttach} XDP` : ''}${d.queues.length ? `, queue ${d.queues.join(',')}` : ''})`,
    notice: d instanceof XdpDevice ? stackNotice([`${d.ifname}${d.queues.length === 1 ? ` queue ${d.queues[0]}` : ''}`], kernelPlace === 'xdp') : null,
    recv(out, max, waitMs) {
      coalesce.before();
      pf?.beforeRecv();
      let n = d.recvBurst(out, max);
      if (n === 0 && waitMs > 0 && coalesce.idle()) {
        if (d.wait(waitMs)) n = d.recvBurst(out, max);
      }
      pf?.afterRecv(n, max);
      return coalesce.after(n, waitMs > 0);
    },
    release: (idx, n) => p.free(idx, n),
    drops: () => d.stats().kernelDrops,
    ended: () => d instanceof PcapDevice && d.ended,
    close() { d.close(); p.detach(); cluster.close(); },
  };
}

function queueInput(id: number, queue: number, filter?: string): Input {
  // Consumers only read packets: map them read-only, so a bug here cannot corrupt what other consumers see.
  const cluster = Cluster.attach(id, { readOnlyPackets: true });
  let jsFilter: FilterFunction | null = null;
  try {
    if (filter !== undefined) jsFilter = compileFor(filter, 1).match;
  } catch (e) {
    cluster.close();
    throw e;
  }
  let cons: QueueConsumer;
  try {
    cons = cluster.consumer(queue);
  } catch (e) {
    cluster.close();
    throw e;
  }
  const coalesce = new Coalescer(cluster.layout.queueSlots, sleepSync);
  return {
    cluster,
    device: null,
    jsFilter,
    filterWhere: jsFilter ? 'js' : 'none',
    linktype: 1,
    setFilter(f) { this.jsFilter = f.match; },
    description: `queue ${queue} of cluster ${id}`,
    notice: null,
    recv(out, max, waitMs) {
      coalesce.before();
      let n = cons.recvBurst(out, max);
      if (n === 0 && waitMs > 0 && coalesce.idle()) {
        n = cons.waitBurst(out, max, waitMs);
      }
      return coalesce.after(n, waitMs > 0);
    },
    release: (idx, n) => cons.release(idx, n),
    drops: () => cons.counters().dropFull,
    ended: () => false,
    close() { cons.close(); cluster.close(); },
  };
}
