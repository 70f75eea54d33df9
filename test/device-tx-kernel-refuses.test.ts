// AF_PACKET TX counts what the kernel really sent: a frame the kernel refuses
// after sendBurst queued it (longer than the MTU allows, shorter than the
// Ethernet header, 4 bytes over with an 802.1ad tag, which only 802.1Q earns)
// is counted in txRejected and taken out of sent/sentBytes; the frames queued
// behind it still go, in order, and `send` reports it as a drop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from '../src/zc/index.js';
import { ifaceCounter, openDevice } from '../src/devices/index.js';
import { PcapWriter } from '../src/pcap/index.js';
import { BIN, lastJson } from './helpers/cli.js';
import { firstOf, needNetns } from './helpers/env.js';
import { withVethPair } from './helpers/netns.js';
import { testFrame } from './helpers/raw-frames.js';
import { startPeerCapture, writeFrame } from './helpers/raw-peer.js';
import { peerArrivals } from './helpers/push-back.js';
import { testClusterId } from './helpers/zc-procs.js';

const skip = firstOf(needNetns());

/** A test frame of `size` bytes; with `tpid`, a test frame of size - 4 behind a VLAN tag of that TPID. */
function frame(seq: number, size: number, tpid?: number): Uint8Array {
  if (size < 20) return new Uint8Array(size).fill(0xee); // too short to be anything
  if (!tpid) return testFrame(seq, size);
  const inner = testFrame(seq, size - 4);
  const f = new Uint8Array(size);
  f.set(inner.subarray(0, 12), 0);
  f.set([tpid >> 8, tpid & 0xff, 0x00, 0x07], 12); // VLAN 7
  f.set(inner.subarray(12), 16);
  return f;
}

interface Case { size: number; tpid?: number; sent: boolean }

/** At MTU 1500 the kernel sends up to 1514 bytes, 1518 with an 802.1Q tag (packet_extra_vlan_len_allowed). */
const REFUSED: Case[] = [
  { size: 1600, sent: false }, // over MTU + 14, yet it fits a TX ring slot (2048 bytes): the kernel refuses it, EMSGSIZE
  { size: 10, sent: false }, // shorter than the Ethernet header: dev_validate_header refuses it, EINVAL
  { size: 1518, tpid: 0x88a8, sent: false }, // 802.1ad: not the 802.1Q tag the 4 extra bytes are allowed for
];
const OK: Case[] = [{ size: 60, sent: true }, { size: 1514, sent: true }, { size: 1518, tpid: 0x8100, sent: true }];

/** Refused frames spread among good ones, and many good ones behind the last refusal. */
function mix(): Case[] {
  const out: Case[] = [];
  for (let i = 0; i < 3; i++) out.push(OK[i], REFUSED[i], OK[(i + 1) % 3]);
  for (let i = 0; i < 40; i++) out.push({ size: 60 + i * 31, sent: true });
  return out;
}

/** How a sent case looks at the peer: whole, or without its tag (veth hands an 802.1Q tag over out of band). */
function wireForms(seq: number, c: Case): string[] {
  const whole = Buffer.from(frame(seq, c.size, c.tpid)).toString('hex');
  return c.tpid ? [whole, Buffer.from(testFrame(seq, c.size - 4)).toString('hex')] : [whole];
}

