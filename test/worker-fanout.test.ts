// Fanout hands every packet to every output without copying (shared buffers
// under holder masks), or to a function's choice of outputs, or one output
// per group (multi-application); the pool is exactly full afterwards, even
// when a consumer holding shared buffers is killed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Cluster } from '../src/zc/cluster.js';
import { startFanout, prefillPool } from '../src/workers/index.js';
import { PacketInfo, FLOW_HASHES } from '../src/net/index.js';
import { testClusterId } from './helpers/zc-procs.js';
import { flowTemplate, inThread, type ConsumeFlowsResult, type ProduceFlowsResult } from './fixtures/worker-roles.js';
import { flowFrame, u8 } from './fixtures/net-frames.js';

function consumers(c: Cluster, queues: number[], opts: object): { total: Int32Array; stop: Int32Array; results: Promise<ConsumeFlowsResult[]> } {
  const total = new Int32Array(new SharedArrayBuffer(8));
  const stop = new Int32Array(new SharedArrayBuffer(4));
  return { total, stop, results: Promise.all(queues.map((q) => inThread<ConsumeFlowsResult>(c, 'consume', { queue: q, expectTotal: -1, total, stop, trailer: false, ...opts }))) };
}

async function until(cond: () => boolean, ms = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Frames whose last two bytes stamp the buffer they were written into. */
function stampedFrames(n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => u8(flowFrame(`10.0.${(i >> 8) & 255}.${i & 255}`, '10.9.9.9', 1000 + (i % 50000), 80, 17, [0x11, i >> 8, i & 255])));
}

const drained = (c: Cluster, queues: number[]) => queues.every((q) => c.queueCounters(q).queued === 0);

test('fanout: every packet reaches every consumer, the same buffers (not copies), and the pool is exactly full after', async () => {
  const c = Cluster.create({ id: testClusterId(), buffers: 1024, queues: 3, queueLength: 1024, hugepages: 'never' });
  try {
    prefillPool(c, 0, stampedFrames(1024));
    const N = 50_000;
    const cons = consumers(c, [0, 1, 2], { indexStamp: true });
    const fan = startFanout(c, { inputs: [{ kind: 'memory', count: N }], outputs: [0, 1, 2], pool: 0 });
    await fan.ready;
    await until(() => fan.stats().received === N && drained(c, [0, 1, 2]));
    Atomics.store(cons.stop, 0, 1);
    const res = await cons.results;
    const st = await fan.stop();
    res.forEach((r, i) => assert.deepEqual(r.errors, [], `consumer ${i}`));
    assert.deepEqual(res.map((r) => r.received), [N, N, N]);
    assert.ok(res.every((r) => r.indexSum === res[0].indexSum), 'the three consumers got the same buffers');
    assert.equal(st.sent, 3 * N);
    assert.equal(st.copied, 0);
    assert.deepEqual(st.drops, { fn: 0, full: 0, invalid: 0, error: 0, noBuffer: 0 });
    assert.deepEqual(st.pool, { free: 1024, size: 1024 }, 'pool count exact');
  } finally {
    c.close();
  }
});

test('fanout with a function: the returned mask picks the outputs, 0 drops (counted), bits beyond the outputs are invalid', async () => {
  const c = Cluster.create({ id: testClusterId(), buffers: 512, queues: 2, queueLength: 512, hugepages: 'never' });
  try {
    prefillPool(c, 0, stampedFrames(512));
    const N = 20_000;
    const total = new Int32Array(new SharedArrayBuffer(8));
    const stop = new Int32Array(new SharedArrayBuffer(4));
    const allow = ['(b) => b % 5 === 1 || b % 5 === 3', '(b) => b % 5 === 2 || b % 5 === 3'];
    const cons = { stop, results: Promise.all([0, 1].map((q) => inThread<ConsumeFlowsResult>(c, 'consume', { queue: q, expectTotal: -1, total, stop, trailer: false, allow: allow[q] }))) };
    // index % 5: 0 -> drop, 1 -> output 0, 2 -> output 1, 3 -> both, 4 -> bit 2 (no such output)
    const fan = startFanout(c, { inputs: [{ kind: 'memory', count: N }], outputs: [0, 1], pool: 0, fn: { source: '(p) => [0, 1, 2, 3, 4][p.index % 5]' } });
    await fan.ready;
    await until(() => fan.stats().received === N && drained(c, [0, 1]));
    Atomics.store(cons.stop, 0, 1);
    const [r0, r1] = await cons.results;
    const st = await fan.stop();
    assert.equal(st.received, N);
    assert.ok(st.drops.fn > 0 && st.drops.invalid > 0);
    assert.equal(r0.received + r1.received, st.sent);
    assert.equal(st.outputs[0].sent, r0.received);
    assert.deepEqual(st.pool, { free: 512, size: 512 });
    assert.deepEqual([...r0.errors, ...r1.errors], [], 'each output got only the buffers its bit was set for');
    assert.ok(r0.received > 0 && r1.received > 0);
  } finally {
    c.close();
  }
});

