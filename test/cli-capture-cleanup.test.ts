// count and dump leave nothing behind on their error paths: flags are checked
// before the private cluster's region exists, a failure after it (a busy
// --metrics port) removes it, and a reader that closes standard output
// (`count | head -1`) ends the command quietly, region removed. The owner
// commands (balance) also remove their cluster when --metrics fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, start } from './helpers/cli.js';
import { createVethPair } from './helpers/netns.js';
import { needNetns } from './helpers/env.js';
import { privateRegionLeft, removePrivateRegion, writeCapture } from './helpers/capture-cli.js';
import { removeRegionsOf, testClusterId } from './helpers/zc-procs.js';
import { regionDirs } from '../src/memory/region.js';
import { regionName } from '../src/zc/cluster.js';

test('-g with a CPU that is not online is a usage error, and no region is left (count and dump)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rz-clean-'));
  const pids: number[] = [];
  try {
    const file = join(dir, 'in.pcap');
    writeCapture(file, 100, 1000);
    for (const args of [['count', '-i', `pcap:${file}`, '-g', '99'], ['dump', '-i', `pcap:${file}`, '-w', join(dir, 'out.pcap'), '-g', '99']]) {
      const c = start(args);
      pids.push(c.p.pid!);
      const r = await c.done;
      assert.equal(r.code, 2, `${args[0]}: ${r.err}`);
      assert.match(r.err, /-g 99: CPU 99 is offline or outside this process's CPU set; use one of \d/);
      assert.match(r.err, /ERR_RINGZERO_USAGE/);
      assert.equal(privateRegionLeft(c.p.pid!), null, `${args[0]} left its region`);
    }
  } finally {
    for (const p of pids) removePrivateRegion(p);
    rmSync(dir, { recursive: true });
  }
});

test('--metrics on a busy port: count on a zc: device fails with ERR_RINGZERO_METRICS and removes its region', { skip: needNetns() ?? false }, async () => {
  const veth = createVethPair();
  const busy = createServer();
  let pid: number | undefined;
  try {
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as AddressInfo).port;
    const c = start(['count', '-i', `zc:${veth.host}`, '--metrics', String(port), '-d', '5']);
    pid = c.p.pid;
    const r = await c.done;
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}.*ERR_RINGZERO_METRICS`));
    assert.equal(privateRegionLeft(pid!), null, 'the region was removed');
  } finally {
    removePrivateRegion(pid);
    busy.close();
    veth.remove();
  }
});

test('a reader that closes standard output (count -v | head -1) ends count quietly, with its region removed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rz-clean-'));
  let pid: number | undefined;
  try {
    const file = join(dir, 'in.pcap');
    writeCapture(file, 1001, 10_000_000); // 10 s at the recorded pace
    const p = spawn(process.execPath, [BIN, 'count', '-i', `pcap:${file}`, '--speed', '1', '-v'], { stdio: ['ignore', 'pipe', 'pipe'] });
    pid = p.pid;
    let err = '';
    p.stderr.on('data', (d) => { err += d; });
    const t0 = Date.now();
    // head -1: read up to the first line, then close the pipe
    await new Promise<void>((r) => {
      let got = '';
      p.stdout.on('data', (d) => { got += d; if (got.includes('\n')) { p.stdout.destroy(); r(); } });
    });
    const [code, signal] = await new Promise<[number | null, string | null]>((r) => p.on('exit', (c, s) => r([c, s])));
    assert.equal(signal, null);
    assert.equal(code, 0, err);
    assert.ok(Date.now() - t0 < 8000, 'count stopped when its reader went away, not at the end of the file');
    assert.doesNotMatch(err, /EPIPE|Unhandled|at \w+ \(/, 'no stack trace');
    assert.equal(privateRegionLeft(pid!), null, 'the region was removed');
  } finally {
    removePrivateRegion(pid);
    rmSync(dir, { recursive: true });
  }
});

test('balance with a bad --metrics port stops its worker and removes its cluster', { skip: needNetns() ?? false }, async () => {
  const veth = createVethPair();
  const id = testClusterId();
  let pid: number | undefined;
  try {
    const c = start(['balance', '-i', `zc:${veth.host}`, '-c', String(id), '-n', '2', '--metrics', '99999', '--quiet']);
    pid = c.p.pid;
    const r = await Promise.race([c.done, new Promise<null>((res) => setTimeout(() => res(null), 20_000))]);
    assert.ok(r, 'balance ended by itself (its worker was stopped)');
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /--metrics: expected an integer 1\.\.65535, got '99999'/);
    assert.ok(regionDirs().every((d) => !existsSync(join(d, regionName(id)))), 'the cluster region was removed');
  } finally {
    if (pid !== undefined) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* ended */ }
      removeRegionsOf(pid);
    }
    veth.remove();
  }
});
