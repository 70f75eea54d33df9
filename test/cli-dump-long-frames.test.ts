// Frames longer than the 2 KiB of a default cluster buffer are kept whole by
// dump: jumbo frames on a standard device (MTU 9000), frames of up to 64 KiB
// there and in capture files, wherever a record sits in the file (the copy's
// alignment shift never cuts a frame that fits a buffer); a record longer than
// the largest buffer (64 KiB) keeps what fits and is counted and reported, as
// is one the file's interface snaplen cuts: never cut silently.
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
import { buildPcap, buildPcapng, readAll, type GenPacket } from './helpers/pcap-gen.js';

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
    assert.equal(got.caplen[3], 65536, 'the 70000-byte record keeps a whole buffer');
    assert.equal(hex(got.data[3]), hex(pkts[3].data.subarray(0, got.caplen[3])), 'the cut record keeps its first bytes');
    const j = spawnSync(process.execPath, [BIN, 'dump', '-i', `pcap:${input}`, '-w', output, '--json'], { encoding: 'utf8' });
    assert.equal(lastJson(j.stdout).cut, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Records of `sizes` bytes with a pattern that differs per record. */
const records = (sizes: number[]): GenPacket[] =>
  sizes.map((n, i) => ({ data: Uint8Array.from({ length: n }, (_, k) => (k * 5 + i * 3) & 0xff), sec: 1_700_000_000 + i, nsec: 0 }));

test('dump from a capture file keeps frames of 65534-65536 bytes whole wherever their records sit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rz-long-'));
  try {
    // the short records between them put each long one at every alignment mod 4 in the file
    const sizes = [65534, 61, 65534, 62, 65534, 63, 65534, 65535, 61, 65535, 62, 65535, 63, 65535, 65536, 61, 65536, 62, 65536, 63, 65536];
    const pkts = records(sizes);
    const input = join(dir, 'in.pcap');
    const output = join(dir, 'out.pcap');
    writeFileSync(input, buildPcap(pkts, { nanosecond: true }));
    const r = spawnSync(process.execPath, [BIN, 'dump', '-i', `pcap:${input}`, '-w', output, '--json'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /longer than/, 'no frame is longer than a buffer');
    assert.equal(lastJson(r.stdout).cut, 0);
    const got = readAll(output);
    assert.deepEqual(got.caplen, sizes, 'every frame whole');
    for (let i = 0; i < sizes.length; i++) assert.equal(hex(got.data[i]), hex(pkts[i].data), `record ${i} differs`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('count and dump report the pcapng records cut to their interface snaplen', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rz-long-'));
  try {
    const sizes = [1000, 70042, 65535, 65600];
    const pkts = records(sizes);
    const input = join(dir, 'in.pcapng');
    const output = join(dir, 'out.pcap');
    writeFileSync(input, buildPcapng([{ interfaces: [{ snaplen: 65535, tsresol: 9 }], blocks: pkts.map((pkt) => ({ kind: 'epb' as const, pkt })) }]));
    const d = spawnSync(process.execPath, [BIN, 'dump', '-i', `pcap:${input}`, '-w', output, '--json'], { encoding: 'utf8' });
    assert.equal(d.status, 0, d.stderr);
    assert.match(d.stderr, /dump: 2 records were longer than the snaplen their file gives their interface \(65'535 bytes/);
    assert.doesNotMatch(d.stderr, /cluster buffers/, 'what the snaplen left fits a buffer');
    assert.equal(lastJson(d.stdout).cut, 2);
    const got = readAll(output);
    assert.deepEqual(got.caplen, [1000, 65535, 65535, 65535]);
    assert.deepEqual(got.wirelen, sizes, 'true lengths kept');
    assert.equal(hex(got.data[1]), hex(pkts[1].data.subarray(0, 65535)));
    const c = spawnSync(process.execPath, [BIN, 'count', '-i', `pcap:${input}`, '--json'], { encoding: 'utf8' });
    assert.equal(c.status, 0, c.stderr);
    assert.match(c.stderr, /count: 2 records were longer than the snaplen/);
    assert.equal(lastJson(c.stdout).packets, 4);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('dump on a standard device keeps frames of up to 64 KiB whole, with and without a VLAN tag', { skip: firstOf(needNetns()) }, async () => {
  // MTU 65522: the peer sends 65536-byte frames (MTU + 14), 65540 with a tag
  const veth = createVethPair({ mtu: 65522 });
  const dir = mkdtempSync(join(tmpdir(), 'rz-long-'));
  try {
    const file = join(dir, 'big.pcap');
    const sizes = [65534, 65535, 65536, 61, 65536, 62, 65536, 63, 65536];
    const tagged = [65530, 65531, 65532]; // 65534-65536 bytes on the wire with their tag
    const d = start(['dump', '-i', veth.host, '-w', file, '-c', String(sizes.length + tagged.length), '-d', '30', '--json']);
    for (let i = 0; i < 200 && !/capturing/i.test(d.err()); i++) await sleep(50);
    peerSend(veth, ['--sizes', sizes.join(','), '--first', '1']);
    peerSend(veth, ['--sizes', tagged.join(','), '--first', '101', '--vlan', '7']);
    const r = await d.done;
    assert.equal(r.code, 0, r.err);
    assert.doesNotMatch(r.err, /longer than/);
    assert.equal(lastJson(r.out).cut, 0);
    const got = readAll(file);
    assert.deepEqual(got.caplen, [...sizes, ...tagged.map((n) => n + 4)], 'every frame whole');
    for (let i = 0; i < sizes.length; i++) assert.equal(hex(got.data[i]), hex(testFrame(1 + i, sizes[i])), `frame ${i} differs`);
    for (let i = 0; i < tagged.length; i++) {
      const f = testFrame(101 + i, tagged[i]);
      const want = Buffer.concat([f.subarray(0, 12), Uint8Array.of(0x81, 0, 0, 7), f.subarray(12)]);
      assert.equal(hex(got.data[sizes.length + i]), want.toString('hex'), `tagged frame ${i} differs`);
    }
  } finally {
    veth.remove();
    rmSync(dir, { recursive: true, force: true });
  }
});
