import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native } from '../src/native/index.js';

test('the addon loads and reports errno names on failure', () => {
  assert.throws(() => native.open('/nonexistent/ringzero', 0, 0), (e: any) => e.code === 'ENOENT' && e.syscall === 'open');
});