test('standard device: frames the kernel refuses are counted in txRejected, not in sent/sentBytes, and the frames behind them still go in order', { skip }, async () => {
  await withVethPair(async (pair) => {
    const cluster = Cluster.create({ id: testClusterId(), bufferSize: 4096, buffers: 1024, hugepages: 'never' });
    const pool = cluster.pool();
    const dev = openDevice(pair.host, { memory: cluster.memory, source: pool, rx: false });
    try {
      const cases = mix();
      const sent = cases.filter((c) => c.sent);
      const collect = await startPeerCapture(pair, sent.length, 5000);
      const tx0 = ifaceCounter(pair.host, 'tx_packets');
      const idx = new Uint32Array(cases.length);
      assert.equal(pool.alloc(idx, cases.length), cases.length);
      cases.forEach((c, seq) => writeFrame(cluster.memory, idx[seq], frame(seq, c.size, c.tpid), 64));
      assert.equal(dev.sendBurst(idx, cases.length), cases.length, 'sendBurst queues them all: only the kernel can tell');
      for (let t = 0; t < 200 && dev.flush() > 0; t++) await new Promise((r) => setTimeout(r, 5));
      const st = dev.stats();
      assert.equal(st.txRejected, REFUSED.length);
      assert.equal(st.txInvalid, 0);
      assert.equal(st.txRingFull, 0);
      assert.equal(st.sent, sent.length, 'sent counts only what the kernel took');
      assert.equal(st.sentBytes, sent.reduce((a, c) => a + c.size, 0));
      assert.equal(st.txCompleted, sent.length, 'every frame sent came back from the kernel');
      assert.equal(ifaceCounter(pair.host, 'tx_packets') - tx0, sent.length, 'the interface sent exactly those');
      const got = await collect();
      const want = cases.flatMap((c, seq) => (c.sent ? [{ seq, c }] : []));
      assert.equal(got.length, want.length, `the peer captured ${got.length} of ${want.length}`);
      want.forEach(({ seq, c }, i) => assert.ok(wireForms(seq, c).includes(got[i]), `frame ${seq} (${c.size} bytes) arrived ${i}th, whole`));
      // the ring goes on working after the refusals: one more burst, one more refusal at its head
      const more = new Uint32Array(3);
      assert.equal(pool.alloc(more, 3), 3);
      [{ size: 2000 }, { size: 80 }, { size: 90 }].forEach((c, i) => writeFrame(cluster.memory, more[i], frame(1000 + i, c.size), 64));
      assert.equal(dev.sendBurst(more, 3), 3);
      for (let t = 0; t < 200 && dev.flush() > 0; t++) await new Promise((r) => setTimeout(r, 5));
      const st2 = dev.stats();
      assert.equal(st2.txRejected, REFUSED.length + 1);
      assert.equal(st2.sent, sent.length + 2);
      assert.equal(st2.sentBytes, st.sentBytes + 170);
      assert.equal(ifaceCounter(pair.host, 'tx_packets') - tx0, sent.length + 2);
      assert.equal(pool.available, 1024, 'every buffer is back in the pool');
    } finally {
      dev.close();
      cluster.close();
    }
  });
});

test('send -f on a standard device reports a frame the kernel refuses as a drop, and skips an 802.1ad frame AF_PACKET would refuse: packets and bytes are what the peer got', { skip }, async () => {
  await withVethPair(async (pair) => {
    const dir = mkdtempSync(join(tmpdir(), 'rz-refused-'));
    try {
      // send's own length check lets a 10-byte frame through (the kernel refuses it: a drop), and
      // skips a 1518-byte 802.1ad frame (AF_PACKET grants the 4 extra bytes to 802.1Q only)
      const cases: Case[] = [...OK, REFUSED[1], REFUSED[2], ...OK];
      const file = join(dir, 'in.pcap');
      const w = PcapWriter.open(file, {});
      cases.forEach((c, i) => { const f = frame(i, c.size, c.tpid); w.writePacket(f, 0, f.length, f.length, 1_700_000_000, i * 1000); });
      w.close();
      const before = peerArrivals(pair);
      const r = spawnSync(process.execPath, [BIN, 'send', '-i', pair.host, '-f', file, '--topspeed', '--json'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const j = lastJson(r.stdout);
      const sent = cases.filter((c) => c.sent);
      assert.equal(j.packets, sent.length);
      assert.equal(j.bytes, sent.reduce((a, c) => a + c.size, 0));
      assert.equal(j.drops, 2, 'the refused frame and the skipped one'); // drops include skipped_too_long
      assert.equal(j.skipped_too_long, 1);
      assert.equal(peerArrivals(pair) - before, sent.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
