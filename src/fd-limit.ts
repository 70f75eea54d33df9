// Running out of file descriptors, said as such. Every device holds sockets
// (AF_PACKET: one per direction; AF_XDP: one per queue, plus BPF objects), and
// a process that opens many of them meets RLIMIT_NOFILE (EMFILE) or, rarely,
// the system's fs.file-max (ENFILE). Without a word for it that showed up as
// whatever the failing call's caller guessed: "no such interface" (glibc's
// if_nametoindex needs a socket) or "check that /dev/shm is writable".
// A leaf: memory/ (region files) and devices/ (sockets, bpf) both use it.
import { readFileSync } from 'node:fs';
import { native } from './native/index.js';
import { FdLimitError, errnoOf } from './errors.js';

const RLIMIT_NOFILE = 7;

function limitOf(): [number, number] {
  try {
    return native.getrlimit(RLIMIT_NOFILE);
  } catch {
    return [-1, -1];
  }
}

const fmt = (v: number) => (v < 0 ? 'unlimited' : String(v));

/**
 * FdLimitError when `e` is EMFILE or ENFILE, else null. `what` is the action
 * that needed a descriptor ("opening an AF_PACKET socket for eth0").
 */
export function fdLimitError(e: unknown, what: string): FdLimitError | null {
  const errno = errnoOf(e);
  if (errno !== 'EMFILE' && errno !== 'ENFILE') return null;
  const syscall = (e as { syscall?: unknown }).syscall;
  const call = typeof syscall === 'string' ? syscall : 'open';
  const [soft, hard] = limitOf();
  if (errno === 'EMFILE') {
    return new FdLimitError(
      `${what} failed: this process has as many open file descriptors as its limit allows (EMFILE from ${call}; ` +
      `RLIMIT_NOFILE ${fmt(soft)}, hard ${fmt(hard)}). Raise the limit (ulimit -n ${suggest(soft, hard)} in the shell that ` +
      `starts node, or prlimit --nofile=N:N --pid PID${hard >= 0 && hard <= soft ? '; above the hard limit that needs root, or LimitNOFILE= in a systemd unit' : ''}), ` +
      'or close devices and clusters this process no longer uses ' +
      '(an AF_PACKET device holds up to 2 sockets, an AF_XDP device one per queue).',
      errno, call, soft, e,
    );
  }
  let max = 'its limit';
  try { max = `fs.file-max = ${readFileSync('/proc/sys/fs/file-max', 'utf8').trim()}`; } catch { /* unreadable: say less */ }
  return new FdLimitError(
    `${what} failed: the whole system has as many open files as it allows (ENFILE from ${call}; ${max}). ` +
    'Close files or processes that hold many, or raise it (sysctl -w fs.file-max=N, as root).',
    errno, call, soft, e,
  );
}

/** Throws fdLimitError(e, what) when it applies; returns otherwise (the caller rethrows or explains e). */
export function rethrowFdLimit(e: unknown, what: string): void {
  const err = fdLimitError(e, what);
  if (err) throw err;
}

/** A limit worth suggesting: the hard limit when the soft one is below it (no privilege needed), else four times the soft one. */
function suggest(soft: number, hard: number): string {
  if (hard < 0) return String(Math.max(4 * soft, 65536));
  if (hard > soft) return String(hard);
  return String(Math.max(4 * soft, 1024));
}
