// Signals every command handles (main.ts, loop.ts). SIGUSR1 is Node's signal
// to open its inspector (a debugger port, in a process that often runs as
// root): every command takes it over, ignored or a filter reload where -F is
// given, and runs on undisturbed. SIGINT, taken from the start of the
// process, also ends the commands that have no run loop (stats -w).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, sleep, start, until, type Started } from './helpers/cli.js';
import { Cluster } from '../src/zc/cluster.js';
import { writeCapture } from './helpers/capture-cli.js';
import { removeRegionsOf, testClusterId } from './helpers/zc-procs.js';

async function usr1ThenInt(c: Started, ready: RegExp): Promise<void> {
  try {
    await until(() => ready.test(c.err()), `the command to start (stderr: ${c.err()})`);
    c.p.kill('SIGUSR1');
    await sleep(100);
    c.p.kill('SIGUSR1');
    await sleep(400);
    assert.equal(c.p.exitCode, null, 'still running after SIGUSR1');
    assert.doesNotMatch(c.err(), /Debugger listening|inspector/i);
    c.p.kill('SIGINT');
    const r = await c.done;
    assert.equal(r.code, 0, r.err);
    assert.doesNotMatch(r.err, /Debugger listening|inspector/i);
  } finally {
    if (c.p.exitCode === null) {
      c.p.kill('SIGKILL');
      await c.done;
    }
    removeRegionsOf(c.p.pid!); // only after a failure: SIGKILL leaves the command's region
  }
}

test('count without -F ignores SIGUSR1 (no inspector) and still stops on SIGINT', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rz-usr1-'));
  try {
    const file = join(dir, 'in.pcap');
    writeCapture(file, 1001, 20_000_000); // 20 s at the recorded pace
    await usr1ThenInt(start(['count', '-i', `pcap:${file}`, '--speed', '1', '--json']), /Capturing/);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('cluster (an owner command) ignores SIGUSR1 too', async () => {
  await usr1ThenInt(start(['cluster', '-c', String(testClusterId()), '-d', '30', '--quiet']), /^Cluster \d+: 1 queue/m);
});

test('stats -w prints every second until SIGINT, then exits 0', async () => {
  const id = testClusterId();
  const c = Cluster.create({ id, buffers: 64, queues: 1, queueLength: 64, hugepages: 'never' });
  const p = spawn(process.execPath, [BIN, 'stats', '-c', String(id), '-w'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d) => { out += d; });
  const done = new Promise<[number | null, string | null]>((r) => p.on('exit', (code, sig) => r([code, sig])));
  try {
    await until(() => (out.match(/^Cluster /gm) ?? []).length >= 2, `two reports (stdout: ${out})`);
    p.kill('SIGINT');
    assert.deepEqual(await done, [0, null]);
  } finally {
    if (p.exitCode === null) p.kill('SIGKILL');
    c.close();
  }
});
