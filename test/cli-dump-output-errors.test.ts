// dump checks its output before it opens the input: a path it cannot write
// fails with ERR_RINGZERO_OUTPUT naming the path, the cause and the fix, and
// no device is opened (nothing is taken from the interface into nowhere, no
// region is left). The input file itself is refused as the output (writing
// would truncate it before it is read).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, start } from './helpers/cli.js';
import { createVethPair } from './helpers/netns.js';
import { needNetns, needRoot } from './helpers/env.js';
import { privateRegionLeft, removePrivateRegion, writeCapture } from './helpers/capture-cli.js';

const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });

function withDir(fn: (dir: string, input: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'rz-out-'));
  try {
    const input = join(dir, 'in.pcap');
    writeCapture(input, 50, 1000);
    fn(dir, input);
  } finally {
    rmSync(dir, { recursive: true });
  }
}

function assertOutputError(r: ReturnType<typeof run>, path: string, cause: RegExp, fix: RegExp): void {
  assert.equal(r.status, 1, r.stderr);
  assert.ok(r.stderr.includes(`cannot write the capture to ${path}: `), r.stderr);
  assert.match(r.stderr, cause);
  assert.match(r.stderr, fix);
  assert.match(r.stderr, /\[ERR_RINGZERO_OUTPUT\]/);
  assert.doesNotMatch(r.stderr, /capturing from/, 'the input was never opened');
}

test('a missing directory and a directory as -w: ERR_RINGZERO_OUTPUT with cause and fix', () => withDir((dir, input) => {
  const missing = join(dir, 'no', 'such', 'x.pcap');
  assertOutputError(run('dump', '-i', `pcap:${input}`, '-w', missing), missing, /the directory .*no\/such does not exist \(ENOENT\)/, /mkdir -p /);
  assertOutputError(run('dump', '-i', `pcap:${input}`, '-w', dir), dir, /it is a directory \(EISDIR\)/, /give a file name inside it, e\.g\. -w .*\/capture\.pcap/);
  const empty = run('dump', '-i', `pcap:${input}`, '-w', '');
  assert.equal(empty.status, 2);
  assert.match(empty.stderr, /-w '' names no file: give -w FILE, or -w - for standard output/);
}));

test('a read-only file system as -w: EROFS named, with the fix', { skip: needRoot() ?? false }, (t) => withDir((dir, input) => {
  const ro = join(dir, 'ro');
  mkdirSync(ro);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'rz-test-ro', ro]);
  } catch (e) {
    t.skip(`cannot mount a tmpfs here: ${(e as Error).message}`);
    return;
  }
  try {
    const out = join(ro, 'x.pcap');
    assertOutputError(run('dump', '-i', `pcap:${input}`, '-w', out), out, /the file system is mounted read-only \(EROFS\)/, /write to a writable file system/);
  } finally {
    execFileSync('umount', [ro]);
  }
}));

test('a directory the user may not write to: EACCES named, with the fix', { skip: needRoot() ?? (existsSync('/usr/bin/setpriv') ? false : 'needs setpriv (util-linux)') }, () => withDir((dir, input) => {
  chmodSync(dir, 0o755);
  chmodSync(input, 0o644);
  const out = join(dir, 'x.pcap');
  // as nobody: root would be allowed to write anywhere
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, 'dump', '-i', `pcap:${input}`, '-w', out], { encoding: 'utf8' });
  assertOutputError(r, out, /permission denied \(EACCES\)/, /write to a directory this user may write to/);
}));

test('a bad -w on a zc: device fails before the device opens: no region left', { skip: needNetns() ?? false }, async () => {
  const veth = createVethPair();
  let pid: number | undefined;
  try {
    const c = start(['dump', '-i', `zc:${veth.host}`, '-w', '/nonexistent-rz/dir/x.pcap']);
    pid = c.p.pid;
    const r = await c.done;
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /ERR_RINGZERO_OUTPUT/);
    assert.doesNotMatch(r.err, /capturing from/);
    assert.equal(privateRegionLeft(pid!), null);
  } finally {
    removePrivateRegion(pid);
    veth.remove();
  }
});

test('dump -i pcap:F -w F (or a hard link to F) is refused and F is left intact', () => withDir((dir, input) => {
  const before = readFileSync(input);
  assertOutputError(run('dump', '-i', `pcap:${input}`, '-w', input), input, /it is the input file pcap:/, /write to another file/);
  const link = join(dir, 'same.pcap');
  linkSync(input, link);
  assertOutputError(run('dump', '-i', `pcap:${input}`, '-w', link), link, /it is the input file/, /write to another file/);
  assert.deepEqual(readFileSync(input), before, 'the input is unchanged');
  const back = run('count', '-i', `pcap:${input}`, '--json');
  assert.equal(JSON.parse(back.stdout).packets, 50);
}));

test('-i zc:NUMBER without @QUEUE says a cluster queue needs @QUEUE', () => {
  const r = run('count', '-i', 'zc:4713');
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /zc:4713: a queue of cluster 4713 needs @QUEUE, e\.g\. -i zc:4713@0/);
});
