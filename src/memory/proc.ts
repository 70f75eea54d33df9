// Process and thread identity that survives pid reuse: (id, start time).
// The start time is field 22 of /proc/<id>/stat (clock ticks since boot); a
// recycled pid has a different one. Thread ids work too: /proc/<tid>/stat
// exists for every task, so worker threads register like processes.
//
// PIDs are not global: a process in another PID namespace (a container) has
// pids that mean nothing in ours, and /proc may even be another namespace's
// (unshare --pid without --mount-proc). A party records its namespace
// (selfPidNs); a checker judges it by pid only when pidsComparable() says the
// pid means the same process here, and otherwise by its heartbeat.
import { readFileSync, readlinkSync, statSync } from 'node:fs';
import { native } from '../native/index.js';

/** Start time of a process or thread in clock ticks since boot; -1 when it does not exist. */
export function startTimeOf(id: number | 'self' | 'thread-self'): number {
  let text: string;
  try {
    text = readFileSync(`/proc/${id}/stat`, 'latin1');
  } catch {
    return -1;
  }
  // The command name (field 2) may contain spaces and ')' : parse after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); starttime is field 22.
  const state = fields[0];
  if (state === 'Z' || state === 'X') return -1; // a zombie holds no memory and runs no code
  return Number(fields[19]);
}

/** True when the task `id` exists and is the same incarnation as when it registered. */
export function isAlive(id: number, startTime: number): boolean {
  if (id <= 0) return false;
  return startTimeOf(id) === startTime;
}

/** This thread's id (the main thread's tid is the pid). */
export function selfTid(): number {
  return native.gettid();
}

const cachedSelfStart = new Map<number, number>();
/**
 * Start time of the calling thread (cached per tid). Read through
 * /proc/thread-self, which is this thread whatever namespace /proc belongs to.
 */
export function selfStartTime(): number {
  const tid = selfTid();
  let s = cachedSelfStart.get(tid);
  if (s === undefined) {
    s = startTimeOf('thread-self');
    cachedSelfStart.set(tid, s);
  }
  return s;
}

/** Start time of this process (its main thread), from any thread. */
export function selfProcessStartTime(): number {
  return startTimeOf('self');
}

let pidNs: { ino: number; comparable: boolean } | null = null;
function pidNsInfo(): { ino: number; comparable: boolean } {
  if (pidNs) return pidNs;
  let ino = 0;
  try { ino = statSync('/proc/self/ns/pid').ino; } catch { /* no nsfs: treated as unknown */ }
  // /proc/self names us by our pid in /proc's namespace: if that is not our
  // getpid(), /proc belongs to another namespace and /proc/<pid> is someone else.
  let comparable = false;
  try { comparable = readlinkSync('/proc/self') === String(process.pid); } catch { /* no /proc */ }
  pidNs = { ino: ino >>> 0 === ino ? ino : 0, comparable: comparable && ino !== 0 };
  return pidNs;
}

/** This process's PID namespace (inode of /proc/self/ns/pid; 0 when unknown), recorded with its pid. */
export function selfPidNs(): number {
  return pidNsInfo().ino;
}

/** Can a pid recorded by a party in PID namespace `ns` be checked in our /proc? */
export function pidsComparable(ns: number): boolean {
  const me = pidNsInfo();
  return me.comparable && ns !== 0 && ns === me.ino;
}
