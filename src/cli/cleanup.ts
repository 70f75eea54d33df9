// ringzero cleanup: removes cluster regions left behind by dead owners.
import { cleanupStale, listClusters } from '../zc/admin.js';
import { parseArgs, usage, type FlagSpec } from './args.js';

const FLAGS: FlagSpec[] = [
  { names: ['f', 'force'], value: false, help: 'also remove region files that are not readable ringzero regions' },
  { names: ['n', 'dry-run'], value: false, help: 'only list what would be removed' },
  { names: ['h', 'help'], value: false, help: 'this help' },
];

export function cleanupCommand(argv: string[]): number {
  const a = parseArgs(argv, FLAGS, 'cleanup');
  if (a.help) { process.stdout.write(usage('cleanup', 'Remove shared regions whose owner process is dead.', FLAGS)); return 0; }
  if (a['dry-run']) {
    for (const r of listClusters()) {
      const what = r.ownerAlive ? `in use by pid ${r.ownerPid}` : r.valid ? `stale (owner pid ${r.ownerPid} is dead)` : 'not a readable ringzero region';
      console.log(`${r.path}: ${what}`);
    }
    return 0;
  }
  const removed = cleanupStale(Boolean(a.force));
  for (const r of removed) console.log(`removed ${r.path} (cluster ${r.id}, dead owner pid ${r.ownerPid})`);
  const live = listClusters().filter((r) => r.ownerAlive);
  for (const r of live) console.log(`kept ${r.path}: cluster ${r.id} is in use by pid ${r.ownerPid}`);
  if (removed.length === 0) console.log('nothing to clean up');
  return 0;
}
