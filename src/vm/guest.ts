// Guest side of inter-VM zero copy: inside a QEMU guest, a host cluster's
// region is BAR2 of an ivshmem-plain PCI device (QEMU docs/specs/ivshmem-spec.rst:
// vendor 0x1af4, device 0x1110; BAR0 registers, BAR2 the shared memory). The
// kernel exposes each BAR as sysfs `resourceN`, a file that can only be
// mmap'd (not read), whose size is the BAR's. A BAR's size is a power of two,
// so it may be larger than the region: the header's total size says how much
// of it is the cluster. The file is never created, truncated or resized.
//
// Several devices (clusters, VMs) are told apart by the cluster id in the
// region header, never by PCI address.
import { closeSync, constants as C, fstatSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { native } from '../native/index.js';
import { HF } from '../memory/header.js';
import type { OpenedRegion } from '../memory/region.js';
import { RegionMismatchError, RegionUnsafeError, SystemError, errnoOf } from '../errors.js';

/** PCI ids of QEMU's ivshmem device (Red Hat, Inc. / Inter-VM shared memory). */
export const IVSHMEM_VENDOR = 0x1af4;
export const IVSHMEM_DEVICE = 0x1110;
/** The BAR that holds the shared memory (BAR0: registers, BAR1: MSI-X for ivshmem-doorbell). */
export const IVSHMEM_SHM_BAR = 2;

/** Where the kernel lists PCI devices (overridable for tests on a fake tree). */
export const PCI_DEVICES_DIR = process.env.RINGZERO_PCI_DIR ?? '/sys/bus/pci/devices';

export interface IvshmemDevice {
  /** PCI address, e.g. 0000:00:03.0 */
  address: string;
  /** the sysfs file of the shared-memory BAR */
  resource: string;
  /** BAR size in bytes (a power of two) */
  barBytes: number;
}

/** A region mapped from an ivshmem BAR: sab covers the region's total size, not the whole BAR. */
export interface BarRegion extends OpenedRegion {
  readonly bar: true;
  readonly barBytes: number;
}

function readHex(path: string): number {
  try { return parseInt(readFileSync(path, 'utf8').trim(), 16); } catch { return -1; }
}

/** The ivshmem devices of this machine (none on a host or without sysfs). */
export function listIvshmemDevices(dir = PCI_DEVICES_DIR): IvshmemDevice[] {
  let names: string[];
  try { names = readdirSync(dir).sort(); } catch { return []; }
  const out: IvshmemDevice[] = [];
  for (const address of names) {
    const d = join(dir, address);
    if (readHex(join(d, 'vendor')) !== IVSHMEM_VENDOR || readHex(join(d, 'device')) !== IVSHMEM_DEVICE) continue;
    const resource = join(d, `resource${IVSHMEM_SHM_BAR}`);
    let barBytes = 0;
    try {
      const fd = openSync(resource, C.O_RDONLY);
      try { barBytes = fstatSync(fd).size; } finally { closeSync(fd); }
    } catch { continue; } // ivshmem-doorbell without memory yet, or no access
    if (barBytes > 0) out.push({ address, resource, barBytes });
  }
  return out;
}

function sysError(e: unknown, what: string, fix: string): SystemError {
  const errno = errnoOf(e) || 'EUNKNOWN';
  return new SystemError(`ERR_RINGZERO_IVSHMEM_${errno}`, `${what}: ${(e as Error).message}. ${fix}`, errno, what, e);
}

/**
 * A device whose driver was never bound may have memory decoding off (the
 * PCI command register's Memory Space bit): a hot-plugged device is not
 * enabled by anyone. sysfs `enable` turns it on (pci_enable_device).
 */
function ensureEnabled(resource: string): void {
  const enable = join(resource, '..', 'enable');
  try {
    if (readFileSync(enable, 'utf8').trim() === '0') writeFileSync(enable, '1');
  } catch (e) {
    throw sysError(e, `enabling PCI device ${join(resource, '..')}`, 'run as root inside the guest');
  }
}

function openBar(resource: string): number {
  try {
    return openSync(resource, C.O_RDWR | C.O_NOFOLLOW); // never O_CREAT / O_TRUNC
  } catch (e) {
    if (errnoOf(e) === 'EACCES' || errnoOf(e) === 'EPERM') throw new RegionUnsafeError(`${resource}: permission denied; mapping a PCI BAR needs root inside the guest`, { cause: e });
    throw sysError(e, `open(${resource})`, 'is the ivshmem device still plugged in?');
  }
}

/** A private copy of the first `bytes` of the BAR (resource files cannot be read, only mapped). */
function copyHead(fd: number, resource: string, bytes: number): Uint8Array {
  let sab: SharedArrayBuffer;
  try {
    sab = native.mmap(fd, bytes, 0, false, false);
  } catch (e) {
    throw sysError(e, `mmap(${resource})`, 'the BAR cannot be mapped: is the guest kernel locked down (secure boot)?');
  }
  const head = new Uint8Array(bytes);
  head.set(new Uint8Array(sab)); // validated as a snapshot: the host may write meanwhile
  native.unmap(sab);
  return head;
}

/**
 * Maps the region in an ivshmem BAR (`resource` is its sysfs file). `validate`
 * sees the header and the region's total size (as the header states it, once
 * checked to fit in the BAR), as for a region file.
 */
export function openBarRegion(resource: string, headerBytes: number, validate: (head: Uint8Array, size: number, path: string) => void): BarRegion {
  ensureEnabled(resource);
  const fd = openBar(resource);
  try {
    const barBytes = fstatSync(fd).size;
    if (barBytes < headerBytes) throw new RegionMismatchError(`${resource}: the BAR has ${barBytes} bytes, too small for a ringzero region`);
    const head = copyHead(fd, resource, headerBytes);
    const f64 = new Float64Array(head.buffer, 0, headerBytes / 8);
    const total = f64[HF.TOTAL_BYTES];
    if (!Number.isInteger(total) || total < headerBytes || total > barBytes || total % 4096 !== 0) {
      throw new RegionMismatchError(`${resource}: the region header says ${total} bytes but the BAR has ${barBytes}: not a ringzero region, or a corrupt one`);
    }
    validate(head, total, resource);
    let sab: SharedArrayBuffer;
    try {
      sab = native.mmap(fd, total, 0, true, false);
    } catch (e) {
      throw sysError(e, `mmap(${resource})`, 'the BAR cannot be mapped read-write');
    }
    return { name: `ivshmem ${resource}`, path: resource, size: total, hugetlb: false, sab, head, bar: true, barBytes };
  } finally {
    closeSync(fd);
  }
}

/** The header copy of a device, or null when it cannot be mapped. */
function peekHeader(dev: IvshmemDevice, headerBytes: number): Uint8Array | null {
  if (dev.barBytes < headerBytes) return null;
  try { ensureEnabled(dev.resource); } catch { return null; }
  let fd: number;
  try { fd = openSync(dev.resource, C.O_RDWR | C.O_NOFOLLOW); } catch { return null; }
  try { return copyHead(fd, dev.resource, headerBytes); } catch { return null; } finally { closeSync(fd); }
}

/**
 * Finds the ivshmem device whose region header `matches` (e.g. names the
 * wanted cluster id) and maps it; null when there is none.
 */
export function findBarRegion(matches: (head: Uint8Array) => boolean, headerBytes: number, validate: (head: Uint8Array, size: number, path: string) => void): BarRegion | null {
  for (const dev of listIvshmemDevices()) {
    const head = peekHeader(dev, headerBytes);
    if (head && matches(head)) return openBarRegion(dev.resource, headerBytes, validate);
  }
  return null;
}

/** True when `path` is a PCI BAR file in sysfs rather than a region file. */
export function isPciResource(path: string): boolean {
  return path.startsWith('/sys/') && /\/resource\d$/.test(path);
}
