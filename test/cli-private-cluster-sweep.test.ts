// A command run killed with SIGKILL cannot remove its private cluster's
// region, and the next run has another pid, so another id: the region used to
// stay in /dev/shm until `ringzero cleanup`. Now the next command that creates
// a private cluster removes it and says so in one line, and removes nothing
// else: not a live run's region, not a named (-c, or API) cluster's even with
// a dead owner and an id in the private range, not one a live process still
// maps, not another user's.
//
// Each test runs on a region folder of its own (privateShm): /dev/shm holds
// other people's regions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, start, until } from './helpers/cli.js';
import { firstOf, needNetns, needRoot, privateShm } from './helpers/env.js';
import { createVethPair } from './helpers/netns.js';
import { writeCapture } from './helpers/capture-cli.js';
import { testClusterId } from './helpers/zc-procs.js';
import { regionName } from '../src/zc/cluster.js';
import { privateClusterIdOf } from '../src/cli/endpoint.js';

const clusterUrl = new URL('../src/zc/cluster.js', import.meta.url).href;

test('the next count removes the private region of a SIGKILLed count and says so', { skip: firstOf(needNetns()) }, async () => {
  const shm = privateShm('sweep');
  const veth = createVethPair();
  try {
    const first = start(['count', '-i', veth.host], [], shm.env);
    await until(() => /Capturing from/.test(first.err()), 'the first count to capture');
    const left = join(shm.dir, regionName(privateClusterIdOf(first.p.pid!)));
    first.p.kill('SIGKILL');
    assert.equal((await first.done).signal, 'SIGKILL');
    assert.ok(existsSync(left), 'SIGKILL left the region');

    const second = start(['count', '-i', veth.host, '-d', '1'], [], shm.env);
    const r = await second.done;
    assert.equal(r.code, 0, second.err());
    const lines = second.err().split('\n').filter((l) => l.includes('removed'));
    assert.equal(lines.length, 1, second.err());
    assert.match(lines[0], new RegExp(`^ringzero: removed the region of an earlier run that died without removing it \\(pid ${first.p.pid}: ${left}; \\d+\\.\\d MiB freed\\)$`));
    assert.ok(!existsSync(left), 'the dead run\'s region is gone');
    assert.ok(!existsSync(join(shm.dir, regionName(privateClusterIdOf(second.p.pid!)))), 'and the second run removed its own');
  } finally {
    veth.remove();
    shm.remove();
  }
});

test('a private cluster\'s creation removes only dead private regions: not live ones, named ones, mapped ones or another user\'s', { skip: needRoot() ?? false }, async () => {
  const shm = privateShm('sweep');
  const children: ChildProcess[] = [];
  /** A process that creates cluster `id` (private or not) and then SIGKILLs itself, or stays (`live`). */
  const owner = async (id: number, opts: { private: boolean; live?: boolean }) => {
    const code = `import { Cluster } from '${clusterUrl}'; Cluster.create({ id: ${id}, buffers: 64, hugepages: 'never', private: ${opts.private} }); ` +
      (opts.live ? `console.log('up'); setInterval(() => {}, 1000);` : `process.kill(process.pid, 'SIGKILL');`);
    if (!opts.live) { spawnSync(process.execPath, ['--input-type=module', '-e', code], { env: shm.env }); return; }
    const c = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'], env: shm.env });
    children.push(c);
    await new Promise((r) => c.stdout!.once('data', r));
  };
  try {
    const [dead, live, named, mapped, foreign] = [testClusterId(), testClusterId(), testClusterId(), testClusterId(), testClusterId()];
    await owner(dead, { private: true });
    await owner(live, { private: true, live: true });
    await owner(named, { private: false }); // dead too, and its id is in the private range: still a cluster someone named
    await owner(foreign, { private: true });
    chownSync(join(shm.dir, regionName(foreign)), 65534, 65534);
    // a dead owner's region that a consumer still maps
    const ownerOfMapped = spawn(process.execPath, ['--input-type=module', '-e',
      `import { Cluster } from '${clusterUrl}'; Cluster.create({ id: ${mapped}, buffers: 64, hugepages: 'never', private: true }); console.log('up'); setInterval(() => {}, 1000);`],
    { stdio: ['ignore', 'pipe', 'inherit'], env: shm.env });
    children.push(ownerOfMapped);
    await new Promise((r) => ownerOfMapped.stdout!.once('data', r));
    const consumer = spawn(process.execPath, ['--input-type=module', '-e',
      `import { Cluster } from '${clusterUrl}'; Cluster.attach(${mapped}); console.log('attached'); setInterval(() => {}, 1000);`],
    { stdio: ['ignore', 'pipe', 'inherit'], env: shm.env });
    children.push(consumer);
    await new Promise((r) => consumer.stdout!.once('data', r));
    ownerOfMapped.kill('SIGKILL');
    await new Promise((r) => ownerOfMapped.once('exit', r));

    const file = join(shm.dir, 'in.pcap');
    writeCapture(file, 10, 1000);
    const run = spawnSync(process.execPath, [BIN, 'count', '-i', `pcap:${file}`], { encoding: 'utf8', env: shm.env });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, new RegExp(`^ringzero: removed the region of an earlier run that died without removing it \\(pid \\d+: ${join(shm.dir, regionName(dead))}; `, 'm'));
    assert.ok(!existsSync(join(shm.dir, regionName(dead))), 'the dead private region is removed');
    for (const [what, id] of [['live', live], ['named', named], ['mapped', mapped], ['foreign', foreign]] as const) {
      assert.ok(existsSync(join(shm.dir, regionName(id))), `the ${what} region is kept`);
    }
  } finally {
    for (const c of children) c.kill('SIGKILL');
    shm.remove();
  }
});
