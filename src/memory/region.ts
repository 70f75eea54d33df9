// Named shared regions: a file on hugetlbfs (when a mount with enough free
// pages exists) or in /dev/shm, mapped MAP_SHARED and seen from JavaScript as
// a SharedArrayBuffer. Two processes mapping the same file see each other's
// writes; Atomics are exact across them (DESIGN.md, verified facts).
//
// Safety: created with O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600 set with fchmod
// (so the umask cannot widen or narrow it); opened with O_NOFOLLOW and checked
// to be a regular file owned by us (or root) that others cannot write.
import { closeSync, constants as C, fchmodSync, fchownSync, fstatSync, openSync, readFileSync, readSync, readdirSync, unlinkSync, lstatSync } from 'node:fs';
import { basename, join } from 'node:path';
import { native } from '../native/index.js';
import { HugepagesUnavailableError, NoSpaceError, RegionUnsafeError, SystemError, errnoOf, ClusterNotFoundError } from '../errors.js';
import { rethrowFdLimit } from '../fd-limit.js';
import { HUGE_PAGE, availableHugepages, reserveSpace } from './reserve.js';

export type HugepagePolicy = 'auto' | 'require' | 'never';

export interface Region {
  readonly name: string;
  readonly path: string;
  readonly size: number;
  readonly hugetlb: boolean;
  readonly sab: SharedArrayBuffer;
}

export const SHM_DIR = process.env.RINGZERO_SHM_DIR ?? '/dev/shm';

/** hugetlbfs mount points (default page size 2 MiB) from /proc/mounts. */
export function hugetlbfsMounts(): string[] {
  try {
    return readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' '))
      .filter((f) => f[2] === 'hugetlbfs' && !/pagesize=(1G|1024M)/i.test(f[3] ?? ''))
      .map((f) => f[1].replace(/\\040/g, ' '));
  } catch {
    return [];
  }
}

/** The folders a region may live in, hugetlbfs mounts first. */
export function regionDirs(): string[] {
  return [...hugetlbfsMounts(), SHM_DIR];
}

function wrapSys(e: unknown, what: string, fix: string): SystemError {
  const errno = errnoOf(e) || 'EUNKNOWN';
  return new SystemError(`ERR_RINGZERO_REGION_${errno}`, `${what}: ${(e as Error).message}. ${fix}`, errno, what, e);
}

export interface CreateOptions {
  name: string;
  size: number;
  hugepages: HugepagePolicy;
  /** open the region to this group (mode 0660) instead of owner-only 0600 */
  group?: number;
}

/**
 * Creates a new region; fails if one with the same name exists (O_EXCL). Its
 * memory is reserved before it is mapped (reserve.ts): no room is an
 * ERR_RINGZERO_NO_SPACE here, never a SIGBUS later.
 */
export function createRegion(opts: CreateOptions): Region {
  if (opts.hugepages !== 'never') {
    const mounts = hugetlbfsMounts();
    const need = Math.ceil(opts.size / HUGE_PAGE);
    const available = availableHugepages();
    if (mounts.length > 0 && available >= need) {
      try {
        return createIn(mounts[0], opts, need * HUGE_PAGE, true);
      } catch (e) {
        // Taken by another process since we counted them: 'auto' goes on as if there had been none.
        if (!(e instanceof NoSpaceError) || opts.hugepages === 'require') throw e;
      }
    } else if (opts.hugepages === 'require') {
      throw new HugepagesUnavailableError(
        `hugepages required but ${mounts.length === 0 ? 'no hugetlbfs is mounted' : `only ${available} 2 MiB pages are free and not reserved (need ${need})`}: ` +
          `as root run 'echo ${need + 64} > /proc/sys/vm/nr_hugepages' and 'mkdir -p /dev/hugepages && mount -t hugetlbfs none /dev/hugepages', or use hugepages: 'auto'`,
      );
    }
  }
  return createIn(SHM_DIR, opts, roundUp(opts.size, 4096), false);
}

