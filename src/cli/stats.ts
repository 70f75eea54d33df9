// ringzero stats -c ID: reads the shared counters of a running cluster from
// any process, once or every second (-w). Attach errors keep their own code
// (CLUSTER_NOT_FOUND, REGION_UNSAFE, CLUSTER_CLOSED for a dead owner, ...).
// With -w, the owner's death or shutdown ends the watch with exit 1 and its
// error; Ctrl-C (SIGINT) or SIGTERM ends it with 0, as in the other commands.
import { Cluster } from '../zc/cluster.js';
import { clusterSnapshot, listClusters, type RegionStatus } from '../zc/admin.js';
import { intFlag, parseArgs, usage, type FlagSpec } from './args.js';
import { thousands } from './format.js';
import { stopRequested } from './loop.js';

const FLAGS: FlagSpec[] = [
  { names: ['c', 'cluster'], value: true, help: 'cluster id (without it: list the clusters)' },
  { names: ['w', 'watch'], value: false, help: 'print again every second until interrupted (exit 0) or the owner dies or shuts down (exit 1)' },
  { names: ['json'], value: false, help: 'one JSON object' },
  { names: ['h', 'help'], value: false, help: 'this help' },
];

export async function statsCommand(argv: string[]): Promise<number> {
  const a = parseArgs(argv, FLAGS, 'stats');
  if (a.help) { process.stdout.write(usage('stats', 'Show the counters of a running cluster (queues, pools, attached processes).', FLAGS)); return 0; }
  if (a.cluster === undefined) {
    const list = listClusters();
    if (a.json) console.log(JSON.stringify(list));
    else if (list.length === 0) console.log('no clusters');
    else for (const r of list) console.log(`cluster ${r.id}: ${r.path} ${describeRegion(r)}`);
    return 0;
  }
  const id = intFlag(a, 'cluster', 0, 0, 0xffffffff);
  const c = Cluster.attach(id); // its error (and code) is the command's
  try {
    for (;;) {
      c.checkOwner(); // the owner died or shut down: ClusterClosedError, exit 1
      const s = clusterSnapshot(c);
      if (a.json) console.log(JSON.stringify(s));
      else {
        console.log(`Cluster ${s.id} (${s.path}${s.hugepages ? ', hugepages' : ''}): ${thousands(s.buffers)} buffers of ${s.bufferSize} bytes`);
        for (const p of s.pools) console.log(`  pool ${p.pool}: ${thousands(p.free)} free of ${thousands(p.size)}`);
        for (const q of s.queues) {
          console.log(`  queue ${q.queue}: in ${thousands(q.in)} pkts / ${thousands(q.inBytes)} bytes, out ${thousands(q.out)}, queued ${thousands(q.queued)}, dropped (full) ${thousands(q.dropFull)}, reclaims ${q.reclaims}`);
        }
        for (const p of s.attached) {
          const what = p.role === 'owner' ? 'owner' : `${p.role} of ${p.role === 'pool' ? 'pool' : 'queue'} ${p.target}`;
          const who = p.guest ? 'guest VM' : `pid ${p.pid} tid ${p.tid}${p.foreignPidNs ? ' (another PID namespace)' : ''}`;
          console.log(`  ${what}: ${who} ${p.state}, heartbeat ${p.heartbeatAgeMs} ms ago`);
        }
      }
      if (!a.watch) return 0;
      // main.ts turns SIGINT/SIGTERM into a stop request (loop.ts): -w ends on it.
      for (let i = 0; i < 10 && !stopRequested(); i++) await new Promise((r) => setTimeout(r, 100));
      if (stopRequested()) return 0;
    }
  } finally {
    c.close();
  }
}

function describeRegion(r: RegionStatus): string {
  if (!r.valid) return 'not a readable ringzero region (see ringzero cleanup -n)';
  const owner = `owner pid ${r.ownerPid}${r.foreignPidNs ? ' (another PID namespace)' : ''}`;
  return `${owner} ${r.ownerAlive ? 'running' : 'DEAD (run ringzero cleanup)'}`;
}