test('multi-application groups 2,3: each group gets every packet once, balanced by the 5-tuple inside the group, flows kept together', async () => {
  const c = Cluster.create({ id: testClusterId(), buffers: 1024, queues: 5, queueLength: 1024, hugepages: 'never' });
  try {
    const F = 64;
    prefillPool(c, 0, Array.from({ length: 2 * F }, (_, i) => flowTemplate(i % F, i < F ? 0 : 1)));
    const N = 40_000;
    const cons = consumers(c, [0, 1, 2, 3, 4], { trailer: true, noSeq: true });
    const fan = startFanout(c, { inputs: [{ kind: 'memory', count: N }], outputs: [0, 1, 2, 3, 4], groups: [2, 3], pool: 0, mode: 'five-tuple' });
    await fan.ready;
    await until(() => fan.stats().received === N && drained(c, [0, 1, 2, 3, 4]));
    Atomics.store(cons.stop, 0, 1);
    const res = await cons.results;
    const st = await fan.stop();
    res.forEach((r, i) => assert.deepEqual(r.errors, [], `consumer ${i}`));
    assert.equal(res[0].received + res[1].received, N, 'group 1 got every packet once');
    assert.equal(res[2].received + res[3].received + res[4].received, N, 'group 2 got every packet once');
    const info = new PacketInfo();
    const groups = [[0, 1], [2, 3, 4]];
    for (const g of groups) {
      const where = new Map<number, number>();
      for (const qi of g) {
        for (const [f, d, , hash] of res[qi].flows) {
          const t = flowTemplate(f, d);
          assert.equal(hash, FLOW_HASHES['five-tuple'](t, 0, t.length, info));
          assert.equal(g[hash % g.length], qi, `flow ${f} in the queue its hash names`);
          if (where.has(f)) assert.equal(where.get(f), qi, `flow ${f}: both directions together`);
          where.set(f, qi);
        }
      }
      assert.ok(g.every((qi) => res[qi].received > 0), `every queue of group ${g} used`);
    }
    assert.equal(st.sent, 2 * N);
    assert.deepEqual(st.pool, { free: 1024, size: 1024 });
  } finally {
    c.close();
  }
});

test('fanout over a queue input copies once into its own pool; both pools are exactly full after', async () => {
  const c = Cluster.create({ id: testClusterId(), buffers: 2048, pools: 2, queues: 3, queuePools: [0, 1, 1], queueLength: 1024, hugepages: 'never' });
  try {
    const N = 32_000;
    const cons = consumers(c, [1, 2], { trailer: true });
    const fan = startFanout(c, { inputs: [0], outputs: [1, 2], pool: 1 });
    await fan.ready;
    const prod = await inThread<ProduceFlowsResult>(c, 'produce', { queue: 0, flows: 16, total: N, burst: 32 });
    await until(() => fan.stats().received === N && drained(c, [1, 2]));
    Atomics.store(cons.stop, 0, 1);
    const res = await cons.results;
    const st = await fan.stop();
    res.forEach((r, i) => assert.deepEqual(r.errors, [], `consumer ${i}: flows in order`));
    // Output queues are as long as the fanout's pool, so none is ever full; an empty pool drops (noBuffer).
    assert.equal(st.copied + st.drops.noBuffer, N);
    assert.equal(st.drops.full, 0);
    assert.deepEqual(res.map((r) => r.received), [st.copied, st.copied]);
    assert.equal(res[0].received, st.outputs[0].sent);
    assert.equal(res[1].received, st.outputs[1].sent);
    assert.equal(prod.poolFreeAtEnd, prod.poolSize, 'producer pool full');
    assert.deepEqual(st.pool, { free: 1024, size: 1024 }, 'fanout pool full');
  } finally {
    c.close();
  }
});

test('a consumer process killed while holding shared buffers: the fanout reclaims them and the pool is exactly full after', async () => {
  const id = testClusterId();
  const c = Cluster.create({ id, buffers: 512, queues: 2, queueLength: 256, hugepages: 'never', livenessIntervalMs: 50 });
  try {
    prefillPool(c, 0, stampedFrames(512));
    const HOLD = 40;
    const child = spawn(process.execPath, [new URL('./fixtures/worker-hold-child.js', import.meta.url).pathname, JSON.stringify({ id, queue: 1, hold: HOLD })], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    const cons0 = consumers(c, [0], { indexStamp: true });
    const fan = startFanout(c, { inputs: [{ kind: 'memory', count: 0 }], outputs: [0, 1], pool: 0 });
    await fan.ready;
    await until(() => out.includes(`held ${HOLD}`));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    await until(() => fan.stats().reclaimedShared > 0, 10_000);
    // A new consumer takes over queue 1 and drains it.
    const cons1 = consumers(c, [1], { indexStamp: true });
    await new Promise((r) => setTimeout(r, 200));
    const st = await fan.stop();
    await until(() => drained(c, [0, 1]));
    Atomics.store(cons0.stop, 0, 1);
    Atomics.store(cons1.stop, 0, 1);
    const [r0] = await cons0.results;
    const [r1] = await cons1.results;
    assert.deepEqual([...r0.errors, ...r1.errors], []);
    assert.equal(st.reclaimedShared, HOLD, 'exactly the buffers the dead consumer held');
    assert.equal(st.reclaimRaces, 0);
    assert.equal(c.queueCounters(1).reclaims, 1);
    assert.ok(r1.received > 0, 'the new consumer got packets');
    assert.deepEqual(st.pool, { free: 512, size: 512 }, 'pool count exact after the kill');
  } finally {
    c.close();
  }
});
