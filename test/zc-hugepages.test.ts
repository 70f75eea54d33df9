// With a hugetlbfs mount and free 2 MiB pages, a cluster lives on hugepages
// and another process attaches to it. The test reserves pages and mounts a
// private hugetlbfs, and puts both back as they were.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmdirSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from '../src/zc/cluster.js';
import { hugetlbfsMounts } from '../src/memory/region.js';
import { needRoot } from './helpers/env.js';
import { runInProcess, runInThread, testClusterId } from './helpers/zc-procs.js';
import type { ConsumeResult, ProduceResult } from './fixtures/zc-roles.js';

const NR = '/proc/sys/vm/nr_hugepages';

test('a cluster on hugepages is shared with another process', { skip: needRoot() ?? (hugetlbfsMounts().length > 0 ? 'a hugetlbfs is already mounted here: not touching the system' : false) }, async (t) => {
  const before = Number(readFileSync(NR, 'utf8'));
  const dir = mkdtempSync(join(tmpdir(), 'rz-huge-'));
  let mounted = false;
  try {
    writeFileSync(NR, String(before + 16));
    if (Number(readFileSync(NR, 'utf8')) < before + 8) { t.skip('the kernel could not reserve hugepages (memory fragmented)'); return; }
    execFileSync('mount', ['-t', 'hugetlbfs', '-o', 'mode=1770', 'none', dir]);
    mounted = true;
    const id = testClusterId();
    const c = Cluster.create({ id, buffers: 2048, queues: 1, queueLength: 256, hugepages: 'require' });
    try {
      assert.ok(c.hugetlb, 'the region is on hugetlbfs');
      assert.equal(c.path, join(dir, `ringzero-cluster-${id}`));
      assert.equal(statSync(c.path).mode & 0o777, 0o600);
      const child = runInProcess<ConsumeResult>(id, 'consume', { queue: 0, expect: 50_000, exact: true, wait: true });
      const prod = await runInThread<ProduceResult>(c, 'produce', { queues: [0], perQueue: 50_000, burst: 32, lossless: true });
      const r = await child.result;
      assert.deepEqual(r.errors, []);
      assert.equal(r.received, 50_000);
      assert.equal(prod.poolFreeAtEnd, prod.poolSize);
    } finally {
      c.close();
    }
  } finally {
    if (mounted) execFileSync('umount', [dir]);
    rmdirSync(dir);
    writeFileSync(NR, String(before));
  }
});
