// A device of either kind on a veth pair's host end, on a fresh private
// cluster, for the device tests: closed afterwards whatever happens, and
// every buffer checked back in its pool.
import assert from 'node:assert/strict';
import { Cluster } from '../../src/zc/index.js';
import type { BufferPool } from '../../src/zc/pool.js';
import { openDevice, type Device, type OpenDeviceOptions } from '../../src/devices/index.js';
import type { VethPair } from './netns.js';
import { testClusterId } from './zc-procs.js';

export const DEVICE_BUFFERS = 4096;

export interface OpenedDevice {
  dev: Device;
  cluster: Cluster;
  pool: BufferPool;
}

/**
 * Opens `zc:<host>` (kind 'zc') or `<host>` (kind 'standard') with `opts`,
 * runs `fn`, closes the device (fn may close it first) and then checks that
 * the pool has all DEVICE_BUFFERS back.
 */
export async function withDevice(kind: 'zc' | 'standard', pair: VethPair, opts: Partial<OpenDeviceOptions>,
  fn: (d: OpenedDevice) => Promise<void> | void): Promise<void> {
  const cluster = Cluster.create({ id: testClusterId(), buffers: DEVICE_BUFFERS, hugepages: 'never' });
  const pool = cluster.pool();
  try {
    const dev = openDevice(kind === 'zc' ? `zc:${pair.host}` : pair.host, { ...opts, memory: cluster.memory, source: pool });
    try {
      await fn({ dev, cluster, pool });
    } finally {
      dev.close();
    }
    assert.equal(pool.available, DEVICE_BUFFERS, 'every buffer back after close');
  } finally {
    cluster.close();
  }
}
