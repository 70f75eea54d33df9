// Reserving a new region's memory for real before it is mapped, and saying
// clearly when there is no room.
//
// A file sized with ftruncate alone is sparse: tmpfs gives it pages on first
// touch, and on a full tmpfs that touch is a SIGBUS, which kills the process
// without a word. MAP_POPULATE does not catch it (it ignores fault errors), and
// AF_XDP then fails to pin the missing pages with ENOMEM, which reads like a
// memlock problem. fallocate(2) allocates every page at once and answers
// ENOSPC instead. On hugetlbfs it takes the huge pages (a shared mapping
// reserves them at mmap too, so no SIGBUS there, but the ENOMEM of mmap says
// less than ENOSPC with the numbers below).
//
// Cost, measured on this kernel (6.18, 2 vCPU): 64 MiB on tmpfs, fallocate
// 5-7 ms, after which MAP_POPULATE is ~3-5 ms faster (20-25 ms before);
// on hugetlbfs nothing extra (4-5 ms either way; the first use of fresh huge
// pages costs ~110-160 ms whichever call comes first).
//
// Only the creator reserves: attachers map the file as the creator left it.
import { ftruncateSync, readFileSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { native } from '../native/index.js';
import { NoSpaceError, errnoOf } from '../errors.js';
import { mib } from '../number-format.js';

export const HUGE_PAGE = 2 * 1024 * 1024;

/** Huge pages (2 MiB) nobody holds or has reserved: HugePages_Free counts reserved ones too. */
export function availableHugepages(): number {
  try {
    const info = readFileSync('/proc/meminfo', 'utf8');
    const field = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(info)?.[1] ?? 0);
    return Math.max(0, field('HugePages_Free') - field('HugePages_Rsvd'));
  } catch {
    return 0;
  }
}

/** The mount that holds `dir` (the longest mount point above it; the last mount of a point wins). */
export function mountOf(dir: string): { mount: string; fstype: string } {
  let best = { mount: '/', fstype: '?' };
  try {
    for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const f = line.split(' ');
      if (f.length < 3) continue;
      const mount = f[1].replace(/\\040/g, ' ');
      const under = mount === '/' || dir === mount || dir.startsWith(mount + '/');
      if (under && mount.length >= best.mount.length) best = { mount, fstype: f[2] };
    }
  } catch { /* no /proc: name the folder itself */ }
  return best;
}

/** Free and total bytes where a region in `dir` would go (hugetlbfs: pages no one holds, within the mount's size= limit). */
export function spaceOf(dir: string, hugetlb: boolean): { free: number; total: number } {
  let free = Infinity;
  let total = Infinity;
  try {
    const s = statfsSync(dir);
    // hugetlbfs without size= reports 0 blocks: no limit of its own
    if (!hugetlb || s.blocks > 0) { free = s.bavail * s.bsize; total = s.blocks * s.bsize; }
  } catch { /* unknown */ }
  if (hugetlb) free = Math.min(free, availableHugepages() * HUGE_PAGE);
  return { free: Number.isFinite(free) ? free : 0, total };
}

/**
 * Allocates `size` bytes of the new region file `fd` at `path` (and sets its
 * size). ENOSPC throws NoSpaceError naming the file system, the numbers and
 * the fixes; other errors pass through. A file system without fallocate gets
 * the old ftruncate after a check that the space is free at least now.
 */
export function reserveSpace(fd: number, size: number, path: string, hugetlb: boolean): void {
  try {
    native.fallocate(fd, 0, size);
    return;
  } catch (e) {
    const errno = errnoOf(e);
    if (errno === 'ENOSPC') {
      // hugetlbfs keeps the pages it took before it ran out: give them back, so the free count below is the real one.
      try { ftruncateSync(fd, 0); } catch { /* the caller removes the file anyway */ }
      throw noSpace(path, size, hugetlb, 'fallocate', e);
    }
    if (errno !== 'EOPNOTSUPP') throw e;
  }
  const { free } = spaceOf(dirname(path), hugetlb);
  if (free < size) throw noSpace(path, size, hugetlb, 'statfs');
  ftruncateSync(fd, size);
}

function noSpace(path: string, size: number, hugetlb: boolean, syscall: string, cause?: unknown): NoSpaceError {
  const dir = dirname(path);
  const { mount, fstype } = mountOf(dir);
  const { free, total } = spaceOf(dir, hugetlb);
  const cleanup = '`ringzero cleanup` removes regions whose owner died';
  const smaller = 'make the cluster smaller (fewer buffers or a smaller bufferSize)';
  let message: string;
  if (hugetlb) {
    const need = Math.ceil(size / HUGE_PAGE);
    message = `no room for the cluster region ${path}: it needs ${need} huge pages of 2 MiB (${mib(size)}) and the hugetlbfs ` +
      `mounted on ${mount} has ${Math.floor(free / HUGE_PAGE)} available (free and not reserved by other mappings${Number.isFinite(total) ? ', within its size= limit' : ''}). ` +
      `Free some (${cleanup}), raise /proc/sys/vm/nr_hugepages (as root: echo N > /proc/sys/vm/nr_hugepages), ${smaller}, ` +
      'or create it with hugepages: \'auto\', which falls back to /dev/shm';
  } else {
    // room for this region and 64 MiB more, on top of what the tmpfs holds now
    const bigger = Number.isFinite(total) ? `${Math.ceil((total + size - free) / 1048576) + 64}M` : 'N';
    message = `no room for the cluster region ${path}: it needs ${mib(size)} (${size} bytes) and the ${fstype} mounted on ${mount} ` +
      `has ${mib(free)} free${Number.isFinite(total) ? ` of ${mib(total)}` : ''}. Free space there (${cleanup}; ` +
      `\`du -sh ${dir}/*\` shows what holds it), ${smaller}` +
      (fstype === 'tmpfs' ? `, or make the tmpfs bigger (as root: mount -o remount,size=${bigger} ${mount})` : '');
  }
  return new NoSpaceError(message, { mount, neededBytes: size, freeBytes: free }, 'ENOSPC', syscall, cause);
}
