// Consumer side of bench/balancer.ts, as a worker thread or a child process:
// receives and releases as fast as it can for `ms`, then reports the count.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Cluster, type ClusterHandle } from '../src/zc/cluster.js';
import { native } from '../src/native/index.js';

export interface PeerJob { handle?: ClusterHandle; clusterId?: number; queue: number; ms: number; cpu?: number }

function consume(c: Cluster, job: PeerJob): number {
  const cons = c.consumer(job.queue);
  const out = new Uint32Array(64);
  let got = 0;
  const end = Date.now() + job.ms;
  let spins = 0;
  for (;;) {
    const n = cons.recvBurst(out, 64);
    if (n > 0) { cons.release(out, n); got += n; }
    if ((++spins & 1023) === 0 && Date.now() > end) break;
  }
  cons.close();
  return got;
}

if (!isMainThread && workerData?.role === 'balancer-peer') {
  const job = workerData as PeerJob;
  if (job.cpu !== undefined) native.pinThread(job.cpu);
  const c = Cluster.fromHandle(job.handle!);
  parentPort!.postMessage({ got: consume(c, job) });
  c.close();
} else if (isMainThread && process.argv[2] === 'balancer-peer') {
  const job = JSON.parse(process.argv[3]) as PeerJob;
  if (job.cpu !== undefined) native.pinThread(job.cpu);
  const c = Cluster.attach(job.clusterId!);
  process.stdout.write(JSON.stringify({ got: consume(c, job) }) + '\n');
  c.close();
}
