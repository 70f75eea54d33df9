// ringzero stats and cleanup, run as a user would run them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Cluster, regionName } from '../src/zc/cluster.js';
import { SHM_DIR } from '../src/memory/region.js';
import { testClusterId } from './helpers/zc-procs.js';

const BIN = new URL('../src/cli/main.js', import.meta.url).pathname;
const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

test('stats -c reads the shared counters of a running cluster from another process', () => {
  const id = testClusterId();
  const c = Cluster.create({ id, buffers: 128, queues: 2, queueLength: 64, hugepages: 'never' });
  try {
    const pool = c.pool(0);
    const p = c.producer(1, pool);
    const b = new Uint32Array(10);
    pool.alloc(b, 10);
    p.sendBurst(b, 10);
    const r = run('stats', '-c', String(id), '--json');
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(r.stdout);
    assert.equal(s.id, id);
    assert.equal(s.queues[1].in, 10);
    assert.equal(s.queues[1].queued, 10);
    assert.equal(s.pools[0].free, 118);
    assert.ok(s.attached.some((a: any) => a.role === 'producer' && a.target === 1 && a.pid === process.pid));
    const text = run('stats', '-c', String(id)).stdout;
    assert.match(text, /queue 1: in 10 pkts/);
  } finally {
    c.close();
  }
});

test('stats on a cluster that does not exist fails with the reason', () => {
  const r = run('stats', '-c', String(testClusterId()));
  assert.equal(r.status, 2);
  assert.match(r.stderr, /cannot attach to cluster .* is its owner running/);
});

test('cleanup removes a dead owner\'s region and keeps a live one', () => {
  const dead = testClusterId();
  const url = new URL('../src/zc/cluster.js', import.meta.url).href;
  spawnSync(process.execPath, ['--input-type=module', '-e', `import { Cluster } from '${url}'; Cluster.create({ id: ${dead}, buffers: 64, hugepages: 'never' }); process.kill(process.pid, 'SIGKILL');`]);
  const live = Cluster.create({ id: testClusterId(), buffers: 64, hugepages: 'never' });
  try {
    assert.ok(existsSync(`${SHM_DIR}/${regionName(dead)}`));
    const out = execFileSync(process.execPath, [BIN, 'cleanup'], { encoding: 'utf8' });
    assert.match(out, new RegExp(`removed .*${regionName(dead)}`));
    assert.ok(!existsSync(`${SHM_DIR}/${regionName(dead)}`));
    assert.ok(existsSync(live.path), 'the live cluster is kept');
  } finally {
    live.close();
  }
});

test('an unknown command or flag is a usage error listing what exists', () => {
  const r = run('frobnicate');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command 'frobnicate'; commands: .*stats/);
  const f = run('stats', '--nope');
  assert.equal(f.status, 2);
  assert.match(f.stderr, /unknown option --nope; known: -c\/--cluster/);
});
