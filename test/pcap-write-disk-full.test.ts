// A capture file whose write fails part-way (a full file system) is cut back
// to its last complete record, so tcpdump and tshark read it cleanly, and the
// error (ERR_RINGZERO_PCAP_WRITE_FAILED) names the file that failed and says
// exactly how many packets the file(s) hold. Runs on a 256 KiB tmpfs the test
// mounts and always unmounts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapWriter, createPacketRecords } from '../src/pcap/index.js';
import { PcapWriteError } from '../src/errors.js';
import { firstOf, needRoot, needTool } from './helpers/env.js';
import { readAll } from './helpers/pcap-gen.js';

const BIN = new URL('../src/cli/main.js', import.meta.url).pathname;
const skip = firstOf(needRoot(), needTool('/usr/bin/tcpdump', 'tcpdump'), needTool('/usr/bin/tshark', 'tshark'));

/** Runs fn with a fresh 256 KiB tmpfs at a private path; unmounts it whatever happens. */
function withTinyFs(fn: (dir: string, work: string) => void): void {
  const work = mkdtempSync(join(tmpdir(), 'rz-diskfull-'));
  const mnt = join(work, 'tiny');
  mkdirSync(mnt);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'rz-diskfull', mnt]);
  try {
    fn(mnt, work);
  } finally {
    execFileSync('umount', [mnt]);
    rmSync(work, { recursive: true, force: true });
  }
}

/** 8000 Ethernet/IPv4/UDP frames of 200 bytes, 1 ms apart: about 1.7 MB, far more than the tmpfs holds. */
function writeInput(path: string): void {
  const w = PcapWriter.open(path);
  const b = new Uint8Array(200);
  b.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0], 0);
  b[14] = 0x45; b[23] = 17;
  for (let i = 0; i < 8000; i++) w.writePacket(b, 0, 200, 200, 1_700_000_000 + Math.floor(i / 1000), (i % 1000) * 1e6);
  w.close();
}

/** Packets tcpdump reads from `file`, asserting it reads to the end without complaint (and tshark agrees). */
function readCleanly(file: string): number {
  const td = spawnSync('tcpdump', ['-r', file, '-n', '-q'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(td.status, 0, `tcpdump -r ${file}: ${td.stderr}`);
  assert.doesNotMatch(td.stderr, /truncated|error/i, `tcpdump -r ${file}`);
  const n = td.stdout.split('\n').filter((l) => l !== '').length;
  const ts = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(ts.status, 0, `tshark -r ${file}: ${ts.stderr}`);
  assert.doesNotMatch(ts.stderr, /cut short|truncated|appears to be damaged/i, `tshark -r ${file}`);
  assert.equal(ts.stdout.split('\n').filter((l) => l !== '').length, n, `tshark and tcpdump disagree on ${file}`);
  assert.equal(readAll(file).sec.length, n, `ringzero reads ${file} differently`);
  return n;
}

const cases: Array<{ name: string; flags: string[]; failed: string }> = [
  { name: 'pcap', flags: [], failed: 'f.pcap' },
  { name: 'pcapng', flags: ['--pcapng'], failed: 'f.pcap' },
  { name: 'pcap -U', flags: ['-U'], failed: 'f.pcap' },
  { name: 'pcap -C 0.1', flags: ['-C', '0.1'], failed: 'f.pcap2' },
  { name: 'pcapng -C 0.1', flags: ['--pcapng', '-C', '0.1'], failed: 'f.pcap2' },
];

for (const c of cases) {
  test(`dump -w on a full file system (${c.name}) cuts the file back to whole records and reports what it holds`, { skip }, () => {
    withTinyFs((mnt, work) => {
      const input = join(work, 'in.pcap');
      writeInput(input);
      const out = join(mnt, 'f.pcap');
      const r = spawnSync(process.execPath, [BIN, 'dump', '-i', `pcap:${input}`, '-w', out, '--json', ...c.flags], { encoding: 'utf8' });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /\[ERR_RINGZERO_PCAP_WRITE_FAILED\]/);
      assert.doesNotMatch(r.stderr, /at \w+ \(/, 'no stack trace');
      const m = new RegExp(`cannot write the capture to (\\S+): no space left on the device \\(ENOSPC\\); it was cut back to its last complete record and holds (\\d+) packets(?:, (\\d+) in all (\\d+) files)?`).exec(r.stderr);
      assert.ok(m, r.stderr);
      assert.equal(m[1], join(mnt, c.failed), 'the error names the file whose write failed');
      assert.match(r.stderr, /free space on that file system, or bound the capture with -C and -W/);
      const files = readdirSync(mnt).sort();
      const counts = files.map((f) => readCleanly(join(mnt, f)));
      const total = counts.reduce((a, b) => a + b, 0);
      assert.ok(total > 500 && total < 8000, `${total} packets fit in 256 KiB`);
      assert.equal(Number(m[2]), counts[files.indexOf(c.failed)], 'packets in the failed file');
      assert.equal(Number(m[3] ?? m[2]), total, 'packets in all files');
      if (m[4] !== undefined) assert.equal(Number(m[4]), files.length);
      const summary = JSON.parse(r.stdout.trim().split('\n').pop()!);
      assert.equal(summary.packets, total, 'the summary counts what the files hold');
      assert.equal(summary.bytes, total * 200, 'and their bytes, not those of the packets lost with the failed write');
    });
  });
}

test('PcapWriter: a failed write throws PcapWriteError with exact counts, again on later writes, and close() only closes', { skip }, () => {
  withTinyFs((mnt) => {
    const path = join(mnt, 'w.pcapng');
    const w = PcapWriter.open(path, { format: 'pcapng', bufferSize: 300 * 1024 });
    const data = new Uint8Array(64 * 300);
    const rec = createPacketRecords(64);
    for (let i = 0; i < 64; i++) { rec.offset[i] = i * 300; rec.caplen[i] = 100 + i * 3; rec.sec[i] = 1_700_000_000; rec.nsec[i] = i; }
    let err: unknown = null;
    let accepted = 0;
    for (let k = 0; k < 1000 && err === null; k++) {
      try { accepted += w.writeBurst(data, rec, 64); } catch (e) { err = e; }
    }
    assert.ok(err instanceof PcapWriteError, String(err));
    assert.equal(err.code, 'ERR_RINGZERO_PCAP_WRITE_FAILED');
    assert.equal(err.errno, 'ENOSPC');
    assert.equal(err.path, path);
    assert.throws(() => w.writeBurst(data, rec, 1), (e) => e === err, 'a later write throws the same error');
    assert.throws(() => w.flush(), (e) => e === err);
    w.close(); // does not throw again, does not write again
    assert.equal(readCleanly(path), err.packetsInFile);
    assert.equal(err.packetsInFiles, err.packetsInFile);
    assert.ok(err.lost > 0, 'the batch held packets beyond the last complete record');
    assert.equal(w.stats.lost, err.lost);
    assert.ok(accepted <= w.stats.packets, `${accepted} returned, ${w.stats.packets} counted`);
    assert.equal(w.stats.packets - w.stats.lost, err.packetsInFiles, 'accepted minus lost is what the file holds');
    const inFile = readAll(path).wirelen.reduce((a, b) => a + b, 0);
    assert.equal(w.stats.wireBytes - w.stats.lostWireBytes, inFile, 'the same for the bytes on the wire');
  });
});
