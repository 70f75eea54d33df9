// ringzero pipeline (zpipeline_ipc): DEV -> queue 0 -> stage 1 -> queue 1 ->
// ... -> queue S, where the last queue is for a consumer process. Stages are
// pass-through threads (or processes with --processes, attached by cluster
// id), or run a user function (--fn MODULE[:EXPORT]) that may drop packets.
// `ringzero pipeline --stage -c ID --in Q --out R` runs one stage alone in
// this process, attached to a running cluster (PF_RING's stage process).
//
// A stage the owner started (thread or process) that ends while the pipeline
// runs (killed, crashed) ends the pipeline with exit 1 and
// ERR_RINGZERO_STAGE_DIED naming it: nothing else would drain its input
// queue. The consumer of the last queue is an outside process, as balance's
// consumers are: if it dies its queue is reclaimed and waits for a new one.
import { startBalancer, startStage, startStageProcess, type FunctionSpec, type WorkerHandle, type WorkerStats } from '../workers/index.js';
import { parseArgs, usage, intFlag, UsageError, type FlagSpec } from './args.js';
import { OWNER_FLAGS, createOwnedCluster, deviceNames, runOwner } from './owner.js';
import { parseInputs } from './balance.js';
import { whenStopRequested } from './loop.js';
import { resolve } from 'node:path';
import { StageDiedError } from '../errors.js';

const FLAGS: FlagSpec[] = [
  { names: ['i', 'interface'], value: true, help: 'input devices, comma-separated' },
  { names: ['s', 'stages'], value: true, help: 'stages between the first and the last queue (default 1)' },
  { names: ['processes'], value: false, help: 'run each stage in its own process (attached by cluster id)' },
  { names: ['fn'], value: true, help: 'MODULE[:EXPORT]: a stage function (view) => number; negative drops (default: pass-through)' },
  { names: ['stage'], value: false, help: 'run a single stage attached to a running cluster (-c ID --in Q --out R)' },
  { names: ['in'], value: true, help: 'with --stage: input queue' },
  { names: ['out'], value: true, help: 'with --stage: output queue (none: the stage releases what it takes)' },
  ...OWNER_FLAGS,
];

function fnSpec(v: unknown): FunctionSpec | undefined {
  if (typeof v !== 'string') return undefined;
  const [mod, exp] = v.split(':');
  return { module: resolve(mod), export: exp ?? 'default' };
}

export async function pipelineCommand(argv: string[]): Promise<number> {
  const a = parseArgs(argv, FLAGS, 'pipeline');
  if (a.help) {
    process.stdout.write(usage('pipeline', 'A chain of queues with one stage per thread or process (zpipeline_ipc). ' +
      'If a stage dies (killed, crashed), the pipeline stops with exit 1 and ERR_RINGZERO_STAGE_DIED naming it. ' +
      'The consumer of the last queue is treated as balance treats its consumers: if it dies, its queue is reclaimed and waits for a new consumer.', FLAGS));
    return 0;
  }
  if (a.stage) return standaloneStage(a);
  const inputs = parseInputs(a.interface, 'pipeline');
  const stages = intFlag(a, 'stages', 1, 1, 32);
  const queues = stages + 1;
  const names = deviceNames(inputs);
  const cluster = createOwnedCluster(a, 'pipeline', queues, names);
  const fn = fnSpec(a.fn);
  const head = startBalancer(cluster, { inputs, outputs: [0], mode: 'round-robin', pool: 0, cpu: a.core !== undefined ? intFlag(a, 'core', 0) : undefined });
  const stageHandles: WorkerHandle[] = [];
  try {
    await head.ready;
    for (let s = 1; s <= stages; s++) {
      const h = a.processes
        ? startStageProcess(cluster.id, { input: s - 1, output: s, fn })
        : startStage(cluster, { input: s - 1, output: s, fn });
      stageHandles.push(h);
      await h.ready;
    }
  } catch (e) {
    for (const h of stageHandles) await h.stop().catch(() => {});
    await head.stop().catch(() => {});
    cluster.close();
    throw e;
  }
  console.error(`Cluster ${cluster.id}: ${inputs.map((i) => (i as { name: string }).name).join(',')} -> q0${Array.from({ length: stages }, (_, s) => ` -> stage ${s + 1}${a.processes ? ' (process)' : ''} -> q${s + 1}`).join('')}\nRun the consumer:\n  ringzero count -i zc:${cluster.id}@${stages}`);
  // A stage that ends on its own ends the run (runOwner watches handle.done);
  // stop() then rethrows why, after stopping the rest.
  let stopping = false;
  let death: StageDiedError | null = null;
  const stageDied = new Promise<never>((_, reject) => {
    stageHandles.forEach((h, i) => {
      const what = `stage ${i + 1} (${'pid' in h ? `process ${h.pid}` : 'thread'}, queue ${i} -> queue ${i + 1})`;
      const died = (e?: Error) => {
        if (stopping || death) return;
        death = new StageDiedError(`pipeline: ${what} ended while the pipeline ran${e ? `: ${e.message.trim().replace(/:$/, '')}` : ''}; ` +
          `nothing drains queue ${i} any more, so the pipeline stopped: find out why the stage died and start the pipeline again`, { cause: e });
        reject(death);
      };
      h.done.then(() => died(), died);
    });
  });
  stageDied.catch(() => {});
  // Stop the stages before the head so nothing is left mid-chain, then report.
  const stopAll = async (): Promise<WorkerStats> => {
    if (!death) stopping = true;
    for (const h of [...stageHandles].reverse()) await h.stop().catch(() => {});
    const s = await head.stop();
    if (death) throw death;
    return s;
  };
  const handle: WorkerHandle = { ready: head.ready, done: Promise.race([head.done, stageDied]), stats: () => head.stats(), stop: stopAll };
  await runOwner(a, {
    command: 'pipeline', cluster, handle, queues,
    drops: (s) => Math.max(0, s.received - s.sent) + stageHandles.reduce((d, h) => { const t = h.stats(); return d + t.drops.fn + t.drops.full + t.drops.invalid + t.drops.error; }, 0),
  });
  return 0;
}

async function standaloneStage(a: ReturnType<typeof parseArgs>): Promise<number> {
  if (a.cluster === undefined || a.in === undefined) throw new UsageError('pipeline --stage: -c CLUSTER and --in QUEUE are required');
  const { Cluster } = await import('../zc/cluster.js');
  const c = Cluster.attach(intFlag(a, 'cluster', 0, 0, 0xffffffff));
  const h = startStage(c, { input: intFlag(a, 'in', 0), output: a.out !== undefined ? intFlag(a, 'out', 0) : undefined, fn: fnSpec(a.fn) });
  await h.ready;
  console.error(`stage: queue ${a.in} -> ${a.out !== undefined ? `queue ${a.out}` : 'released'} on cluster ${c.id}`);
  // also a SIGINT/SIGTERM that came while the stage was starting (main.ts takes them from the start)
  await Promise.race([whenStopRequested(), h.done.then(() => {}, () => {})]);
  const s = await h.stop().catch((e: Error) => { console.error(`stage: ${e.message}`); return null; });
  if (s && a.json) console.log(JSON.stringify({ packets: s.received, forwarded: s.sent, drops: s.received - s.sent - s.consumed }));
  c.close();
  return 0;
}
