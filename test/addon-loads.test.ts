import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native } from '../src/native/index.js';

test('the addon loads and reports errno names on failure', () => {
  assert.throws(() => native.mmap(-1, 4096, 0, true, false), (e: any) => e.code === 'EBADF' && e.syscall === 'mmap');
});
