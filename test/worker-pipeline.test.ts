// Pipeline stages: a thread stage and a process stage (attached by cluster
// id) chained by queues; a function that drops, a pass-through stage and a
// last stage; counts exact and every buffer back in the producer's pool.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../src/zc/cluster.js';
import { startStage, startStageProcess } from '../src/workers/index.js';
import { testClusterId } from './helpers/zc-procs.js';
import { inThread, type ConsumeFlowsResult, type ProduceFlowsResult } from './fixtures/worker-roles.js';

async function until(cond: () => boolean, ms = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('producer -> thread stage (drops IPv6 flows) -> process stage (pass-through) -> consumer: exact counts, order kept, pool full', async () => {
  const id = testClusterId();
  // Queues as long as the pool: nothing can be refused, so the counts are exact.
  const c = Cluster.create({ id, buffers: 1024, queues: 3, queueLength: 1024, hugepages: 'never' });
  const F = 16; // flows 3, 7, 11, 15 are IPv6 (worker-roles.ts)
  const N = 64_000;
  try {
    const total = new Int32Array(new SharedArrayBuffer(8));
    const consumer = inThread<ConsumeFlowsResult>(c, 'consume', { queue: 2, expectTotal: N * 3 / 4, total, trailer: true });
    const s2 = startStageProcess(id, { input: 1, output: 2 });
    const s1 = startStage(c, { input: 0, output: 1, fn: { source: '(p) => p.parse().ip.version === 6 ? -1 : 0' } });
    await Promise.all([s1.ready, s2.ready]);
    const prod = await inThread<ProduceFlowsResult>(c, 'produce', { queue: 0, flows: F, total: N, burst: 32 });
    const res = await consumer;
    await until(() => s2.stats().received === N * 3 / 4);
    const [st1, st2] = await Promise.all([s1.stop(), s2.stop()]);
    assert.deepEqual(res.errors, [], 'flows arrive complete and in order');
    assert.equal(res.received, N * 3 / 4);
    assert.ok(res.flows.every(([f]) => f % 4 !== 3), 'no IPv6 flow got through');
    assert.equal(st1.received, N);
    assert.equal(st1.drops.fn, N / 4);
    assert.equal(st1.sent, N * 3 / 4);
    assert.equal(st2.received, N * 3 / 4);
    assert.equal(st2.sent, N * 3 / 4);
    assert.equal(st2.state, 'stopped');
    assert.equal(prod.poolFreeAtEnd, prod.poolSize, 'every buffer back in the producer pool');
  } finally {
    c.close();
  }
});

test('a last stage (no output) runs its function on every packet and releases it', async () => {
  const c = Cluster.create({ id: testClusterId(), buffers: 512, queues: 1, queueLength: 512, hugepages: 'never' });
  try {
    const N = 10_000;
    const last = startStage(c, { input: 0, fn: { source: '(p) => (p.length > 0 ? 0 : -1)' } });
    await last.ready;
    const prod = await inThread<ProduceFlowsResult>(c, 'produce', { queue: 0, flows: 8, total: N, burst: 16 });
    const st = await last.stop();
    assert.equal(st.received, N);
    assert.equal(st.consumed, N);
    assert.equal(st.sent, 0);
    assert.equal(prod.poolFreeAtEnd, prod.poolSize);
  } finally {
    c.close();
  }
});
