// Liveness across PID namespaces (containers): pids there mean nothing in
// ours, so an owner or a consumer in another PID namespace is judged by its
// heartbeat, never by looking its pid up in our /proc. Each test runs real
// processes under `unshare --pid --fork --mount-proc` (their pid is 1). Every
// live slot's heartbeat stays fresh, a worker thread's included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { Cluster, regionName } from '../src/zc/cluster.js';
import { removeRegion, SHM_DIR } from '../src/memory/region.js';
import { ROLE } from '../src/zc/layout.js';
import { firstOf, needRoot, needTool } from './helpers/env.js';
import { testClusterId } from './helpers/zc-procs.js';
import { startFanout } from '../src/workers/index.js';
import { BIN, sleep, start, until } from './helpers/cli.js';
import { spawn } from 'node:child_process';

const UNSHARE = '/usr/bin/unshare';
const skip = firstOf(needRoot(), needTool(UNSHARE, 'util-linux'));
const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

/** `ringzero ...args` as pid 1 of a fresh PID namespace. */
const startInPidNs = (args: string[]) => start(args, [UNSHARE, '--pid', '--fork', '--mount-proc', '--kill-child']);

/** The pid (in our namespace) of the node process unshare forked. */
function childOf(pid: number): number {
  const kids = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).trim().split('\n').map(Number);
  assert.equal(kids.length, 1, `one child of unshare ${pid}`);
  return kids[0];
}

test('an owner in another PID namespace is alive for attach, stats, cleanup -n and a second owner; dead once its heartbeat stops', { skip }, async () => {
  const id = testClusterId();
  const owner = startInPidNs(['cluster', '-c', String(id), '-n', '1', '--quiet']);
  try {
    await until(() => owner.err().includes(`Cluster ${id}`) || owner.p.exitCode !== null, 'the namespaced owner');
    await sleep(300);
    const s = run('stats', '-c', String(id), '--json');
    assert.equal(s.status, 0, s.stderr);
    const snap = JSON.parse(s.stdout);
    const o = snap.attached.find((a: { role: string }) => a.role === 'owner');
    assert.equal(o.pid, 1, 'the owner registered its own pid: 1 in its namespace');
    assert.equal(o.state, 'live');
    assert.equal(o.foreignPidNs, true);
    assert.match(run('cleanup', '-n').stdout, new RegExp(`ringzero-cluster-${id}: in use by pid 1 in another PID namespace`));
    const second = run('cluster', '-c', String(id), '-n', '1', '-d', '1', '--quiet');
    assert.equal(second.status, 1);
    assert.match(second.stderr, /already owned by live pid 1 in another PID namespace .*ERR_RINGZERO_CLUSTER_EXISTS/);
    const c = Cluster.attach(id);
    try {
      c.checkOwner(); // alive: no throw
      // SIGKILL: no heartbeat any more; dead after the cluster's guest timeout (3 s).
      process.kill(childOf(owner.p.pid!), 'SIGKILL');
      const t0 = Date.now();
      await until(() => { try { c.checkOwner(); return false; } catch (e) { return (e as { code?: string }).code === 'ERR_RINGZERO_CLUSTER_CLOSED'; } }, 'the owner seen dead', 8000);
      assert.ok(Date.now() - t0 > 1500, 'not before its heartbeat was stale');
      assert.throws(() => c.checkOwner(), /its owner \(pid 1 in another PID namespace, heartbeat \d+ ms ago\) died/);
      assert.match(run('cleanup', '-n').stdout, new RegExp(`ringzero-cluster-${id}: stale \\(owner pid 1 in another PID namespace is dead\\)`));
    } finally {
      c.close();
    }
    // The next owner replaces the stale region with a warning.
    const next = Cluster.create({ id, buffers: 64, hugepages: 'never', onWarning: () => {} });
    next.close();
  } finally {
    owner.p.kill('SIGKILL');
    await owner.done;
    removeRegion(`${SHM_DIR}/${regionName(id)}`); // ours, left by the SIGKILL if the test failed before replacing it
  }
});

