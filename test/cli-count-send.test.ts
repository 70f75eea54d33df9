// ringzero send -> veth -> ringzero count, both device kinds, as processes,
// with --json and --metrics parsed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { BIN, sleep, start } from './helpers/cli.js';
import { createVethPair } from './helpers/netns.js';
import { firstOf, needNetns } from './helpers/env.js';

const skip = firstOf(needNetns());


for (const kind of ['zc:', '']) {
  test(`${kind ? 'zc: (AF_XDP)' : 'standard (AF_PACKET)'} count receives exactly the N frames send put on the wire`, { skip }, async () => {
    const veth = createVethPair();
    try {
      const N = 5000;
      const c = start(['count', '-i', kind + veth.host, '-n', String(N), '-d', '20', '--json']);
      // Wait until the capture is open before sending.
      for (let i = 0; i < 100 && !c.err().includes('Capturing'); i++) await sleep(50);
      await sleep(200);
      veth.exec(process.execPath, [BIN, 'send', '-i', veth.peer, '-n', String(N), '-p', '8000', '-l', '128', '-b', '16', '-q']);
      const r = await c.done;
      assert.equal(r.code, 0, r.err);
      const j = JSON.parse(r.out.trim().split('\n').pop()!);
      assert.equal(j.packets, N);
      assert.equal(j.bytes, N * 128);
      assert.equal(j.drops, 0);
      for (const k of ['packets', 'bytes', 'drops', 'duration_s', 'pps']) assert.equal(typeof j[k], 'number', k);
    } finally {
      veth.remove();
    }
  });
}

test('--metrics serves Prometheus counters on 127.0.0.1 while counting', { skip }, async () => {
  const veth = createVethPair();
  const port = 20000 + (process.pid % 20000);
  const c = start(['count', '-i', veth.host, '--metrics', String(port), '-d', '10', '-q']);
  try {
    for (let i = 0; i < 100 && !c.err().includes('Capturing'); i++) await sleep(50);
    let body = '';
    for (let i = 0; i < 50 && !body; i++) {
      try { body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(); } catch { await sleep(100); }
    }
    veth.exec(process.execPath, [BIN, 'send', '-i', veth.peer, '-n', '100', '-q']);
    await sleep(300);
    body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(body, /# TYPE ringzero_count_packets_total counter/);
    const pk = Number(/^ringzero_count_packets_total (\d+)$/m.exec(body)?.[1]);
    assert.equal(pk, 100);
    assert.match(body, /^ringzero_count_drops_total 0$/m);
  } finally {
    c.p.kill('SIGINT');
    await c.done;
    veth.remove();
  }
});

test('count stops cleanly on SIGINT and prints its summary', { skip }, async () => {
  const veth = createVethPair();
  const c = start(['count', '-i', veth.host, '--json']);
  try {
    for (let i = 0; i < 100 && !c.err().includes('Capturing'); i++) await sleep(50);
    c.p.kill('SIGINT');
    const r = await c.done;
    assert.equal(r.code, 0);
    assert.deepEqual(Object.keys(JSON.parse(r.out)), ['packets', 'bytes', 'drops', 'duration_s', 'pps']);
  } finally {
    veth.remove();
  }
});

test('-B sizes the kernel capture buffer of a standard device (tcpdump -B, KiB): a 1 MiB ring counts exactly at a moderate rate', { skip }, async () => {
  const veth = createVethPair();
  try {
    const N = 2000;
    const c = start(['count', '-i', veth.host, '-B', '1024', '-n', String(N), '-d', '20', '--json']);
    for (let i = 0; i < 100 && !c.err().includes('Capturing'); i++) await sleep(50);
    await sleep(200);
    veth.exec(process.execPath, [BIN, 'send', '-i', veth.peer, '-n', String(N), '-p', '4000', '-l', '100', '-q']);
    const r = await c.done;
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out.trim().split('\n').pop()!);
    assert.equal(j.packets, N);
    assert.equal(j.drops, 0);
  } finally {
    veth.remove();
  }
});

test('flag errors name the problem', () => {
  const run = (...a: string[]) => spawnSync(process.execPath, [BIN, ...a], { encoding: 'utf8' });
  let r = run('count');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /-i DEVICE is required/);
  r = run('send', '-i', 'lo', '-l', '20');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--length: expected an integer 60\.\.65535, got '20'/);
  r = run('count', '-i', 'lo', '-B', '10');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--buffer-size: expected an integer 64\.\.4194304, got '10'/);
  r = run('dump', '-i', 'lo', '-w', '/dev/null', '-g', 'x');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--core: expected an integer/);
  r = run('count', '-i', 'rz-no-such-if0');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /rz-no-such-if0/);
  assert.match(r.stderr, /ERR_RINGZERO/);
});
