// ringzero stats and cleanup, run as a user would run them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, utimesSync, writeFileSync } from 'node:fs';
import { Cluster, regionName } from '../src/zc/cluster.js';
import { removeRegion, SHM_DIR } from '../src/memory/region.js';
import { testClusterId } from './helpers/zc-procs.js';
import { BIN, start, until } from './helpers/cli.js';
import { needRoot, privateShm } from './helpers/env.js';

const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
const clusterUrl = new URL('../src/zc/cluster.js', import.meta.url).href;
/** Module code creating cluster `id` in the child that runs it. */
const CREATE = (id: number) => `import { Cluster } from '${clusterUrl}'; Cluster.create({ id: ${id}, buffers: 64, hugepages: 'never' });`;

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

test('stats on a cluster that does not exist fails with ERR_RINGZERO_CLUSTER_NOT_FOUND, not a usage error', () => {
  const r = run('stats', '-c', String(testClusterId()));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no region named .* is its owner running\?.*\[ERR_RINGZERO_CLUSTER_NOT_FOUND\]/);
});

test('stats keeps the attach error\'s code: another user\'s region, a corrupt one, a dead owner', () => {
  const foreign = testClusterId();
  const corrupt = testClusterId();
  const dead = testClusterId();
  const fPath = `${SHM_DIR}/${regionName(foreign)}`;
  const cPath = `${SHM_DIR}/${regionName(corrupt)}`;
  writeFileSync(fPath, Buffer.alloc(8192), { mode: 0o600 });
  chownSync(fPath, 65534, 65534);
  writeFileSync(cPath, Buffer.alloc(8192, 0x5a), { mode: 0o600 });
  spawnSync(process.execPath, ['--input-type=module', '-e', `${CREATE(dead)} process.kill(process.pid, 'SIGKILL');`]);
  try {
    const f = run('stats', '-c', String(foreign));
    assert.equal(f.status, 1);
    assert.match(f.stderr, /belongs to uid 65534.*\[ERR_RINGZERO_REGION_UNSAFE\]/);
    const c = run('stats', '-c', String(corrupt));
    assert.equal(c.status, 1);
    assert.match(c.stderr, /magic is 0x5a5a5a5a.*ringzero cleanup -f.*\[ERR_RINGZERO_REGION_MISMATCH\]/);
    const d = run('stats', '-c', String(dead));
    assert.equal(d.status, 1);
    assert.match(d.stderr, /its owner \(pid \d+\) died; restart it \[ERR_RINGZERO_CLUSTER_CLOSED\]/);
  } finally {
    for (const id of [foreign, corrupt, dead]) removeRegion(`${SHM_DIR}/${regionName(id)}`);
  }
});

