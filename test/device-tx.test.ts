// Frames handed to sendBurst on either device kind arrive byte-exact and in
// order at an independent raw socket on the veth peer; the buffers come back
// to the pool; what cannot be sent is dropped and counted, never leaked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, META_LEN, META_OFF, META_WORDS } from '../src/zc/index.js';
import { openDevice, ifaceCounter } from '../src/devices/index.js';
import { firstOf, needNetns } from './helpers/env.js';
import { withVethPair } from './helpers/netns.js';
import { sizeSweep, testFrame } from './helpers/raw-frames.js';
import { startPeerCapture, writeFrame } from './helpers/raw-peer.js';
import { testClusterId } from './helpers/zc-procs.js';

const skip = firstOf(needNetns());
const COUNT = 300;
const BUFFERS = 4096;

for (const kind of ['zc', 'standard'] as const) {
  test(`${kind} device sends frames of 60..1514 bytes that arrive byte-exact and in order at the peer`, { skip }, async () => {
    await withVethPair(async (pair) => {
      const cluster = Cluster.create({ id: testClusterId(), buffers: BUFFERS, headroom: 32, hugepages: 'never' });
      const pool = cluster.pool();
      const dev = openDevice(kind === 'zc' ? `zc:${pair.host}` : pair.host, { memory: cluster.memory, source: pool, rx: kind !== 'zc' });
      try {
        const sizes = sizeSweep(COUNT);
        const collect = await startPeerCapture(pair, COUNT);
        const tx0 = ifaceCounter(pair.host, 'tx_packets');
        const idx = new Uint32Array(64);
        let seq = 0;
        while (seq < COUNT) {
          const k = pool.alloc(idx, Math.min(64, COUNT - seq));
          // data offsets 32..35 exercise unaligned copies and descriptors
          for (let i = 0; i < k; i++) writeFrame(cluster.memory, idx[i], testFrame(seq + i, sizes[seq + i]), 32 + ((seq + i) & 3));
          const sent = dev.sendBurst(idx, k);
          assert.equal(sent, k, `burst at ${seq}: ${sent} of ${k} queued`);
          seq += k;
        }
        const frames = await collect();
        assert.equal(frames.length, COUNT, `peer captured ${frames.length} of ${COUNT}`);
        for (let i = 0; i < COUNT; i++) {
          assert.equal(frames[i], Buffer.from(testFrame(i, sizes[i])).toString('hex'), `frame ${i} (${sizes[i]} bytes) differs`);
        }
        assert.equal(ifaceCounter(pair.host, 'tx_packets') - tx0, COUNT);
        for (let t = 0; t < 100 && dev.flush() > 0; t++) await new Promise((r) => setTimeout(r, 5));
        const st = dev.stats();
        assert.equal(st.sent, COUNT);
        assert.equal(st.txCompleted, COUNT, 'every sent buffer completed');
        assert.equal(pool.available, BUFFERS, 'sent buffers are back in the pool before close');
      } finally {
        dev.close();
        assert.equal(pool.available, BUFFERS, 'every buffer is back in the pool after close');
        cluster.close();
      }
    });
  });

  test(`${kind} device drops and counts buffers it cannot send, and gives them back`, { skip }, async () => {
    await withVethPair(async (pair) => {
      const cluster = Cluster.create({ id: testClusterId(), buffers: BUFFERS, hugepages: 'never' });
      const pool = cluster.pool();
      const small = kind === 'zc' ? { ringSize: 64 } : { txFrames: 16 };
      const dev = openDevice(kind === 'zc' ? `zc:${pair.host}` : pair.host, { memory: cluster.memory, source: pool, rx: false, ...small });
      try {
        const idx = new Uint32Array(200);
        const k = pool.alloc(idx, 200);
        for (let i = 0; i < k; i++) writeFrame(cluster.memory, idx[i], testFrame(i, 60), 0);
        // two malformed buffers: a length past the buffer's end, and a zero length
        cluster.memory.meta[idx[0] * META_WORDS + META_OFF] = 2000;
        cluster.memory.meta[idx[1] * META_WORDS + META_LEN] = 0;
        const sent = dev.sendBurst(idx, k);
        const st = dev.stats();
        assert.equal(st.txInvalid, 2);
        assert.ok(sent <= (kind === 'zc' ? 64 : 16), `${sent} queued into a ring of ${kind === 'zc' ? 64 : 16}`);
        assert.equal(st.txRingFull, k - 2 - sent, 'every other buffer counted as ring-full');
        for (let t = 0; t < 200 && dev.flush() > 0; t++) await new Promise((r) => setTimeout(r, 2));
        assert.equal(pool.available, BUFFERS, 'dropped and sent buffers all returned to the pool');
      } finally {
        dev.close();
        cluster.close();
      }
    });
  });
}
