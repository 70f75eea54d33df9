// Device.txRoom on both device kinds: a burst of at most txRoom() frames is
// always taken whole, also while the peer pushes back and the TX ring is
// full, so a sender that asks first loses nothing; a device that cannot send
// has no room.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../src/zc/index.js';
import { openDevice } from '../src/devices/index.js';
import { PcapDevice } from '../src/devices/pcap.js';
import { DeviceClosedError } from '../src/errors.js';
import { firstOf, needNetns } from './helpers/env.js';
import { withVethPair } from './helpers/netns.js';
import { testFrame } from './helpers/raw-frames.js';
import { writeFrame } from './helpers/raw-peer.js';
import { needPushBackTools, peerArrivals, pushBack } from './helpers/push-back.js';
import { testClusterId } from './helpers/zc-procs.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapWriter } from '../src/pcap/index.js';

const skip = firstOf(needNetns(), needPushBackTools());
/** Many times what a TX ring holds (AF_XDP 2048 slots per socket, AF_PACKET 1024 frames). */
const COUNT = 30_000;
const BUFFERS = 8192;

for (const kind of ['zc', 'standard'] as const) {
  test(`${kind} device takes whole every burst of at most txRoom() frames while the peer pushes back, and the ring does fill (room 0 seen)`, { skip }, async () => {
    await withVethPair(async (pair) => {
      pushBack(pair);
      const cluster = Cluster.create({ id: testClusterId(), buffers: BUFFERS, hugepages: 'never' });
      const pool = cluster.pool();
      const dev = openDevice(kind === 'zc' ? `zc:${pair.host}` : pair.host, { memory: cluster.memory, source: pool, rx: false });
      try {
        const before = peerArrivals(pair);
        // every buffer holds a frame from the start (sending reads it, never changes it): the loop
        // only moves indices, so it outruns the peer (one that built and wrote a frame per send did not, always)
        for (let b = 0; b < BUFFERS; b++) writeFrame(cluster.memory, b, testFrame(b, 60), 0);
        const idx = new Uint32Array(64);
        let sent = 0, full = 0, offered = 0;
        const end = Date.now() + 30_000;
        while (sent < COUNT) {
          assert.ok(Date.now() < end, `stuck after ${sent} frames: txRoom() stayed 0`);
          const room = dev.txRoom();
          if (room === 0) { full++; dev.flush(); continue; }
          // every buffer may be in flight in an AF_XDP ring: reclaimed by the next txRoom()/flush()
          const k = pool.alloc(idx, Math.min(64, room, COUNT - sent));
          if (k === 0) { dev.flush(); continue; }
          const took = dev.sendBurst(idx, k);
          assert.equal(took, k, `a burst of ${k} with txRoom() ${room} was cut to ${took}`);
          sent += k;
          offered++;
        }
        for (let t = 0; t < 500 && dev.flush() > 0; t++) await new Promise((r) => setTimeout(r, 5));
        const st = dev.stats();
        assert.equal(st.txRingFull, 0, 'nothing dropped for a full ring');
        assert.equal(st.sent, COUNT);
        assert.ok(full > 0, `the TX ring never filled (${offered} bursts): the peer did not push back, the test proves nothing`);
        assert.equal(peerArrivals(pair) - before, COUNT, 'the peer took in every frame');
      } finally {
        dev.close();
        assert.equal(pool.available, BUFFERS, 'every buffer is back in the pool after close');
        cluster.close();
      }
    }, { queues: 1 }); // one peer queue, one NAPI thread to outrun
  });
}

test('a device opened without TX, a closed device and a pcap file device have no TX room', { skip: firstOf(needNetns()) }, async () => {
  await withVethPair(async (pair) => {
    const cluster = Cluster.create({ id: testClusterId(), buffers: 4096, hugepages: 'never' });
    const pool = cluster.pool();
    const dir = mkdtempSync(join(tmpdir(), 'rz-room-'));
    try {
      for (const name of [`zc:${pair.host}`, pair.host]) {
        const rxOnly = openDevice(name, { memory: cluster.memory, source: pool, tx: false });
        try {
          assert.equal(rxOnly.txRoom(), 0, `${name} opened with tx: false`);
        } finally {
          rxOnly.close();
        }
        const d = openDevice(name, { memory: cluster.memory, source: pool, rx: false });
        assert.ok(d.txRoom() > 0, `${name}: an empty TX ring has room`);
        d.close();
        assert.throws(() => d.txRoom(), DeviceClosedError);
      }
      const file = join(dir, 'one.pcap');
      const w = PcapWriter.open(file);
      w.writePacket(testFrame(0, 60), 0, 60, 60, 1_700_000_000, 0);
      w.close();
      const p = new PcapDevice(`pcap:${file}`, file, { memory: cluster.memory, source: pool });
      assert.equal(p.txRoom(), 0);
      p.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
      cluster.close();
    }
  });
});
