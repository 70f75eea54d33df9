// copyBytes picks a path by size and by the offsets' alignment (bytes, u32
// words, 8-byte BigInt64 words, DataView, TypedArray#set): every path must
// move exactly the bytes asked for, no more, between shared and unshared
// memory, including bit patterns that are NaNs when read as doubles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyBytes, mappingOf, WORD_COPY_LIMIT, type Mapping } from '../src/memory/copy.js';
import { prng } from './helpers/prng.js';

const SIZE = 4096;

function fill(m: Mapping, seed: number): void {
  const next = prng(seed);
  for (let i = 0; i < m.u8.length; i++) m.u8[i] = Math.floor(next() * 256);
}

/** Checks dst after copying src[from..+len] to dst[to..]: the range equals the source, the rest is untouched. */
function check(src: Mapping, from: number, dst: Mapping, to: number, len: number, before: Uint8Array): void {
  for (let i = 0; i < dst.u8.length; i++) {
    const want = i >= to && i < to + len ? src.u8[from + (i - to)] : before[i];
    if (dst.u8[i] !== want) {
      assert.fail(`copy from ${from} to ${to} of ${len} bytes: byte ${i} is ${dst.u8[i]}, expected ${want}`);
    }
  }
}

for (const [srcShared, dstShared] of [[true, false], [false, true], [true, true], [false, false]]) {
  test(`every alignment and length copies exactly (${srcShared ? 'shared' : 'unshared'} -> ${dstShared ? 'shared' : 'unshared'})`, () => {
    const src = mappingOf(srcShared ? new SharedArrayBuffer(SIZE) : new ArrayBuffer(SIZE));
    const dst = mappingOf(dstShared ? new SharedArrayBuffer(SIZE) : new ArrayBuffer(SIZE));
    fill(src, 1);
    const lengths = [0, 1, 3, 4, 15, 16, 17, 31, 32, 33, 54, 60, 64, 66, 127, 255, 256, 257, 590, 1514, 1515];
    for (const len of lengths) {
      for (let a = 0; a < 8; a++) {
        for (let b = 0; b < 8; b++) {
          const from = 64 + a + (len % 3) * 8;
          const to = 1800 + b;
          fill(dst, len * 64 + a * 8 + b);
          const before = dst.u8.slice();
          copyBytes(src, from, dst, to, len);
          check(src, from, dst, to, len, before);
        }
      }
    }
  });
}

test('NaN bit patterns and the ends of the memories survive the word paths', () => {
  const src = mappingOf(new SharedArrayBuffer(SIZE));
  const dst = mappingOf(new ArrayBuffer(SIZE));
  // signalling and quiet NaNs with payloads, infinities, negative zero, as raw bytes
  const patterns = [0x7ff0000000000001n, 0x7ff8dead0000beefn, 0xfff4000000000000n, 0x7ff0000000000000n, 0x8000000000000000n];
  const dv = src.dv;
  for (let i = 0; i < SIZE / 8; i++) dv.setBigUint64(i * 8, patterns[i % patterns.length], true);
  // the whole memory, then its last bytes, at every length that takes the word loops
  copyBytes(src, 0, dst, 0, SIZE);
  assert.deepEqual(dst.u8, src.u8);
  for (const len of [16, 24, 40, WORD_COPY_LIMIT, WORD_COPY_LIMIT + 8]) {
    dst.u8.fill(0);
    copyBytes(src, SIZE - len, dst, SIZE - len, len);
    assert.deepEqual(dst.u8.subarray(SIZE - len), src.u8.subarray(SIZE - len));
  }
});

test('a hot copy loop (optimized code) still moves exact bytes', () => {
  const src = mappingOf(new SharedArrayBuffer(SIZE));
  const dst = mappingOf(new ArrayBuffer(SIZE));
  fill(src, 7);
  const dv = src.dv;
  dv.setBigUint64(128, 0x7ff0000000000001n, true); // a signalling NaN inside the copied range
  for (let round = 0; round < 200_000; round++) copyBytes(src, 128, dst, 256, 64);
  assert.deepEqual(dst.u8.subarray(256, 320), src.u8.subarray(128, 192));
});
