// npm run bench -- balancer [--quick]
// Packets per second through one balancer core: an in-memory source (a pool
// of prefilled frames of 1024 UDP/TCP flows, IPv4 and IPv6, no kernel) ->
// balancer worker (symmetric 5-tuple hash, META_HASH written) -> 2 consumer
// queues, consumers as threads and as processes. The balancer recycles the
// buffers the consumers return (pool drain), as it would for a device; the
// pool hands the most recently returned buffers out first, so their headers
// are still in cache. The "cold headers" row measures the classification
// over the whole pool in turn instead, as a device's FIFO ring presents it.
// Anchors: ixy.js forwarded 4.95 Mpps per core; goal >= 20 Mpps per balancer core.
import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { cpus } from 'node:os';
import { Cluster } from '../src/zc/cluster.js';
import { prefillPool, startBalancer, type HashMode } from '../src/workers/index.js';
import { makePicker } from '../src/workers/balancer.js';
import { printTable, machineLine } from './report.js';
import type { PeerJob } from './balancer-peer.js';
import { flowFrame } from '../test/fixtures/net-frames.js';

interface Row { consumers: string; mode: HashMode; mpps: number; ns_per_packet: number; delivered_mpps: number; drop_full_pct: number }

function frames(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let f = 0; f < 1024; f++) {
    const v6 = f % 4 === 3;
    const a = v6 ? `2001:db8::${f.toString(16)}` : `10.${f >> 8}.${f & 255}.1`;
    const b = v6 ? '2001:db8:1::1' : '192.168.0.1';
    out.push(Uint8Array.from(flowFrame(a, b, 1024 + f, f % 2 ? 443 : 53, f % 2 ? 6 : 17, new Array(18).fill(0))));
  }
  return out;
}

function peerThread(c: Cluster, job: PeerJob): Promise<number> {
  const w = new Worker(new URL('./balancer-peer.js', import.meta.url), { workerData: { ...job, role: 'balancer-peer', handle: c.handle() } });
  return new Promise((res, rej) => { w.once('message', (m) => res(m.got)); w.once('error', rej); });
}

