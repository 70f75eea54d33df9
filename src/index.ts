// ringzero public API.
export * from './errors.js';
