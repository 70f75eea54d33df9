// Region files: private by default, never through a planted symlink, never
// trusted with a wrong header; one live owner per cluster id, stale regions of
// dead owners removed with a warning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { statSync, symlinkSync, unlinkSync, writeFileSync, openSync, writeSync, closeSync, existsSync } from 'node:fs';
import { Cluster, regionName } from '../src/zc/cluster.js';
import { SHM_DIR } from '../src/memory/region.js';
import { H, REGION_VERSION } from '../src/memory/header.js';
import { testClusterId } from './helpers/zc-procs.js';

test('a region is created with mode 0600 even under umask 000', () => {
  const old = process.umask(0);
  const c = Cluster.create({ id: testClusterId(), buffers: 64, hugepages: 'never' });
  try {
    assert.equal(statSync(c.path).mode & 0o777, 0o600);
  } finally {
    c.close();
    process.umask(old);
  }
});

test('a group-shared region gets mode 0660 whatever the umask', () => {
  const old = process.umask(0o077);
  const c = Cluster.create({ id: testClusterId(), buffers: 64, hugepages: 'never', group: process.getgid!() });
  try {
    assert.equal(statSync(c.path).mode & 0o777, 0o660);
  } finally {
    c.close();
    process.umask(old);
  }
});

test('a symlink planted at the region path is refused on create and on attach', () => {
  const id = testClusterId();
  const path = `${SHM_DIR}/${regionName(id)}`;
  const target = `${SHM_DIR}/ringzero-test-target-${process.pid}`;
  writeFileSync(target, 'x');
  symlinkSync(target, path);
  try {
    assert.throws(() => Cluster.attach(id), (e: any) => e.code === 'ERR_RINGZERO_REGION_UNSAFE' && /symbolic link/.test(e.message));
    assert.throws(() => Cluster.create({ id, buffers: 64, hugepages: 'never' }), (e: any) => /ERR_RINGZERO_REGION/.test(e.code) || e.code === 'EEXIST');
  } finally {
    unlinkSync(path);
    unlinkSync(target);
  }
});

function plantRegionLike(id: number, patch: (u32: Uint32Array) => void): string {
  // A real region's bytes with one field changed.
  const c = Cluster.create({ id, buffers: 64, hugepages: 'never', livenessIntervalMs: 0 });
  const bytes = Buffer.from(new Uint8Array(c.memory.sab).slice());
  c.close();
  const u32 = new Uint32Array(bytes.buffer, bytes.byteOffset, 1024);
  patch(u32);
  const path = `${SHM_DIR}/${regionName(id)}`;
  const fd = openSync(path, 'wx', 0o600);
  writeSync(fd, bytes);
  closeSync(fd);
  return path;
}

test('a header with the wrong magic is refused with a clear error', () => {
  const id = testClusterId();
  const path = plantRegionLike(id, (u) => { u[H.MAGIC] = 0xdeadbeef; });
  try {
    assert.throws(() => Cluster.attach(id), (e: any) => e.code === 'ERR_RINGZERO_REGION_MISMATCH' && /magic is 0xdeadbeef/.test(e.message));
    assert.throws(() => Cluster.create({ id, buffers: 64, hugepages: 'never' }), (e: any) => e.code === 'ERR_RINGZERO_REGION_MISMATCH');
  } finally {
    unlinkSync(path);
  }
});

test('a header with another layout version is refused and names the version', () => {
  const id = testClusterId();
  const path = plantRegionLike(id, (u) => { u[H.VERSION] = REGION_VERSION + 1; u[H.STATE] = 1; });
  try {
    assert.throws(() => Cluster.attach(id), (e: any) => e.code === 'ERR_RINGZERO_REGION_MISMATCH' && new RegExp(`layout version is ${REGION_VERSION + 1}, expected ${REGION_VERSION}`).test(e.message));
  } finally {
    unlinkSync(path);
  }
});

test('a second owner for a live cluster id is refused', () => {
  const id = testClusterId();
  const c = Cluster.create({ id, buffers: 64, hugepages: 'never' });
  try {
    assert.throws(() => Cluster.create({ id, buffers: 64, hugepages: 'never' }), (e: any) => e.code === 'ERR_RINGZERO_CLUSTER_EXISTS' && new RegExp(`live pid ${process.pid}`).test(e.message));
  } finally {
    c.close();
  }
});

test('the region of a dead owner is removed with a warning and the id can be reused', () => {
  const id = testClusterId();
  // A child creates the cluster and dies without closing it.
  const url = new URL('../src/zc/cluster.js', import.meta.url).href;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `import { Cluster } from '${url}'; Cluster.create({ id: ${id}, buffers: 64, hugepages: 'never' }); process.kill(process.pid, 'SIGKILL');`]);
  assert.equal(r.signal, 'SIGKILL');
  const path = `${SHM_DIR}/${regionName(id)}`;
  assert.ok(existsSync(path), 'the dead owner left its region behind');
  assert.throws(() => Cluster.attach(id), (e: any) => e.code === 'ERR_RINGZERO_CLUSTER_CLOSED' && /died/.test(e.message));
  const warnings: string[] = [];
  const c = Cluster.create({ id, buffers: 64, hugepages: 'never', onWarning: (m) => warnings.push(m) });
  try {
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /stale region .* owner \(pid \d+\) is dead/);
  } finally {
    c.close();
  }
  assert.ok(!existsSync(path), 'close() removes the region');
});

test('attaching to a cluster that does not exist names the id and the folders searched', () => {
  assert.throws(() => Cluster.attach(testClusterId()), (e: any) => e.code === 'ERR_RINGZERO_CLUSTER_NOT_FOUND' && /is its owner running/.test(e.message));
});

test('hugepages: "require" fails with the fix when none are free, "auto" falls back to /dev/shm', () => {
  const c = Cluster.create({ id: testClusterId(), buffers: 64, hugepages: 'auto' });
  try {
    assert.ok(c.hugetlb || c.path.startsWith(SHM_DIR));
  } finally {
    c.close();
  }
  const free = Number(/HugePages_Free:\s+(\d+)/.exec(require_('fs').readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0);
  if (free === 0) {
    assert.throws(() => Cluster.create({ id: testClusterId(), buffers: 64, hugepages: 'require' }), (e: any) => e.code === 'ERR_RINGZERO_NO_HUGEPAGES' && /nr_hugepages/.test(e.message));
  }
});

import { createRequire } from 'node:module';
const require_ = createRequire(import.meta.url);

test('bad cluster options are refused with the allowed range', () => {
  assert.throws(() => Cluster.create({ id: testClusterId(), bufferSize: 1000 }), (e: any) => e.code === 'ERR_RINGZERO_INVALID_ARGUMENT' && /power of two/.test(e.message));
  assert.throws(() => Cluster.create({ id: testClusterId(), queues: 1, queueLength: 100 }), (e: any) => e.code === 'ERR_RINGZERO_INVALID_ARGUMENT' && /queueLength/.test(e.message));
  assert.throws(() => Cluster.create({ id: -1 }), (e: any) => e.code === 'ERR_RINGZERO_INVALID_ARGUMENT');
});
