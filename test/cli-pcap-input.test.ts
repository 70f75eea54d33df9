// count -i pcap:FILE reads a capture file as a device: every record once, in
// order, then the command ends by itself; --speed replays at the recorded pace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapWriter } from '../src/pcap/index.js';
import { buildFrames } from '../src/cli/frames.js';
import { needTool } from './helpers/env.js';

const BIN = new URL('../src/cli/main.js', import.meta.url).pathname;

function writeFile(path: string, n: number, gapNs: number): void {
  const f = buildFrames({ length: 90, sources: 7 });
  const w = PcapWriter.open(path, {});
  let t = 1_700_000_000 * 1e9;
  for (let i = 0; i < n; i++, t += gapNs) {
    const len = 60 + (i % 31);
    w.writePacket(f.bytes, (i % 7) * 90, len, len, Math.floor(t / 1e9), t % 1e9);
  }
  w.close();
}

/** dir/cut.pcap: the 100 records of writeFile with the last one incomplete (99 whole); returns its path. */
function writeCutFile(dir: string): string {
  const file = join(dir, 'in.pcap');
  writeFile(file, 100, 1000);
  const cut = join(dir, 'cut.pcap');
  const whole = readFileSync(file);
  writeFileSync(cut, whole.subarray(0, whole.length - 30));
  return cut;
}

test('count -i pcap:FILE delivers every record once and exits at the end of the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rz-pcap-'));
  try {
    const file = join(dir, 'in.pcap');
    writeFile(file, 20_000, 1000);
    const r = spawnSync(process.execPath, [BIN, 'count', '-i', `pcap:${file}`, '--json'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    let bytes = 0;
    for (let i = 0; i < 20_000; i++) bytes += 60 + (i % 31);
    assert.equal(j.packets, 20_000);
    assert.equal(j.bytes, bytes);
    assert.equal(j.drops, 0);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('count -v prints the same flows tcpdump reads from the file', { skip: needTool('/usr/bin/tcpdump', 'tcpdump') || false }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'rz-pcap-'));
  try {
    const file = join(dir, 'in.pcap');
    writeFile(file, 7, 1000);
    const run = spawnSync(process.execPath, [BIN, 'count', '-i', `pcap:${file}`, '-v', '-q'], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const ours = run.stdout.trim().split('\n').filter((l) => !l.startsWith('Total:')); // -q keeps the Total line
    const theirs = spawnSync('tcpdump', ['-r', file, '-n', '-tt'], { encoding: 'utf8' }).stdout.trim().split('\n');
    assert.equal(ours.length, 7, ours.join('\n'));
    assert.equal(theirs.length, 7);
    for (let i = 0; i < 7; i++) {
      const m = /(\d+\.\d+\.\d+\.\d+)\.(\d+) > (\d+\.\d+\.\d+\.\d+)\.(\d+)/.exec(theirs[i])!;
      assert.ok(ours[i].includes(`${m[1]}:${m[2]} -> ${m[3]}:${m[4]}`), `${ours[i]} vs ${theirs[i]}`);
    }
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('--speed 1 replays a file at its recorded pace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rz-pcap-'));
  try {
    const file = join(dir, 'in.pcap');
    writeFile(file, 101, 10_000_000); // 100 gaps of 10 ms = 1 s
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [BIN, 'count', '-i', `pcap:${file}`, '--speed', '1', '--json'], { encoding: 'utf8', timeout: 30_000 });
    const wall = Date.now() - t0;
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.packets, 101);
    assert.ok(j.duration_s >= 0.99 && j.duration_s < 1.3, `replay took ${j.duration_s} s for 1 s of recorded time (process wall ${wall} ms)`);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('a truncated capture: count reports the records before the cut, then the error with its offset; dump keeps them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rz-pcap-'));
  try {
    const cut = writeCutFile(dir);
    const r = spawnSync(process.execPath, [BIN, 'count', '-i', `pcap:${cut}`, '--json'], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.equal(JSON.parse(r.stdout).packets, 99);
    assert.match(r.stderr, /truncated record at offset \d+/);
    assert.match(r.stderr, /ERR_RINGZERO_PCAP_TRUNCATED/);
    // No CLI flag ends at the cut quietly: the message says what the command did, and the API option.
    assert.match(r.stderr, /the commands \(count, dump, send -f\) have counted, written or sent them and exit 1 to flag the cut; API callers .* onTruncated: 'end'/);
    const out = join(dir, 'out.pcap');
    const d = spawnSync(process.execPath, [BIN, 'dump', '-i', `pcap:${cut}`, '-w', out, '-q'], { encoding: 'utf8' });
    assert.equal(d.status, 1);
    const back = spawnSync(process.execPath, [BIN, 'count', '-i', `pcap:${out}`, '--json'], { encoding: 'utf8' });
    assert.equal(JSON.parse(back.stdout).packets, 99, 'the good records were written');
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('send -f on a truncated capture sends the records before the cut, prints its summary (and JSON), then the error',
  { skip: process.getuid?.() === 0 ? false : 'needs root (AF_PACKET on lo)' }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'rz-pcap-'));
    try {
      const cut = writeCutFile(dir);
      let bytes = 0;
      for (let i = 0; i < 99; i++) bytes += 60 + (i % 31);
      const j = spawnSync(process.execPath, [BIN, 'send', '-i', 'lo', '-f', cut, '--topspeed', '--json'], { encoding: 'utf8', timeout: 20_000 });
      assert.equal(j.status, 1, j.stderr);
      assert.match(j.stderr, /ERR_RINGZERO_PCAP_TRUNCATED/);
      const summary = JSON.parse(j.stdout.trim().split('\n').pop()!);
      assert.equal(summary.packets, 99, j.stdout);
      assert.equal(summary.bytes, bytes);
      assert.equal(summary.unsent, 0);
      const t = spawnSync(process.execPath, [BIN, 'send', '-i', 'lo', '-f', cut, '--topspeed'], { encoding: 'utf8', timeout: 20_000 });
      assert.equal(t.status, 1, t.stderr);
      assert.match(t.stdout, /^Total: 99 pkts sent \(0 drops\)/m);
      assert.match(t.stderr, /ERR_RINGZERO_PCAP_TRUNCATED/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

test('dump to a full disk or a closed pipe fails with the reason, not a stack trace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rz-pcap-'));
  try {
    const file = join(dir, 'in.pcap');
    writeFile(file, 1000, 1000);
    const full = spawnSync(process.execPath, [BIN, 'dump', '-i', `pcap:${file}`, '-w', '/dev/full', '-q'], { encoding: 'utf8' });
    assert.equal(full.status, 1);
    assert.match(full.stderr, /cannot write the capture to \/dev\/full: no space left on the device \(ENOSPC\).*\[ERR_RINGZERO_PCAP_WRITE_FAILED\]/);
    assert.doesNotMatch(full.stderr, /at \w+ \(/, 'no stack trace');
    const pipe = spawnSync('sh', ['-c', `"${process.execPath}" "${BIN}" dump -i pcap:${file} -w - -q | head -c 100 > /dev/null; echo "status=\${PIPESTATUS:-}"`], { encoding: 'utf8' });
    assert.match(pipe.stderr, /the reading side closed the pipe \(EPIPE\).*\[ERR_RINGZERO_PCAP_WRITE_FAILED\]/);
    const missing = spawnSync(process.execPath, [BIN, 'count', '-i', 'pcap:/nonexistent/x.pcap'], { encoding: 'utf8' });
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /no such file or directory \(ENOENT\).*\[ERR_RINGZERO_PCAP_OPEN\]/);
  } finally {
    rmSync(dir, { recursive: true });
  }
});
