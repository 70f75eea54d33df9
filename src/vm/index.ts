// Inter-VM zero copy (PF_RING ZC's ivshmem support): a QEMU guest maps a host
// cluster's region as an ivshmem PCI BAR. Host side: host.ts (QEMU arguments,
// QMP hot-plug), qmp.ts; guest side: guest.ts (used by Cluster.attach).
export { coldplugArgs, hotplugIvshmem, unplugIvshmem, ivshmemIds, ivshmemSize, type IvshmemBacking, type IvshmemPlug, type PlugOptions } from './host.js';
export { QmpClient, withQmp, type QmpEvent } from './qmp.js';
export { listIvshmemDevices, openBarRegion, findBarRegion, IVSHMEM_VENDOR, IVSHMEM_DEVICE, type IvshmemDevice, type BarRegion } from './guest.js';
