// hugepages: 'auto' puts a region on hugetlbfs only when the huge pages are
// really there for it, and otherwise falls back to /dev/shm: free pages that
// another mapping has reserved (HugePages_Rsvd) are not available, and a
// hugetlbfs mount whose size= limit is too small refuses the reservation
// (ENOSPC from fallocate). Before, both ended Cluster.create with an mmap
// ENOMEM although /dev/shm had room. 'require' says why instead.
//
// The test reserves 16 pages for a moment (vm.nr_hugepages, put back after)
// and mounts its hugetlbfs in a private mount namespace, so no other process
// sees it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { needRoot, needTool } from './helpers/env.js';
import { testClusterId } from './helpers/zc-procs.js';
import { hugetlbfsMounts } from '../src/memory/region.js';

const NR = '/proc/sys/vm/nr_hugepages';
const url = (m: string) => new URL(`../src/${m}`, import.meta.url).href;

/** Runs module code in a new mount namespace with a hugetlbfs (mount options `opts`) on a fresh folder; returns its last stdout line as JSON. */
function withHugetlbfs(opts: string, code: string): any {
  const script = 'd=$(mktemp -d /tmp/rz-huge-XXXXXX) && mount -t hugetlbfs -o "$1" none "$d" && HUGE_DIR="$d" "$0" --input-type=module -e "$2"; rc=$?; umount "$d"; rmdir "$d"; exit $rc';
  const r = spawnSync('unshare', ['-m', 'sh', '-c', script, process.execPath, opts, code], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

/** Module code: creates cluster `id` (9 huge pages: 16 MiB of buffers and the 2 MiB before them) with `policy`; {dir, hugetlb} or {code, message}. */
const create = (id: number, policy: string) => `
  (() => { try {
    const c = Cluster.create({ id: ${id}, bufferSize: 2048, buffers: 8192, hugepages: '${policy}' });
    const r = { dir: c.path.slice(0, c.path.lastIndexOf('/')), hugetlb: c.hugetlb, bytes: c.memory.sab.byteLength };
    c.memory.bytes.fill(1);
    c.close();
    return r;
  } catch (e) { return { code: e.code, message: e.message }; } })()`;

const skip = needRoot() ?? needTool('/usr/bin/unshare', 'util-linux') ??
  (hugetlbfsMounts().length > 0 ? 'a hugetlbfs is already mounted here: not touching the system' : null);

test('hugepages auto falls back to /dev/shm when the free huge pages are reserved by another mapping or over the mount\'s size limit', { skip: skip ?? false }, (t) => {
  const before = Number(readFileSync(NR, 'utf8'));
  try {
    writeFileSync(NR, String(before + 16));
    if (Number(readFileSync(NR, 'utf8')) < before + 16) { t.skip('the kernel could not reserve 16 hugepages (memory fragmented)'); return; }
    const id = testClusterId();
    // 12 of the 16 free pages reserved by a shared mapping nobody touched yet: 4 available, 9 needed.
    const reserved = withHugetlbfs('mode=0700', `
      import { Cluster } from '${url('zc/cluster.js')}';
      import { native } from '${url('native/index.js')}';
      import { openSync, ftruncateSync, closeSync, unlinkSync } from 'node:fs';
      const holder = process.env.HUGE_DIR + '/holder';
      const fd = openSync(holder, 'w+', 0o600);
      ftruncateSync(fd, 24 << 20);
      const hold = native.mmap(fd, 24 << 20, 0, true, false);
      closeSync(fd);
      const auto = ${create(id, 'auto')};
      const require = ${create(id, 'require')};
      native.unmap(hold);
      unlinkSync(holder);
      const free = ${create(id, 'require')};
      console.log(JSON.stringify({ auto, require, free, hugeDir: process.env.HUGE_DIR }));`);
    assert.deepEqual(reserved.auto, { dir: '/dev/shm', hugetlb: false, bytes: reserved.auto.bytes }, 'auto: on /dev/shm');
    assert.equal(reserved.require.code, 'ERR_RINGZERO_NO_HUGEPAGES');
    assert.match(reserved.require.message, /only [0-4] 2 MiB pages are free and not reserved \(need 9\)/);
    assert.deepEqual(reserved.free, { dir: reserved.hugeDir, hugetlb: true, bytes: 9 * 2 * 1024 * 1024 }, 'once the pages are free, the region is on hugetlbfs');

    // A mount limited to 8 MiB: the pages are free, the mount refuses the 9 the region needs.
    const limited = withHugetlbfs('mode=0700,size=8M', `
      import { Cluster } from '${url('zc/cluster.js')}';
      const auto = ${create(id, 'auto')};
      const require = ${create(id, 'require')};
      console.log(JSON.stringify({ auto, require }));`);
    assert.equal(limited.auto.dir, '/dev/shm');
    assert.equal(limited.auto.hugetlb, false);
    assert.equal(limited.require.code, 'ERR_RINGZERO_NO_SPACE');
    assert.match(limited.require.message, /it needs 9 huge pages of 2 MiB \(18\.0 MiB\) and the hugetlbfs mounted on \/tmp\/rz-huge-\w+ has 4 available \(free and not reserved by other mappings, within its size= limit\)/);
    assert.match(limited.require.message, /nr_hugepages/);
  } finally {
    writeFileSync(NR, String(before));
  }
});
