// Fills the buffers of a pool with frames once, for the in-memory input
// ({ kind: 'memory' }): benchmarks and tests then move real packets through
// workers with no kernel involved. Buffer `first + i` holds frames[i % n].
import type { Cluster } from '../zc/cluster.js';
import { META_HASH, META_LEN, META_NSEC, META_OFF, META_PORT, META_SEC, META_WIRELEN, META_WORDS } from '../zc/meta.js';
import { InvalidArgumentError } from '../errors.js';

/** The buffer index range [first, first + size) of pool p. */
export function poolRange(cluster: Cluster, p: number): { first: number; size: number } {
  const sizes = cluster.layout.poolSizes;
  if (!Number.isInteger(p) || p < 0 || p >= sizes.length) throw new InvalidArgumentError(`pool ${p} does not exist (cluster ${cluster.id} has ${sizes.length})`);
  let first = 0;
  for (let i = 0; i < p; i++) first += sizes[i];
  return { first, size: sizes[p] };
}

/**
 * Writes frames[i % frames.length] into buffer first+i of pool p, with
 * META_LEN, META_OFF (the cluster headroom), a timestamp and META_PORT = port.
 * Call before any thread allocates from the pool. Returns the pool range.
 */
export function prefillPool(cluster: Cluster, p: number, frames: Uint8Array[], port = 0): { first: number; size: number } {
  if (frames.length === 0) throw new InvalidArgumentError('prefillPool needs at least one frame');
  const r = poolRange(cluster, p);
  const { bytes, meta, bufferOffset, bufferSize, headroom } = cluster.memory;
  const now = Date.now();
  for (let i = 0; i < r.size; i++) {
    const b = r.first + i;
    const f = frames[i % frames.length];
    if (f.length > bufferSize - headroom) throw new InvalidArgumentError(`frame ${i % frames.length} has ${f.length} bytes; buffers hold ${bufferSize - headroom}`);
    bytes.set(f, bufferOffset + b * bufferSize + headroom);
    const m = b * META_WORDS;
    meta[m + META_LEN] = f.length;
    meta[m + META_OFF] = headroom;
    meta[m + META_SEC] = Math.floor(now / 1000);
    meta[m + META_NSEC] = (now % 1000) * 1e6;
    meta[m + META_HASH] = 0;
    meta[m + META_PORT] = port;
    meta[m + META_WIRELEN] = f.length;
  }
  return r;
}
