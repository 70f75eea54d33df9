// Per-buffer metadata: PF_RING ZC keeps length, timestamp and hash with the
// buffer handle, so queues move only u32 buffer indices (like rte_ring moves
// pointers). Each buffer has META_WORDS u32 words in the cluster's metadata
// area, written by whoever fills the buffer before the index is published on a
// ring (the ring's release store orders them) and read by the consumer after
// it loads the ring index (acquire).

export const META_WORDS = 8;
/** packet length in bytes (captured length) */
export const META_LEN = 0;
/** byte offset of the packet data from the start of the buffer */
export const META_OFF = 1;
/** timestamp: seconds since the Unix epoch */
export const META_SEC = 2;
/** timestamp: nanoseconds within the second */
export const META_NSEC = 3;
/** flow hash (set by devices or the balancer; 0 when unknown) */
export const META_HASH = 4;
/** input port: the device or queue the packet came from */
export const META_PORT = 5;
/** original length on the wire when the buffer holds a truncated copy (0 = same as META_LEN) */
export const META_WIRELEN = 6;
/** holder tag, maintained by the core for reclaim (see zc/pool.ts); not for users */
export const META_TAG = 7;

/** What a device needs to know about the cluster's buffer memory. */
export interface BufferMemory {
  /** the whole cluster region (shared mapping) */
  readonly sab: SharedArrayBuffer;
  /** byte offset of buffer 0 inside `sab` (page-aligned, so it can be an AF_XDP UMEM) */
  readonly bufferOffset: number;
  /** bytes per buffer: a power of two (2048 by default) */
  readonly bufferSize: number;
  readonly bufferCount: number;
  /** default data offset inside a buffer, left free for prepending headers */
  readonly headroom: number;
  /** bytes of the whole region */
  readonly bytes: Uint8Array;
  /** META_WORDS words per buffer */
  readonly meta: Uint32Array;
}

/** Buffer allocation as devices and workers use it (implemented by zc/pool.ts). */
export interface BufferSource {
  /** best effort: fills out[0..k) with free buffer indices, returns k <= n */
  alloc(out: Uint32Array, n: number): number;
  /** gives buffers back; the caller no longer owns them */
  free(indices: ArrayLike<number>, n: number): void;
  /** free buffers right now */
  readonly available: number;
}
