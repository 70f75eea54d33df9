// Process and thread identity that survives pid reuse: (id, start time).
// The start time is field 22 of /proc/<id>/stat (clock ticks since boot); a
// recycled pid has a different one. Thread ids work too: /proc/<tid>/stat
// exists for every task, so worker threads register like processes.
import { readFileSync } from 'node:fs';
import { native } from '../native/index.js';

/** Start time of a process or thread in clock ticks since boot; -1 when it does not exist. */
export function startTimeOf(id: number): number {
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

let cachedSelfStart = new Map<number, number>();
/** Start time of the calling thread (cached per tid). */
export function selfStartTime(): number {
  const tid = selfTid();
  let s = cachedSelfStart.get(tid);
  if (s === undefined) {
    s = startTimeOf(tid);
    cachedSelfStart.set(tid, s);
  }
  return s;
}
