// The xdpFilter hook: an eBPF function placed before the redirect decides per
// frame; accepted frames reach the zc: device, rejected ones continue into the
// kernel stack, where an AF_PACKET device on the same interface sees them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../src/zc/index.js';
import { EbpfAssembler, openDevice } from '../src/devices/index.js';
import { firstOf, needNetns } from './helpers/env.js';
import { withVethPair } from './helpers/netns.js';
import { drainDevice, peerSend } from './helpers/raw-peer.js';
import { testClusterId } from './helpers/zc-procs.js';

const skip = firstOf(needNetns());

/** Accepts frames whose sequence number (raw-frames.ts, bytes 16..19) is even. */
function evenSeqFilter(): Uint8Array {
  const a = new EbpfAssembler();
  a.loadWord(2, 1, 0); // r2 = ctx->data
  a.loadWord(3, 1, 4); // r3 = ctx->data_end
  a.movReg(4, 2);
  a.insn(0x07, 4, 0, 0, 20); // r4 += 20
  a.insn(0x2d, 4, 3, 4, 0); // if r4 > r3 goto reject (+4): the verifier needs this bounds check
  a.insn(0x71, 0, 2, 19, 0); // r0 = *(u8 *)(r2 + 19)
  a.insn(0x57, 0, 0, 0, 1); // r0 &= 1
  a.insn(0xa7, 0, 0, 0, 1); // r0 ^= 1
  a.exit();
  a.movImm(0, 0); // reject:
  a.exit();
  return a.bytes();
}

test('an xdpFilter sends accepted frames to the zc: device and leaves the rest to the kernel', { skip }, async () => {
  await withVethPair((pair) => {
    const cluster = Cluster.create({ id: testClusterId(), buffers: 4096, hugepages: 'never' });
    const pool = cluster.pool();
    const zc = openDevice(`zc:${pair.host}`, { memory: cluster.memory, source: pool, xdpFilter: evenSeqFilter(), port: 1 });
    const std = openDevice(pair.host, { memory: cluster.memory, source: pool, port: 2 });
    try {
      peerSend(pair, ['--count', '40', '--size', '80']);
      const viaXdp = drainDevice(zc, cluster.memory, pool, 20);
      const viaStack = drainDevice(std, cluster.memory, pool, 20);
      const seq = (h: string) => parseInt(h.slice(32, 40), 16);
      assert.deepEqual(viaXdp.map((g) => seq(g.hex)), Array.from({ length: 20 }, (_, i) => 2 * i));
      assert.deepEqual(viaStack.map((g) => seq(g.hex)), Array.from({ length: 20 }, (_, i) => 2 * i + 1));
      assert.ok(viaXdp.every((g) => g.port === 1) && viaStack.every((g) => g.port === 2));
    } finally {
      std.close();
      zc.close();
      cluster.close();
    }
  });
});

test("xdpFilterReject: 'drop' discards rejected frames before the kernel stack", { skip }, async () => {
  await withVethPair((pair) => {
    const cluster = Cluster.create({ id: testClusterId(), buffers: 4096, hugepages: 'never' });
    const pool = cluster.pool();
    const zc = openDevice(`zc:${pair.host}`, { memory: cluster.memory, source: pool, xdpFilter: evenSeqFilter(), xdpFilterReject: 'drop' });
    const std = openDevice(pair.host, { memory: cluster.memory, source: pool });
    try {
      peerSend(pair, ['--count', '10', '--size', '80']);
      assert.equal(drainDevice(zc, cluster.memory, pool, 5).length, 5);
      assert.equal(drainDevice(std, cluster.memory, pool, 1, 300).length, 0, 'no rejected frame reached the stack');
    } finally {
      std.close();
      zc.close();
      cluster.close();
    }
  });
});
