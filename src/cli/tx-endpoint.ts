// Where `send` puts packets: a TX device, or a queue of another process's
// cluster (zc:CLUSTER@QUEUE, PF_RING's zsend to an IPC queue). The queue case
// takes ownership of the queue's pool and producer side; a full queue drops
// and counts, like a device's full TX ring.
import { Cluster } from '../zc/cluster.js';
import type { BufferPool } from '../zc/pool.js';
import type { QueueProducer } from '../zc/queue.js';
import { openDevice, type DeviceStats } from '../devices/index.js';
import { emptyStats } from '../devices/types.js';
import { linkState } from '../devices/iface.js';
import type { BufferMemory } from '../zc/meta.js';
import { parseQueueSpec, privateClusterId } from './endpoint.js';
import { UsageError } from './args.js';

export interface TxEndpoint {
  readonly name: string;
  readonly mode: string;
  readonly memory: BufferMemory;
  readonly pool: BufferPool;
  /** takes all n buffers; returns how many were accepted */
  sendBurst(indices: Uint32Array, n: number): number;
  /** kicks and reaps TX; returns buffers still in flight */
  flush(): number;
  stats(): DeviceStats;
  /** the device's interface: up, down (frames wait in the ring) or gone; a queue is always 'up' */
  linkState(): 'up' | 'down' | 'gone';
  close(): void;
}

export function openTx(spec: string, clusterId?: number): TxEndpoint {
  const q = parseQueueSpec(spec);
  if (q) return queueTx(q.cluster, q.queue);
  const cluster = Cluster.create({ id: clusterId ?? privateClusterId(), buffers: 8192, hugepages: 'auto' });
  const pool = cluster.pool(0);
  try {
    const d = openDevice(spec, { memory: cluster.memory, source: pool, rx: false });
    return {
      name: d.name, mode: d.mode, memory: cluster.memory, pool,
      sendBurst: (i, n) => d.sendBurst(i, n), flush: () => d.flush(), stats: () => d.stats(),
      linkState: () => linkState(d.ifname, d.ifindex),
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
  return {
    name: `zc:${id}@${queue}`, mode: 'queue', memory: cluster.memory, pool: pl,
    sendBurst(i, n) {
      const k = p.sendBurst(i, n);
      st.sent += k;
      st.txRingFull += n - k;
      return k;
    },
    flush() { p.maintain(); pl.drain(); return 0; },
    stats: () => ({ ...st }),
    linkState: () => 'up',
    close() { p.close(); pl.detach(); cluster.close(); },
  };
}
