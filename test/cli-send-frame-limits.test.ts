// send never puts a cut frame on the wire: the private cluster's buffers follow
// the interface's MTU, a replayed frame longer than the device sends whole is
// skipped, counted and named, and -l beyond it is refused before anything is
// sent. Checked byte-exact at the peer of a veth pair, at MTU 1500 and 9000.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, lastJson } from './helpers/cli.js';
import { withVethPair } from './helpers/netns.js';
import { firstOf, needNetns } from './helpers/env.js';
import { startPeerCapture } from './helpers/raw-peer.js';
import { testFrame } from './helpers/raw-frames.js';
import { PcapWriter } from '../src/pcap/index.js';
import { regionsOfPid } from './helpers/zc-procs.js';

const skip = firstOf(needNetns());

/** A frame of `size` bytes: a test frame, or (tagged) a test frame of size - 4 with an 802.1Q tag after the MACs. */
function frame(seq: number, size: number, tagged = false): Uint8Array {
  if (!tagged) return testFrame(seq, size);
  const inner = testFrame(seq, size - 4);
  const f = new Uint8Array(size);
  f.set(inner.subarray(0, 12), 0);
  f.set([0x81, 0x00, 0x00, 0x07], 12); // TPID 0x8100, VLAN 7
  f.set(inner.subarray(12), 16);
  return f;
}

interface Case { size: number; tagged?: boolean; sent: boolean }

/** Replays `cases` (seq = index) from the host end; returns send's result and the frames the peer got, by seq. */
async function replay(dev: (host: string) => string, cases: Case[], mtu: number) {
  return withVethPair(async (pair) => {
    const dir = mkdtempSync(join(tmpdir(), 'rz-send-limits-'));
    try {
      const file = join(dir, 'in.pcap');
      const w = PcapWriter.open(file, {});
      cases.forEach((c, i) => { const f = frame(i, c.size, c.tagged); w.writePacket(f, 0, f.length, f.length, 1_700_000_000, i * 1000); });
      w.close();
      const want = cases.filter((c) => c.sent).length;
      const collect = await startPeerCapture(pair, want, 4000);
      const r = spawnSync(process.execPath, [BIN, 'send', '-i', dev(pair.host), '-f', file, '--topspeed', '--json'], { encoding: 'utf8' });
      const got = new Map<number, string>();
      for (const hex of await collect()) got.set(Buffer.from(hex, 'hex').readUInt32BE(16), hex); // testSeq: raw-recv keeps test frames only
      return { r, got, pid: r.pid };
    } finally {
      rmSync(dir, { recursive: true });
    }
  }, { mtu });
}

/** Every case marked `sent` arrived byte-exact (a tagged one with or without its tag), no other did. */
function assertWire(cases: Case[], got: Map<number, string>): void {
  cases.forEach((c, seq) => {
    const hex = got.get(seq);
    if (!c.sent) { assert.equal(hex, undefined, `frame ${seq} (${c.size} bytes) must not be on the wire`); return; }
    assert.ok(hex !== undefined, `frame ${seq} (${c.size} bytes${c.tagged ? ', tagged' : ''}) arrived`);
    const whole = Buffer.from(frame(seq, c.size, c.tagged)).toString('hex');
    const untagged = c.tagged ? Buffer.from(testFrame(seq, c.size - 4)).toString('hex') : whole;
    assert.ok(hex === whole || hex === untagged, `frame ${seq} arrived whole (${hex.length / 2} bytes)`);
  });
}

for (const kind of ['', 'zc:']) {
  const name = kind ? 'zc: (AF_XDP)' : 'standard (AF_PACKET)';
  test(`${name} at MTU 1500: replayed frames over MTU + 14 (+4 with a VLAN tag) are skipped, counted as drops and named; the others arrive whole`, { skip }, async () => {
    const cases: Case[] = [
      { size: 100, sent: true }, { size: 1514, sent: true }, { size: 1515, sent: false }, { size: 2100, sent: false },
      { size: 9014, sent: false }, { size: 1518, tagged: true, sent: true }, { size: 1519, tagged: true, sent: false }, { size: 200, sent: true },
    ];
    const { r, got } = await replay((h) => kind + h, cases, 1500);
    assert.equal(r.status, 0, r.stderr);
    const j = lastJson(r.stdout);
    assert.equal(j.packets, 4);
    assert.equal(j.skipped_too_long, 4);
    assert.equal(j.drops, 4);
    assert.match(r.stderr, /send: 4 frames longer than \S+ sends whole \(max 1514 bytes: the MTU of \S+ \(1500\)/);
    assertWire(cases, got);
  });
}

test('standard (AF_PACKET) at MTU 9000: jumbo frames up to 9014 bytes (9018 tagged) are replayed whole, and -l follows the MTU', { skip }, async () => {
  const cases: Case[] = [{ size: 2100, sent: true }, { size: 5000, sent: true }, { size: 9014, sent: true }, { size: 9018, tagged: true, sent: true }, { size: 9015, sent: false }];
  const { r, got } = await replay((h) => h, cases, 9000);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(lastJson(r.stdout).skipped_too_long, 1);
  assertWire(cases, got);
  await withVethPair(async (pair) => {
    const ok = spawnSync(process.execPath, [BIN, 'send', '-i', pair.host, '-l', '9014', '-n', '3', '--json'], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(lastJson(ok.stdout).bytes, 3 * 9014);
  }, { mtu: 9000 });
});

test('zc: (AF_XDP) at MTU 9000: frames up to 4092 bytes (one page) go whole; longer ones are skipped with the AF_PACKET device named as the way', { skip }, async () => {
  const cases: Case[] = [{ size: 2100, sent: true }, { size: 4092, sent: true }, { size: 4093, sent: false }, { size: 9014, sent: false }];
  const { r, got } = await replay((h) => `zc:${h}`, cases, 9000);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(lastJson(r.stdout).skipped_too_long, 2);
  assert.match(r.stderr, /max 4092 bytes: an AF_XDP frame must fit one 4096-byte page; send longer frames on the AF_PACKET device/);
  assertWire(cases, got);
});

test('-l longer than the device sends whole is refused with ERR_RINGZERO_FRAME_TOO_LONG naming the limit and the fix, and leaves no region', { skip }, async () => {
  await withVethPair(async (pair) => {
    for (const [dev, max] of [[pair.host, 1514], [`zc:${pair.host}`, 1514]] as const) {
      const r = spawnSync(process.execPath, [BIN, 'send', '-i', dev, '-l', '3000', '-n', '2'], { encoding: 'utf8' });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`-l 3000: \\S+ sends frames of up to ${max} bytes .*ip link set ${pair.host} mtu N.*use -l ${max} or less \\[ERR_RINGZERO_FRAME_TOO_LONG\\]`));
      assert.deepEqual(regionsOfPid(r.pid!), []);
    }
  });
});
