// A SIGINT or SIGTERM that comes while a command is still setting up (its
// cluster region exists, the device or worker is not running yet) ends the
// command cleanly once setup is done: exit status 0, region removed. Without
// handlers from the start, the signal killed the process and left the region.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep, start, type Started } from './helpers/cli.js';
import { createVethPair } from './helpers/netns.js';
import { needNetns } from './helpers/env.js';
import { privateRegionLeft, removePrivateRegion } from './helpers/capture-cli.js';
import { testClusterId } from './helpers/zc-procs.js';
import { regionDirs, removeRegion } from '../src/memory/region.js';
import { regionName } from '../src/zc/cluster.js';
import { privateClusterIdOf } from '../src/cli/endpoint.js';

const skip = needNetns() ?? false;

/** The path of cluster `id`'s region once it exists (polled every millisecond), or null after `ms`. */
async function regionAppears(id: () => number, ms = 15_000): Promise<string | null> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    for (const d of regionDirs()) if (existsSync(join(d, regionName(id())))) return join(d, regionName(id()));
    await sleep(1);
  }
  return null;
}

async function signalDuringSetup(c: Started, id: () => number, signal: NodeJS.Signals): Promise<void> {
  const path = await regionAppears(id);
  assert.ok(path, `the region never appeared: ${c.err()}`);
  c.p.kill(signal);
  const r = await c.done;
  assert.equal(r.signal, null, `killed by ${r.signal}: the signal came before a handler was installed`);
  assert.equal(r.code, 0, r.err);
  assert.ok(!existsSync(path), `${path} was left behind`);
}

test('SIGINT while count -i zc: is setting up: exit 0, no region left', { skip }, async () => {
  const veth = createVethPair();
  let c: Started | undefined;
  try {
    c = start(['count', '-i', `zc:${veth.host}`, '-q']);
    await signalDuringSetup(c, () => privateClusterIdOf(c!.p.pid!), 'SIGINT');
  } finally {
    if (c?.p.exitCode === null) { c.p.kill('SIGKILL'); await c.done; }
    removePrivateRegion(c?.p.pid);
    veth.remove();
  }
});

test('SIGTERM while dump -i zc: -w FILE is setting up: exit 0, no region left, a readable (empty) capture', { skip }, async () => {
  const veth = createVethPair();
  const dir = mkdtempSync(join(tmpdir(), 'rz-stop-'));
  let c: Started | undefined;
  try {
    const out = join(dir, 'e.pcap');
    c = start(['dump', '-i', `zc:${veth.host}`, '-w', out, '-q']);
    await signalDuringSetup(c, () => privateClusterIdOf(c!.p.pid!), 'SIGTERM');
    assert.equal(privateRegionLeft(c.p.pid!), null);
    assert.equal(statSync(out).size, 24, 'the file holds its pcap header');
  } finally {
    if (c?.p.exitCode === null) { c.p.kill('SIGKILL'); await c.done; }
    removePrivateRegion(c?.p.pid);
    rmSync(dir, { recursive: true });
    veth.remove();
  }
});

test('SIGINT while balance -i zc: is starting its worker: exit 0, the cluster region removed', { skip }, async () => {
  const veth = createVethPair();
  const id = testClusterId();
  let c: Started | undefined;
  try {
    c = start(['balance', '-i', `zc:${veth.host}`, '-c', String(id), '-n', '2', '--quiet']);
    await signalDuringSetup(c, () => id, 'SIGINT');
  } finally {
    if (c?.p.exitCode === null) { c.p.kill('SIGKILL'); await c.done; }
    for (const d of regionDirs()) if (existsSync(join(d, regionName(id)))) removeRegion(join(d, regionName(id)));
    veth.remove();
  }
});
