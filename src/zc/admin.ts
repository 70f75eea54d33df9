// Cluster administration from any process: list regions, read their
// counters, remove those whose owner is dead (`ringzero cleanup`, `stats`).
import { listRegions, removeRegion } from '../memory/region.js';
import { Cluster, inspectRegion } from './cluster.js';
import { ROLE, ATTACH_STATE } from './layout.js';

export interface RegionStatus {
  path: string;
  id: number;
  ownerPid: number;
  ownerAlive: boolean;
  valid: boolean;
}

export function listClusters(): RegionStatus[] {
  const out: RegionStatus[] = [];
  for (const path of listRegions('ringzero-cluster-')) {
    try {
      const s = inspectRegion(path);
      out.push({ path, id: s.id, ownerPid: s.ownerPid, ownerAlive: s.ownerAlive, valid: s.magicOk });
    } catch {
      out.push({ path, id: -1, ownerPid: 0, ownerAlive: false, valid: false });
    }
  }
  return out;
}

/** Removes regions whose owner is dead; `force` also removes unreadable or foreign ones. Returns what was removed. */
export function cleanupStale(force = false): RegionStatus[] {
  const removed: RegionStatus[] = [];
  for (const r of listClusters()) {
    if (r.ownerAlive) continue;
    if (!r.valid && !force) continue;
    removeRegion(r.path);
    removed.push(r);
  }
  return removed;
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
    attached: c.attach.list().map((a) => ({
      role: ROLE_NAMES[a.role] ?? String(a.role), target: a.target, state: STATE_NAMES[a.state] ?? String(a.state),
      pid: a.pid, tid: a.tid, guest: a.guest, heartbeatAgeMs: a.heartbeatAgeMs,
    })),
  };
}
