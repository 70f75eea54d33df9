// Wait mode: an empty consumer sleeps on a futex (≈0% CPU) and a producer in
// another process wakes it within a millisecond, or, on a loaded machine, about
// as fast as the kernel wakes the same process for a pipe write.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Cluster } from '../src/zc/cluster.js';
import { META_LEN, META_WORDS } from '../src/zc/meta.js';
import { testClusterId } from './helpers/zc-procs.js';
import { prng } from './helpers/prng.js';
import { cpuShareOver } from './helpers/proc-cpu.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Spread { median: number; p90: number; p95: number; points: number[] }
function spread(ms: number[]): Spread {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(s.length * q))];
  return { median: at(0.5), p90: at(0.9), p95: at(0.95), points: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1].map(at) };
}
const show = (s: Spread) => s.points.map((x) => x.toFixed(3)).join(' ');

// "Within 1 ms" holds while the machine gives the consumer a CPU. Under load (the full suite
// beside this test: a load average of 5 on 2 vCPUs) 10-15% of wake-ups wait 1-5 ms in the run
// queue, whatever woke them, and no wake path gets that back. So the test also wakes the same
// child the plainest way the kernel has, a blocking read of a pipe the test writes to,
// interleaved with the sends so both see the same load, and takes that as its reference: our
// median must stay below 1 ms or 1.5 x the reference's median, our p90 below 1 ms or 1.5 x the
// reference's p95. Why p95: those 10-15% put the 90th percentile right on the step from
// ~0.3 ms to 1-5 ms, where it flips by chance (the share of slow wake-ups among 300 varies by
// about 2 points), so even two equal paths would fail p90 against p90 in a few % of runs; a
// little further up the tail the reference is past the step. 1.5 x covers how the tail's
// height varies. Resampling 35 runs measured under two CPU hogs (most with the suite running
// too), p90 against 1.5 x p90 failed 6.6% of 300-sample runs (against 2 x p90: 2.7%), against
// 1.5 x p95 0.5%. What a broken wait still shows whatever the load: 10 ms naps instead of the
// futex, a median of 4-6 ms; a producer skipping one wake-up in ten, a p90 of ~85 ms (the
// consumer's 100 ms wait slice).
const N = 300;
const FACTOR = 1.5;

test('an idle consumer process in wait mode uses < 5% CPU and wakes within 1 ms of a send (under load: about as fast as a pipe wakes it)', async () => {
  const id = testClusterId();
  const c = Cluster.create({ id, buffers: 256, queues: 1, queueLength: 64, hugepages: 'never' });
  const child = spawn(process.execPath, [new URL('./fixtures/zc-wait-child.js', import.meta.url).pathname, String(id), String(N)], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    const lines = () => (out.match(/\n/g)?.length ?? 0) - 1; // complete lines after 'ready'
    const deadline = Date.now() + 10_000;
    while (!out.includes('ready') && Date.now() < deadline) await sleep(10);
    assert.ok(out.includes('ready'), 'consumer started');
    await sleep(200);
    const idleCpu = await cpuShareOver(child.pid!, 2000);
    assert.ok(idleCpu < 0.05, `idle consumer used ${(idleCpu * 100).toFixed(1)}% CPU`);

    const pool = c.pool(0);
    const prod = c.producer(0, pool);
    const words = new Uint32Array(c.memory.sab, 0, c.memory.sab.byteLength >>> 2);
    // Random gaps, so a consumer that naps cannot fall into step with the sends.
    const gap = prng(id);
    for (let k = 0; k < 2 * N; k++) {
      await sleep(5 + 10 * gap());
      if (k % 2 === 0) {
        pool.drain();
        const b = pool.allocOne();
        const w = c.dataOffset(b) >>> 2;
        c.memory.meta[b * META_WORDS + META_LEN] = 8;
        const now = process.hrtime.bigint();
        words[w] = Number(now >> 32n);
        words[w + 1] = Number(now & 0xffffffffn);
        assert.ok(prod.sendOne(b));
      } else {
        const stamp = Buffer.alloc(8);
        stamp.writeBigUInt64LE(process.hrtime.bigint());
        child.stdin.write(stamp); // an empty pipe takes it at once (libuv tries the write first)
      }
      // one wake-up at a time: the child is back asleep before the next one
      const until = Date.now() + 10_000;
      while (lines() <= k && Date.now() < until) await sleep(1);
      assert.ok(lines() > k, `the consumer reported wake-up ${k}`);
    }
    const ms = (kind: string) => [...out.matchAll(new RegExp(`${kind} (\\d+)`, 'g'))].map((m) => Number(m[1]) / 1e6);
    const ours = spread(ms('futex'));
    const ref = spread(ms('pipe'));
    assert.equal(ms('futex').length, N, 'every packet woke the consumer');
    const report = `wake latency ms at min, p10..p90, p95, p99, max:\n  futex (ours):      ${show(ours)}\n  pipe (reference):  ${show(ref)}\n` +
      `ours: median ${ours.median.toFixed(3)} (allowed < ${Math.max(1, FACTOR * ref.median).toFixed(3)}), ` +
      `p90 ${ours.p90.toFixed(3)} (allowed < ${Math.max(1, FACTOR * ref.p95).toFixed(3)})`;
    console.log(report);
    assert.ok(ours.median < Math.max(1, FACTOR * ref.median), report);
    assert.ok(ours.p90 < Math.max(1, FACTOR * ref.p95), report);
    prod.close();
  } finally {
    child.kill('SIGKILL');
    c.close();
  }
});
