// Words for the system errors a capture file meets (open, create, write):
// what the errno means, and per operation what to do about it. One cause
// table, so every message says the same thing for the same errno.
import { PcapOpenError, PcapWriteError, errnoOf } from '../errors.js';

const CAUSE: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a component of the path is not a directory',
  EISDIR: 'it is a directory, not a capture file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ELOOP: 'too many levels of symbolic links',
  EMFILE: 'this process has too many open files',
  ENFILE: 'the system has too many open files',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exhausted',
  EFBIG: 'the file grew past the largest the file system (or RLIMIT_FSIZE) allows',
  EPIPE: 'the reading side closed the pipe',
  EIO: 'an I/O error on the device',
};

const ROTATE = 'bound the capture with -C and -W (maxFileBytes, maxFiles) so that old files are reused';
const FILES = { EMFILE: 'raise the limit (ulimit -n)', ENFILE: 'raise fs.file-max or close other programs\' files' };

/** What to do, per errno, when a capture file cannot be opened for reading / created / written. */
export const READ_FIX: Record<string, string> = {
  ...FILES,
  ENOENT: 'check the path (relative paths start at the current directory; pcap:- reads standard input)',
  ENOTDIR: 'check the path',
  EISDIR: 'name a pcap or pcapng file inside it',
  EACCES: 'make the file readable for this user (chmod, chown) or run as a user who may read it',
  ELOOP: 'point the path at the file itself',
};
READ_FIX.EPERM = READ_FIX.EACCES;
export const CREATE_FIX: Record<string, string> = {
  ...FILES,
  ENOENT: 'create its directory first, or fix the path',
  ENOTDIR: 'fix the path',
  EISDIR: 'name a file inside it (e.g. DIR/capture.pcap)',
  EACCES: 'write to a directory this user may write to, or run as a user who may',
  EROFS: 'write to another file system',
  ENOSPC: `free space on that file system, or ${ROTATE}`,
  EDQUOT: `raise the quota or free space, or ${ROTATE}`,
};
CREATE_FIX.EPERM = CREATE_FIX.EACCES;
export const WRITE_FIX: Record<string, string> = {
  ENOSPC: CREATE_FIX.ENOSPC,
  EDQUOT: CREATE_FIX.EDQUOT,
  EFBIG: 'split the capture into files with -C (maxFileBytes)',
  EPIPE: 'keep the reader running until the capture ends, or end the capture first (-c, -d)',
  EIO: 'check the device (dmesg) and write elsewhere',
};

/** ["cause (ERRNO)", fix] for an fs error, from the tables above (the error's own message when unknown). */
export function explain(errno: string, cause: unknown, fixes: Record<string, string>, fallback: string): [string, string] {
  const why = CAUSE[errno] ?? (cause instanceof Error ? cause.message : errno);
  return [`${why} (${errno})`, fixes[errno] ?? fallback];
}

/** Opening capture file `path` for reading failed with `errno`. */
export function openFailure(path: string, errno: string, cause: unknown): PcapOpenError {
  const [why, fix] = explain(errno, cause, READ_FIX, 'check the path');
  return new PcapOpenError(`cannot open the capture file ${path}: ${why}; ${fix}`, path, errno, cause);
}

/** Creating capture file `path` (the first, or the next of a rotation) failed; `files` files before it hold `packets`. */
export function createFailure(path: string, files: number, packets: number, cause: unknown): PcapWriteError {
  const errno = errnoOf(cause) || 'EIO';
  const before = files > 0 ? ` (the ${files} file${files === 1 ? '' : 's'} before it hold ${packets} packets)` : '';
  const [why, fix] = explain(errno, cause, CREATE_FIX, 'check the output path');
  return new PcapWriteError(`cannot create the capture file ${path}${before}: ${why}; ${fix}`,
    errno, 'open', { path, packetsInFile: 0, packetsInFiles: packets, lost: 0 }, cause);
}
