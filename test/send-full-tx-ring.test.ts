// `send` never loses a frame to a full device TX ring: at top speed, into a
// peer that pushes back, synthetic frames and a replayed file go out whole on
// both device kinds (zero drops, and the peer took in exactly what send says
// it sent); and while the ring stays full send waits in naps, not spinning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastJson, sleep, start, until } from './helpers/cli.js';
import { createVethPair, type VethPair } from './helpers/netns.js';
import { firstOf, needNetns } from './helpers/env.js';
import { needPushBackTools, peerArrivals, pushBack } from './helpers/push-back.js';
import { PcapWriter } from '../src/pcap/index.js';
import { buildFrames } from '../src/cli/frames.js';
import { cpuShareOver } from './helpers/proc-cpu.js';

const skip = firstOf(needNetns(), needPushBackTools());
/** Dozens of times what a TX ring holds (AF_XDP 2048 slots per socket, AF_PACKET 1024 frames). */
const N = 100_000;

/** A capture of `count` 60-byte frames, all stamped at the same instant (a replay paces nothing). */
function writeCapture(path: string, count: number): void {
  const f = buildFrames({ length: 60, sources: 16 });
  const w = PcapWriter.open(path);
  for (let i = 0; i < count; i++) w.writePacket(f.bytes, (i % 16) * 60, 60, 60, 1_700_000_000, 0);
  w.close();
}

async function withPair(fn: (pair: VethPair, dir: string) => Promise<void>): Promise<void> {
  const pair = createVethPair({ queues: 1 }); // one peer queue: one NAPI thread, which send outruns
  const dir = mkdtempSync(join(tmpdir(), 'rz-txfull-'));
  try {
    await fn(pair, dir);
  } finally {
    pair.remove();
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const kind of ['zc:', ''] as const) {
  const name = kind ? 'zc: (AF_XDP)' : 'standard (AF_PACKET)';
  for (const what of ['synthetic frames', 'a replay'] as const) {
    test(`${name}: ${what} at top speed into a peer that pushes back waits for TX ring room: zero drops, and the peer took in every frame send counts`, { skip }, async () => {
      await withPair(async (pair, dir) => {
        pushBack(pair);
        let args = ['-n', String(N), '-l', '60', '-b', '16'];
        if (what === 'a replay') {
          writeCapture(join(dir, 'f.pcap'), N);
          args = ['-f', join(dir, 'f.pcap'), '--topspeed'];
        }
        const before = peerArrivals(pair);
        const s = start(['send', '-i', kind + pair.host, ...args, '--json']);
        const r = await s.done;
        assert.equal(r.code, 0, r.err);
        const j = lastJson(r.out);
        assert.equal(j.drops, 0, 'no frame dropped for a full TX ring');
        assert.equal(j.unsent, 0);
        assert.equal(j.packets, N);
        assert.equal(peerArrivals(pair) - before, j.packets, 'the peer took in exactly what send counts as sent');
      });
    });
  }
}

// AF_PACKET only: with the peer down the kernel keeps our frames in the ring
// and retries them (AF_XDP in copy mode completes them unsent instead).
for (const what of ['synthetic frames', 'a replay'] as const) {
  test(`standard (AF_PACKET): ${what} waiting on a TX ring that stays full (peer down) naps instead of burning a CPU, then sends every frame once the peer is up`, { skip }, async () => {
    await withPair(async (pair, dir) => {
      // 200 kpps: send is still busy when the peer goes down, and done a few seconds after it is back
      let args = ['-n', '400000', '-p', '200000'];
      if (what === 'a replay') {
        writeCapture(join(dir, 'f.pcap'), 20_000);
        args = ['-f', join(dir, 'f.pcap'), '--topspeed', '--loop', '20', '-p', '200000'];
      }
      const before = peerArrivals(pair);
      const s = start(['send', '-i', pair.host, ...args]); // not --json: it would also silence the start line
      try {
        await until(() => /Sending|Replaying/.test(s.err()), 'send to start');
        await sleep(200);
        pair.exec('ip', ['link', 'set', pair.peer, 'down']);
        await sleep(300); // 1024 frames fill the ring in 5 ms at 200 kpps: send waits from here on
        const used = await cpuShareOver(s.p.pid!, 2000);
        assert.equal(s.p.exitCode, null, 'send still waits for room');
        assert.ok(used < 0.3, `send used ${(used * 100).toFixed(0)}% of a CPU while waiting`);
        pair.exec('ip', ['link', 'set', pair.peer, 'up']);
        const r = await s.done;
        assert.equal(r.code, 0, r.err);
        const total = /^Total: ([\d']+) pkts sent \(([\d']+) drops\)/m.exec(r.out);
        assert.ok(total, r.out);
        const [packets, drops] = [total[1], total[2]].map((v) => Number(v.replaceAll("'", '')));
        assert.equal(drops, 0);
        assert.equal(packets, 400_000);
        assert.equal(peerArrivals(pair) - before, packets, 'the peer took in every frame once it was up');
      } finally {
        s.p.kill('SIGKILL');
        await s.done;
      }
    });
  });
}
