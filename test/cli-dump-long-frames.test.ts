// Frames longer than the 2 KiB of a default cluster buffer are kept whole by
// dump: jumbo frames on a standard device (MTU 9000) and long records of a
// capture file; a record longer than the largest buffer (64 KiB) keeps what
// fits and is counted and reported, never cut silently.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, lastJson, sleep, start } from './helpers/cli.js';
import { createVethPair } from './helpers/netns.js';
import { firstOf, needNetns } from './helpers/env.js';
import { peerSend } from './helpers/raw-peer.js';
import { testFrame } from './helpers/raw-frames.js';
import { buildPcap, readAll } from './helpers/pcap-gen.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('dump on a standard device keeps jumbo frames of up to 9014 bytes whole', { skip: firstOf(needNetns()) }, async () => {
  const veth = createVethPair({ mtu: 9000 });
  const dir = mkdtempSync(join(tmpdir(), 'rz-long-'));
  try {
    const file = join(dir, 'jumbo.pcap');
    const sizes = [60, 3000, 8000, 9014];
    const d = start(['dump', '-i', veth.host, '-w', file, '-c', String(sizes.length), '-d', '20', '--json']);
    for (let i = 0; i < 200 && !/capturing/i.test(d.err()); i++) await sleep(50);
    peerSend(veth, ['--sizes', sizes.join(','), '--first', '7']);
    const r = await d.done;
    assert.equal(r.code, 0, r.err);
    assert.equal(lastJson(r.out).cut, 0);
    const got = readAll(file);
    assert.deepEqual(got.caplen, sizes, 'every frame whole');
    assert.deepEqual(got.wirelen, sizes);
    for (let i = 0; i < sizes.length; i++) assert.equal(hex(got.data[i]), hex(testFrame(7 + i, sizes[i])), `frame ${i} differs`);
  } finally {
    veth.remove();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('dump from a capture file keeps records up to 64 KiB whole and reports the longer ones it had to cut', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rz-long-'));
  try {
    const sizes = [2100, 9014, 60000, 70000];
    const pkts = sizes.map((n, i) => ({ data: Uint8Array.from({ length: n }, (_, k) => (k * 7 + i) & 0xff), sec: 1_700_000_000 + i, nsec: 0 }));
    const input = join(dir, 'in.pcap');
    const output = join(dir, 'out.pcap');
    writeFileSync(input, buildPcap(pkts));
    const r = spawnSync(process.execPath, [BIN, 'dump', '-i', `pcap:${input}`, '-w', output], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /1 frames were longer than the 65'536-byte cluster buffers/);
    const got = readAll(output);
    assert.deepEqual(got.wirelen, sizes, 'true lengths kept');
    for (let i = 0; i < 3; i++) {
      assert.equal(got.caplen[i], sizes[i], `record ${i} whole`);
      assert.equal(hex(got.data[i]), hex(pkts[i].data), `record ${i} differs`);
    }
    assert.ok(got.caplen[3] >= 65533 && got.caplen[3] <= 65536, `the 70000-byte record kept ${got.caplen[3]} bytes`);
    assert.equal(hex(got.data[3]), hex(pkts[3].data.subarray(0, got.caplen[3])), 'the cut record keeps its first bytes');
    const j = spawnSync(process.execPath, [BIN, 'dump', '-i', `pcap:${input}`, '-w', output, '--json'], { encoding: 'utf8' });
    assert.equal(lastJson(j.stdout).cut, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
