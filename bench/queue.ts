// npm run bench -- queue
// Handles per second through ringzero's SPSC ring, thread->thread and
// process->process, at bursts 1, 32 and 256, side by side in the same run with
// DPDK's rte_ring (dpdk-test ring_perf_autotest, "two physical cores" SP/SC
// bulk rows, cycles per element converted with the TSC frequency).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { Cluster } from '../src/zc/cluster.js';
import { native } from '../src/native/index.js';
import { ringAt, type PeerJob } from './queue-peer.js';
import { LINE_WORDS } from '../src/zc/ring.js';
import { printTable, machineLine } from './report.js';

const SIZE = 4096;
const RING_BYTES = LINE_WORDS * 8 + SIZE * 4;

interface Row { name: string; burst: number; mode: string; mhandles_s: number; ns_per_handle: number }

function produce(sab: SharedArrayBuffer, total: number, burst: number): number {
  const ring = ringAt(sab, 0, SIZE);
  const src = new Uint32Array(burst);
  for (let i = 0; i < burst; i++) src[i] = i;
  let sent = 0;
  const t0 = process.hrtime.bigint();
  while (sent < total) {
    const want = Math.min(burst, total - sent);
    sent += ring.enqueueBulk(src, want);
  }
  return Number(process.hrtime.bigint() - t0);
}

async function threadRun(total: number, burst: number): Promise<number> {
  const sab = new SharedArrayBuffer(RING_BYTES);
  const job: PeerJob & { role: string } = { role: 'queue-peer', sab, ringOffset: 0, size: SIZE, total, burst, cpu: 1 };
  const w = new Worker(new URL('./queue-peer.js', import.meta.url), { workerData: job });
  await new Promise((r) => w.once('message', r));
  native.pinThread(0);
  const result = new Promise<{ ns: number }>((r) => w.once('message', r));
  produce(sab, total, burst);
  const { ns } = await result;
  await w.terminate();
  return ns;
}

async function processRun(total: number, burst: number, id: number): Promise<number> {
  const c = Cluster.create({ id, buffers: 64, queues: 1, queueLength: SIZE, hugepages: 'auto' });
  try {
    // The queue's forward ring: PROD/CONS at the start of the queue block.
    const off = c.layout.queuesOffset;
    const job: PeerJob = { clusterId: id, ringOffset: off, size: SIZE, total, burst, cpu: 1 };
    const child = spawn(process.execPath, [new URL('./queue-peer.js', import.meta.url).pathname, 'queue-peer', JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    while (!out.includes('ready')) await new Promise((r) => setTimeout(r, 5));
    native.pinThread(0);
    const ring = ringAt(c.memory.sab, off, SIZE);
    const src = new Uint32Array(burst);
    let sent = 0;
    while (sent < total) sent += ring.enqueueBulk(src, Math.min(burst, total - sent));
    await new Promise((r) => child.once('exit', r));
    return JSON.parse(out.split('\n')[1]).ns;
  } finally {
    c.close();
  }
}

function tscHz(): number {
  const m = /cpu MHz\s*:\s*([\d.]+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  return m ? Number(m[1]) * 1e6 : NaN;
}

/** rte_ring two-core SP/SC bulk, cycles/element -> handles/s. Best of `runs`. */
function dpdkRing(runs: number): Row[] {
  if (!existsSync('/usr/bin/dpdk-test')) return [];
  const best = new Map<number, number>();
  for (let i = 0; i < runs; i++) {
    let text = '';
    try {
      text = execFileSync('dpdk-test', ['--no-huge', '-m', '256', '--no-pci', '-l', '0-1', '--log-level=lib.eal:error'], { input: 'ring_perf_autotest\n', encoding: 'utf8', timeout: 120_000, stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (e) {
      text = String((e as { stdout?: string }).stdout ?? '');
    }
    const section = text.split('### Testing using two physical cores ###')[1] ?? '';
    for (const m of section.split('###')[0].matchAll(/legacy APIs: SP\/SC: bulk \(size: (\d+)\): ([\d.]+)/g)) {
      const size = Number(m[1]);
      const cyc = Number(m[2]);
      best.set(size, Math.min(best.get(size) ?? Infinity, cyc));
    }
  }
  const hz = tscHz();
  return [...best].map(([size, cyc]) => ({ name: 'rte_ring (dpdk-test)', burst: size, mode: 'thread->thread', mhandles_s: hz / cyc / 1e6, ns_per_handle: (cyc / hz) * 1e9 }));
}

export async function benchQueue(opts: { quick?: boolean } = {}): Promise<{ rows: Row[]; ratio: number }> {
  const rows: Row[] = [];
  const runs = opts.quick ? 1 : 3;
  const id = 0x5a000000 + (process.pid & 0xffff);
  for (const burst of [1, 32, 256]) {
    const total = burst === 1 ? 5e6 : 4e7;
    for (const mode of ['thread->thread', 'process->process']) {
      let best = Infinity;
      for (let r = 0; r < runs; r++) best = Math.min(best, mode === 'thread->thread' ? await threadRun(total, burst) : await processRun(total, burst, id + r));
      rows.push({ name: 'ringzero SpscRing', burst, mode, mhandles_s: (total / best) * 1e3, ns_per_handle: best / total });
    }
  }
  const dpdk = dpdkRing(runs);
  rows.push(...dpdk);
  const ours = rows.find((r) => r.name.startsWith('ringzero') && r.burst === 32 && r.mode === 'thread->thread')!;
  const theirs = dpdk.find((r) => r.burst === 32);
  return { rows, ratio: theirs ? ours.mhandles_s / theirs.mhandles_s : NaN };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const { rows, ratio } = await benchQueue({ quick: process.argv.includes('--quick') });
  console.log(machineLine());
  printTable(rows.map((r) => ({ ...r, mhandles_s: r.mhandles_s.toFixed(1), ns_per_handle: r.ns_per_handle.toFixed(2) })));
  console.log(`ringzero / rte_ring at burst 32, thread->thread: ${ratio.toFixed(2)}x (goal >= 0.8x)`);
  console.log(JSON.stringify({ bench: 'queue', rows, ratio_vs_rte_ring_burst32: ratio }));
}
