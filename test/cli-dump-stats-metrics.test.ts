// dump reports like every command: the Absolute/Actual lines each second (on
// standard output, or on standard error when the capture itself goes to
// standard output) and Prometheus counters with --metrics PORT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { BIN, freePort, start, until } from './helpers/cli.js';
import { testClusterId } from './helpers/zc-procs.js';
import { Cluster } from '../src/zc/cluster.js';
import { META_LEN, META_WORDS } from '../src/zc/meta.js';
import { buildFrames } from '../src/cli/frames.js';

/** A cluster with one queue and a way to put `n` 60-byte frames on it. */
function feeder() {
  const c = Cluster.create({ id: testClusterId(), buffers: 2048, queues: 1, queueLength: 1024, hugepages: 'never' });
  const pool = c.pool(0);
  const prod = c.producer(0, pool);
  const frames = buildFrames({ length: 60, sources: 1 });
  const b = new Uint32Array(1);
  return {
    id: c.id,
    send(n: number) {
      for (let i = 0; i < n; i++) {
        assert.equal(pool.alloc(b, 1), 1);
        c.memory.bytes.set(frames.bytes.subarray(0, 60), c.dataOffset(b[0]));
        c.memory.meta[b[0] * META_WORDS + META_LEN] = 60;
        assert.equal(prod.sendBurst(b, 1), 1);
      }
      pool.drain();
    },
    close() { prod.close(); pool.detach(); c.close(); },
  };
}

test('dump -w FILE prints the per-second stats lines and serves --metrics', async () => {
  const q = feeder();
  const dir = mkdtempSync(join(tmpdir(), 'rz-dstat-'));
  const port = await freePort();
  const d = start(['dump', '-i', `zc:${q.id}@0`, '-w', join(dir, 'out.pcap'), '--metrics', String(port), '-d', '30']);
  try {
    await until(() => d.err().includes('capturing'), 'dump to start');
    q.send(300);
    // the pair of lines of one second (they may arrive in two reads)
    await until(() => /^Absolute Stats: 300 pkts \(0 drops\) - 18'000 bytes\nActual Stats: [\d'.]+ pps \(0\.00 drops\) - [\d.]+ Gbps$/m.test(d.out()),
      `the stats lines of a second with the 300 packets (stdout: ${d.out()})`);
    const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(body, /# TYPE ringzero_dump_packets_total counter/);
    assert.match(body, /^ringzero_dump_packets_total 300$/m);
    assert.match(body, /^ringzero_dump_bytes_total 18000$/m);
    assert.match(body, /^ringzero_dump_drops_total 0$/m);
    d.p.kill('SIGINT');
    const r = await d.done;
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /300 packets captured/);
  } finally {
    if (d.p.exitCode === null) d.p.kill('SIGKILL');
    q.close();
    rmSync(dir, { recursive: true });
  }
});

test('dump -w - puts the stats lines on standard error and nothing but the capture on standard output', async () => {
  const q = feeder();
  const dir = mkdtempSync(join(tmpdir(), 'rz-dstat-'));
  const out: Buffer[] = [];
  let err = '';
  const d = spawn(process.execPath, [BIN, 'dump', '-i', `zc:${q.id}@0`, '-w', '-', '-d', '30'], { stdio: ['ignore', 'pipe', 'pipe'] });
  d.stdout.on('data', (b: Buffer) => out.push(b));
  d.stderr.on('data', (b) => { err += b; });
  const done = new Promise<number | null>((r) => d.on('exit', (c) => r(c)));
  try {
    await until(() => err.includes('capturing'), 'dump to start');
    q.send(200);
    await until(() => /^Absolute Stats: 200 pkts/m.test(err), `a stats line on standard error (stderr: ${err})`);
    d.kill('SIGINT');
    assert.equal(await done, 0, err);
    const file = join(dir, 'stdout.pcap');
    writeFileSync(file, Buffer.concat(out));
    assert.ok(!readFileSync(file).includes('Stats'), 'no stats text in the capture');
    const back = spawnSync(process.execPath, [BIN, 'count', '-i', `pcap:${file}`, '--json'], { encoding: 'utf8' });
    assert.equal(back.status, 0, `standard output is a readable capture: ${back.stderr}`);
    assert.equal(JSON.parse(back.stdout).packets, 200);
  } finally {
    if (d.exitCode === null) d.kill('SIGKILL');
    q.close();
    rmSync(dir, { recursive: true });
  }
});
