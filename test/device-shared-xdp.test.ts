// Per-queue processes on one interface, as PF_RING ZC applications run on
// zc:eth0@0 and zc:eth0@1: the second process joins the XDP program the first
// attached (xdp/join.ts). Each gets exactly its queue's frames; the program
// stays while any of them runs, also when the one that attached it is killed;
// it is gone when the last one ends. A process that would run another filter
// is refused, naming the cause.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { firstOf, needNetns } from './helpers/env.js';
import { withVethPair, type VethPair } from './helpers/netns.js';
import { start, type Started } from './helpers/cli.js';
import { queueCounter, sendFrom, stoppedCount as stopped } from './helpers/queue-counters.js';
import { removeRegionsOf } from './helpers/zc-procs.js';

// steering frames to queue 1 needs a second CPU to send from (see sendFrom)
const skip = firstOf(needNetns(), availableParallelism() < 2 ? 'needs 2 CPUs to steer frames to two queues' : null);
const hasXdp = (ifname: string) => /prog\/xdp/.test(execFileSync('ip', ['-d', 'link', 'show', ifname], { encoding: 'utf8' }));

const counter = (pair: VethPair, queue: number) => queueCounter(pair, queue);

test('two processes on queues 0 and 1 of one interface share its XDP program until the last one ends', { skip }, async () => {
  await withVethPair(async (pair) => {
    const live: Started[] = [];
    try {
      const a = await counter(pair, 0);
      live.push(a);
      const b = await counter(pair, 1);
      live.push(b);
      sendFrom(pair, 0, 200);
      sendFrom(pair, 1, 300);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(await stopped(a), 200, 'queue 0: exactly its frames');
      assert.ok(hasXdp(pair.host), 'the program stays while queue 1 still runs');
      sendFrom(pair, 1, 100);
      // the first one again, joining the program the second now holds alone; then killed
      const a2 = await counter(pair, 0);
      live.push(a2);
      sendFrom(pair, 0, 50);
      await new Promise((r) => setTimeout(r, 500));
      a2.p.kill('SIGKILL');
      await a2.done;
      removeRegionsOf(a2.p.pid!); // a killed process cannot remove its private cluster
      assert.ok(hasXdp(pair.host), 'a killed sharer takes nothing with it');
      assert.equal(await stopped(b), 400, 'queue 1: its 300 + 100 frames, undisturbed');
      assert.equal(hasXdp(pair.host), false, 'no program left once the last one ended');
    } finally {
      for (const c of live) c.p.kill('SIGKILL'); // no-op for those that ended
    }
  }, { queues: 2 });
});

test('a process that would run another filter on the same interface is refused with ERR_RINGZERO_XDP_PROGRAM_EXISTS', { skip }, async () => {
  await withVethPair(async (pair) => {
    const a = await counter(pair, 0);
    try {
      const r = await start(['count', '-i', `zc:${pair.host}@1`, '-f', 'udp', '-d', '1']).done;
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, /another process or thread, with a different filter.*ERR_RINGZERO_XDP_PROGRAM_EXISTS/s);
      const same = await start(['count', '-i', `zc:${pair.host}@1`, '-d', '1', '--json']).done;
      assert.equal(same.code, 0, `the same (unfiltered) program is joined:\n${same.err}`);
    } finally {
      await stopped(a);
    }
    assert.equal(hasXdp(pair.host), false);
  }, { queues: 2 });
});
