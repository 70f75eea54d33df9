// A capture file that cannot be opened (missing, a directory) is refused with
// ERR_RINGZERO_PCAP_OPEN naming the path, the cause and the fix, from the API
// and from the commands, with nothing left behind; an output file that cannot
// be created likewise, with ERR_RINGZERO_PCAP_WRITE_FAILED.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapReader, PcapWriter } from '../src/pcap/index.js';
import { PcapOpenError, PcapWriteError } from '../src/errors.js';
import { privateRegionLeft } from './helpers/capture-cli.js';

const BIN = new URL('../src/cli/main.js', import.meta.url).pathname;

test('PcapReader.openSync on a missing file or a directory throws PcapOpenError with the path and errno', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rz-open-'));
  try {
    const missing = join(dir, 'nope.pcap');
    assert.throws(() => PcapReader.openSync(missing), (e) => e instanceof PcapOpenError && e.code === 'ERR_RINGZERO_PCAP_OPEN'
      && e.errno === 'ENOENT' && e.path === missing && e.message.includes(missing) && /check the path/.test(e.message));
    assert.throws(() => PcapReader.openSync(dir), (e) => e instanceof PcapOpenError && e.errno === 'EISDIR'
      && e.message.includes(dir) && /it is a directory.*name a pcap or pcapng file inside it/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('count, dump and send -f refuse a missing input file or a directory with ERR_RINGZERO_PCAP_OPEN and leave no region', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rz-open-'));
  try {
    const missing = join(dir, 'nope.pcap');
    const runs: Array<[string[], RegExp]> = [
      [['count', '-i', `pcap:${missing}`], /no such file or directory \(ENOENT\); check the path/],
      [['count', '-i', `pcap:${dir}`], /it is a directory, not a capture file \(EISDIR\); name a pcap or pcapng file inside it/],
      [['dump', '-i', `pcap:${missing}`, '-w', join(dir, 'out.pcap')], /no such file or directory \(ENOENT\)/],
      [['send', '-i', 'lo', '-f', dir], /it is a directory, not a capture file \(EISDIR\)/],
    ];
    for (const [args, why] of runs) {
      const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
      assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /cannot open the capture file \//, args.join(' '));
      assert.match(r.stderr, why, args.join(' '));
      assert.match(r.stderr, /\[ERR_RINGZERO_PCAP_OPEN\]/, args.join(' '));
      assert.doesNotMatch(r.stderr, /at \w+ \(/, 'no stack trace');
      assert.equal(privateRegionLeft(r.pid!), null, `${args.join(' ')} left its cluster region behind`);
    }
    assert.deepEqual(readdirSync(dir), [], 'dump created no output file for an input it could not open');
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('an output file that cannot be created is refused naming it: ERR_RINGZERO_PCAP_WRITE_FAILED from the writer, ERR_RINGZERO_OUTPUT from dump', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rz-open-'));
  try {
    const bad = join(dir, 'no-such-dir', 'out.pcap');
    assert.throws(() => PcapWriter.open(bad), (e) => e instanceof PcapWriteError && e.code === 'ERR_RINGZERO_PCAP_WRITE_FAILED'
      && e.errno === 'ENOENT' && e.syscall === 'open' && e.path === bad && /no such file or directory \(ENOENT\); create its directory first/.test(e.message));
    const src = join(dir, 'in.pcap');
    const w = PcapWriter.open(src);
    w.writePacket(new Uint8Array(60), 0, 60, 60, 1, 0);
    w.close();
    const r = spawnSync(process.execPath, [BIN, 'dump', '-i', `pcap:${src}`, '-w', dir], { encoding: 'utf8' });
    assert.equal(r.status, 1, r.stderr);
    // dump checks its output before the input opens (cli/output-file.ts): its own code, the same cause and fix
    assert.match(r.stderr, new RegExp(`cannot write the capture to ${dir}: it is a directory \\(EISDIR\\); give a file name inside it.*\\[ERR_RINGZERO_OUTPUT\\]`));
  } finally {
    rmSync(dir, { recursive: true });
  }
});
