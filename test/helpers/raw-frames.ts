// Deterministic test frames: Ethernet, ethertype 0x88b5 (IEEE "local
// experimental", so no protocol stack answers them), then "RZ", a u32 sequence
// number and a byte pattern derived from (seq, position). Any frame can be
// rebuilt from its sequence number and size, so receivers compare byte-exact.
export const TEST_ETHERTYPE = 0x88b5;
export const DST_MAC = [0x02, 0x52, 0x5a, 0x00, 0x00, 0x01];
export const SRC_MAC = [0x02, 0x52, 0x5a, 0x00, 0x00, 0x02];

export function testFrame(seq: number, size: number): Uint8Array {
  if (size < 20) throw new RangeError('test frames are at least 20 bytes');
  const f = new Uint8Array(size);
  f.set(DST_MAC, 0);
  f.set(SRC_MAC, 6);
  f[12] = TEST_ETHERTYPE >> 8;
  f[13] = TEST_ETHERTYPE & 0xff;
  f[14] = 0x52; // 'R'
  f[15] = 0x5a; // 'Z'
  new DataView(f.buffer).setUint32(16, seq >>> 0, false);
  for (let j = 20; j < size; j++) f[j] = (seq * 7 + j * 13) & 0xff;
  return f;
}

/** The sequence number of a test frame, or -1 when it is not one. */
export function testSeq(frame: Uint8Array): number {
  if (frame.length < 20 || frame[12] !== TEST_ETHERTYPE >> 8 || frame[13] !== (TEST_ETHERTYPE & 0xff)) return -1;
  if (frame[14] !== 0x52 || frame[15] !== 0x5a) return -1;
  return new DataView(frame.buffer, frame.byteOffset).getUint32(16, false);
}

/** Sizes 60..1514 in a spread that covers small, odd and full-size frames. */
export function sizeSweep(count: number): number[] {
  const fixed = [60, 61, 62, 63, 64, 65, 127, 128, 129, 255, 256, 511, 512, 1000, 1023, 1024, 1500, 1513, 1514];
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(i < fixed.length ? fixed[i] : 60 + ((i * 97) % (1514 - 60 + 1)));
  return out;
}
