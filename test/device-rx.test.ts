// Frames sent by an independent raw socket on the veth peer arrive through
// both device kinds byte-exact, in order, with timestamps that never go back,
// and the counts agree with the kernel's interface counters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../src/zc/index.js';
import { openDevice, ifaceCounter } from '../src/devices/index.js';
import { firstOf, needNetns } from './helpers/env.js';
import { withVethPair } from './helpers/netns.js';
import { testFrame, sizeSweep } from './helpers/raw-frames.js';
import { drainDevice, peerSend } from './helpers/raw-peer.js';
import { testClusterId } from './helpers/zc-procs.js';

const skip = firstOf(needNetns());
const COUNT = 400;

for (const kind of ['zc', 'standard'] as const) {
  test(`${kind} device receives frames of 60..1514 bytes byte-exact, in order, with monotonic timestamps`, { skip }, async () => {
    await withVethPair(async (pair) => {
      const cluster = Cluster.create({ id: testClusterId(), buffers: 4096, headroom: 64, hugepages: 'never' });
      const pool = cluster.pool();
      const name = kind === 'zc' ? `zc:${pair.host}` : pair.host;
      const dev = openDevice(name, { memory: cluster.memory, source: pool, port: 7 });
      try {
        assert.equal(dev.mode, kind === 'zc' ? 'copy' : 'standard', 'veth has no zero-copy: copy mode is reported');
        const sizes = sizeSweep(COUNT);
        const rx0 = ifaceCounter(pair.host, 'rx_packets');
        const t0 = Date.now();
        const { sent } = peerSend(pair, ['--sizes', sizes.join(','), '--first', '1000']);
        assert.equal(sent, COUNT);
        const got = drainDevice(dev, cluster.memory, pool, COUNT);
        const t1 = Date.now();
        assert.equal(got.length, COUNT, `received ${got.length} of ${COUNT}`);
        let prevNs = 0;
        for (let i = 0; i < COUNT; i++) {
          const expect = Buffer.from(testFrame(1000 + i, sizes[i])).toString('hex');
          assert.equal(got[i].hex, expect, `frame ${i} (${sizes[i]} bytes) differs`);
          assert.equal(got[i].len, sizes[i]);
          assert.equal(got[i].wireLen, sizes[i]);
          assert.equal(got[i].port, 7);
          assert.ok(got[i].off >= 64, `data offset ${got[i].off} respects the 64-byte headroom`);
          const ns = got[i].sec * 1e9 + got[i].nsec;
          assert.ok(ns >= prevNs, `timestamp of frame ${i} goes back`);
          assert.ok(got[i].nsec < 1e9);
          assert.ok(ns >= (t0 - 1000) * 1e6 && ns <= (t1 + 1000) * 1e6, `timestamp ${ns} outside the test's wall-clock window`);
          prevNs = ns;
        }
        const rx = ifaceCounter(pair.host, 'rx_packets') - rx0;
        assert.equal(rx, COUNT, 'the interface counted exactly the frames we sent');
        const st = dev.stats();
        assert.equal(st.received, rx, 'device received = interface rx_packets');
        assert.equal(st.kernelDrops, 0);
        assert.equal(st.rxTruncated, 0);
      } finally {
        dev.close();
        assert.equal(pool.available, 4096, 'every buffer is back in the pool after close');
        cluster.close();
      }
    });
  });
}

test('zc device puts the data right after a cluster headroom larger than XDP\'s own 256 bytes', { skip }, async () => {
  // headroom 320 = XDP_PACKET_HEADROOM + 64 of UMEM headroom: the kernel
  // reports the data offset in the descriptor's top bits (unaligned chunks)
  // or in its low bits (aligned); either way it must come out as 320.
  await withVethPair(async (pair) => {
    const cluster = Cluster.create({ id: testClusterId(), buffers: 1024, headroom: 320, hugepages: 'never' });
    const pool = cluster.pool();
    const dev = openDevice(`zc:${pair.host}`, { memory: cluster.memory, source: pool, queue: 0 });
    try {
      const sizes = [60, 61, 777, 1514];
      peerSend(pair, ['--sizes', sizes.join(','), '--first', '50']);
      const got = drainDevice(dev, cluster.memory, pool, sizes.length);
      assert.equal(got.length, sizes.length);
      for (let i = 0; i < sizes.length; i++) {
        assert.equal(got[i].off, 320, `frame ${i}: data offset`);
        assert.equal(got[i].hex, Buffer.from(testFrame(50 + i, sizes[i])).toString('hex'), `frame ${i} differs`);
      }
    } finally {
      dev.close();
      assert.equal(pool.available, 1024, 'every buffer is back in the pool after close');
      cluster.close();
    }
  });
});

test('zc device without a queue binds one socket per RX queue of a multi-queue veth and receives everything', { skip }, async () => {
  await withVethPair(async (pair) => {
    const cluster = Cluster.create({ id: testClusterId(), buffers: 4096, hugepages: 'never' });
    const pool = cluster.pool();
    const dev = openDevice(`zc:${pair.host}`, { memory: cluster.memory, source: pool });
    try {
      assert.deepEqual(dev.queues, [0, 1, 2, 3]);
      const rx0 = ifaceCounter(pair.host, 'rx_packets');
      peerSend(pair, ['--count', '300', '--size', '60']);
      const got = drainDevice(dev, cluster.memory, pool, 300);
      assert.equal(got.length, 300);
      assert.equal(ifaceCounter(pair.host, 'rx_packets') - rx0, 300);
      const seqs = got.map((g) => parseInt(g.hex.slice(32, 40), 16)).sort((a, b) => a - b);
      assert.deepEqual(seqs, Array.from({ length: 300 }, (_, i) => i));
    } finally {
      dev.close();
      cluster.close();
    }
  }, { queues: 4 });
});

test('a standard device re-inserts the 802.1Q tag the kernel moved out of the frame', { skip }, async () => {
  await withVethPair(async (pair) => {
    const cluster = Cluster.create({ id: testClusterId(), buffers: 1024, hugepages: 'never' });
    const pool = cluster.pool();
    const dev = openDevice(pair.host, { memory: cluster.memory, source: pool });
    try {
      // the receiving kernel strips the tag into skb metadata (skb_vlan_untag) before AF_PACKET sees it
      peerSend(pair, ['--sizes', '60,300', '--vlan', '7']);
      const got = drainDevice(dev, cluster.memory, pool, 2);
      assert.equal(got.length, 2);
      for (const [i, size] of [60, 300].entries()) {
        const f = Buffer.from(testFrame(i, size));
        const tagged = Buffer.concat([f.subarray(0, 12), Buffer.from([0x81, 0x00, 0x00, 0x07]), f.subarray(12)]);
        assert.equal(got[i].hex, tagged.toString('hex'), `frame ${i} carries its VLAN tag as on the wire`);
        assert.equal(got[i].wireLen, size + 4);
      }
    } finally {
      dev.close();
      cluster.close();
    }
  });
});
