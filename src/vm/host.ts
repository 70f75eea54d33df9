// Host side of inter-VM zero copy: a cluster's region file backs a QEMU
// ivshmem-plain device, so a guest maps the very same memory as BAR2 (see
// guest.ts). Either at VM start (cold-plug: coldplugArgs) or into a running VM
// through its QMP socket (hot-plug: hotplugIvshmem), so, as with PF_RING ZC,
// the VM may be started before the cluster.
//
//   -object memory-backend-file,id=M,mem-path=REGION,size=S,share=on
//   -device ivshmem-plain,id=D,memdev=M
//
// share=on makes QEMU map the file MAP_SHARED (guest writes reach the file,
// and so the host processes). S must be the file's size exactly (QEMU refuses
// a file smaller than `size`) and a power of two (pci_register_bar asserts it:
// a wrong size aborts the whole VM), so the cluster is created with
// `powerOfTwoSize: true`. Hot-unplug needs the guest's cooperation (ACPI
// eject): device_del, wait for DEVICE_DELETED, then object-del.
import { closeSync, constants as C, fstatSync, openSync } from 'node:fs';
import { IvshmemSizeError, QmpCommandError } from '../errors.js';
import { withQmp } from './qmp.js';

/** What a device needs from a cluster (a Cluster has both). */
export interface IvshmemBacking {
  /** cluster id: names the QEMU objects, one device per cluster and VM */
  readonly id: number;
  /** the region file (/dev/shm/... or a hugetlbfs file) */
  readonly path: string;
}

/** One ivshmem device plugged into one VM. */
export interface IvshmemPlug {
  qmpSocket: string;
  clusterId: number;
  /** QOM id of the memory-backend-file */
  objectId: string;
  /** qdev id of the ivshmem-plain device */
  deviceId: string;
  /** bytes shared (the region file's size) */
  size: number;
}

export interface PlugOptions {
  /** PCI bus to plug into (default: QEMU's choice; on q35 name a free pcie-root-port) */
  bus?: string;
  /** ms to wait for each QMP answer (default 10000) */
  timeoutMs?: number;
}

/** QEMU object and device ids for cluster `id`. */
export function ivshmemIds(id: number): { objectId: string; deviceId: string } {
  return { objectId: `ringzero-mem-${id}`, deviceId: `ringzero-ivshmem-${id}` };
}

/** The region file's size, checked to be usable as a BAR. */
export function ivshmemSize(cluster: IvshmemBacking): number {
  const fd = openSync(cluster.path, C.O_RDONLY | C.O_NOFOLLOW);
  let size: number;
  try { size = fstatSync(fd).size; } finally { closeSync(fd); }
  if (size < 4096 || (size & (size - 1)) !== 0 || size > 2 ** 52) {
    throw new IvshmemSizeError(`${cluster.path} has ${size} bytes, not a power of two: an ivshmem BAR must be one (QEMU would abort the VM); create cluster ${cluster.id} with powerOfTwoSize: true`);
  }
  return size;
}

/** QEMU's option syntax: a comma inside a value is written twice. */
function optValue(v: string): string {
  return v.replace(/,/g, ',,');
}

/**
 * The QEMU arguments that give a VM, at start, an ivshmem device backed by
 * the cluster's region.
 */
export function coldplugArgs(cluster: IvshmemBacking, opts: Pick<PlugOptions, 'bus'> = {}): string[] {
  const size = ivshmemSize(cluster);
  const { objectId, deviceId } = ivshmemIds(cluster.id);
  return [
    '-object', `memory-backend-file,id=${objectId},mem-path=${optValue(cluster.path)},size=${size},share=on`,
    '-device', `ivshmem-plain,id=${deviceId},memdev=${objectId}${opts.bus ? `,bus=${optValue(opts.bus)}` : ''}`,
  ];
}

/**
 * Plugs an ivshmem device backed by the cluster's region into the running VM
 * whose QMP socket is `qmpSocket`. Rolls the memory object back if the device
 * cannot be added.
 */
export async function hotplugIvshmem(qmpSocket: string, cluster: IvshmemBacking, opts: PlugOptions = {}): Promise<IvshmemPlug> {
  const size = ivshmemSize(cluster);
  const { objectId, deviceId } = ivshmemIds(cluster.id);
  const timeout = opts.timeoutMs ?? 10_000;
  await withQmp(qmpSocket, async (q) => {
    await q.execute('object-add', { 'qom-type': 'memory-backend-file', id: objectId, 'mem-path': cluster.path, size, share: true }, timeout);
    try {
      await q.execute('device_add', { driver: 'ivshmem-plain', id: deviceId, memdev: objectId, ...(opts.bus ? { bus: opts.bus } : {}) }, timeout);
    } catch (e) {
      await q.execute('object-del', { id: objectId }, timeout).catch(() => {});
      throw e;
    }
  }, timeout);
  return { qmpSocket, clusterId: cluster.id, objectId, deviceId, size };
}

/**
 * Unplugs the device: device_del, then waits for the guest to release it
 * (DEVICE_DELETED) and removes the memory object. A device or object already
 * gone is not an error. Rejects with QmpTimeoutError when the guest does not
 * eject the device (no OS running, or no ACPI hot-plug support).
 */
export async function unplugIvshmem(plug: IvshmemPlug, opts: { timeoutMs?: number } = {}): Promise<void> {
  const timeout = opts.timeoutMs ?? 10_000;
  await withQmp(plug.qmpSocket, async (q) => {
    let gone = false;
    try {
      await q.execute('device_del', { id: plug.deviceId }, timeout);
    } catch (e) {
      if (!(e instanceof QmpCommandError && e.qmpClass === 'DeviceNotFound')) throw e;
      gone = true;
    }
    if (!gone) await q.waitEvent('DEVICE_DELETED', (d) => d.device === plug.deviceId, timeout);
    try {
      await q.execute('object-del', { id: plug.objectId }, timeout);
    } catch (e) {
      // Already deleted: QEMU says "object 'X' not found" with class GenericError.
      if (!(e instanceof QmpCommandError && /not found/i.test(e.message))) throw e;
    }
  }, timeout);
}