function createIn(dir: string, opts: CreateOptions, size: number, hugetlb: boolean): Region {
  const path = join(dir, opts.name);
  let fd: number;
  try {
    fd = openSync(path, C.O_RDWR | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
  } catch (e) {
    if (errnoOf(e) === 'EEXIST') throw e; // the caller decides (live owner, stale region)
    rethrowFdLimit(e, `creating the region file ${path}`);
    throw wrapSys(e, `open(${path})`, `check that ${dir} is writable`);
  }
  try {
    const mode = opts.group === undefined ? 0o600 : 0o660;
    if (opts.group !== undefined) fchownSync(fd, process.geteuid!(), opts.group);
    fchmodSync(fd, mode);
    reserveSpace(fd, size, path, hugetlb);
    const sab = mapFd(fd, size, path, hugetlb);
    return { name: opts.name, path, size, hugetlb, sab };
  } catch (e) {
    try { unlinkSync(path); } catch { /* keep the first error */ }
    throw e;
  } finally {
    closeSync(fd);
  }
}

function mapFd(fd: number, size: number, path: string, hugetlb: boolean): SharedArrayBuffer {
  try {
    // MAP_POPULATE: fault every page in now, not on the data path. It reports
    // no shortage (a sparse tmpfs file would SIGBUS later): the creator has
    // reserved the memory first (reserve.ts); a hugetlb mapping whose pages
    // cannot be reserved fails here with ENOMEM.
    return native.mmap(fd, size, 0, true, true);
  } catch (e) {
    const fix = hugetlb
      ? 'not enough free hugepages: raise /proc/sys/vm/nr_hugepages or use hugepages: \'never\''
      : 'not enough memory for the region: lower buffers or bufferSize';
    throw wrapSys(e, `mmap(${path})`, fix);
  }
}

export interface OpenedRegion extends Region {
  /** the first HEADER bytes, read before mapping, for validation */
  readonly head: Uint8Array;
}

/**
 * Opens an existing region by name, looking in every region folder. `validate`
 * sees the header bytes and the file size and throws if they are wrong; only
 * then is the whole file mapped.
 */
export function openRegion(name: string, headerBytes: number, validate: (head: Uint8Array, fileSize: number, path: string) => void): OpenedRegion {
  for (const dir of regionDirs()) {
    const r = openRegionFile(join(dir, name), headerBytes, validate, dir !== SHM_DIR);
    if (r) return r;
  }
  throw new ClusterNotFoundError(`no region named ${name} in ${regionDirs().join(' or ')}: is its owner running?`);
}

/**
 * Opens the region file at `path` with the same checks as openRegion (never
 * follows a symlink, trusts only our own or root's files that others cannot
 * write); null when it does not exist.
 */
export function openRegionFile(path: string, headerBytes: number, validate: (head: Uint8Array, fileSize: number, path: string) => void, hugetlb = hugetlbfsMounts().some((m) => path.startsWith(m + '/'))): OpenedRegion | null {
  let fd: number;
  try {
    fd = openSync(path, C.O_RDWR | C.O_NOFOLLOW);
  } catch (e) {
    const code = errnoOf(e);
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP') throw new RegionUnsafeError(`${path} is a symbolic link: refusing to follow it (someone planted it); remove it`, { cause: e });
    if (code === 'EACCES') throw new RegionUnsafeError(`${path}: permission denied; run as the cluster owner's user or create the cluster with a group`, { cause: e });
    rethrowFdLimit(e, `opening the region file ${path}`);
    throw wrapSys(e, `open(${path})`, 'check the region folder');
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new RegionUnsafeError(`${path} is not a regular file: remove it`);
    const euid = process.geteuid!();
    if (st.uid !== euid && st.uid !== 0) throw new RegionUnsafeError(`${path} belongs to uid ${st.uid}, not to us (uid ${euid}) or root: refusing to trust it`);
    if ((st.mode & 0o002) !== 0) throw new RegionUnsafeError(`${path} is writable by everyone (mode ${(st.mode & 0o777).toString(8)}): refusing to trust it; remove it`);
    const head = new Uint8Array(headerBytes);
    const got = st.size >= headerBytes ? readSync(fd, head, 0, headerBytes, 0) : 0;
    if (got < headerBytes) throw new RegionUnsafeError(`${path} is too small (${st.size} bytes) to be a ringzero region: remove it`);
    validate(head, st.size, path);
    const sab = mapFd(fd, st.size, path, hugetlb);
    return { name: basename(path), path, size: st.size, hugetlb, sab, head };
  } finally {
    closeSync(fd);
  }
}

/** Removes a region file (the mapping of processes that have it stays valid). */
export function removeRegion(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw e;
  }
}

/** Region files whose names start with `prefix`, in every region folder. */
export function listRegions(prefix: string): string[] {
  const out: string[] = [];
  for (const dir of regionDirs()) {
    let names: string[] = [];
    try { names = readdirSync(dir); } catch { continue; }
    for (const n of names) {
      if (!n.startsWith(prefix)) continue;
      const p = join(dir, n);
      try { if (lstatSync(p).isFile()) out.push(p); } catch { /* raced with removal */ }
    }
  }
  return out;
}

/** Releases a mapping now (see native/memory.cc: stale views read zeros). */
export function unmapRegion(r: Region): void {
  native.unmap(r.sab);
}

export function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}
