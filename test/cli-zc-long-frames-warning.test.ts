// An AF_XDP socket takes frames of at most one chunk (a page at most, less
// the kernel's 256 bytes of headroom); a longer frame is dropped by the kernel
// and only counted. Where the interface's MTU lets such frames arrive (here a
// macvlan at MTU 9000, where the XDP program runs generic), count says so when
// it starts, and the frames it cannot take show as drops, not as nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { firstOf, needNetns } from './helpers/env.js';
import { withVethPair } from './helpers/netns.js';
import { peerSend } from './helpers/raw-peer.js';
import { lastJson, start, until } from './helpers/cli.js';

const skip = firstOf(needNetns());

test('count on zc: warns at start when the MTU allows frames longer than a buffer, and counts them as drops', { skip }, async () => {
  await withVethPair(async (pair) => {
    const mv = `${pair.host.slice(0, -1)}m`;
    execFileSync('ip', ['link', 'add', 'link', pair.host, 'name', mv, 'type', 'macvlan', 'mode', 'passthru']);
    try {
      execFileSync('ip', ['link', 'set', mv, 'mtu', '9000', 'up']);
      const c = start(['count', '-i', `zc:${mv}`, '-d', '2', '--json']);
      await until(() => c.err().includes('Capturing') || c.p.exitCode !== null, 'count to start');
      peerSend(pair, ['--sizes', '1000,5000,9014', '--first', '1']);
      const r = await c.done;
      assert.equal(r.code, 0, r.err);
      assert.match(r.err, new RegExp(`count: warning: zc:${mv} receives frames of at most 3840 bytes .* the MTU 9000 of ${mv} allows 9018: ` +
        `longer frames are dropped by the kernel and show only as drops\\. Lower the MTU \\(ip link set dev ${mv} mtu 3822\\)`));
      const j = lastJson(r.out);
      assert.deepEqual([j.packets, j.drops], [1, 2], 'the 1000-byte frame received, the two longer ones dropped and counted');
    } finally {
      execFileSync('ip', ['link', 'del', mv]);
    }
  }, { mtu: 9000 });
});

test('count on zc: says nothing of the kind when every frame the MTU allows fits a buffer', { skip }, async () => {
  await withVethPair(async (pair) => {
    const r = await start(['count', '-i', `zc:${pair.host}`, '-d', '0.5', '--json']).done;
    assert.equal(r.code, 0, r.err);
    assert.doesNotMatch(r.err, /warning/);
  });
});
