// Wall-clock timestamps for devices whose kernel path gives none (AF_XDP RX
// descriptors carry no time). One reading per burst, no syscall: performance.now()
// is a vDSO clock read, and timeOrigin anchors it to the Unix epoch. The result
// is monotonic (performance.now() never goes back), at sub-microsecond precision.
import { performance } from 'node:perf_hooks';

const origin = performance.timeOrigin; // ms since the epoch, fractional

/** Writes [sec, nsec] of the current time into out[0], out[1]. */
export function nowSecNsec(out: Uint32Array): void {
  const ms = origin + performance.now();
  const sec = Math.floor(ms / 1000);
  let nsec = Math.round((ms - sec * 1000) * 1e6);
  if (nsec > 999_999_999) nsec = 999_999_999;
  out[0] = sec;
  out[1] = nsec;
}
