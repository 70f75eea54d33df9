// The file behind a cluster (one shared region, layout.ts): its name, how the
// owner fills it in and replaces a dead owner's stale one, and how attachers
// find it (by name, by path, or on an ivshmem device inside a VM) and check
// its header before trusting it.
import { closeSync, openSync, readSync, constants as FS } from 'node:fs';
import { isAlive, pidsComparable, selfPidNs, selfProcessStartTime } from '../memory/proc.js';
import { checkHeader, H, HEADER_BYTES, HF, REGION_KIND, REGION_MAGIC, REGION_STATE, REGION_VERSION } from '../memory/header.js';
import { isAbandonedBlank } from '../memory/region-users.js';
import { listRegions, openRegion, openRegionFile, removeRegion, type OpenedRegion } from '../memory/region.js';
import { findBarRegion, isPciResource, openBarRegion } from '../vm/guest.js';
import { ClusterClosedError, ClusterExistsError, ClusterNotFoundError, RegionMismatchError } from '../errors.js';
import { beatNow } from './attach.js';
import { CH, CLUSTER_FLAG, P, Q, QUEUE_CTRL_WORDS, readLayout, TAG_POOL, writeShape, type ClusterLayout } from './layout.js';
import { META_OFF, META_TAG, META_WORDS } from './meta.js';

export const regionName = (id: number) => `ringzero-cluster-${id}`;

/**
 * The region of cluster `id`: the given file or ivshmem BAR, else by name in
 * the region folders, else (inside a VM) the ivshmem device whose header names
 * cluster `id`.
 */
export function findRegion(id: number, path: string | undefined, validate: (head: Uint8Array, size: number, path: string) => void): OpenedRegion {
  if (path !== undefined) {
    if (isPciResource(path)) return openBarRegion(path, HEADER_BYTES, validate);
    const r = openRegionFile(path, HEADER_BYTES, validate);
    if (!r) throw new ClusterNotFoundError(`${path} does not exist: is the owner of cluster ${id} running?`);
    return r;
  }
  try {
    return openRegion(regionName(id), HEADER_BYTES, validate);
  } catch (e) {
    if (!(e instanceof ClusterNotFoundError)) throw e;
    const names = (head: Uint8Array) => {
      const u32 = new Uint32Array(head.buffer, head.byteOffset, CH.ID + 1);
      return u32[H.MAGIC] === REGION_MAGIC && u32[CH.ID] === id;
    };
    const bar = findBarRegion(names, HEADER_BYTES, validate);
    if (bar) return bar;
    throw new ClusterNotFoundError(`${e.message} (nor on an ivshmem device, inside a VM)`);
  }
}

export function initRegion(sab: SharedArrayBuffer, l: ClusterLayout): void {
  const u32 = new Uint32Array(sab);
  const f64 = new Float64Array(sab, 0, Math.floor(sab.byteLength / 8));
  u32[H.MAGIC] = REGION_MAGIC;
  u32[H.VERSION] = REGION_VERSION;
  u32[H.KIND] = REGION_KIND.CLUSTER;
  u32[H.HEADER_BYTES] = HEADER_BYTES;
  u32[H.STATE] = REGION_STATE.INIT;
  u32[H.OWNER_PID] = process.pid;
  u32[H.OWNER_PIDNS] = selfPidNs();
  u32[H.OWNER_HEARTBEAT] = beatNow();
  f64[HF.TOTAL_BYTES] = sab.byteLength;
  f64[HF.OWNER_START] = selfProcessStartTime();
  f64[HF.CREATED_MS] = Date.now();
  writeShape(u32, f64, l);
  const meta = new Uint32Array(sab, l.metaOffset, l.bufferCount * META_WORDS);
  let first = 0;
  l.poolSizes.forEach((size, p) => {
    const w = new Uint32Array(sab, l.poolsOffset + p * l.poolStride, l.poolStride / 4);
    w[P.FIRST] = first;
    w[P.CAPACITY] = size;
    w[P.NBUF] = size;
    // Stack top is the lowest index, so allocation starts at buffer `first`.
    for (let i = 0; i < size; i++) w[64 + i] = first + size - 1 - i;
    w[P.COUNT] = size;
    for (let b = first; b < first + size; b++) {
      meta[b * META_WORDS + META_TAG] = (TAG_POOL | p) >>> 0;
      meta[b * META_WORDS + META_OFF] = l.headroom;
    }
    first += size;
  });
  for (let q = 0; q < l.queueCount; q++) {
    const c = new Uint32Array(sab, l.queuesOffset + q * l.queueStride, QUEUE_CTRL_WORDS);
    c[Q.POOL] = l.queuePools[q];
    c[Q.QUEUE_ID] = q;
  }
}

