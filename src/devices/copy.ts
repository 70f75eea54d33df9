// Byte copies between two different shared mappings (a kernel ring and the
// cluster's buffers) without allocating: TypedArray.set would need a subarray
// view per packet. When both offsets have the same alignment mod 4 the bulk
// moves as u32 words (callers arrange that by choosing the destination offset).

/** A byte view and a u32 view over the same mapping (u32 view from byte 0). */
export interface Mapping {
  readonly u8: Uint8Array;
  readonly u32: Uint32Array;
}

export function mappingOf(sab: SharedArrayBuffer | ArrayBuffer, byteOffset = 0, byteLength?: number): Mapping {
  const len = byteLength ?? sab.byteLength - byteOffset;
  return {
    u8: new Uint8Array(sab, byteOffset, len),
    u32: new Uint32Array(sab, byteOffset, len >>> 2),
  };
}

/** Copies len bytes from src[srcOff..] to dst[dstOff..]. Ranges must be in bounds. */
export function copyBytes(src: Mapping, srcOff: number, dst: Mapping, dstOff: number, len: number): void {
  const s8 = src.u8;
  const d8 = dst.u8;
  if (((srcOff ^ dstOff) & 3) !== 0 || len < 16) {
    for (let i = 0; i < len; i++) d8[dstOff + i] = s8[srcOff + i];
    return;
  }
  // head bytes up to a word boundary
  let s = srcOff;
  let d = dstOff;
  let left = len;
  while ((s & 3) !== 0) {
    d8[d++] = s8[s++];
    left--;
  }
  const words = left >>> 2;
  const s32 = src.u32;
  const d32 = dst.u32;
  const sw = s >>> 2;
  const dw = d >>> 2;
  for (let i = 0; i < words; i++) d32[dw + i] = s32[sw + i];
  s += words << 2;
  d += words << 2;
  left -= words << 2;
  while (left-- > 0) d8[d++] = s8[s++];
}
