// The receive loops' coalescing nap: only after a short burst or an empty one
// right after packets, as long as a quarter of the ring takes to fill at the
// recent rate, never under MIN_NAP_MS or over MAX_NAP_MS, and never while the
// caller does not wait for packets; blocking is for an input found empty twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Coalescer, COALESCE_BELOW, MAX_NAP_MS, MIN_NAP_MS, napFor } from '../src/devices/coalesce.js';

test('the nap lets a quarter of the ring fill at the recent rate, between the floor and the cap', () => {
  assert.equal(napFor(512, 8192), 4); // 2048 frames at 512 per ms
  assert.equal(napFor(14_880, 8192), MIN_NAP_MS); // 14.88 Mpps: the floor
  assert.equal(napFor(1, 8192), MAX_NAP_MS); // a trickle: the cap, which is also the most latency added
  assert.equal(napFor(0, 8192), MAX_NAP_MS);
  assert.equal(napFor(Number.NaN, 8192), MAX_NAP_MS);
  assert.ok(Math.abs(napFor(300, 4096) - 4096 / 4 / 300) < 1e-9);
});

test('only a short burst while waiting makes the next receive nap', () => {
  const naps: number[] = [];
  const c = new Coalescer(8192, (ms) => naps.push(ms));
  c.before();
  assert.equal(c.after(64, true), 64); // a full burst: go again at once
  c.before();
  c.after(COALESCE_BELOW - 1, false); // short, but the caller does not wait (waitMs 0)
  c.before();
  assert.deepEqual(naps, []);
  c.after(COALESCE_BELOW - 1, true); // short while waiting: the ring is drained
  c.before();
  assert.equal(naps.length, 1);
  assert.ok(naps[0] >= MIN_NAP_MS && naps[0] <= MAX_NAP_MS, `nap ${naps[0]} ms`);
  c.before(); // one nap per short burst
  assert.equal(naps.length, 1);
});

test('an input drained while packets flow makes the loop nap, not block; found empty twice, it blocks', () => {
  const naps: number[] = [];
  const c = new Coalescer(8192, (ms) => naps.push(ms));
  c.before();
  c.after(64, true);
  c.before();
  // Empty right after a full burst: blocking now would be woken by the next
  // handful of frames, so the caller returns and the next receive naps.
  assert.equal(c.idle(), false);
  c.after(0, true);
  c.before();
  assert.equal(naps.length, 1);
  // Empty again after the nap: the traffic has stopped, block.
  assert.equal(c.idle(), true);
  c.after(0, true);
  c.before();
  assert.equal(naps.length, 1);
  // Still nothing: keep blocking, no naps.
  assert.equal(c.idle(), true);
  c.after(0, true);
  c.before();
  assert.equal(naps.length, 1);
});

test('after idle the first nap is the floor, and each nap at most doubles', () => {
  const naps: number[] = [];
  let clock = 0;
  const c = new Coalescer(8192, (ms) => { naps.push(ms); clock += ms; }, () => clock);
  clock += 60_000;
  // A long silence, then traffic: the rate since the last nap says "a trickle"
  // (8 ms), which at 1.3 Mpps would overflow the ring. The loop slept in poll().
  assert.equal(c.idle(), true);
  c.after(1, true);
  c.before();
  assert.deepEqual(naps, [MIN_NAP_MS]);
  // Then a slow but steady rate (a packet per nap, < 1 per ms): the target is the cap, reached by doubling.
  for (let i = 0; i < 4; i++) {
    c.after(1, true);
    c.before();
  }
  const doubling = [MIN_NAP_MS];
  while (doubling.length < 5) doubling.push(Math.min(MAX_NAP_MS, 2 * doubling.at(-1)!));
  assert.deepEqual(naps, doubling);
  // idle again (found empty twice): back to the floor
  c.after(0, true);
  c.before();
  c.after(0, true);
  assert.equal(c.idle(), true);
  c.after(1, true);
  c.before();
  assert.equal(naps.at(-1), MIN_NAP_MS);
});
