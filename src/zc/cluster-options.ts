// What Cluster.create, Cluster.attach and Cluster.fromHandle take (cluster.ts).
import type { HugepagePolicy } from '../memory/region.js';

export interface ClusterOptions {
  /** cluster id, as in PF_RING (`-c 99`) */
  id: number;
  /** bytes per buffer, a power of two (2048 fits a 1518-byte frame and is AF_XDP's smallest chunk) */
  bufferSize?: number;
  /** number of buffers */
  buffers?: number;
  /** bytes kept free at the start of every buffer */
  headroom?: number;
  /** number of queues */
  queues?: number;
  /** slots per queue (power of two) */
  queueLength?: number;
  /** number of pools (buffers split evenly) or the size of each */
  pools?: number | number[];
  /** which pool each queue returns its buffers to (default: pool 0) */
  queuePools?: number[];
  hugepages?: HugepagePolicy;
  /** give this group read/write access (mode 0660) */
  group?: number;
  /** how many threads/processes may be registered at once */
  attachSlots?: number;
  /** guests (VMs) without a heartbeat for this long are dead (ms) */
  guestTimeoutMs?: number;
  /** also declare local parties dead when their heartbeat is older than this (ms; 0 = only when their process is gone) */
  stallTimeoutMs?: number;
  /** how often the owner scans for dead parties (ms) */
  livenessIntervalMs?: number;
  /** called when a stale region of a dead owner is removed (default: process.emitWarning) */
  onWarning?: (message: string) => void;
  /**
   * a command's own cluster, not one users attach to by id: marked in the
   * header, so that once this process is dead a later command may remove the
   * region (the CLI's private clusters, cli/private-cluster.ts)
   */
  private?: boolean;
  /** round the region file up to a power of two bytes, so it can back a QEMU ivshmem device (a PCI BAR's size is one; src/vm/) */
  powerOfTwoSize?: boolean;
}

export interface AttachOptions {
  /** attach as a guest (no host pid: alive by heartbeat only) */
  guest?: boolean;
  /**
   * Map the packet buffers read-only in this process: a stray write faults
   * here (SIGSEGV) instead of corrupting what other consumers see. Queues,
   * pools and metadata stay writable. Such a process can consume, not produce.
   */
  readOnlyPackets?: boolean;
  /**
   * a region file to map instead of searching by id, or an ivshmem BAR's sysfs
   * file (/sys/bus/pci/devices/ADDR/resource2). Without it, a cluster not found
   * in the region folders is looked for on the ivshmem devices (inside a VM).
   */
  path?: string;
}

/** What a worker thread needs to use a cluster mapped by its parent thread. */
export interface ClusterHandle {
  sab: SharedArrayBuffer;
  path: string;
  owner: boolean;
  /** mapped inside a VM (an ivshmem BAR): registrations live by heartbeat */
  guest?: boolean;
}
