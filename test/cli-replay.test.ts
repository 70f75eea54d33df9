// send -f FILE replays a capture on a device: every record byte-exact, the
// recorded gaps kept within 1 ms at 1x, faster with --speed, all at once
// with --topspeed, several times with --loop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVethPair } from './helpers/netns.js';
import { firstOf, needNetns } from './helpers/env.js';
import { PcapReader, PcapWriter, createPacketRecords } from '../src/pcap/index.js';
import { buildFrames } from '../src/cli/frames.js';

const BIN = new URL('../src/cli/main.js', import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const skip = firstOf(needNetns());

/** Gaps in ms between consecutive records (the schedule to reproduce). */
const GAPS = [5, 1, 20, 2, 10, 3, 50, 1, 8, 30, 2, 15, 4, 1, 25];

function makeFile(path: string): void {
  const f = buildFrames({ length: 120, sources: GAPS.length + 1 });
  const w = PcapWriter.open(path, {});
  let t = 1_700_000_000 * 1e9;
  for (let i = 0; i <= GAPS.length; i++) {
    w.writePacket(f.bytes, i * 120, 120, 120, Math.floor(t / 1e9), t % 1e9);
    t += (GAPS[i] ?? 0) * 1e6;
  }
  w.close();
}

function readAll(path: string): { ns: number[]; frames: Buffer[] } {
  const r = PcapReader.openSync(path);
  const data = new Uint8Array(1 << 20);
  const rec = createPacketRecords(64);
  const ns: number[] = [];
  const frames: Buffer[] = [];
  let n;
  while ((n = (() => { for (let i = 0; i < 64; i++) rec.offset[i] = i * 2048; return r.readBurst(data, 2048, rec, 64); })()) > 0) {
    for (let i = 0; i < n; i++) {
      ns.push(rec.sec[i] * 1e9 + rec.nsec[i]);
      frames.push(Buffer.from(data.subarray(rec.offset[i], rec.offset[i] + rec.caplen[i])));
    }
  }
  r.close();
  return { ns, frames };
}

async function replayAndCapture(extra: string[], expect: number, make: (path: string) => void = makeFile, sendDevice = (peer: string) => peer): Promise<{ got: ReturnType<typeof readAll>; sent: ReturnType<typeof readAll> }> {
  const veth = createVethPair();
  const dir = mkdtempSync(join(tmpdir(), 'rz-replay-'));
  try {
    const src = join(dir, 'in.pcap');
    const out = join(dir, 'out.pcap');
    make(src);
    const d = spawn(process.execPath, [BIN, 'dump', '-i', veth.host, '-w', out, '-c', String(expect), '-d', '30'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    d.stderr.on('data', (x) => { err += x; });
    const done = new Promise((r) => d.on('exit', r));
    for (let i = 0; i < 100 && !err.includes('capturing'); i++) await sleep(50);
    await sleep(200);
    veth.exec(process.execPath, [BIN, 'send', '-i', sendDevice(veth.peer), '-f', src, '-q', ...extra]);
    await done;
    return { got: readAll(out), sent: readAll(src) };
  } finally {
    rmSync(dir, { recursive: true });
    veth.remove();
  }
}

test('replay at 1x keeps every recorded gap within 1 ms and the frames byte-exact', { skip }, async () => {
  const { got, sent } = await replayAndCapture([], GAPS.length + 1);
  assert.equal(got.frames.length, sent.frames.length);
  for (let i = 0; i < sent.frames.length; i++) assert.ok(got.frames[i].equals(sent.frames[i]), `frame ${i} differs`);
  const errs = GAPS.map((g, i) => (got.ns[i + 1] - got.ns[i]) / 1e6 - g);
  const worst = Math.max(...errs.map(Math.abs));
  assert.ok(worst < 1, `gap errors (ms): ${errs.map((e) => e.toFixed(3)).join(' ')}`);
});

test('--speed 4 divides every gap by four; --topspeed ignores them; --loop plays the file again', { skip }, async () => {
  const fast = await replayAndCapture(['--speed', '4'], GAPS.length + 1);
  const total = (fast.got.ns[GAPS.length] - fast.got.ns[0]) / 1e6;
  const want = GAPS.reduce((a, b) => a + b, 0) / 4;
  assert.ok(Math.abs(total - want) < 2, `span ${total.toFixed(2)} ms, want ${want} ms`);
  const top = await replayAndCapture(['--topspeed', '--loop', '3'], 3 * (GAPS.length + 1));
  assert.equal(top.got.frames.length, 3 * (GAPS.length + 1));
  const span = (top.got.ns[top.got.ns.length - 1] - top.got.ns[0]) / 1e6;
  assert.ok(span < GAPS.reduce((a, b) => a + b, 0) / 2, `top speed took ${span.toFixed(1)} ms`);
});

/** 240 frames of 60..1514 bytes, most of odd length: records sit at every alignment in the file. */
function makeOddSizes(path: string): void {
  const sizes = [61, 62, 63, 64, 65, 66, 67, 99, 1514, 1513, 60, 200];
  const w = PcapWriter.open(path, {});
  const mem = new Uint8Array(2048);
  for (let i = 0; i < 240; i++) {
    const len = sizes[i % sizes.length];
    for (let j = 0; j < len; j++) mem[j] = (i * 7 + j * 13) & 0xff;
    mem.set([0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x88, 0xb5], 0); // unicast MACs, a local EtherType
    w.writePacket(mem, 0, len, len, 1_700_000_000, i * 1000);
  }
  w.close();
}

for (const kind of ['', 'zc:']) {
  test(`replay of odd-sized records through ${kind ? 'zc: (AF_XDP)' : 'standard (AF_PACKET)'} TX arrives byte-exact (the pcap: device keeps each record's alignment)`, { skip }, async () => {
    const { got, sent } = await replayAndCapture(['--topspeed'], 240, makeOddSizes, (peer) => kind + peer);
    assert.equal(got.frames.length, sent.frames.length);
    for (let i = 0; i < sent.frames.length; i++) assert.ok(got.frames[i].equals(sent.frames[i]), `frame ${i} (${sent.frames[i].length} bytes) differs`);
  });
}
