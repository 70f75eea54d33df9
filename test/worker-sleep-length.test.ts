// An idle worker's sleep between polls: long enough to spare wake-ups, short
// enough that its input does not overflow meanwhile. A quarter of the
// smallest input at the rate seen over the last sleep, within the floor of
// the receive loops' naps and 1 ms (the most latency idling adds), at most
// doubling from one sleep to the next.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MIN_NAP_MS } from '../src/devices/coalesce.js';
import { workerSleepMs } from '../src/workers/loop.js';

test('up to 2 Mpps into an 8192-frame ring a worker sleeps 1 ms, as before', () => {
  assert.equal(workerSleepMs(0, 8192, 1), 1); // idle
  assert.equal(workerSleepMs(1_000, 8192, 1), 1); // 1 Mpps: 2 ms would fill a quarter; capped
  assert.equal(workerSleepMs(2_048, 8192, 1), 1);
});

test('at 9 Mpps it sleeps at the floor: a quarter of the ring, not a whole ring and more', () => {
  assert.equal(workerSleepMs(9_000, 8192, 1), MIN_NAP_MS);
  assert.ok(Math.abs(workerSleepMs(4_096, 8192, 1) - 0.5) < 1e-9);
  // a small input queue shortens it too
  assert.equal(workerSleepMs(2_000, 1024, 1), MIN_NAP_MS);
});

test('after an idle spell the first sleep is the floor and each next one at most doubles', () => {
  let last = MIN_NAP_MS / 2; // what the Idler sets when traffic resumes after an idle spell
  const seen: number[] = [];
  for (let i = 0; i < 4; i++) {
    last = workerSleepMs(0, 8192, last); // no rate known: the target is the cap
    seen.push(last);
  }
  assert.deepEqual(seen, [MIN_NAP_MS, 2 * MIN_NAP_MS, 1, 1]);
});

test('an input that waits for the worker (a memory input: Infinity) sleeps the cap', () => {
  assert.equal(workerSleepMs(50_000, Infinity, 1), 1);
});
