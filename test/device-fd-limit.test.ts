// A process at its open-file limit (RLIMIT_NOFILE) that opens a device or a
// cluster gets ERR_RINGZERO_FD_LIMIT naming EMFILE, the limit and the fixes.
// Before, the interface lookup (glibc's if_nametoindex opens a socket) turned
// EMFILE into "no network interface named X", a socket() into a bare EMFILE,
// and a region file into "check that /dev/shm is writable".
//
// The child lowers its own limit to 70 (as `prlimit --nofile=70:70` did in the
// tester's repro), fills the table with /dev/null, and frees exactly as many
// descriptors as each step needs to fail where it is meant to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { firstOf, needNetns } from './helpers/env.js';
import { createVethPair } from './helpers/netns.js';
import { testClusterId } from './helpers/zc-procs.js';

const url = (m: string) => new URL(`../src/${m}`, import.meta.url).href;

const child = (ifname: string, id: number, other: number) => `
  import { openSync, closeSync } from 'node:fs';
  import { Cluster } from '${url('zc/cluster.js')}';
  import { openDevice } from '${url('devices/index.js')}';
  import { native } from '${url('native/index.js')}';
  const cluster = Cluster.create({ id: ${id}, buffers: 256, hugepages: 'never' });
  const other = Cluster.create({ id: ${other}, buffers: 64, hugepages: 'never' }); // to attach to below
  const pool = cluster.pool(0);
  native.setrlimit(7, 70, 70); // RLIMIT_NOFILE
  const filler = [];
  const full = () => { for (;;) { try { filler.push(openSync('/dev/null', 'r')); } catch { break; } } };
  const free = (n) => { for (let i = 0; i < n; i++) closeSync(filler.pop()); };
  const out = {};
  // each step starts with no descriptor free (a failed open gives back what it had taken)
  const attempt = (name, fn) => { full(); try { fn().close(); out[name] = 'opened'; } catch (e) { out[name] = { code: e.code, errno: e.errno, message: e.message, limit: e.limit }; } };
  // the interface lookup
  attempt('lookup', () => openDevice('${ifname}', { memory: cluster.memory, source: pool }));
  // one free: the lookup and the RX socket get it in turn, the TX socket finds none
  attempt('socket', () => { free(1); return openDevice('${ifname}', { memory: cluster.memory, source: pool }); });
  attempt('create', () => Cluster.create({ id: ${id} + 2, buffers: 64, hugepages: 'never' }));
  attempt('attach', () => Cluster.attach(${other}));
  free(filler.length);
  try { openDevice('${ifname}', { memory: cluster.memory, source: pool }).close(); out.after = 'opened'; } catch (e) { out.after = e.message; }
  pool.detach(); cluster.close(); other.close();
  console.log(JSON.stringify(out));`;

test('opening devices and clusters at the open-file limit says EMFILE, the limit and the fix, not "no such interface"', { skip: firstOf(needNetns()) }, () => {
  const veth = createVethPair();
  try {
    const id = testClusterId();
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', child(veth.host, id, testClusterId())], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    for (const step of ['lookup', 'socket', 'create', 'attach']) {
      const e = out[step];
      assert.equal(e.code, 'ERR_RINGZERO_FD_LIMIT', `${step}: ${JSON.stringify(e)}`);
      assert.equal(e.errno, 'EMFILE');
      assert.equal(e.limit, 70);
      assert.match(e.message, /as many open file descriptors as its limit allows \(EMFILE from \w+; RLIMIT_NOFILE 70, hard 70\)\. Raise the limit \(ulimit -n 1024 .*close devices and clusters/, step);
    }
    assert.match(out.lookup.message, new RegExp(`^looking up network interface '${veth.host}'`));
    assert.match(out.socket.message, /^opening an AF_PACKET socket failed/);
    assert.match(out.create.message, /^creating the region file .*ringzero-cluster-\d+ failed/);
    assert.match(out.attach.message, /^opening the region file .*ringzero-cluster-\d+ failed/);
    assert.equal(out.after, 'opened', 'with descriptors free again, the same device opens');
  } finally {
    veth.remove();
  }
});

test('an idle zc: device in a process at its open-file limit keeps waiting: not told its interface is gone', { skip: firstOf(needNetns()) }, () => {
  const veth = createVethPair();
  try {
    // The idle wait looks once a second whether the interface is still there;
    // with no descriptor left to look with, that used to read as "gone".
    const code = `
      import { openSync } from 'node:fs';
      import { Cluster } from '${url('zc/cluster.js')}';
      import { openDevice } from '${url('devices/index.js')}';
      import { native } from '${url('native/index.js')}';
      const cluster = Cluster.create({ id: ${testClusterId()}, buffers: 4096, hugepages: 'never' });
      const pool = cluster.pool(0);
      const dev = openDevice('zc:${veth.host}', { memory: cluster.memory, source: pool, tx: false });
      native.setrlimit(7, 200, 200);
      for (;;) { try { openSync('/dev/null', 'r'); } catch { break; } }
      let result = 'waited';
      const end = Date.now() + 2500;
      try { while (Date.now() < end) dev.wait(100); } catch (e) { result = e.code; }
      dev.close(); pool.detach(); cluster.close();
      console.log(JSON.stringify({ result }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').pop()!), { result: 'waited' });
  } finally {
    veth.remove();
  }
});
