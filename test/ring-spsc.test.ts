// The SPSC ring's contract: burst = best effort, bulk = all or nothing,
// FIFO order across wrap-around, including the u32 index wrap at 2^32.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalRing, SpscRing, LINE_WORDS } from '../src/zc/ring.js';

const seq = (from: number, n: number) => Uint32Array.from({ length: n }, (_, i) => from + i);

test('an empty ring dequeues nothing and a full ring enqueues nothing', () => {
  const r = createLocalRing(8);
  const out = new Uint32Array(8);
  assert.equal(r.dequeueBurst(out, 8), 0, r.describe());
  assert.equal(r.enqueueBurst(seq(0, 8), 8), 8, r.describe());
  assert.equal(r.enqueueBurst(seq(8, 1), 1), 0, r.describe());
  assert.equal(r.freeCount(), 0);
  assert.equal(r.dequeueBurst(out, 8), 8);
  assert.deepEqual([...out], [0, 1, 2, 3, 4, 5, 6, 7]);
});

test('burst operations are best effort and bulk operations all or nothing', () => {
  const r = createLocalRing(8);
  assert.equal(r.enqueueBurst(seq(0, 5), 5), 5);
  assert.equal(r.enqueueBulk(seq(5, 4), 4), 0, 'bulk of 4 into 3 free slots must move nothing');
  assert.equal(r.enqueueBurst(seq(5, 4), 4), 3, 'burst of 4 into 3 free slots moves 3');
  const out = new Uint32Array(16);
  assert.equal(r.dequeueBulk(out, 9), 0, 'bulk of 9 from 8 must move nothing');
  assert.equal(r.dequeueBurst(out, 16), 8);
  assert.deepEqual([...out.subarray(0, 8)], [0, 1, 2, 3, 4, 5, 6, 7]);
});

test('order survives wrap-around of the slot array with partial bursts', () => {
  const r = createLocalRing(16);
  const out = new Uint32Array(16);
  let next = 0;
  let expect = 0;
  for (let round = 0; round < 1000; round++) {
    const n = 1 + (round * 7) % 13;
    const k = r.enqueueBurst(seq(next, n), n);
    next += k;
    const m = r.dequeueBurst(out, 1 + (round * 5) % 11);
    for (let i = 0; i < m; i++) assert.equal(out[i], expect++, `round ${round}: ${r.describe()}`);
  }
  const m = r.dequeueBurst(out, 16);
  for (let i = 0; i < m; i++) assert.equal(out[i], expect++);
  assert.equal(expect, next);
});

test('free-running u32 indices wrap at 2^32 without losing or reordering', () => {
  const buf = new SharedArrayBuffer(LINE_WORDS * 8 + 8 * 4);
  const ctrl = new Uint32Array(buf, 0, LINE_WORDS * 2);
  ctrl[0] = 0xfffffffa; // PROD
  ctrl[LINE_WORDS] = 0xfffffffa; // CONS
  const r = new SpscRing({ ctrl, prodWord: 0, consWord: LINE_WORDS, slots: new Uint32Array(buf, LINE_WORDS * 8, 8) });
  const out = new Uint32Array(8);
  let expect = 100;
  for (let i = 0; i < 10; i++) {
    assert.equal(r.enqueueBurst(seq(100 + i * 5, 5), 5), 5, r.describe());
    assert.equal(r.freeCount(), 3, r.describe());
    assert.equal(r.dequeueBurst(out, 8), 5, r.describe());
    for (let j = 0; j < 5; j++) assert.equal(out[j], expect++);
  }
  assert.ok(Atomics.load(ctrl, 0) < 0xfffffffa, `the producer index wrapped: ${r.describe()}`);
  assert.equal(r.dequeueBurst(out, 8), 0);
});

test('peek then release publishes only what was released', () => {
  const r = createLocalRing(8);
  r.enqueueBurst(seq(1, 4), 4);
  const out = new Uint32Array(8);
  assert.equal(r.peekBurst(out, 8), 4);
  assert.equal(r.freeCount(), 4, 'peeked slots are not free yet');
  r.releasePeeked(3);
  assert.equal(r.freeCount(), 7);
  assert.equal(r.dequeueBurst(out, 8), 1);
  assert.equal(out[0], 4);
});

test('invalid sizes are refused', () => {
  for (const size of [0, 1, 3, 6, 12, 1000]) {
    assert.throws(() => createLocalRing(size), RangeError, `size ${size}`);
  }
});
