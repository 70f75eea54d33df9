// Synthetic frames in cluster buffers, for warming a packet path up before
// a device opens.
//
// A fresh process runs its per-packet code in V8's interpreter until the
// optimizing compiler has seen enough of it, and compiles it on a helper
// thread that shares the CPU when the process is pinned whole (taskset). On
// veth at 1.3 Mpps `dump` handled ~100k packets per second for its first
// ~100 ms and lost 40-80k frames: an AF_XDP device buffers only as many
// frames as its fill ring holds (8192 here, 6 ms), unlike a 32 MiB TPACKET_V3
// ring. So the capture commands first push synthetic frames through the
// same functions (same classes, same cluster memory), and open the device
// after: the compile happens while nothing can be lost.
import type { Cluster } from '../zc/cluster.js';
import type { BufferSource } from '../zc/meta.js';
import { META_HASH, META_LEN, META_NSEC, META_OFF, META_PORT, META_SEC, META_WIRELEN, META_WORDS } from '../zc/meta.js';
import { nowSecNsec } from './clock.js';

/** Bursts of 64 synthetic frames a warm-up runs: ~25k frames, 20-60 ms on this kind of machine. */
export const WARM_UP_BURSTS = 400;

/**
 * Frame lengths the synthetic burst cycles through: minimum-size, odd, and
 * full-size frames, so the copy routines see word, byte and 8-byte paths.
 */
const LENGTHS = [60, 64, 98, 1514, 61, 342, 128, 1024];

/**
 * Takes up to `burst.length` buffers from `pool` and makes each one an
 * Ethernet/IPv4/UDP frame (the common case of parsers and hashes; addresses
 * and ports differ per frame, checksums are not filled in) with its metadata
 * set as a device would. Returns how many; the caller frees them to `pool`.
 */
export function syntheticBurst(cluster: Cluster, pool: BufferSource, burst: Uint32Array): number {
  const n = pool.alloc(burst, burst.length);
  const { meta, bytes, bufferOffset, bufferSize, headroom } = cluster.memory;
  const ts = new Uint32Array(2);
  nowSecNsec(ts);
  for (let i = 0; i < n; i++) {
    const idx = burst[i];
    const len = Math.min(LENGTHS[i % LENGTHS.length], bufferSize - headroom);
    const at = bufferOffset + idx * bufferSize + headroom;
    bytes.fill(0, at, at + len);
    const ipLen = len - 14;
    bytes.set([
      2, 0x52, 0x5a, 0, 0, 1, 2, 0x52, 0x5a, 0, 0, 2, 0x08, 0x00, // Ethernet, IPv4
      0x45, 0, ipLen >> 8, ipLen & 0xff, 0, 0, 0x40, 0, 64, 17, 0, 0, // IPv4: DF, TTL 64, UDP
      10, 0, i >> 8, i & 0xff, 10, 1, 0, 1, // 10.0.i -> 10.1.0.1
      0x30, 0x39 + i, 0, 9, (ipLen - 20) >> 8, (ipLen - 20) & 0xff, 0, 0, // UDP 12345+i -> 9
    ], at);
    const m = idx * META_WORDS;
    meta[m + META_LEN] = len;
    meta[m + META_OFF] = headroom;
    meta[m + META_SEC] = ts[0];
    meta[m + META_NSEC] = ts[1];
    meta[m + META_HASH] = 0;
    meta[m + META_PORT] = 0;
    meta[m + META_WIRELEN] = len;
  }
  return n;
}
