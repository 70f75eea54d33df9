// Runs INSIDE the guest VM: attaches to a host cluster by id (found on the
// ivshmem device), takes pool `pool`, and sends packets 0..packets-1
// (vm-packets.ts) on queue `queue` losslessly, pausing `pauseMs` halfway (the
// guest's registrations must stay alive on heartbeats alone meanwhile). Then
// waits for every buffer to come back. argv[2] is JSON { id, queue, pool,
// packets, pauseMs }. Prints "sent ID N" at the pause and "result ID JSON".
import { Cluster } from '../../src/zc/cluster.js';
import { META_LEN, META_WORDS } from '../../src/zc/meta.js';
import { fillPacket } from './vm-packets.js';

const o = JSON.parse(process.argv[2]) as { id: number; queue: number; pool: number; packets: number; pauseMs: number };
const c = Cluster.attach(o.id);
const pool = c.pool(o.pool);
const prod = c.producer(o.queue, pool);
const b = new Uint32Array(32);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function sendRange(from: number, to: number): Promise<number> {
  let seq = from;
  let accepted = 0;
  while (seq < to) {
    const want = Math.min(b.length, to - seq);
    if (prod.free < want) { pool.drain(); await sleep(1); continue; }
    const k = pool.alloc(b, want);
    if (k === 0) { await sleep(1); continue; }
    for (let i = 0; i < k; i++) c.memory.meta[b[i] * META_WORDS + META_LEN] = fillPacket(c.memory.bytes, c.dataOffset(b[i]), seq + i);
    accepted += prod.sendBurst(b, k);
    seq += k;
  }
  return accepted;
}

const half = Math.floor(o.packets / 2);
let accepted = await sendRange(0, half);
process.stdout.write(`sent ${o.id} ${half}\n`);
await sleep(o.pauseMs);
accepted += await sendRange(half, o.packets);
const deadline = Date.now() + 30_000;
while (pool.drain() < pool.size && Date.now() < deadline) await sleep(5);
process.stdout.write(`result ${o.id} ${JSON.stringify({ accepted, poolFree: pool.drain(), poolSize: pool.size })}\n`);
prod.close();
pool.detach();
c.close();