export function validateHeader(head: Uint8Array, fileSize: number, path: string, id: number): void {
  const u32 = new Uint32Array(head.buffer, head.byteOffset, HEADER_BYTES / 4);
  const f64 = new Float64Array(head.buffer, head.byteOffset, HEADER_BYTES / 8);
  const problem = checkHeader(u32, f64, REGION_KIND.CLUSTER, fileSize);
  if (problem) {
    throw new RegionMismatchError(`${path} is not a usable ringzero cluster: ${problem.field} is ${problem.found}, expected ${problem.expected}` +
      (problem.field === 'layout version' ? ' (the owner runs another ringzero version: use the same version on both sides)'
        : head.every((b) => b === 0) ? ' (an empty region: its creator died before writing the header, or is still creating it; `ringzero cleanup` removes it once no process has it open)'
        : problem.field === 'magic' ? ' (not a ringzero region: remove it, or run `ringzero cleanup -f`, which removes it when no process has it open)'
        : ' (corrupt: `ringzero cleanup` removes it once its owner is dead, or remove it by hand)'));
  }
  if (u32[H.STATE] !== REGION_STATE.READY) {
    throw new ClusterClosedError(u32[H.STATE] === REGION_STATE.CLOSED ? `cluster ${id} is shut down` : `cluster ${id} is still being created; retry`);
  }
  try {
    readLayout(u32, f64);
  } catch (e) {
    throw new RegionMismatchError(`${path}: inconsistent layout: ${(e as Error).message}`);
  }
}

export interface OwnerLiveness {
  alive: boolean;
  /** the owner runs in another PID namespace: judged by its heartbeat, not its pid */
  foreignPidNs: boolean;
  heartbeatAgeMs: number;
}

/**
 * Is the owner named in a cluster header alive? In our PID namespace: its pid
 * and start time. Elsewhere (a container; its pid means nothing here): its
 * heartbeat, beaten every ~guest timeout / 6 (cluster.ts), younger than the
 * cluster's guest timeout (host and containers share the real-time clock).
 */
export function ownerLiveness(u32: Uint32Array, f64: Float64Array): OwnerLiveness {
  const heartbeatAgeMs = (beatNow() - u32[H.OWNER_HEARTBEAT]) >>> 0;
  // Layout 1 recorded no namespace: judged by pid, as that version did.
  if (u32[H.VERSION] < 2 || pidsComparable(u32[H.OWNER_PIDNS])) return { alive: isAlive(u32[H.OWNER_PID], f64[HF.OWNER_START]), foreignPidNs: false, heartbeatAgeMs };
  return { alive: heartbeatAgeMs < (u32[CH.GUEST_TIMEOUT_MS] || 3000), foreignPidNs: true, heartbeatAgeMs };
}

/** "pid 12" or "pid 1 in another PID namespace", for messages. */
export function describeOwner(u32: Uint32Array, o: OwnerLiveness): string {
  return `pid ${u32[H.OWNER_PID]}${o.foreignPidNs ? ` in another PID namespace, heartbeat ${o.heartbeatAgeMs} ms ago` : ''}`;
}

export interface RegionState {
  ownerPid: number;
  ownerAlive: boolean;
  /** the magic is ringzero's (the layout version may be another's: liveness is read the same way) */
  magicOk: boolean;
  /** the header is all zeros: the creator died before writing it */
  blank: boolean;
  foreignPidNs: boolean;
  id: number;
  /** a command's private cluster (CLUSTER_FLAG.PRIVATE) */
  private: boolean;
}

/** State of an existing region, from its header (only the header is read). */
export function inspectRegion(path: string): RegionState {
  const b = new Uint8Array(HEADER_BYTES);
  const fd = openSync(path, FS.O_RDONLY | FS.O_NOFOLLOW);
  try { readSync(fd, b, 0, HEADER_BYTES, 0); } finally { closeSync(fd); }
  const u32 = new Uint32Array(b.buffer);
  const f64 = new Float64Array(b.buffer);
  const magicOk = u32[H.MAGIC] === REGION_MAGIC;
  const blank = b.every((x) => x === 0);
  const o = magicOk ? ownerLiveness(u32, f64) : { alive: false, foreignPidNs: false };
  return {
    ownerPid: u32[H.OWNER_PID], ownerAlive: o.alive, magicOk, blank, foreignPidNs: o.foreignPidNs, id: u32[CH.ID],
    private: magicOk && (u32[CH.FLAGS] & CLUSTER_FLAG.PRIVATE) !== 0,
  };
}

export function removeIfStale(id: number, warn: (m: string) => void): void {
  for (const path of listRegions(regionName(id))) {
    if (!path.endsWith('/' + regionName(id))) continue;
    let st;
    try { st = inspectRegion(path); } catch { continue; }
    if (st.blank && isAbandonedBlank(path)) {
      warn(`removing ${path}: an empty region of cluster ${id} whose creator died before writing its header`);
      removeRegion(path);
      continue;
    }
    if (!st.magicOk) throw new RegionMismatchError(`${path} exists and is not a ringzero region${st.blank ? ' (all zeros, and in use or too recent to be called abandoned)' : ''}: remove it by hand or pick another cluster id`);
    if (st.ownerAlive) {
      throw new ClusterExistsError(`cluster ${id} is already owned by live pid ${st.ownerPid}${st.foreignPidNs ? ' in another PID namespace (its heartbeat is recent)' : ''}: stop that process or choose another cluster id`);
    }
    warn(`removing stale region ${path} of cluster ${id}: its owner (pid ${st.ownerPid}${st.foreignPidNs ? ' in another PID namespace: no heartbeat' : ''}) is dead`);
    removeRegion(path);
  }
}