test('a consumer in another PID namespace is not reclaimed by the owner while it runs, and is once killed', { skip }, async () => {
  const id = testClusterId();
  const c = Cluster.create({ id, buffers: 256, queues: 1, queueLength: 64, hugepages: 'never', livenessIntervalMs: 100 });
  const consumer = startInPidNs(['count', '-i', `zc:${id}@0`]);
  try {
    await until(() => consumer.err().includes('Capturing') || consumer.p.exitCode !== null, 'the namespaced consumer');
    assert.equal(consumer.p.exitCode, null, consumer.err());
    const slot = () => c.attach.list().find((a) => a.role === ROLE.CONSUMER);
    await sleep(1500); // many liveness scans
    assert.equal(slot()?.state, 2 /* LIVE */, 'still registered');
    assert.equal(slot()?.foreignPidNs, true);
    assert.equal(c.queueCounters(0).reclaims, 0);
    process.kill(childOf(consumer.p.pid!), 'SIGKILL');
    await until(() => slot() === undefined, 'the dead consumer\'s slot reclaimed', 8000);
  } finally {
    consumer.p.kill('SIGKILL');
    await consumer.done;
    c.close();
  }
});

test('seen from another PID namespace, every slot of an owner and of its worker thread is live with a fresh heartbeat', { skip }, async () => {
  const id = testClusterId();
  // the worker consumes queue 0, owns pool 1 and produces on queues 1 and 2: four slots of one thread
  const c = Cluster.create({ id, buffers: 512, pools: 2, queues: 3, queuePools: [0, 1, 1], queueLength: 64, hugepages: 'never' });
  const w = startFanout(c, { inputs: [0], outputs: [1, 2], pool: 1 });
  try {
    await w.ready;
    await sleep(3500); // longer than the guest timeout: a slot nobody beats is 3.5 s old by now
    const s = spawnSync(UNSHARE, ['--pid', '--fork', '--mount-proc', process.execPath, BIN, 'stats', '-c', String(id), '--json'], { encoding: 'utf8' });
    assert.equal(s.status, 0, s.stderr);
    const slots = JSON.parse(s.stdout).attached as Array<{ role: string; target: number; state: string; tid: number; foreignPidNs: boolean; heartbeatAgeMs: number }>;
    const worker = slots.filter((a) => a.role !== 'owner');
    assert.deepEqual(worker.map((a) => `${a.role} ${a.target}`).sort(), ['consumer 0', 'pool 1', 'producer 1', 'producer 2']);
    for (const a of slots) {
      assert.equal(a.state, 'live', `${a.role} ${a.target}`);
      assert.equal(a.foreignPidNs, true);
      assert.ok(a.heartbeatAgeMs < 1500, `${a.role} ${a.target} (tid ${a.tid}): heartbeat ${a.heartbeatAgeMs} ms ago`);
    }
  } finally {
    try {
      await w.stop();
    } finally {
      c.close();
    }
  }
});

test('private cluster ids of two processes with the same pid in two PID namespaces at once differ', { skip }, async () => {
  const url = new URL('../src/cli/endpoint.js', import.meta.url).href;
  // Both at once: a namespace's inode is reused once it is gone.
  const idIn = () => new Promise<string[]>((resolve, reject) => {
    const p = spawn(UNSHARE, ['--pid', '--fork', '--mount-proc', process.execPath, '--input-type=module', '-e',
      `import { privateClusterId } from '${url}'; console.log(process.pid, privateClusterId()); setTimeout(() => {}, 1500);`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout!.on('data', (d) => { out += d; });
    p.on('exit', (code) => (code === 0 ? resolve(out.trim().split(' ')) : reject(new Error(`exit ${code}`))));
  });
  const [[pidA, idA], [pidB, idB]] = await Promise.all([idIn(), idIn()]);
  assert.equal(pidA, '1');
  assert.equal(pidB, '1');
  assert.notEqual(idA, idB);
});
