// A filter reload (SIGUSR1 with -F) on a zc: interface whose XDP program other
// processes joined (device-shared-xdp.test.ts) would swap the filter of their
// queues too: the program, and its filter, is one for the whole interface. So
// every holder refuses the reload while another process holds the program,
// says so, and keeps filtering with the previous filter; one that holds it
// alone (the first opener, or a joiner once the others ended) reloads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstOf, needNetns } from './helpers/env.js';
import { withVethPair, type VethPair } from './helpers/netns.js';
import { sleep, until, type Started } from './helpers/cli.js';
import { queueCounter, sendFrom, stoppedCount as stopped } from './helpers/queue-counters.js';
import { removeRegionsOf } from './helpers/zc-procs.js';

const skip = firstOf(needNetns(), availableParallelism() < 2 ? 'needs 2 CPUs to steer frames to two queues' : null);

const counter = (pair: VethPair, queue: number, file: string) => queueCounter(pair, queue, ['-F', file]);

/** Sends SIGUSR1 and returns the reload line the command printed for it. */
async function reload(c: Started): Promise<string> {
  const before = c.err().split('\n').filter((l) => l.includes('filter reload')).length;
  c.p.kill('SIGUSR1');
  let lines: string[] = [];
  await until(() => (lines = c.err().split('\n').filter((l) => l.includes('filter reload'))).length > before, 'the reload line');
  return lines[lines.length - 1];
}

test('a filter reload is refused while another process shares the XDP program, and done once it holds it alone', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rz-shared-reload-'));
  const fA = join(dir, 'fA'), fB = join(dir, 'fB');
  writeFileSync(fA, 'udp\n');
  writeFileSync(fB, 'udp\n');
  const live: Started[] = [];
  try {
    await withVethPair(async (pair) => {
      const a = await counter(pair, 0, fA);
      live.push(a);
      const b = await counter(pair, 1, fB);
      live.push(b);
      writeFileSync(fA, 'udp port 5\n');
      assert.match(await reload(a), /failed, keeping the previous filter: .*shared with process \d+/, 'the first opener refuses');
      writeFileSync(fB, 'udp port 5\n');
      assert.match(await reload(b), /failed, keeping the previous filter: .*shared with process \d+/, 'so does the joiner');
      sendFrom(pair, 0, 200);
      sendFrom(pair, 1, 300);
      await sleep(500);
      assert.equal(await stopped(b), 300, "queue 1 still runs the filter 'udp' it was started with");
      // alone now: the reload happens, and frames to port 9 no longer match
      assert.match(await reload(a), /filter reloaded from .*: udp port 5/);
      sendFrom(pair, 0, 100);
      // a joiner that outlives the first opener may reload too
      const b2 = await counter(pair, 1, fB); // 'udp port 5': the program A now runs
      live.push(b2);
      await sleep(200);
      assert.equal(await stopped(a), 200, "queue 0: the 200 frames sent under 'udp', none of the 100 under 'udp port 5'");
      writeFileSync(fB, 'udp\n');
      assert.match(await reload(b2), /filter reloaded from .*: udp$/);
      sendFrom(pair, 1, 50);
      await sleep(500);
      assert.equal(await stopped(b2), 50);
    }, { queues: 2 });
  } finally {
    for (const c of live) c.p.kill('SIGKILL'); // no-op for those that ended
    for (const c of live) { await c.done; removeRegionsOf(c.p.pid!); } // what a killed one left (after a failure)
    rmSync(dir, { recursive: true });
  }
});
