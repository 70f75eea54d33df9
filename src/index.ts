// ringzero public API.
export * from './errors.js';
export * from './zc/index.js';
export * from './vm/index.js';
