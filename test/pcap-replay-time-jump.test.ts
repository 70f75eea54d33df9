// A capture file replayed at its recorded pace (count --speed 1, send -f) with a
// record stamped far in the future (year 2106, a corrupt timestamp) is
// refused with ERR_RINGZERO_REPLAY_GAP instead of waiting for 82 years; the
// packets before it are delivered, and the fix in the message works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapWriter } from '../src/pcap/index.js';
import { needTool } from './helpers/env.js';

const BIN = new URL('../src/cli/main.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'rz-jump-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

/** Four 60-byte frames at t0, t0 + 0.1 s, year 2106, t0 + 0.2 s. */
const file = join(dir, 'jump.pcap');
{
  const w = PcapWriter.open(file);
  const f = new Uint8Array(60);
  f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0]);
  for (const [sec, nsec] of [[1_700_000_000, 0], [1_700_000_000, 1e8], [4_294_000_000, 0], [1_700_000_000, 2e8]]) w.writePacket(f, 0, 60, 60, sec, nsec);
  w.close();
}
const count = (path: string, ...flags: string[]) =>
  spawnSync(process.execPath, [BIN, 'count', '-i', `pcap:${path}`, '--json', ...flags], { encoding: 'utf8', timeout: 20_000 });

test('count --speed 1 refuses a jump of more than a day between records, after delivering the packets before it', () => {
  const t0 = Date.now();
  const r = count(file, '--speed', '1');
  assert.equal(r.signal, null, 'it did not hang');
  assert.ok(Date.now() - t0 < 10_000);
  assert.equal(r.status, 1, r.stderr);
  assert.equal(JSON.parse(r.stdout.trim().split('\n').pop()!).packets, 2);
  assert.match(r.stderr, /packet 3 is stamped 2106-01-27T01:46:40\.000Z, 82\.2 years after the packet before it/);
  assert.match(r.stderr, /Replay at top speed .* or remove the packet first \(editcap FILE OUT 3 deletes it\) \[ERR_RINGZERO_REPLAY_GAP\]/);
});

test('send -f at the recorded pace refuses the same jump instead of waiting', { skip: process.getuid?.() === 0 ? false : 'needs root (AF_PACKET on lo)' }, () => {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [BIN, 'send', '-i', 'lo', '-f', file, '-q'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.signal, null, 'it did not hang');
  assert.ok(Date.now() - t0 < 10_000);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /packet 3 is stamped 2106-01-27T01:46:40\.000Z, 82\.2 years after the packet before it.*\[ERR_RINGZERO_REPLAY_GAP\]/);
});

test('at top speed the same file is read whole: the timestamps are not judged', () => {
  const r = count(file);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).packets, 4);
});

test('the fix in the message (editcap deletes the packet) lets the replay run at the recorded pace',
  { skip: needTool('/usr/bin/editcap', 'wireshark-common') || false }, () => {
    const fixed = join(dir, 'fixed.pcap');
    assert.equal(spawnSync('editcap', [file, fixed, '3']).status, 0);
    const r = count(fixed, '--speed', '1');
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.packets, 3);
    assert.ok(j.duration_s >= 0.19 && j.duration_s < 1, `0.2 s of recorded time took ${j.duration_s} s`);
  });
