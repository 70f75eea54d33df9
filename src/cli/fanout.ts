// ringzero fanout (zfanout_ipc): every packet from the devices to every one
// of N queues. Buffers are shared, not copied: each consumer releases its
// reference and the buffer returns to the pool after the last one.
import { startFanout, type OutputSpec } from '../workers/index.js';
import { parseArgs, usage, intFlag, type FlagSpec } from './args.js';
import { OWNER_FLAGS, consumerHints, createOwnedCluster, deviceNames, runOwner, whenReady } from './owner.js';
import { parseGroups, parseInputs } from './balance.js';

const FLAGS: FlagSpec[] = [
  { names: ['i', 'interface'], value: true, help: 'input devices, comma-separated' },
  { names: ['n', 'queues'], value: true, help: 'number of queues, each gets every packet (default 1)' },
  { names: ['f', 'filter'], value: true, help: 'input filter (in the kernel of each device)' },
  ...OWNER_FLAGS,
];

export async function fanoutCommand(argv: string[]): Promise<number> {
  const a = parseArgs(argv, FLAGS, 'fanout');
  if (a.help) { process.stdout.write(usage('fanout', 'Send every packet from the devices to every queue of a cluster, without copies (zfanout_ipc).', FLAGS)); return 0; }
  const inputs = parseInputs(a.interface, 'fanout', typeof a.filter === 'string' ? a.filter : undefined);
  const [n] = parseGroups(a.queues, 'fanout');
  const outputs: OutputSpec[] = Array.from({ length: n }, (_, q) => ({ kind: 'queue', queue: q }));
  const names = deviceNames(inputs);
  const cluster = createOwnedCluster(a, 'fanout', n, names);
  const handle = startFanout(cluster, { inputs, outputs, pool: 0, cpu: a.core !== undefined ? intFlag(a, 'core', 0) : undefined });
  await whenReady(handle, cluster);
  console.error(consumerHints(cluster, n, names, typeof a.filter === 'string'));
  // A packet is delivered when every queue took it: drops = copies due - copies accepted.
  await runOwner(a, { command: 'fanout', cluster, handle, queues: n, drops: (s) => Math.max(0, s.received * n - s.sent) });
  return 0;
}
