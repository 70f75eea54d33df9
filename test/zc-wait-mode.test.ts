// Wait mode: an empty consumer sleeps on a futex (≈0% CPU) and a producer in
// another process wakes it within a millisecond.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Cluster } from '../src/zc/cluster.js';
import { META_LEN, META_WORDS } from '../src/zc/meta.js';
import { testClusterId } from './helpers/zc-procs.js';

const TICKS = 100; // USER_HZ on Linux
function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('an idle consumer process in wait mode uses < 5% CPU and wakes within 1 ms of a send', async () => {
  const id = testClusterId();
  const c = Cluster.create({ id, buffers: 256, queues: 1, queueLength: 64, hugepages: 'never' });
  const N = 40;
  const child = spawn(process.execPath, [new URL('./fixtures/zc-wait-child.js', import.meta.url).pathname, String(id), String(N)], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    const deadline = Date.now() + 10_000;
    while (!out.includes('ready') && Date.now() < deadline) await sleep(10);
    assert.ok(out.includes('ready'), 'consumer started');
    await sleep(200);
    const cpu0 = cpuMs(child.pid!);
    const t0 = Date.now();
    await sleep(2000);
    const idleCpu = (cpuMs(child.pid!) - cpu0) / (Date.now() - t0);
    assert.ok(idleCpu < 0.05, `idle consumer used ${(idleCpu * 100).toFixed(1)}% CPU`);

    const pool = c.pool(0);
    const prod = c.producer(0, pool);
    const words = new Uint32Array(c.memory.sab, 0, c.memory.sab.byteLength >>> 2);
    for (let i = 0; i < N; i++) {
      await sleep(20);
      pool.drain();
      const b = pool.allocOne();
      const w = c.dataOffset(b) >>> 2;
      c.memory.meta[b * META_WORDS + META_LEN] = 8;
      const now = process.hrtime.bigint();
      words[w] = Number(now >> 32n);
      words[w + 1] = Number(now & 0xffffffffn);
      assert.ok(prod.sendOne(b));
    }
    while ((out.match(/latency/g) ?? []).length < N && Date.now() < deadline + 10_000) await sleep(10);
    const lat = [...out.matchAll(/latency (\d+)/g)].map((m) => Number(m[1]) / 1e6).sort((a, b) => a - b);
    assert.equal(lat.length, N, 'every packet woke the consumer');
    const median = lat[Math.floor(N / 2)];
    const p90 = lat[Math.floor(N * 0.9)];
    const report = `wake latency ms: median ${median.toFixed(3)}, p90 ${p90.toFixed(3)}, max ${lat[N - 1].toFixed(3)}`;
    console.log(report);
    assert.ok(median < 1, report);
    assert.ok(p90 < 1, report);
    prod.close();
  } finally {
    child.kill('SIGKILL');
    c.close();
  }
});
