// balance keeps 2 KiB cluster buffers: a frame longer than that (jumbo, or
// GSO on a standard device) keeps its first bytes, and balance says how many
// it cut instead of passing them on silently.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lastJson, until, start } from './helpers/cli.js';
import { createVethPair } from './helpers/netns.js';
import { firstOf, needNetns } from './helpers/env.js';
import { testClusterId } from './helpers/zc-procs.js';
import { peerSend } from './helpers/raw-peer.js';

test('balance on a standard device counts and reports the frames longer than its buffers', { skip: firstOf(needNetns()) }, async () => {
  const veth = createVethPair({ mtu: 9000 });
  try {
    const b = start(['balance', '-i', veth.host, '-c', String(testClusterId()), '-n', '1', '--json']);
    await until(() => b.err().includes('Run the consumers') || b.p.exitCode !== null, 'balance to start');
    assert.equal(b.p.exitCode, null, b.err());
    peerSend(veth, ['--sizes', '60,3000,9014,1514', '--first', '1']);
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
