// ringzero cleanup: removes cluster regions left behind by dead owners, and
// blank ones (the creator died before writing the header) that no process
// has open. -f also removes unused files that are not ringzero regions. A
// region we may not remove (another user's) is reported and skipped: exit 1.
import { cleanupAction, cleanupStale, listClusters, type RegionStatus } from '../zc/admin.js';
import { parseArgs, usage, type FlagSpec } from './args.js';

const FLAGS: FlagSpec[] = [
  { names: ['f', 'force'], value: false, help: 'also remove region files that are not readable ringzero regions (when no process has them open)' },
  { names: ['n', 'dry-run'], value: false, help: 'only list what would be removed' },
  { names: ['h', 'help'], value: false, help: 'this help' },
];

const owner = (r: RegionStatus) => `pid ${r.ownerPid}${r.foreignPidNs ? ' in another PID namespace' : ''}`;

function describe(r: RegionStatus, force: boolean): string {
  switch (cleanupAction(r, force)) {
    case 'keep-live': return `in use by ${owner(r)}`;
    case 'keep-in-use': return `${r.blank ? 'empty (no header yet)' : 'not a readable ringzero region'}, open or mapped by a process or created less than a minute ago: kept`;
    case 'keep-foreign': return 'not a readable ringzero region: `ringzero cleanup -f` removes it when no process has it open';
    case 'remove':
      if (r.valid) return `stale (owner ${owner(r)} is dead): would be removed`;
      return `${r.blank ? 'empty: its creator died before writing the header' : 'not a readable ringzero region'}, unused: would be removed`;
  }
}

export function cleanupCommand(argv: string[]): number {
  const a = parseArgs(argv, FLAGS, 'cleanup');
  if (a.help) { process.stdout.write(usage('cleanup', 'Remove shared regions whose owner process is dead, or that were never filled in.', FLAGS)); return 0; }
  const force = Boolean(a.force);
  if (a['dry-run']) {
    for (const r of listClusters()) console.log(`${r.path}: ${describe(r, force)}`);
    return 0;
  }
  const { removed, denied } = cleanupStale(force);
  for (const r of removed) {
    console.log(r.valid ? `removed ${r.path} (cluster ${r.id}, dead owner ${owner(r)})` : `removed ${r.path} (${r.blank ? 'empty, never filled in' : 'not a ringzero region'})`);
  }
  for (const r of listClusters().filter((x) => cleanupAction(x, force) === 'keep-live')) console.log(`kept ${r.path}: cluster ${r.id} is in use by ${owner(r)}`);
  for (const r of denied) console.error(`could not remove ${r.path} (${r.errno}): it belongs to another user; run cleanup as root or as that user`);
  if (removed.length === 0 && denied.length === 0) console.log('nothing to clean up');
  return denied.length > 0 ? 1 : 0;
}
