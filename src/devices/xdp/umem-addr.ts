// UMEM addresses <-> buffer indices. The UMEM is the cluster's buffer area,
// so chunk i is buffer i; descriptors carry a u64 byte address, read and
// written as two u32 words (no BigInt on the data path).

export const TWO32 = 0x100000000;

/**
 * Buffer index of the UMEM address (lo, hi). Below 4 GiB (hi = 0, the usual
 * case) the arithmetic stays in int32; the exact double form otherwise. The
 * branch measured ~10 ns per packet less in rxFrom than the double form alone.
 */
export function indexOf(lo: number, hi: number, shift: number, chunksPerHigh: number): number {
  return hi === 0 ? lo >>> shift : hi * chunksPerHigh + (lo >>> shift);
}

/** High word of a UMEM address: 0 below 4 GiB without a division. */
export function highOf(addr: number): number {
  return addr < TWO32 ? 0 : (addr / TWO32) >>> 0;
}