function peerProcess(id: number, job: PeerJob): Promise<number> {
  const child = spawn(process.execPath, [new URL('./balancer-peer.js', import.meta.url).pathname, 'balancer-peer', JSON.stringify({ ...job, clusterId: id })], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  return new Promise((res, rej) => child.once('exit', (code) => (code === 0 ? res(JSON.parse(out).got) : rej(new Error(`peer exited ${code}`)))));
}

async function run(id: number, consumers: 'threads' | 'processes', mode: HashMode, ms: number): Promise<Row> {
  const c = Cluster.create({ id, buffers: 8192, queues: 2, queueLength: 4096, hugepages: 'auto' });
  try {
    prefillPool(c, 0, frames());
    const ncpu = cpus().length;
    const balCpu = ncpu > 1 ? 1 : 0;
    const job = (q: number): PeerJob => ({ queue: q, ms: ms + 600, cpu: 0 });
    const peers = consumers === 'threads' ? [peerThread(c, job(0)), peerThread(c, job(1))] : [peerProcess(id, job(0)), peerProcess(id, job(1))];
    await new Promise((r) => setTimeout(r, consumers === 'processes' ? 150 : 50)); // let consumers attach
    const bal = startBalancer(c, { inputs: [{ kind: 'memory' }], outputs: [0, 1], pool: 0, mode, busy: true, cpu: balCpu });
    await bal.ready;
    await new Promise((r) => setTimeout(r, 300)); // warm-up: JIT, caches
    const a = bal.stats();
    const t0 = process.hrtime.bigint();
    await new Promise((r) => setTimeout(r, ms));
    const b = bal.stats();
    const ns = Number(process.hrtime.bigint() - t0);
    await bal.stop();
    await Promise.all(peers);
    const received = b.received - a.received;
    const sent = b.sent - a.sent;
    return {
      consumers, mode,
      mpps: (received / ns) * 1e3,
      ns_per_packet: ns / received,
      delivered_mpps: (sent / ns) * 1e3,
      drop_full_pct: received > 0 ? ((b.drops.full - a.drops.full) / received) * 100 : 0,
    };
  } finally {
    c.close();
  }
}

/**
 * The balancer's per-packet work on one core with nothing else running:
 * take a burst from the pool, hash and pick an output for each packet,
 * give the burst back. An upper bound for the balancer core (no queue traffic).
 */
function classifyOnly(id: number, mode: HashMode, ms: number, cold = false): Row {
  const c = Cluster.create({ id, buffers: 8192, queues: 2, queueLength: 4096, hugepages: 'auto' });
  try {
    prefillPool(c, 0, frames());
    const pool = c.pool(0);
    const picker = makePicker(c, mode, null, 2, false);
    const b = new Uint32Array(32);
    let x = 0;
    let n = 0;
    let next = 0;
    let t0 = process.hrtime.bigint();
    const run = (until: bigint) => {
      while (process.hrtime.bigint() < until) {
        for (let r = 0; r < 256; r++) {
          const k = pool.alloc(b, 32);
          if (cold) {
            // every buffer of the pool in turn, as a device's FIFO ring presents them: headers and metadata not in cache
            for (let i = 0; i < k; i++) { x += picker.pick(next); next = next + 1 === 8192 ? 0 : next + 1; }
          } else for (let i = 0; i < k; i++) x += picker.pick(b[i]);
          pool.free(b, k);
          n += k;
        }
      }
    };
    run(t0 + 300_000_000n); // warm-up
    n = 0;
    t0 = process.hrtime.bigint();
    run(t0 + BigInt(ms) * 1_000_000n);
    const ns = Number(process.hrtime.bigint() - t0);
    pool.detach();
    if (x < 0) console.log(x);
    return { consumers: cold ? 'none (classify only, cold headers)' : 'none (classify only)', mode, mpps: (n / ns) * 1e3, ns_per_packet: ns / n, delivered_mpps: 0, drop_full_pct: 0 };
  } finally {
    c.close();
  }
}

export async function benchBalancer(opts: { quick?: boolean } = {}): Promise<{ rows: Row[] }> {
  const ms = opts.quick ? 700 : 2000;
  const id = 0x5b000000 + (process.pid & 0xffff);
  const rows: Row[] = [];
  let k = 0;
  rows.push(classifyOnly(id + k++, 'five-tuple', ms));
  rows.push(classifyOnly(id + k++, 'five-tuple', ms, true));
  for (const [consumers, mode] of [['threads', 'five-tuple'], ['processes', 'five-tuple'], ['threads', 'round-robin']] as const) {
    rows.push(await run(id + k++, consumers, mode, ms));
  }
  return { rows };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const { rows } = await benchBalancer({ quick: process.argv.includes('--quick') });
  console.log(machineLine());
  printTable(rows.map((r) => ({ ...r, mpps: r.mpps.toFixed(2), ns_per_packet: r.ns_per_packet.toFixed(1), delivered_mpps: r.delivered_mpps.toFixed(2), drop_full_pct: r.drop_full_pct.toFixed(1) })));
  const best = rows.find((r) => r.mode === 'five-tuple' && r.consumers === 'threads')!;
  console.log(`balancer core, 5-tuple hash: ${best.mpps.toFixed(2)} Mpps (goal >= 20; ixy.js forwarding: 4.95 Mpps/core)`);
  const { benchBalanceVeth } = await import('./balancer-veth.js');
  const veth = await benchBalanceVeth(process.argv.includes('--quick') ? 2 : 3);
  if (veth.rows.length > 0) {
    console.log('\nveth, zc: input, same generator (ringzero send, top speed, 64 flows):');
    printTable(veth.rows.map((r) => ({ ...r, mpps: r.mpps.toFixed(3) })));
    console.log(`balance-to-2-consumers / plain count: ${veth.ratio.toFixed(2)} (goal >= 0.9)`);
  } else console.log('\nveth rows skipped: they need root');
  console.log(JSON.stringify({ bench: 'balancer', rows, goal_mpps: 20, ixy_js_mpps_per_core: 4.95, veth: veth.rows, veth_ratio: veth.ratio }));
}
