// The private cluster of a command run (count, dump, send on a device): its
// id, derived from the pid, and its creation, which first removes what
// earlier runs left.
//
// A run killed with SIGKILL (or by the OOM killer, or a power cut of its
// container) cannot remove its region, and since the next run has another
// pid, and so another id, nothing ever reuses it: every such run left ~35-70
// MiB in /dev/shm until `ringzero cleanup`. So creating a private cluster
// first removes the private regions whose owner is provably dead, and says so
// in one line. It removes a region only when all of these hold:
//  - the header is a ringzero cluster's marked private (ClusterOptions.private:
//    only these commands set it; a cluster named with -c never has it, nor do
//    regions of older versions), and its id is in the private range;
//  - its owner ran in our PID namespace and that process (pid and start time)
//    is gone: the proof `ringzero cleanup` uses, without its heartbeat
//    judgement for other namespaces (a stalled container is not a dead one);
//  - the file is ours (our uid) and no process we can see has it open or
//    mapped (a consumer that attached to it and still runs keeps it).
// Regions that were never filled in (killed while creating) are left to
// `ringzero cleanup`, which waits until nobody has them open.
import { lstatSync } from 'node:fs';
import { basename } from 'node:path';
import { selfPidNs } from '../memory/proc.js';
import { removeRegion } from '../memory/region.js';
import { pathsInUse } from '../memory/region-users.js';
import { Cluster, inspectRegion, regionName, type ClusterOptions } from '../zc/cluster.js';
import { listClusters } from '../zc/admin.js';
import { mib } from '../number-format.js';

/** Private cluster ids: 0x40000000 + 30 bits (users' ids are usually small; a user may still pick one here: it is then not marked private). */
const FIRST_PRIVATE_ID = 0x40000000;
const LAST_PRIVATE_ID = 0x7fffffff;

/**
 * A cluster id for a command's private cluster (unlikely to collide with user
 * ids). Pids repeat across PID namespaces (every container has a pid 1), so
 * the namespace is mixed in: two containers' `count` get different ids.
 */
export function privateClusterId(): number {
  return privateClusterIdOf(process.pid);
}

/** The private cluster id of process `pid` of our PID namespace (tests find a command's region by it). */
export function privateClusterIdOf(pid: number): number {
  return FIRST_PRIVATE_ID + (((pid ^ Math.imul(selfPidNs(), 0x9e3779b1)) >>> 0) & 0x3fffffff);
}

/**
 * The cluster of a command run: with `id` (the user's -c), that cluster as
 * named; without, a private one, after removing the regions dead runs left
 * (one line on stderr names them).
 */
export function createRunCluster(id: number | undefined, opts: Omit<ClusterOptions, 'id' | 'private'>): Cluster {
  if (id !== undefined) return Cluster.create({ ...opts, id });
  const removed = removeDeadPrivateRegions();
  if (removed.length > 0) process.stderr.write(`ringzero: ${describeRemoved(removed)}\n`);
  return Cluster.create({ ...opts, id: privateClusterId(), private: true });
}

export interface RemovedRegion {
  path: string;
  ownerPid: number;
  bytes: number;
}

/** Removes the private regions whose owner is provably dead (see the top of this file); returns what it removed. */
export function removeDeadPrivateRegions(): RemovedRegion[] {
  const removed: RemovedRegion[] = [];
  const uid = process.geteuid?.() ?? -1;
  const candidates = listClusters().filter((r) => r.valid && isDeadPrivate(r.id, r.path, r));
  if (candidates.length === 0) return removed;
  const inUse = pathsInUse(candidates.map((r) => r.path)); // one pass over /proc: ~70 ms with 90 processes
  for (const r of candidates) {
    if (inUse.has(r.path)) continue;
    try {
      // Judged again on the file as it is now, between two looks at its inode: a run
      // that got the same id may have replaced the region meanwhile (removeIfStale).
      const before = lstatSync(r.path);
      if (!before.isFile() || before.uid !== uid) continue;
      const now = inspectRegion(r.path);
      if (!now.magicOk || !isDeadPrivate(now.id, r.path, now)) continue;
      if (lstatSync(r.path).ino !== before.ino) continue;
      removeRegion(r.path);
      removed.push({ path: r.path, ownerPid: now.ownerPid, bytes: before.size });
    } catch { /* gone meanwhile, or not ours to remove (EPERM): `ringzero cleanup` reports it */ }
  }
  return removed;
}

function isDeadPrivate(id: number, path: string, s: { private: boolean; ownerAlive: boolean; foreignPidNs: boolean }): boolean {
  return s.private && !s.ownerAlive && !s.foreignPidNs && id >= FIRST_PRIVATE_ID && id <= LAST_PRIVATE_ID && basename(path) === regionName(id);
}

/** "removed the region of an earlier run that died without removing it (pid 12: /dev/shm/...; 34.0 MiB freed)" */
export function describeRemoved(removed: RemovedRegion[]): string {
  const which = removed.map((r) => `pid ${r.ownerPid}: ${r.path}`).join(', ');
  const freed = mib(removed.reduce((s, r) => s + r.bytes, 0));
  return removed.length === 1
    ? `removed the region of an earlier run that died without removing it (${which}; ${freed} freed)`
    : `removed the regions of ${removed.length} earlier runs that died without removing them (${which}; ${freed} freed)`;
}
