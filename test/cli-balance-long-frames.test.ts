// balance sizes its cluster buffers for the largest input MTU, as
// zbalance_ipc does: jumbo frames reach the consumers whole. A frame longer
// than a buffer (GSO beyond the MTU, an MTU raised while it runs) keeps its
// first bytes, and balance says how many it cut.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastJson, until, start, type Started } from './helpers/cli.js';
import { createVethPair } from './helpers/netns.js';
import { firstOf, needNetns } from './helpers/env.js';
import { testClusterId } from './helpers/zc-procs.js';
import { peerSend } from './helpers/raw-peer.js';
import { testFrame } from './helpers/raw-frames.js';
import { readAll } from './helpers/pcap-gen.js';

async function started(args: string[]): Promise<Started> {
  const b = start(args);
  await until(() => b.err().includes('Run the consumers') || b.p.exitCode !== null, 'balance to start');
  assert.equal(b.p.exitCode, null, b.err());
  return b;
}

test('balance on an MTU-9000 standard device hands 9014-byte frames to its consumer whole', { skip: firstOf(needNetns()) }, async () => {
  const veth = createVethPair({ mtu: 9000 });
  const dir = mkdtempSync(join(tmpdir(), 'rz-bal-long-'));
  const id = testClusterId();
  try {
    const b = await started(['balance', '-i', veth.host, '-c', String(id), '-n', '1', '--json']);
    const file = join(dir, 'q0.pcap');
    const d = start(['dump', '-i', `zc:${id}@0`, '-w', file, '-c', '4']);
    await until(() => /capturing/i.test(d.err()) || d.p.exitCode !== null, 'dump on queue 0');
    const sizes = [60, 3000, 9014, 1514];
    peerSend(veth, ['--sizes', sizes.join(','), '--first', '1']);
    const dr = await d.done;
    assert.equal(dr.code, 0, dr.err);
    b.p.kill('SIGINT');
    const r = await b.done;
    assert.equal(r.code, 0, r.err);
    assert.equal(lastJson(r.out).cut, 0);
    const got = readAll(file);
    assert.deepEqual(got.caplen, sizes);
    for (let i = 0; i < sizes.length; i++) assert.equal(Buffer.from(got.data[i]).toString('hex'), Buffer.from(testFrame(1 + i, sizes[i])).toString('hex'), `frame ${i}`);
  } finally {
    veth.remove();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('balance counts and reports the frames longer than its buffers (the MTU was raised after it started)', { skip: firstOf(needNetns()) }, async () => {
  const veth = createVethPair();
  try {
    const b = await started(['balance', '-i', veth.host, '-c', String(testClusterId()), '-n', '1', '--json']);
    // sized for MTU 1500 (2 KiB buffers); then the interface grows
    veth.exec('ip', ['link', 'set', veth.peer, 'mtu', '9000']);
    execFileSync('ip', ['link', 'set', veth.host, 'mtu', '9000']);
    peerSend(veth, ['--sizes', '60,3000,1514,9014', '--first', '1']);
    await new Promise((r) => setTimeout(r, 500));
    b.p.kill('SIGINT');
    const r = await b.done;
    assert.equal(r.code, 0, r.err);
    const j = lastJson(r.out);
    assert.equal(j.packets, 4);
    assert.equal(j.cut, 2, 'the 3000- and 9014-byte frames');
    assert.match(r.err, /2 frames were longer than the 2'048-byte cluster buffers/);
  } finally {
    veth.remove();
  }
});
