// CPU time of another process, for tests that bound what a waiting process burns.
import { readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** utime + stime of `pid` in ms (/proc/PID/stat; the comm field may hold spaces, so count after its ')'). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_MS;
}

/** The share of one CPU that `pid` used over the next `ms` milliseconds (1 = a whole CPU). */
export async function cpuShareOver(pid: number, ms: number): Promise<number> {
  const c0 = cpuMs(pid);
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, ms));
  return (cpuMs(pid) - c0) / (Date.now() - t0);
}
