// A worker thread's loop never lets its thread's timers run, so its slots
// (consumer, producer, pool) are beaten from the loop itself. Those who judge
// by the heartbeat then leave a running worker alone: an owner that declares
// stalled parties dead (stallTimeoutMs) does not take its queues and pool, and
// a guest's worker (no host pid: judged by its heartbeat alone) is not
// declared dead while it runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../src/zc/cluster.js';
import { ATTACH_STATE, ROLE } from '../src/zc/layout.js';
import { startFanout } from '../src/workers/index.js';
import { sleep } from './helpers/cli.js';
import { testClusterId } from './helpers/zc-procs.js';

const ROLES: Record<number, string> = { [ROLE.CONSUMER]: 'consumer', [ROLE.PRODUCER]: 'producer', [ROLE.POOL]: 'pool' };

/** The worker's slots in the owner's table: "role target state", sorted. */
function workerSlots(owner: Cluster): string[] {
  return owner.attach.list().filter((a) => a.role !== ROLE.OWNER).map((a) => `${ROLES[a.role]} ${a.target} ${a.state === ATTACH_STATE.LIVE ? 'live' : a.state}`).sort();
}
const ALL_LIVE = ['consumer 0 live', 'pool 1 live', 'producer 1 live', 'producer 2 live'];

/** A cluster for a fanout worker: it consumes queue 0, owns pool 1 and produces on queues 1 and 2. */
const create = (extra: { stallTimeoutMs?: number; guestTimeoutMs?: number }) =>
  Cluster.create({ id: testClusterId(), buffers: 512, pools: 2, queues: 3, queuePools: [0, 1, 1], queueLength: 64, hugepages: 'never', livenessIntervalMs: 100, ...extra });

test('an owner with stallTimeoutMs leaves a running worker thread its queues and its pool', async () => {
  const c = create({ stallTimeoutMs: 1000 });
  const w = startFanout(c, { inputs: [0], outputs: [1, 2], pool: 1 });
  try {
    await w.ready;
    await sleep(2500);
    assert.deepEqual(workerSlots(c), ALL_LIVE);
    const pool = c.pool(0);
    try {
      assert.throws(() => c.producer(1, pool), /queue 1 of cluster \d+ already has a producer/, 'queue 1 is still the worker\'s');
    } finally {
      pool.detach();
    }
  } finally {
    try {
      await w.stop();
    } finally {
      c.close();
    }
  }
});

test('a guest\'s worker thread is not declared dead while it runs', async () => {
  const c = create({ guestTimeoutMs: 1000 });
  const g = Cluster.attach(c.id, { guest: true });
  const w = startFanout(g, { inputs: [0], outputs: [1, 2], pool: 1 });
  try {
    await w.ready;
    await sleep(2500);
    assert.deepEqual(workerSlots(c), ALL_LIVE);
  } finally {
    try {
      await w.stop();
    } finally {
      g.close();
      c.close();
    }
  }
});
