// Is anyone using a region file? For a region whose header was never written
// (its creator died between creating the file and filling it in, or is still
// mapping it: MAP_POPULATE of a large region takes a while), the header names
// no owner to ask, so look at who has the file open or mapped in /proc.
//
// /proc shows only the processes of our PID namespace and below (and, when
// not root, only our own user's maps): a region is called abandoned at once
// only when we see every process (root in the initial PID namespace), and
// otherwise only once it is also older than ABANDONED_AFTER_MS.
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { pidsComparable } from './proc.js';

/** Inode of the initial PID namespace (PROC_PID_INIT_INO in the kernel). */
const INIT_PID_NS = 0xeffffffc;
/** Far longer than creating and mapping any region takes. */
export const ABANDONED_AFTER_MS = 60_000;

/** True when some process we can see has `path` open or mapped. */
export function inUseByAnyProcess(path: string): boolean {
  return pathsInUse([path]).size > 0;
}

/** Those of `paths` that some process we can see has open or mapped (one pass over /proc for all of them). */
export function pathsInUse(paths: readonly string[]): Set<string> {
  const wanted = new Set(paths);
  const found = new Set<string>();
  let pids: string[];
  try { pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n)); } catch { return found; }
  for (const pid of pids) {
    if (found.size === wanted.size) break;
    try {
      // " (deleted)" follows a removed file's name; a live file's name ends the line.
      for (const line of readFileSync(`/proc/${pid}/maps`, 'latin1').split('\n')) {
        const at = line.indexOf(' /');
        if (at >= 0 && wanted.has(line.slice(at + 1))) found.add(line.slice(at + 1));
      }
    } catch { /* gone, or not ours to read */ }
    let fds: string[] = [];
    try { fds = readdirSync(`/proc/${pid}/fd`); } catch { continue; }
    for (const fd of fds) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (wanted.has(target)) found.add(target);
      } catch { /* closed meanwhile */ }
    }
  }
  return found;
}

/** Do we see every process on the machine in /proc (and may read their maps)? */
function seesEveryProcess(): boolean {
  return process.geteuid?.() === 0 && pidsComparable(INIT_PID_NS);
}

/** A region file nobody has open or mapped (and, when we cannot see everyone, older than ABANDONED_AFTER_MS). */
export function isAbandonedBlank(path: string): boolean {
  if (!seesEveryProcess()) {
    let age = 0;
    try { age = Date.now() - statSync(path).mtimeMs; } catch { return false; }
    if (age < ABANDONED_AFTER_MS) return false;
  }
  return !inUseByAnyProcess(path);
}
