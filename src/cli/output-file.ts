// The output file of `dump -w FILE`, checked before the input opens: a path
// that cannot be written would otherwise be found out only after the device
// had started taking frames (away from the kernel stack, for zc:), and the
// kernel's bare errno names neither the cause nor the fix.
import { closeSync, constants, openSync, statSync, unlinkSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { OutputFileError, SystemError, errnoOf } from '../errors.js';

/** What a failed open of `path` means, as an OutputFileError with the fix. */
export function outputFileError(path: string, e: unknown): OutputFileError {
  // the writer's own errors (a rotation's next file) carry the errno apart from their ERR_RINGZERO_ code
  const errno = e instanceof SystemError ? e.errno : errnoOf(e);
  const dir = dirname(resolve(path));
  const [cause, fix] = ((): [string, string] => {
    switch (errno) {
      case 'ENOENT': return [`the directory ${dir} does not exist`, `create it (mkdir -p ${dir}) or write somewhere else`];
      case 'ENOTDIR': return [`a part of ${dir} is not a directory`, 'check the path'];
      case 'EISDIR': return ['it is a directory', `give a file name inside it, e.g. -w ${path.replace(/\/+$/, '')}/capture.pcap`];
      case 'EROFS': return ['the file system is mounted read-only', 'write to a writable file system (e.g. /tmp), or remount it read-write'];
      case 'EACCES':
      case 'EPERM': return ['permission denied', `write to a directory this user may write to, or change the permissions (or the immutable attribute, lsattr) of ${path} or ${dir}`];
      case 'ENOSPC':
      case 'EDQUOT': return ['no space left on the device', 'free some space or write to another file system'];
      case 'ENAMETOOLONG': return ['the name is too long', 'use a shorter path'];
      case 'ELOOP': return ['too many levels of symbolic links', 'check the symbolic links in the path'];
      default: return [e instanceof SystemError ? errno : (e as Error).message, 'check the path'];
    }
  })();
  return new OutputFileError(`cannot write the capture to ${path}: ${cause}${errno ? ` (${errno})` : ''}; ${fix}`, path, errno, e);
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch (e) {
    const errno = errnoOf(e);
    if (errno === 'ENOENT') return null;
    throw outputFileError(path, e);
  }
}

/**
 * Checks that `path` can be written, changing nothing: an existing file is
 * opened for writing without truncation, a new one is created and removed
 * again. A FIFO, a terminal or /dev/null is only stat'ed (opening a FIFO
 * twice would end its reader at the first close). `inputFile`: the capture
 * file being read, which must not be the output (opening it for writing
 * truncates it before a single record is read).
 */
export function checkOutputFile(path: string, inputFile: string | null): void {
  const st = statOrNull(path);
  if (st?.isDirectory()) throw outputFileError(path, Object.assign(new Error('is a directory'), { code: 'EISDIR' }));
  if (st && inputFile !== null) {
    const inp = statOrNullQuiet(inputFile);
    if (inp && inp.dev === st.dev && inp.ino === st.ino) {
      throw new OutputFileError(`cannot write the capture to ${path}: it is the input file pcap:${inputFile}, and writing would truncate it before it is read; write to another file`, path, '');
    }
  }
  if (st && !st.isFile()) return;
  let fd: number;
  try {
    fd = openSync(path, st ? constants.O_WRONLY : constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
  } catch (e) {
    throw outputFileError(path, e);
  }
  closeSync(fd);
  if (!st) unlinkSync(path);
}

function statOrNullQuiet(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null; // the input's own open reports what is wrong with it
  }
}
