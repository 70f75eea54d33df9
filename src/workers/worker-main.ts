// Entry point of a worker thread: opens the endpoints described in
// workerData, loads the user function, reports 'ready', runs the loop until
// the stop flag is set, then reports 'done'.
import { parentPort, workerData } from 'node:worker_threads';
import { Cluster, type ClusterHandle } from '../zc/cluster.js';
import { native } from '../native/index.js';
import { InvalidArgumentError } from '../errors.js';
import { openEndpoints, type Endpoints } from './endpoints.js';
import { balancerSink, makePicker, runBalancer } from './balancer.js';
import { fanoutSink, runFanout } from './fanout.js';
import { loadUserFunction } from './user-function.js';
import { PacketView, type PacketFunction } from './packet-view.js';
import { META_HASH, META_WORDS } from '../zc/meta.js';
import type { LoopEnv } from './loop.js';
import { FilterBoxReader } from './filter-box.js';
import type { BalancerOptions, FanoutOptions, StageOptions } from './types.js';

export type WorkerJob =
  | { kind: 'balancer'; options: BalancerOptions }
  | { kind: 'fanout'; options: FanoutOptions }
  | { kind: 'stage'; options: StageOptions };

export interface WorkerData {
  job: WorkerJob;
  handle: ClusterHandle;
  counters: Float64Array;
  stop: Int32Array;
  /** input filter replacements (filter-box.ts) */
  filterBox: SharedArrayBuffer;
}

async function main(d: WorkerData): Promise<void> {
  const o = d.job.options;
  if (o.cpu !== undefined) native.pinThread(o.cpu);
  const cluster = Cluster.fromHandle(d.handle);
  const env: LoopEnv = { counters: d.counters, meta: cluster.memory.meta, beat: () => cluster.beat(), stop: d.stop, busy: o.busy ?? false, burst: o.burst ?? 64, drainMs: o.drainMs ?? 2000, filters: new FilterBoxReader(d.filterBox) };
  if (!Number.isInteger(env.burst) || env.burst < 1 || env.burst > 4096) throw new InvalidArgumentError(`burst must be 1..4096, got ${env.burst}`);
  const fn: PacketFunction | null = o.fn ? await loadUserFunction(o.fn) : null;
  let lastError = '';
  const setError = (e: string) => {
    if (e !== lastError) { lastError = e; parentPort!.postMessage({ type: 'fn-error', error: e }); }
  };
  try {
    if (d.job.kind === 'fanout') {
      const f = d.job.options;
      const groups = f.groups ?? f.outputs.map(() => 1);
      if (groups.reduce((a, b) => a + b, 0) !== f.outputs.length || groups.some((g) => !Number.isInteger(g) || g < 1)) {
        throw new InvalidArgumentError(`groups ${groups.join(',')} must be positive and add up to the ${f.outputs.length} outputs`);
      }
      let bits: number[] = [];
      const outQueues = f.outputs.map((s) => (typeof s === 'number' ? s : s.kind === 'queue' ? s.queue : -1));
      let poolRef: Endpoints['pool'] = null;
      const ep = await openEndpoints(cluster, {
        inputs: f.inputs, outputs: f.outputs, pool: f.pool, needPool: true,
        sinkFor: (i, e) => {
          if (poolRef === null) { poolRef = e.pool; bits = e.pool!.enableSharing(outQueues); }
          return fanoutSink(() => e.pool!, () => bits, i);
        },
      });
      if (bits.length === 0) bits = ep.pool!.enableSharing(outQueues);
      const grouped = groups.some((g) => g > 1);
      if (fn && !grouped) {
        const view = new PacketView(cluster.memory);
        const meta = cluster.memory.meta;
        let err = '';
        const maskFn = (b: number): number => {
          try {
            const r = fn(view.load(b));
            meta[b * META_WORDS + META_HASH] = view.hash;
            return r === -3 ? -1 : r;
          } catch (e) {
            err = String((e as Error)?.stack ?? e);
            return -3;
          }
        };
        parentPort!.postMessage({ type: 'ready' });
        runFanout(env, ep, cluster, bits, { groups, hashPicker: null, maskFn, lastError: () => err }, setError);
      } else {
        // In-group choice: the hash (or the function's result) modulo the group size.
        const p = grouped ? makePicker(cluster, f.mode ?? 'five-tuple', fn, 1, false, true) : null;
        parentPort!.postMessage({ type: 'ready' });
        runFanout(env, ep, cluster, bits, { groups, hashPicker: p, maskFn: null, lastError: () => p?.lastError ?? '' }, setError);
      }
    } else {
      const stage = d.job.kind === 'stage';
      const inputs = stage ? [(o as StageOptions).input] : (o as BalancerOptions).inputs;
      const outputs = stage ? ((o as StageOptions).output === undefined ? [] : [(o as StageOptions).output!]) : (o as BalancerOptions).outputs;
      if (!stage && outputs.length === 0) throw new InvalidArgumentError('a balancer needs at least one output');
      const ep = await openEndpoints(cluster, { inputs, outputs, pool: o.pool, needPool: false, sinkFor: balancerSink });
      const mode = stage ? 'round-robin' : (o as BalancerOptions).mode ?? 'five-tuple';
      const picker = makePicker(cluster, mode, fn, outputs.length, stage);
      parentPort!.postMessage({ type: 'ready' });
      runBalancer(env, ep, picker, setError);
    }
  } finally {
    cluster.close();
  }
}

if (parentPort && workerData?.job) {
  main(workerData as WorkerData).then(
    () => parentPort!.postMessage({ type: 'done' }),
    (e) => parentPort!.postMessage({ type: 'error', error: String((e as Error)?.stack ?? e), code: (e as { code?: string }).code, message: (e as Error)?.message }),
  );
}
