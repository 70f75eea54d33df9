// A cluster whose region does not fit the tmpfs (a nearly full /dev/shm)
// fails when it is created, with ERR_RINGZERO_NO_SPACE naming the mount, the
// bytes needed and free, and the fixes, and leaves no file behind. Before,
// the sparse region was created and the first touch of a missing page killed
// the process with SIGBUS (and AF_XDP reported a memlock problem instead).
// Each case runs in a private mount namespace (unshare -m) whose /dev/shm is a
// small tmpfs of its own, 39 of its 40 MiB taken, as the tester's repro did.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN } from './helpers/cli.js';
import { firstOf, needNetns, needRoot, needTool } from './helpers/env.js';
import { createVethPair } from './helpers/netns.js';
import { writeCapture } from './helpers/capture-cli.js';
import { testClusterId } from './helpers/zc-procs.js';
import { hugetlbfsMounts } from '../src/memory/region.js';
import { availableHugepages } from '../src/memory/reserve.js';

const clusterUrl = new URL('../src/zc/cluster.js', import.meta.url).href;
const MiB = 1024 * 1024;

/** Runs `node argv` in a new mount namespace whose /dev/shm is a 40 MiB tmpfs with 39 MiB taken; what is left in it is printed last. */
function inFullShm(argv: string[]) {
  const script = 'mount -t tmpfs -o size=40M rz-test-full /dev/shm && dd if=/dev/zero of=/dev/shm/filler bs=1M count=39 2>/dev/null && ' +
    '"$0" "$@"; rc=$?; echo "left: $(ls /dev/shm | tr "\\n" " ")" >&2; exit $rc';
  return spawnSync('unshare', ['-m', 'sh', '-c', script, process.execPath, ...argv], { encoding: 'utf8', timeout: 60_000 });
}

// 'auto' would put the region on hugepages if some were free: then /dev/shm is not what is tested.
const hugepagesFree = () => (hugetlbfsMounts().length > 0 && availableHugepages() > 0 ? 'a hugetlbfs with free pages is mounted: the commands would put their region there' : null);
const skipReason = () => needRoot() ?? needTool('/usr/bin/unshare', 'util-linux') ?? hugepagesFree();
const skip = () => firstOf(skipReason());

test('Cluster.create on a nearly full /dev/shm fails with ERR_RINGZERO_NO_SPACE and leaves no region; with the space freed it works', { skip: skip() }, () => {
  const big = testClusterId();
  const child = `
    import { Cluster } from '${clusterUrl}';
    import { readdirSync, unlinkSync } from 'node:fs';
    const out = {};
    try {
      const c = Cluster.create({ id: ${big}, bufferSize: 2048, buffers: 16384, queues: 1, hugepages: 'never' });
      c.memory.bytes.fill(1); // the tester's SIGBUS
      out.created = c.path;
      c.close();
    } catch (e) {
      out.error = { code: e.code, message: e.message, mount: e.mount, neededBytes: e.neededBytes, freeBytes: e.freeBytes };
      out.leftAfterFailure = readdirSync('/dev/shm');
    }
    unlinkSync('/dev/shm/filler'); // the fix the message names first: free space
    const c = Cluster.create({ id: ${big}, bufferSize: 2048, buffers: 16384, queues: 1, hugepages: 'never' });
    c.memory.bytes.fill(1);
    out.afterFreeing = c.memory.sab.byteLength;
    c.close();
    console.log(JSON.stringify(out));`;
  const r = inFullShm(['--input-type=module', '-e', child]);
  assert.equal(r.signal, null, `the child died of ${r.signal}: ${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(out.created, undefined, 'the big cluster was refused');
  const e = out.error;
  assert.equal(e.code, 'ERR_RINGZERO_NO_SPACE');
  assert.equal(e.mount, '/dev/shm');
  assert.ok(e.neededBytes > 32 * MiB && e.neededBytes < 40 * MiB, `needed ${e.neededBytes}`);
  assert.ok(e.freeBytes <= MiB, `free ${e.freeBytes}`);
  assert.match(e.message, new RegExp(`ringzero-cluster-${big}: it needs 3\\d\\.\\d MiB \\(${e.neededBytes} bytes\\) and the tmpfs mounted on /dev/shm has 1\\.0 MiB free of 40\\.0 MiB`));
  assert.match(e.message, /ringzero cleanup/);
  assert.match(e.message, /smaller \(fewer buffers or a smaller bufferSize\)/);
  assert.match(e.message, /mount -o remount,size=\d+M \/dev\/shm/);
  assert.deepEqual(out.leftAfterFailure, ['filler'], 'no region file is left behind');
  assert.equal(out.afterFreeing, e.neededBytes, 'created and written once the space is free');
  assert.match(r.stderr, /left: $/m);
});

test('count on a nearly full /dev/shm exits 1 with ERR_RINGZERO_NO_SPACE, not a bus error, and leaves no region', { skip: skip() }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'rz-nospace-'));
  try {
    const file = join(dir, 'in.pcap');
    writeCapture(file, 100, 1000);
    const r = inFullShm([BIN, 'count', '-i', `pcap:${file}`]);
    assert.equal(r.signal, null);
    assert.equal(r.status, 1, `exit ${r.status} (135 is a bus error): ${r.stderr}`);
    assert.match(r.stderr, /ringzero: no room for the cluster region \/dev\/shm\/ringzero-cluster-\d+: it needs [\d.]+ MiB \(\d+ bytes\) and the tmpfs mounted on \/dev\/shm has 1\.0 MiB free of 40\.0 MiB\..* \[ERR_RINGZERO_NO_SPACE\]/);
    assert.match(r.stderr, /left: filler $/m);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('count -i zc:IFACE on a nearly full /dev/shm says no space, not RLIMIT_MEMLOCK', { skip: firstOf(skipReason(), needNetns()) }, () => {
  const veth = createVethPair();
  try {
    const r = inFullShm([BIN, 'count', '-i', `zc:${veth.host}`, '-d', '3']);
    assert.equal(r.signal, null);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /no room for the cluster region .*\[ERR_RINGZERO_NO_SPACE\]/);
    assert.doesNotMatch(r.stderr, /MEMLOCK/);
    assert.match(r.stderr, /left: filler $/m);
  } finally {
    veth.remove();
  }
});
