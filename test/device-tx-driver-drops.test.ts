// AF_XDP copy mode: a frame the driver drops after the kernel took it off the
// TX ring (veth with a full peer ring and no qdisc to hold the frame: the
// kernel completes the descriptor unsent and sendto says EBUSY) is counted in
// txRejected and not in sent, so sent is what left: exactly what the peer got;
// and `send` reports those frames as drops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Cluster } from '../src/zc/index.js';
import { openDevice } from '../src/devices/index.js';
import { firstOf, needNetns } from './helpers/env.js';
import { withVethPair, type VethPair } from './helpers/netns.js';
import { testFrame } from './helpers/raw-frames.js';
import { writeFrame } from './helpers/raw-peer.js';
import { needPushBackTools, peerArrivals, pushBack, starvePeer } from './helpers/push-back.js';
import { testClusterId } from './helpers/zc-procs.js';
import { ifaceCounter } from '../src/devices/iface.js';
import { lastJson, start } from './helpers/cli.js';

const skip = firstOf(needNetns(), needPushBackTools());
const COUNT = 100_000;
const BUFFERS = 8192;
const FRAME = 60;

/**
 * Runs `check` on a fresh pair whose peer drains nothing (see starvePeer):
 * veth's 256-slot peer ring stays full, so the driver drops most frames for
 * certain. Left to the scheduler, the peer's thread on the other CPU could
 * keep up with the sender (once in a full suite it took all 100,000 frames,
 * and the test proved nothing).
 */
async function withDroppingPeer(check: (pair: VethPair) => Promise<{ dropped: boolean; report: string }>): Promise<void> {
  const r = await withVethPair(async (pair) => {
    pushBack(pair);
    // ... but no qdisc: a full peer ring then makes veth drop the frame instead of stopping the queue
    execFileSync('tc', ['qdisc', 'del', 'dev', pair.host, 'root'], { stdio: 'ignore' });
    const fed = starvePeer(pair, 0); // a busy process holds CPU 0 (the CLI sender runs on CPU 1)
    try {
      return await check(pair);
    } finally {
      fed();
    }
  }, { queues: 1 });
  assert.ok(r.dropped, `the driver dropped nothing, the test proves nothing: ${r.report}`);
}

test('zc: frames the veth driver drops are txRejected, not sent; sent equals what the peer received', { skip }, async () => {
  await withDroppingPeer(async (pair) => {
    const cluster = Cluster.create({ id: testClusterId(), buffers: BUFFERS, hugepages: 'never' });
    const pool = cluster.pool();
    const dev = openDevice(`zc:${pair.host}`, { memory: cluster.memory, source: pool, rx: false });
    try {
      const arrived0 = peerArrivals(pair);
      const dropped0 = ifaceCounter(pair.host, 'tx_dropped');
      for (let b = 0; b < BUFFERS; b++) writeFrame(cluster.memory, b, testFrame(b, FRAME), 0);
      const idx = new Uint32Array(64);
      let queued = 0;
      const end = Date.now() + 30_000;
      while (queued < COUNT) {
        assert.ok(Date.now() < end, `stuck after ${queued} frames`);
        const room = dev.txRoom();
        const k = room > 0 ? pool.alloc(idx, Math.min(64, room, COUNT - queued)) : 0;
        if (k === 0) { dev.flush(); continue; }
        assert.equal(dev.sendBurst(idx, k), k);
        queued += k;
      }
      for (let t = 0; t < 500 && dev.flush() > 0; t++) await new Promise((r) => setTimeout(r, 5));
      const st = dev.stats();
      const arrived = peerArrivals(pair) - arrived0;
      const dropped = ifaceCounter(pair.host, 'tx_dropped') - dropped0;
      const report = JSON.stringify({ queued, sent: st.sent, txRejected: st.txRejected, txCompleted: st.txCompleted, arrived, vethTxDropped: dropped });
      assert.equal(st.sent + st.txRejected, COUNT, `every frame is either sent or rejected: ${report}`);
      assert.equal(st.sent, arrived, `sent is what the peer received: ${report}`);
      assert.equal(st.txRejected, dropped, `each rejected frame is one veth counted as dropped: ${report}`);
      assert.equal(st.sentBytes, st.sent * FRAME, `sentBytes leaves the dropped frames out: ${report}`);
      assert.equal(st.txCompleted, COUNT, `every descriptor completed, the dropped ones too: ${report}`);
      return { dropped: st.txRejected > 0, report };
    } finally {
      dev.close();
      assert.equal(pool.available, BUFFERS, 'every buffer is back in the pool after close');
      cluster.close();
    }
  });
});

test('send -i zc: counts the frames the driver dropped as drops: its packets are what the peer received', { skip }, async () => {
  await withDroppingPeer(async (pair) => {
    const before = peerArrivals(pair);
    const r = await start(['send', '-i', `zc:${pair.host}`, '-n', String(COUNT), '-l', String(FRAME), '-b', '16', '--json'], ['taskset', '-c', '1']).done;
    assert.equal(r.code, 0, r.err);
    const j = lastJson(r.out);
    const arrived = peerArrivals(pair) - before;
    const report = JSON.stringify({ ...j, arrived });
    assert.equal(j.packets + j.drops, COUNT, `each frame is sent or a drop: ${report}`);
    assert.equal(j.packets, arrived, `send's packets are what the peer received: ${report}`);
    return { dropped: j.drops > 0, report };
  });
});
