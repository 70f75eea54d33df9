// Buffers circulate between a producer thread, two consumer threads and two
// consumer processes for 1e7 packets: every buffer stamped and checked, none
// lost or duplicated, the pool exactly full at the end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../src/zc/cluster.js';
import { runInProcess, runInThread, testClusterId } from './helpers/zc-procs.js';
import type { ConsumeResult, ProduceResult } from './fixtures/zc-roles.js';

const TOTAL = Number(process.env.RINGZERO_STRESS_PACKETS ?? 1e7);

test(`${TOTAL} packets through 2 consumer threads and 2 consumer processes lose and duplicate nothing`, async () => {
  const id = testClusterId();
  const c = Cluster.create({ id, buffers: 2048, queues: 4, queueLength: 256, hugepages: 'never' });
  try {
    const perQueue = TOTAL / 4;
    const consumers = [
      runInThread<ConsumeResult>(c, 'consume', { queue: 0, expect: perQueue, exact: true, wait: true }),
      runInThread<ConsumeResult>(c, 'consume', { queue: 1, expect: perQueue, exact: true, wait: true }),
      runInProcess<ConsumeResult>(id, 'consume', { queue: 2, expect: perQueue, exact: true, wait: true, progressEvery: 1e9 }).result,
      runInProcess<ConsumeResult>(id, 'consume', { queue: 3, expect: perQueue, exact: true, wait: true, progressEvery: 1e9 }).result,
    ];
    const producer = runInThread<ProduceResult>(c, 'produce', { queues: [0, 1, 2, 3], perQueue, burst: 32, lossless: true });
    const [prod, ...cons] = await Promise.all([producer, ...consumers]);
    const dump = () => [0, 1, 2, 3].map((q) => `q${q} ${JSON.stringify(c.queueCounters(q))}`).join('\n');
    for (const [i, r] of cons.entries()) {
      assert.deepEqual(r.errors, [], `consumer ${i}:\n${dump()}`);
      assert.equal(r.received, perQueue, `consumer ${i} received\n${dump()}`);
    }
    assert.deepEqual(prod.accepted, [perQueue, perQueue, perQueue, perQueue], dump());
    assert.equal(prod.poolFreeAtEnd, prod.poolSize, `pool count at the end\n${dump()}`);
    for (let q = 0; q < 4; q++) {
      const k = c.queueCounters(q);
      assert.equal(k.in, perQueue);
      assert.equal(k.out, perQueue);
      assert.equal(k.dropFull, 0);
      assert.equal(k.queued, 0);
    }
  } finally {
    c.close();
  }
});
