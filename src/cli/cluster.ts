// ringzero cluster -c ID -n N: creates a cluster whose queues have no worker
// behind them, for processes to produce into and consume from
// (`send -i zc:ID@Q` -> `count -i zc:ID@Q`, PF_RING's zsend/zcount over IPC
// queues). Queue q has pool q of its own, so each producer owns its buffers.
// Runs until SIGINT/SIGTERM/--duration, watching liveness and printing the
// queues' counters; closing it tells attached processes the cluster is gone.
import { Cluster } from '../zc/cluster.js';
import { parseArgs, usage, intFlag, numFlag, UsageError, type FlagSpec } from './args.js';
import { runLoop } from './loop.js';
import { thousands } from './format.js';
import { plugVms } from './owner.js';
import { sleepSync } from '../sleep.js';

const FLAGS: FlagSpec[] = [
  { names: ['c', 'cluster'], value: true, help: 'cluster id (required)' },
  { names: ['n', 'queues'], value: true, help: 'number of queues (default 1)' },
  { names: ['q', 'queue-len'], value: true, help: 'slots per queue, a power of two (default 4096)' },
  { names: ['buffers'], value: true, help: 'buffers per queue pool (default 2 x queue length)' },
  { names: ['d', 'duration'], value: true, help: 'stop after this many seconds' },
  { names: ['hugepages'], value: true, help: 'auto (default), require or never' },
  { names: ['vm'], value: true, repeat: true, help: 'QMP_SOCKET of a running QEMU VM: hot-plug the cluster (repeatable)' },
  { names: ['vm-args'], value: false, help: 'print the QEMU arguments that cold-plug the cluster' },
  { names: ['json'], value: false, help: 'print the queues\' counters as one JSON object at exit' },
  { names: ['quiet'], value: false, help: 'no per-second lines' },
  { names: ['h', 'help'], value: false, help: 'this help' },
];

export async function clusterCommand(argv: string[]): Promise<number> {
  const a = parseArgs(argv, FLAGS, 'cluster');
  if (a.help) { process.stdout.write(usage('cluster', 'Create a cluster of plain queues for other processes (send -i zc:ID@Q, count -i zc:ID@Q).', FLAGS)); return 0; }
  if (a.cluster === undefined) throw new UsageError('cluster: -c ID is required');
  const n = intFlag(a, 'queues', 1, 1, 256);
  const qlen = intFlag(a, 'queue-len', 4096, 2, 1 << 24);
  if ((qlen & (qlen - 1)) !== 0) throw new UsageError(`cluster: -q ${qlen}: the queue length must be a power of two`);
  const per = intFlag(a, 'buffers', 2 * qlen, 16);
  const hp = String(a.hugepages ?? 'auto');
  if (!['auto', 'require', 'never'].includes(hp)) throw new UsageError('cluster: --hugepages must be auto, require or never');
  const c = Cluster.create({
    id: intFlag(a, 'cluster', 0, 0, 0xffffffff), queues: n, queueLength: qlen, buffers: per * n,
    pools: new Array(n).fill(per), queuePools: Array.from({ length: n }, (_, q) => q),
    hugepages: hp as 'auto' | 'require' | 'never', powerOfTwoSize: a.vm !== undefined || Boolean(a['vm-args']),
  });
  let unplug: () => Promise<void> = async () => {};
  try {
    unplug = await plugVms(a, c);
  } catch (e) {
    c.close();
    throw e;
  }
  console.error(`Cluster ${c.id}: ${n} queue${n > 1 ? 's' : ''}. Producers: ringzero send -i zc:${c.id}@Q ; consumers: ringzero count -i zc:${c.id}@Q`);
  const totals = () => {
    let packets = 0, bytes = 0, drops = 0;
    for (let q = 0; q < n; q++) { const k = c.queueCounters(q); packets += k.in; bytes += k.inBytes; drops += k.dropFull; }
    return { packets, bytes, drops };
  };
  const result = await runLoop({
    durationS: numFlag(a, 'duration', 0),
    totals,
    sliceMs: 50,
    slice: (ms) => { sleepSync(ms); return true; },
    report: a.quiet || a.json ? undefined : () => {
      for (let q = 0; q < n; q++) {
        const k = c.queueCounters(q);
        console.log(`Q ${q}: ${thousands(k.in)} pkts in (${thousands(k.dropFull)} drops) - ${thousands(k.out)} taken - ${thousands(k.queued)} queued`);
      }
    },
  });
  const queues = Array.from({ length: n }, (_, q) => ({ queue: q, ...c.queueCounters(q) }));
  const t = totals(); // before close: the mapping is gone after it
  c.close();
  await unplug();
  if (a.json) console.log(JSON.stringify({ packets: t.packets, bytes: t.bytes, drops: t.drops, duration_s: result.duration_s, pps: result.duration_s > 0 ? t.packets / result.duration_s : 0, queues }));
  return 0;
}
