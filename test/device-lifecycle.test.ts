// Teardown is deterministic: close() leaves no fd, no socket mapping, no XDP
// program and no promiscuous flag behind, so the same interface and queue can
// be opened again at once, 100 times in a row; and a process killed with
// SIGKILL while holding a zc: device leaves no program attached.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { spawn } from 'node:child_process';
import { Cluster } from '../src/zc/index.js';
import { openDevice } from '../src/devices/index.js';
import { firstOf, needNetns } from './helpers/env.js';
import { withVethPair } from './helpers/netns.js';
import { drainDevice, helper, peerSend } from './helpers/raw-peer.js';
import { removeRegionsOf, testClusterId } from './helpers/zc-procs.js';

const skip = firstOf(needNetns());
const BUFFERS = 4096;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const fdCount = () => readdirSync('/proc/self/fd').length;
const maps = () => readFileSync('/proc/self/maps', 'utf8').split('\n');
const socketMaps = () => maps().filter((l) => l.includes('socket:[')).length;
const linkShow = (ifname: string) => execFileSync('ip', ['-d', 'link', 'show', ifname], { encoding: 'utf8' });
const hasXdp = (ifname: string) => /\bxdp(generic|drv)?\b|prog\/xdp/.test(linkShow(ifname));
const isPromisc = (ifname: string) => (Number(readFileSync(`/sys/class/net/${ifname}/flags`, 'utf8')) & 0x100) !== 0;

for (const kind of ['zc', 'standard'] as const) {
  test(`${kind} device: close/reopen 100 times leaks no fd, mapping, program or buffer, and still receives`, { skip }, async () => {
    await withVethPair(async (pair) => {
      const cluster = Cluster.create({ id: testClusterId(), buffers: BUFFERS, hugepages: 'never' });
      const pool = cluster.pool();
      const name = kind === 'zc' ? `zc:${pair.host}` : pair.host;
      try {
        // warm up once so lazily created runtime state is not counted as a leak
        openDevice(name, { memory: cluster.memory, source: pool }).close();
        gc();
        const fds0 = fdCount(), maps0 = maps().length, sock0 = socketMaps();
        for (let i = 0; i < 100; i++) {
          const dev = openDevice(name, { memory: cluster.memory, source: pool });
          if (i === 0) {
            assert.equal(hasXdp(pair.host), kind === 'zc', 'zc: attaches an XDP program while open');
            assert.equal(isPromisc(pair.host), kind === 'standard', 'the standard device makes the interface promiscuous while open');
          }
          if (i % 25 === 24) {
            peerSend(pair, ['--count', '5', '--size', '64', '--first', String(i)]);
            assert.equal(drainDevice(dev, cluster.memory, pool, 5).length, 5, `reopened device ${i} receives`);
          }
          dev.close();
          assert.equal(pool.available, BUFFERS, `open ${i}: buffers back after close`);
        }
        assert.equal(fdCount(), fds0, 'no fd leaked');
        assert.equal(socketMaps(), sock0, 'no socket ring still mapped');
        assert.equal(hasXdp(pair.host), false, 'no XDP program left on the interface');
        assert.equal(isPromisc(pair.host), false, 'promiscuous mode dropped');
        gc();
        await new Promise((r) => setTimeout(r, 10));
        gc();
        // Socket rings are counted exactly above. Other mappings are the runtime's: a zc: device's
        // first cycles add 5 once (malloc arenas of the threads, JIT space: still +5 after 200 and
        // 400 cycles), 20 once under a full suite's load. A leak per cycle would add 100.
        const grown = maps().length - maps0;
        console.log(`mappings: ${maps0} before, ${grown >= 0 ? '+' : ''}${grown} after 100 cycles`);
        assert.ok(grown < 50, `mappings grew by ${grown} over 100 open/close cycles`);
      } finally {
        cluster.close();
      }
    });
  });
}

test('a process killed with SIGKILL while holding a zc: device leaves no XDP program attached', { skip }, async () => {
  await withVethPair(async (pair) => {
    const child = spawn(process.execPath, [helper('raw-device-child.js'), `zc:${pair.host}`, '--hold'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stderr.on('data', (b) => { err += b; });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (b) => { out += b; if (out.includes('\n')) resolve(); });
      child.on('exit', () => reject(new Error(`child exited early: ${out} ${err}`)));
    });
    assert.deepEqual(JSON.parse(out), { ok: true, mode: 'copy' });
    assert.equal(hasXdp(pair.host), true, 'the child attached its program');
    const exited = new Promise((r) => child.on('exit', r));
    child.kill('SIGKILL');
    await exited;
    removeRegionsOf(child.pid!);
    let attached = true;
    for (let t = 0; t < 100 && attached; t++) {
      attached = hasXdp(pair.host);
      if (attached) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(attached, false, 'the kernel detached the program with the dead process');
    // and the queue is free for a new owner
    const cluster = Cluster.create({ id: testClusterId(), buffers: BUFFERS, hugepages: 'never' });
    try {
      const dev = openDevice(`zc:${pair.host}@0`, { memory: cluster.memory, source: cluster.pool() });
      dev.close();
    } finally {
      cluster.close();
    }
  });
});
