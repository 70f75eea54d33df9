// Cluster administration from any process: list regions, read their
// counters, remove those whose owner is dead or that were never filled in
// (`ringzero cleanup`, `stats`).
import { listRegions, removeRegion } from '../memory/region.js';
import { isAbandonedBlank } from '../memory/region-users.js';
import { errnoOf } from '../errors.js';
import { Cluster, inspectRegion } from './cluster.js';
import { ROLE, ATTACH_STATE } from './layout.js';

export interface RegionStatus {
  path: string;
  id: number;
  ownerPid: number;
  ownerAlive: boolean;
  /** the header is a ringzero one (magic) */
  valid: boolean;
  /** all zeros: its creator died (or is still mapping it) before writing the header */
  blank: boolean;
  /** the owner runs in another PID namespace: judged by its heartbeat */
  foreignPidNs: boolean;
  /** a command's private cluster (ClusterOptions.private) */
  private: boolean;
}

export function listClusters(): RegionStatus[] {
  const out: RegionStatus[] = [];
  for (const path of listRegions('ringzero-cluster-')) {
    try {
      const s = inspectRegion(path);
      out.push({ path, id: s.id, ownerPid: s.ownerPid, ownerAlive: s.ownerAlive, valid: s.magicOk, blank: s.blank, foreignPidNs: s.foreignPidNs, private: s.private });
    } catch {
      out.push({ path, id: -1, ownerPid: 0, ownerAlive: false, valid: false, blank: false, foreignPidNs: false, private: false });
    }
  }
  return out;
}

export type CleanupAction = 'remove' | 'keep-live' | 'keep-in-use' | 'keep-foreign';

/**
 * What cleanup does with a region: remove it when its owner is dead, or when
 * it is blank (no header was ever written) and no process has it open or
 * mapped (region-users.ts); with `force`, also a region that is not a
 * readable ringzero region, again only when no process uses it.
 */
export function cleanupAction(r: RegionStatus, force: boolean): CleanupAction {
  if (r.valid) return r.ownerAlive ? 'keep-live' : 'remove';
  if (!r.blank && !force) return 'keep-foreign';
  return isAbandonedBlank(r.path) ? 'remove' : 'keep-in-use';
}

export interface CleanupResult {
  removed: RegionStatus[];
  /** regions due for removal that we may not unlink (another user's, in a sticky /dev/shm) */
  denied: Array<RegionStatus & { errno: string }>;
}

/** Removes what cleanupAction says to; a region we may not remove is reported and skipped. */
export function cleanupStale(force = false): CleanupResult {
  const removed: RegionStatus[] = [];
  const denied: CleanupResult['denied'] = [];
  for (const r of listClusters()) {
    if (cleanupAction(r, force) !== 'remove') continue;
    try {
      removeRegion(r.path);
      removed.push(r);
    } catch (e) {
      const errno = errnoOf(e);
      if (errno !== 'EPERM' && errno !== 'EACCES') throw e;
      denied.push({ ...r, errno });
    }
  }
  return { removed, denied };
}

const ROLE_NAMES: Record<number, string> = { [ROLE.OWNER]: 'owner', [ROLE.CONSUMER]: 'consumer', [ROLE.PRODUCER]: 'producer', [ROLE.POOL]: 'pool' };
const STATE_NAMES: Record<number, string> = { [ATTACH_STATE.LIVE]: 'live', [ATTACH_STATE.DEAD]: 'dead', [ATTACH_STATE.CLAIMING]: 'claiming' };

/** A snapshot of a running cluster's shared counters. */
export function clusterSnapshot(c: Cluster) {
  const l = c.layout;
  return {
    id: c.id,
    path: c.path,
    hugepages: c.hugetlb,
    buffers: l.bufferCount,
    bufferSize: l.bufferSize,
    pools: l.poolSizes.map((size, p) => ({ pool: p, size, free: c.poolFree(p) })),
    queues: Array.from({ length: l.queueCount }, (_, q) => ({ queue: q, ...c.queueCounters(q) })),
    // A LIVE slot whose party is gone is shown dead: only the owner's scan
    // marks slots DEAD, and a dead owner scans nothing.
    attached: c.attach.list().map((a) => ({
      role: ROLE_NAMES[a.role] ?? String(a.role), target: a.target,
      state: a.state === ATTACH_STATE.LIVE && !c.attach.alive(a.slot, l.guestTimeoutMs) ? 'dead' : STATE_NAMES[a.state] ?? String(a.state),
      pid: a.pid, tid: a.tid, guest: a.guest, foreignPidNs: a.foreignPidNs, heartbeatAgeMs: a.heartbeatAgeMs,
    })),
  };
}