test('stats -w ends with exit 1 and the reason when the owner is SIGKILLed, and with 0 on Ctrl-C', async () => {
  const id = testClusterId();
  const owner = spawn(process.execPath, ['--input-type=module', '-e', `${CREATE(id)} console.log('up'); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise((r) => owner.stdout!.once('data', r));
    const interrupted = start(['stats', '-c', String(id), '-w']);
    const killed = start(['stats', '-c', String(id), '-w']);
    await until(() => /owner: pid/.test(interrupted.out()) && /owner: pid/.test(killed.out()), 'the first stats lines');
    interrupted.p.kill('SIGINT');
    const ri = await interrupted.done;
    assert.equal(ri.code, 0, ri.err);
    owner.kill('SIGKILL');
    const t0 = Date.now();
    const rk = await killed.done;
    assert.equal(rk.code, 1);
    assert.ok(Date.now() - t0 < 2500, 'noticed at the next line');
    assert.match(rk.err, new RegExp(`cluster ${id}: its owner \\(pid ${owner.pid}\\) died; restart it \\[ERR_RINGZERO_CLUSTER_CLOSED\\]`));
  } finally {
    owner.kill('SIGKILL');
    removeRegion(`${SHM_DIR}/${regionName(id)}`);
  }
});

// Cleanup tests run on a folder of their own (privateShm): cleanup removes
// every dead owner's region, and /dev/shm holds other people's.

test('cleanup removes a dead owner\'s region and keeps a live one', async () => {
  const shm = privateShm('cleanup');
  const [dead, live] = [testClusterId(), testClusterId()];
  spawnSync(process.execPath, ['--input-type=module', '-e', `${CREATE(dead)} process.kill(process.pid, 'SIGKILL');`], { env: shm.env });
  const owner = spawn(process.execPath, ['--input-type=module', '-e', `${CREATE(live)} console.log('up'); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'], env: shm.env });
  try {
    await new Promise((r) => owner.stdout!.once('data', r));
    assert.ok(existsSync(`${shm.dir}/${regionName(dead)}`));
    const out = execFileSync(process.execPath, [BIN, 'cleanup'], { encoding: 'utf8', env: shm.env });
    assert.match(out, new RegExp(`removed .*${regionName(dead)}`));
    assert.match(out, new RegExp(`kept .*${regionName(live)}: cluster ${live} is in use by pid ${owner.pid}`));
    assert.ok(!existsSync(`${shm.dir}/${regionName(dead)}`));
    assert.ok(existsSync(`${shm.dir}/${regionName(live)}`), 'the live cluster is kept');
  } finally {
    owner.kill('SIGKILL');
    shm.remove();
  }
});

test('cleanup removes an all-zero region (owner died before the header) that no process has open, keeps one that is open, and the hints agree', async () => {
  const shm = privateShm('cleanup');
  const [empty, held] = [testClusterId(), testClusterId()];
  const emptyPath = `${shm.dir}/${regionName(empty)}`;
  const heldPath = `${shm.dir}/${regionName(held)}`;
  writeFileSync(emptyPath, Buffer.alloc(1 << 20), { mode: 0o600 });
  writeFileSync(heldPath, Buffer.alloc(1 << 20), { mode: 0o600 });
  // A creator still mapping its region: the file is open, the header not written yet.
  const holder = spawn(process.execPath, ['-e', `require('fs').openSync(${JSON.stringify(heldPath)}, 'r+'); console.log('open'); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise((r) => holder.stdout!.once('data', r));
    const attach = spawnSync(process.execPath, [BIN, 'stats', '-c', String(empty)], { encoding: 'utf8', env: shm.env });
    assert.equal(attach.status, 1);
    assert.match(attach.stderr, /an empty region: its creator died before writing the header.*`ringzero cleanup` removes it.*\[ERR_RINGZERO_REGION_MISMATCH\]/);
    const dry = execFileSync(process.execPath, [BIN, 'cleanup', '-n'], { encoding: 'utf8', env: shm.env });
    assert.match(dry, new RegExp(`${regionName(empty)}: empty: its creator died before writing the header, unused: would be removed`));
    assert.match(dry, new RegExp(`${regionName(held)}: empty \\(no header yet\\), open or mapped by a process .*: kept`));
    const out = execFileSync(process.execPath, [BIN, 'cleanup'], { encoding: 'utf8', env: shm.env });
    assert.match(out, new RegExp(`removed .*${regionName(empty)} \\(empty, never filled in\\)`));
    assert.ok(!existsSync(emptyPath));
    assert.ok(existsSync(heldPath), 'a region a process has open is kept');
  } finally {
    holder.kill('SIGKILL');
    shm.remove();
  }
});

test('cleanup -f as another user skips and reports a region it may not remove and removes the rest (exit 1)', { skip: needRoot() ?? false }, () => {
  const shm = privateShm('cleanup');
  try {
    chmodSync(shm.dir, 0o1777); // like /dev/shm: sticky, so only a file's owner may remove it
    const [theirs, mine] = [testClusterId(), testClusterId()];
    const theirsPath = `${shm.dir}/${regionName(theirs)}`;
    const minePath = `${shm.dir}/${regionName(mine)}`;
    for (const p of [theirsPath, minePath]) writeFileSync(p, Buffer.alloc(8192, 0x5a), { mode: 0o600 });
    chownSync(minePath, 65534, 65534);
    // Not root: processes of other users are out of sight, so cleanup only takes files older than a minute.
    const old = new Date(Date.now() - 120_000);
    for (const p of [theirsPath, minePath]) utimesSync(p, old, old);
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, 'cleanup', '-f'], { encoding: 'utf8', env: shm.env });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stdout, new RegExp(`removed .*${regionName(mine)} \\(not a ringzero region\\)`));
    assert.match(r.stderr, new RegExp(`could not remove .*${regionName(theirs)} \\((EPERM|EACCES)\\): it belongs to another user; run cleanup as root or as that user`));
    assert.ok(!existsSync(minePath));
    assert.ok(existsSync(theirsPath));
  } finally {
    shm.remove();
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
