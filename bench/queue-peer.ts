// The consuming side of bench/queue.ts, as a worker thread or a child process:
// dequeues `total` handles in bursts as fast as it can and reports its time.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { SpscRing } from '../src/zc/ring.js';
import { Cluster } from '../src/zc/cluster.js';
import { LINE_WORDS } from '../src/zc/ring.js';

export interface PeerJob { sab?: SharedArrayBuffer; clusterId?: number; ringOffset: number; size: number; total: number; burst: number; cpu?: number }

export function consumeRing(ring: SpscRing, total: number, burst: number): { ns: number; checksum: number } {
  const out = new Uint32Array(burst);
  let got = 0;
  let checksum = 0;
  const t0 = process.hrtime.bigint();
  while (got < total) {
    const n = ring.dequeueBurst(out, burst);
    if (n > 0) checksum = (checksum + out[n - 1]) >>> 0;
    got += n;
  }
  return { ns: Number(process.hrtime.bigint() - t0), checksum };
}

export function ringAt(sab: SharedArrayBuffer, offset: number, size: number): SpscRing {
  return new SpscRing({
    ctrl: new Uint32Array(sab, offset, LINE_WORDS * 2),
    prodWord: 0,
    consWord: LINE_WORDS,
    slots: new Uint32Array(sab, offset + LINE_WORDS * 8, size),
  });
}

async function pin(cpu: number | undefined): Promise<void> {
  if (cpu === undefined) return;
  const { native } = await import('../src/native/index.js');
  native.pinThread(cpu);
}

if (!isMainThread && workerData?.role === 'queue-peer') {
  const job = workerData as PeerJob;
  await pin(job.cpu);
  parentPort!.postMessage('ready');
  const r = consumeRing(ringAt(job.sab!, job.ringOffset, job.size), job.total, job.burst);
  parentPort!.postMessage(r);
} else if (isMainThread && process.argv[2] === 'queue-peer') {
  const job = JSON.parse(process.argv[3]) as PeerJob;
  await pin(job.cpu);
  const c = Cluster.attach(job.clusterId!);
  process.stdout.write('ready\n');
  const r = consumeRing(ringAt(c.memory.sab, job.ringOffset, job.size), job.total, job.burst);
  process.stdout.write(JSON.stringify(r) + '\n');
  c.close();
}
