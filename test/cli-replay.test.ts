// send -f FILE replays a capture on a device: every record byte-exact, the
// recorded gaps kept within 1 ms at 1x, faster with --speed, all at once
// with --topspeed, several times with --loop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVethPair } from './helpers/netns.js';
import { firstOf, needNetns } from './helpers/env.js';
import { PcapReader, PcapWriter, createPacketRecords } from '../src/pcap/index.js';
import { buildFrames } from '../src/cli/frames.js';
import { startTimerProbe, type MachineDelay } from './helpers/timer-probe.js';

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

interface Replayed {
  got: ReturnType<typeof readAll>;
  sent: ReturnType<typeof readAll>;
  /** with `probe`: what the machine did to `send` while it ran (see the 1x test) */
  machine: { around(fromMs: number, toMs: number): MachineDelay } | null;
}

async function replayAndCapture(extra: string[], expect: number, make: (path: string) => void = makeFile, sendDevice = (peer: string) => peer, probe = false): Promise<Replayed> {
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
    const watching = probe ? await startTimerProbe() : null;
    let machine: Replayed['machine'] = null;
    try {
      // `ip netns exec` execs the command in place: the pid is the sender's
      const s = spawn('ip', ['netns', 'exec', veth.ns, process.execPath, BIN, 'send', '-i', sendDevice(veth.peer), '-f', src, '-q', ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
      watching?.watch(s.pid!);
      let serr = '';
      s.stderr.on('data', (x) => { serr += x; });
      const [code] = await once(s, 'exit');
      assert.equal(code, 0, `send failed: ${serr}`);
    } finally {
      machine = watching ? await watching.stop() : null;
    }
    await done;
    return { got: readAll(out), sent: readAll(src), machine };
  } finally {
    rmSync(dir, { recursive: true });
    veth.remove();
  }
}

// "Within 1 ms" is what the pacer holds while the machine runs it: it sleeps, then spins the
// last 1.5 ms before each departure, so a wake-up that late costs it nothing. What the machine
// takes beyond that, no user-space pacer gets back: on this 2-vCPU VM under load the kernel was
// seen keeping the sender waiting for a CPU for 2.9 and 8.5 ms (perf sched) and 17 ms (its
// schedstat) right at departures, kdamond and other processes holding both vCPUs, and timers
// firing late on top. So the test measures the machine in the same run (helpers/timer-probe.ts),
// from 5 ms before each departure was due until it left: the kernel's count of the sender's own
// run-queue wait, and how much later than usual plain 1 ms timed waits woke up (a timer that
// fires late shows only there). A gap may be off by 1 ms plus what the machine took at either
// end of it; on a quiet machine that is near 0 and the bound is 1 ms. A departure late by the
// product's own doing (its CPU time, a sleep too long) is excused by neither.
const BEFORE_DUE_MS = 5;

test('replay at 1x keeps every recorded gap within 1 ms and the frames byte-exact', { skip }, async () => {
  const { got, sent, machine } = await replayAndCapture([], GAPS.length + 1, makeFile, (peer) => peer, true);
  assert.equal(got.frames.length, sent.frames.length);
  for (let i = 0; i < sent.frames.length; i++) assert.ok(got.frames[i].equals(sent.frames[i]), `frame ${i} differs`);
  const errs = GAPS.map((g, i) => (got.ns[i + 1] - got.ns[i]) / 1e6 - g);
  // When each packet was due (Unix ms): no packet leaves early, so the schedule starts where the
  // least late one puts it (the first packet may be late too).
  const offset = got.ns.map((_, i) => GAPS.slice(0, i).reduce((a, b) => a + b, 0));
  const start = Math.min(...got.ns.map((ns, i) => ns / 1e6 - offset[i]));
  const near = got.ns.map((ns, i) => machine!.around(start + offset[i] - BEFORE_DUE_MS, ns / 1e6));
  const took = near.map((m) => m.runQueueMs + m.timerLateMs);
  const allowed = GAPS.map((_, i) => 1 + Math.max(took[i], took[i + 1]));
  assert.ok(errs.every((e, i) => Math.abs(e) < allowed[i]),
    `gap errors (ms): ${errs.map((e) => e.toFixed(3)).join(' ')}\n` +
    `allowed, for what the machine took around each gap (ms): ${allowed.map((a) => a.toFixed(3)).join(' ')}\n` +
    `(sender's run-queue wait at each departure: ${near.map((m) => m.runQueueMs.toFixed(3)).join(' ')}; ` +
    `plain timed waits later than usual: ${near.map((m) => m.timerLateMs.toFixed(3)).join(' ')})`);
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

test('a top-speed replay that would run for minutes stops on SIGINT within a second and prints its total', { skip }, async () => {
  const veth = createVethPair();
  const dir = mkdtempSync(join(tmpdir(), 'rz-replay-int-'));
  try {
    const file = join(dir, 'f.pcap');
    makeFile(file);
    // 16 records x 1'000'000 loops: far longer than the test
    const p = spawn(process.execPath, [BIN, 'send', '-i', veth.host, '-f', file, '--topspeed', '--loop', '1000000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { out += d; });
    for (let i = 0; i < 100 && !/Replaying/.test(out); i++) await sleep(50);
    await sleep(500);
    const t0 = Date.now();
    p.kill('SIGINT');
    const [code] = await once(p, 'exit');
    const took = Date.now() - t0;
    assert.ok(took < 1000, `send took ${took} ms to stop`);
    assert.equal(code, 0, out);
    assert.match(out, /Total: [\d']+ pkts sent/);
  } finally {
    veth.remove();
    rmSync(dir, { recursive: true, force: true });
  }
});
