// Writer rotation: -C splits exactly where tcpdump -C splits (same names and
// packets per file), -W reuses names in a ring, -G rotates on packet time with
// strftime names or numbered suffixes, and -G -W stops after W files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapWriter, createPacketRecords, strftime, type PcapWriterOptions } from '../src/pcap/index.js';
import { needTool, firstOf } from './helpers/env.js';
import { buildPcap, makePackets, readAll, type GenPacket } from './helpers/pcap-gen.js';

const root = mkdtempSync(join(tmpdir(), 'rz-pcap-rot-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));
let n = 0;
function freshDir(): string { const d = join(root, String(n++)); mkdirSync(d); return d; }

/** Writes `pkts` in bursts of 16 and returns the writer (closed) and the files it closed, in order. */
function rotateWrite(pattern: string, pkts: GenPacket[], opts: PcapWriterOptions): { w: PcapWriter; closed: string[]; accepted: number } {
  const closed: string[] = [];
  const w = PcapWriter.open(pattern, { ...opts, onFileClosed: (p) => closed.push(p) });
  const mem = new Uint8Array(16 * 2048);
  const rec = createPacketRecords(16);
  let accepted = 0;
  for (let i = 0; i < pkts.length; i += 16) {
    const k = Math.min(16, pkts.length - i);
    for (let j = 0; j < k; j++) {
      const p = pkts[i + j];
      mem.set(p.data, j * 2048);
      rec.offset[j] = j * 2048; rec.caplen[j] = p.data.length; rec.wirelen[j] = 0; rec.sec[j] = p.sec; rec.nsec[j] = p.nsec;
    }
    accepted += w.writeBurst(mem, rec, k);
  }
  w.close();
  return { w, closed, accepted };
}

const sized = makePackets(3000, 5, 1000, 1000);

for (const W of [undefined, 2, 12]) {
  test(`-C 1${W ? ` -W ${W}` : ''}: same file names, sizes and packets per file as tcpdump`, { skip: firstOf(needTool('/usr/bin/tcpdump', 'tcpdump')) }, () => {
    const src = join(root, `src-${W}.pcap`);
    writeFileSync(src, buildPcap(sized));
    const theirs = freshDir();
    execFileSync('tcpdump', ['-Z', 'root', '-r', src, '-w', join(theirs, 'out'), '-C', '1', ...(W ? ['-W', String(W)] : [])], { stdio: 'ignore' });
    const ours = freshDir();
    const { closed } = rotateWrite(join(ours, 'out'), sized, { maxFileBytes: 1_000_000, maxFiles: W, nanosecond: false });
    const names = readdirSync(theirs).sort();
    assert.deepEqual(readdirSync(ours).sort(), names);
    for (const f of names) {
      assert.equal(statSync(join(ours, f)).size, statSync(join(theirs, f)).size, f);
      const a = readAll(join(ours, f));
      const b = readAll(join(theirs, f));
      assert.deepEqual(a.sec, b.sec, f);
      assert.deepEqual(a.nsec, b.nsec, f);
      assert.deepEqual(a.data, b.data, f);
    }
    assert.equal(closed.length, W ? 4 : names.length, 'every file reported once closed');
  });
}

// 40 packets, one every 0.5 s of packet time, starting on a 10-second boundary.
const timed: GenPacket[] = makePackets(40, 9, 60, 200).map((p, i) => ({ ...p, sec: 1_700_000_000 + Math.floor(i / 2), nsec: (i % 2) * 500_000_000 }));

test('-G 3 with a %s pattern: a file per 3 s of packet time, named by its first packet', () => {
  const d = freshDir();
  const { w, closed } = rotateWrite(join(d, 'cap-%s.pcap'), timed, { rotateSeconds: 3 });
  const names = readdirSync(d).sort();
  const starts = [0, 3, 6, 9, 12, 15, 18].map((s) => 1_700_000_000 + s);
  assert.deepEqual(names, starts.map((s) => `cap-${s}.pcap`).sort());
  for (const s of starts) {
    const got = readAll(join(d, `cap-${s}.pcap`));
    assert.equal(got.sec[0], s);
    assert.ok(got.sec.every((x) => x >= s && x < s + 3), `file ${s} holds its 3 s`);
  }
  assert.equal(names.reduce((k, f) => k + readAll(join(d, f)).data.length, 0), timed.length);
  assert.equal(w.stats.files, 7);
  assert.equal(closed.length, 7);
});

test('-G with strftime conversions expands them (UTC) from the packet time', () => {
  const d = freshDir();
  rotateWrite(join(d, '%Y-%m-%d_%H:%M:%S.pcap'), timed.slice(0, 6), { rotateSeconds: 2, utc: true });
  // 1700000000 = 2023-11-14 22:13:20 UTC
  assert.deepEqual(readdirSync(d).sort(), ['2023-11-14_22:13:20.pcap', '2023-11-14_22:13:22.pcap']);
  assert.equal(strftime('%j %y %e %%', 1_700_000_000, true), '318 23 14 %');
});

test('-G with a plain name numbers its files instead of overwriting one', () => {
  const d = freshDir();
  rotateWrite(join(d, 'plain'), timed, { rotateSeconds: 5 });
  assert.deepEqual(readdirSync(d).sort(), ['plain', 'plain1', 'plain2', 'plain3'].sort());
  assert.equal(readAll(join(d, 'plain3')).sec[0], 1_700_000_015);
});

test('-G 5 -W 2 stops after two files and refuses the rest', () => {
  const d = freshDir();
  const { w, accepted } = rotateWrite(join(d, 'g%s'), timed, { rotateSeconds: 5, maxFiles: 2 });
  assert.equal(readdirSync(d).length, 2);
  assert.equal(accepted, 20, 'the first 10 s of packets');
  assert.ok(w.limitReached);
  assert.equal(w.stats.refused, 20);
});

test('-G with -C: size splits within each time window, counter restarting per window', () => {
  const d = freshDir();
  const big = timed.map((p) => ({ ...p, data: new Uint8Array(400).fill(p.sec & 0xff) }));
  rotateWrite(join(d, 'w%s_'), big, { rotateSeconds: 10, maxFileBytes: 2000 });
  const names = readdirSync(d).sort();
  // 20 packets of 416 bytes per 10 s window; a file closes once above 2000 bytes (5 packets + header).
  const perWindow = ['', '1', '2', '3'];
  assert.deepEqual(names, [...perWindow.map((s) => `w1700000000_${s}`), ...perWindow.map((s) => `w1700000010_${s}`)].sort());
  assert.equal(readAll(join(d, 'w1700000010_3')).data.length, 5);
});

test('an empty time-rotated capture still leaves one header-only file', () => {
  const d = freshDir();
  const before = Math.floor(Date.now() / 1000);
  rotateWrite(join(d, 'e%s'), [], { rotateSeconds: 60 });
  const names = readdirSync(d);
  assert.equal(names.length, 1);
  assert.ok(Number(names[0].slice(1)) >= before);
  assert.equal(statSync(join(d, names[0])).size, 24);
});

test('rotation options are refused for standard output and without a rotation trigger', () => {
  assert.throws(() => PcapWriter.open('-', { maxFileBytes: 1000 }), { code: 'ERR_RINGZERO_INVALID_ARGUMENT' });
  assert.throws(() => PcapWriter.open(join(root, 'x'), { maxFiles: 3 }), { code: 'ERR_RINGZERO_INVALID_ARGUMENT' });
  assert.throws(() => PcapWriter.open(join(root, 'x'), { snaplen: 0 }), { code: 'ERR_RINGZERO_INVALID_ARGUMENT' });
});
