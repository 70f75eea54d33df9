// Byte copies between two memories (a kernel ring, the cluster's buffers, a
// capture file's read or write buffer) without allocating. Measured on Node 20
// / x86-64 (2 x EPYC vCPU), ns per copy:
//
//   bytes  u64 loop (offsets agree mod 8)  u32 loop (mod 4)  DataView u32 (differ)  set(subarray)  set, SAB side
//      64                             11                14                    33             48             49
//     592                             55                97                   209             61            186
//    1512                            130               233                   523             79            386
//
// TypedArray#set needs a view object per call and, when either side is a
// SharedArrayBuffer (cluster memory always is), V8 copies with a relaxed
// per-word loop instead of memcpy, so set() only wins for large packets
// between unshared buffers, or when the offsets disagree mod 4.

/** Byte, word and DataView access to the same memory, all starting at byte 0 of the mapping. */
export interface Mapping {
  readonly u8: Uint8Array;
  readonly u32: Uint32Array;
  /** 8-byte words for bulk moves (BigInt64Array: bit-exact, unlike a Float64Array and its NaNs) */
  readonly u64: BigInt64Array;
  readonly dv: DataView;
  /** over a SharedArrayBuffer: TypedArray#set is no memcpy then */
  readonly shared: boolean;
}

/** Above this many bytes, between unshared buffers (or at different alignments), a copy uses TypedArray#set. */
export const WORD_COPY_LIMIT = 256;

/**
 * Views over `buf` from `byteOffset` (a multiple of 8, so the word views can
 * start there) for `byteLength` bytes (default: to the end).
 */
export function mappingOf(buf: SharedArrayBuffer | ArrayBuffer, byteOffset = 0, byteLength?: number): Mapping {
  const len = byteLength ?? buf.byteLength - byteOffset;
  return {
    u8: new Uint8Array(buf, byteOffset, len),
    u32: new Uint32Array(buf, byteOffset, Math.floor(len / 4)),
    u64: new BigInt64Array(buf, byteOffset, Math.floor(len / 8)),
    dv: new DataView(buf, byteOffset, len),
    shared: typeof SharedArrayBuffer !== 'undefined' && buf instanceof SharedArrayBuffer,
  };
}

/**
 * A mapping over the whole memory behind `a`, for arrays handed in by
 * callers (which may be a view at any byte offset): the caller adds
 * `a.byteOffset` to its offsets and checks them against `a.length` itself.
 */
export function mappingOfArray(a: Uint8Array): Mapping {
  return mappingOf(a.buffer as SharedArrayBuffer | ArrayBuffer);
}

/**
 * Word indices are computed with 32-bit shifts (divisions cost more than the
 * copy): beyond 4 GiB into a memory, copies take the DataView or set() paths.
 */
const WORD_INDEXED = 2 ** 32;

/** From this size 8-byte moves pay for their extra call (measured: 64 bytes are as fast in u32 words). */
const QUAD_COPY_MIN = 128;

/** Copies len bytes from src[from..] to dst[to..]. The caller has checked both ranges. */
export function copyBytes(src: Mapping, from: number, dst: Mapping, to: number, len: number): void {
  if (len < 16) {
    const s8 = src.u8, d8 = dst.u8;
    for (let i = 0; i < len; i++) d8[to + i] = s8[from + i];
  } else if (((from ^ to) & 3) === 0 && (len <= WORD_COPY_LIMIT || src.shared || dst.shared)
    && from + len <= WORD_INDEXED && to + len <= WORD_INDEXED) {
    if (len >= QUAD_COPY_MIN && ((from ^ to) & 7) === 0) copyQuads(src, from, dst, to, len);
    else copyWords(src, from, dst, to, len);
  } else if (len > WORD_COPY_LIMIT) {
    dst.u8.set(src.u8.subarray(from, from + len), to);
  } else {
    copyUnaligned(src, from, dst, to, len);
  }
}

/** Same alignment mod 4: head bytes, u32 words eight at a time, tail bytes (small enough to be inlined). */
function copyWords(src: Mapping, from: number, dst: Mapping, to: number, len: number): void {
  const s8 = src.u8, d8 = dst.u8;
  let s = from, d = to, left = len;
  while ((s & 3) !== 0) { d8[d++] = s8[s++]; left--; }
  const s32 = src.u32, d32 = dst.u32;
  const sw = s >>> 2, dw = d >>> 2, words = left >>> 2;
  let w = 0;
  for (; w + 8 <= words; w += 8) {
    d32[dw + w] = s32[sw + w];
    d32[dw + w + 1] = s32[sw + w + 1];
    d32[dw + w + 2] = s32[sw + w + 2];
    d32[dw + w + 3] = s32[sw + w + 3];
    d32[dw + w + 4] = s32[sw + w + 4];
    d32[dw + w + 5] = s32[sw + w + 5];
    d32[dw + w + 6] = s32[sw + w + 6];
    d32[dw + w + 7] = s32[sw + w + 7];
  }
  for (; w < words; w++) d32[dw + w] = s32[sw + w];
  s += words << 2; d += words << 2; left -= words << 2;
  while (left-- > 0) d8[d++] = s8[s++];
}

/**
 * Offsets agree mod 8, QUAD_COPY_MIN bytes or more: 8-byte moves through
 * BigInt64Arrays (exact, and allocation-free once optimized: ~1.8x the speed
 * of u32 moves), with the unaligned head and the tail left to copyWords.
 */
function copyQuads(src: Mapping, from: number, dst: Mapping, to: number, len: number): void {
  const head = (8 - (from & 7)) & 7;
  if (head !== 0) copyWords(src, from, dst, to, head);
  const s64 = src.u64, d64 = dst.u64;
  const sq = (from + head) >>> 3, dq = (to + head) >>> 3, quads = (len - head) >>> 3;
  let q = 0;
  for (; q + 4 <= quads; q += 4) {
    d64[dq + q] = s64[sq + q];
    d64[dq + q + 1] = s64[sq + q + 1];
    d64[dq + q + 2] = s64[sq + q + 2];
    d64[dq + q + 3] = s64[sq + q + 3];
  }
  for (; q < quads; q++) d64[dq + q] = s64[sq + q];
  const done = head + (quads << 3);
  if (done < len) copyWords(src, from + done, dst, to + done, len - done);
}

/** Different alignment mod 4: unaligned u32 moves through DataViews (byte order kept by reading and writing LE). */
function copyUnaligned(src: Mapping, from: number, dst: Mapping, to: number, len: number): void {
  const sv = src.dv, dv = dst.dv;
  let i = 0;
  for (; i + 16 <= len; i += 16) {
    dv.setUint32(to + i, sv.getUint32(from + i, true), true);
    dv.setUint32(to + i + 4, sv.getUint32(from + i + 4, true), true);
    dv.setUint32(to + i + 8, sv.getUint32(from + i + 8, true), true);
    dv.setUint32(to + i + 12, sv.getUint32(from + i + 12, true), true);
  }
  for (; i + 4 <= len; i += 4) dv.setUint32(to + i, sv.getUint32(from + i, true), true);
  const s8 = src.u8, d8 = dst.u8;
  for (; i < len; i++) d8[to + i] = s8[from + i];
}
