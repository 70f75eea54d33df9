// -q (--quiet for the cluster owners, whose -q is the queue length) quiets
// what a run prints while it runs, as with PF_RING's tools: the start line
// and the per-second stats lines. The final summary stays: count, send and
// balance print their Total line, dump its "N packets captured" line.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapWriter } from '../src/pcap/index.js';
import { BIN } from './helpers/cli.js';
import { testClusterId } from './helpers/zc-procs.js';

const dir = mkdtempSync(join(tmpdir(), 'rz-quiet-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const root = process.getuid?.() === 0 ? false : 'needs root (AF_PACKET on lo)';

/** 4 Ethernet frames of 60 bytes, 0.4 s apart: replayed at the recorded pace, a run of 1.2 s (one stats line's time). */
function slowFile(): string {
  const path = join(dir, 'slow.pcap');
  const w = PcapWriter.open(path);
  const frame = new Uint8Array(60);
  frame[12] = 0x08; // IPv4 ethertype, the rest zero
  for (let i = 0; i < 4; i++) w.writePacket(frame, 0, 60, 60, 1_700_000_000, i * 400_000_000);
  w.close();
  return path;
}

const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });
const lines = (s: string) => s.split('\n').filter((l) => l !== '');

test('count -q prints no start line and no per-second lines, but its Total line', () => {
  const r = run('count', '-i', `pcap:${slowFile()}`, '--speed', '1', '-q');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(lines(r.stdout).map((l) => l.replace(/ in .*/, '')), ['Total: 4 pkts (0 drops) - 240 bytes']);
  assert.doesNotMatch(r.stderr, /Capturing/);
});

test('dump -q prints no start line, but its summary', () => {
  const r = run('dump', '-i', `pcap:${slowFile()}`, '-w', join(dir, 'out.pcap'), '-q');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.deepEqual(lines(r.stderr), ['dump: 4 packets captured, 0 dropped by the kernel, 0 dropped by the queue, 1 file']);
});

test('send -q prints no start line and no per-second lines, but its Total line', { skip: root }, () => {
  const r = run('send', '-i', 'lo', '-n', '240', '-p', '200', '-q');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(lines(r.stdout).map((l) => l.replace(/ in .*/, '')), ['Total: 240 pkts sent (0 drops) - 14\'400 bytes']);
  assert.equal(r.stderr, '');
});

test('balance --quiet prints no per-second lines, but its Total lines', { skip: root }, () => {
  const r = run('balance', '-i', 'lo', '-c', String(testClusterId()), '-n', '1', '-d', '1.2', '--quiet');
  assert.equal(r.status, 0, r.stderr);
  const out = lines(r.stdout);
  assert.match(out[0] ?? '', /^Total: [\d']+ pkts received, [\d']+ forwarded, [\d']+ dropped in /, r.stdout);
  assert.doesNotMatch(r.stdout, /Stats/);
});
