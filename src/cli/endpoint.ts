// What `-i` names: a device (zc:IFACE[@Q], IFACE, pcap:FILE) on a private cluster, or a
// queue of another process's cluster (zc:CLUSTER@QUEUE, numeric cluster id).
import { Cluster } from '../zc/cluster.js';
import type { BufferPool } from '../zc/pool.js';
import type { QueueConsumer } from '../zc/consumer.js';
import { openDevice, type Device, type OpenDeviceOptions } from '../devices/index.js';
import { PcapDevice } from '../devices/pcap.js';

export interface Input {
  readonly cluster: Cluster;
  readonly description: string;
  /** up to max buffer indices; when idle, blocks up to waitMs first */
  recv(out: Uint32Array, max: number, waitMs: number): number;
  /** hands buffers back (pool or return ring) */
  release(indices: Uint32Array, n: number): void;
  /** packets lost before they reached us (kernel drops, or drops at the queue we consume) */
  drops(): number;
  /** a finite input (a capture file) has delivered everything */
  ended(): boolean;
  /** the device, when the input is one */
  readonly device: Device | null;
  close(): void;
}

/** zc:99@0 -> { cluster: 99, queue: 0 } (a numeric "interface" means a cluster queue, as in PF_RING). */
export function parseQueueSpec(spec: string): { cluster: number; queue: number } | null {
  const m = /^zc:(\d+)@(\d+)$/.exec(spec);
  return m ? { cluster: Number(m[1]), queue: Number(m[2]) } : null;
}

/** A cluster id for a command's private cluster (unlikely to collide with user ids). */
export function privateClusterId(): number {
  return 0x40000000 + (process.pid & 0x3fffffff);
}

export function openInput(spec: string, o: { clusterId?: number; buffers?: number; speed?: number; device?: Partial<OpenDeviceOptions> } = {}): Input {
  const q = parseQueueSpec(spec);
  if (q) return queueInput(q.cluster, q.queue);
  const cluster = Cluster.create({ id: o.clusterId ?? privateClusterId(), buffers: o.buffers ?? 16384, hugepages: 'auto' });
  let pool: BufferPool | null = null;
  let dev: Device | null = null;
  try {
    pool = cluster.pool(0);
    dev = spec.startsWith('pcap:')
      ? new PcapDevice(spec, spec.slice(5), { memory: cluster.memory, source: pool, speed: o.speed })
      : openDevice(spec, { memory: cluster.memory, source: pool, tx: false, ...o.device });
  } catch (e) {
    pool?.detach();
    cluster.close();
    throw e;
  }
  const d = dev;
  const p = pool;
  return {
    cluster,
    device: d,
    description: `${spec} (${d.mode}${d.queues.length ? `, queue ${d.queues.join(',')}` : ''})`,
    recv(out, max, waitMs) {
      let n = d.recvBurst(out, max);
      if (n === 0 && waitMs > 0 && d.wait(waitMs)) n = d.recvBurst(out, max);
      return n;
    },
    release: (idx, n) => p.free(idx, n),
    drops: () => d.stats().kernelDrops,
    ended: () => d instanceof PcapDevice && d.ended,
    close() { d.close(); p.detach(); cluster.close(); },
  };
}

function queueInput(id: number, queue: number): Input {
  const cluster = Cluster.attach(id);
  let cons: QueueConsumer;
  try {
    cons = cluster.consumer(queue);
  } catch (e) {
    cluster.close();
    throw e;
  }
  return {
    cluster,
    device: null,
    description: `queue ${queue} of cluster ${id}`,
    recv: (out, max, waitMs) => (waitMs > 0 ? cons.waitBurst(out, max, waitMs) : cons.recvBurst(out, max)),
    release: (idx, n) => cons.release(idx, n),
    drops: () => cons.counters().dropFull,
    ended: () => false,
    close() { cons.close(); cluster.close(); },
  };
}
