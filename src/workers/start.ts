// Starting workers from the calling thread: each runs in its own
// worker_thread over the same cluster mapping, and returns a handle to read
// its counters and stop it. A pipeline stage can also run in a separate
// process that attaches to the cluster by id (startStageProcess).
import { Worker } from 'node:worker_threads';
import { spawn } from 'node:child_process';
import type { Cluster } from '../zc/cluster.js';
import { RingzeroError } from '../errors.js';
import { newCounters, readStats, type WorkerStats } from './counters.js';
import type { WorkerData, WorkerJob } from './worker-main.js';
import { newFilterBox, postFilter } from './filter-box.js';
import type { BalancerOptions, FanoutOptions, StageOptions } from './types.js';

export interface WorkerHandle {
  /** resolves once the endpoints are open and the loop runs; rejects if opening failed */
  readonly ready: Promise<void>;
  /** resolves with the final counters after stop (rejects if the worker failed) */
  readonly done: Promise<WorkerStats>;
  /** the counters right now (shared memory: no message round trip) */
  stats(): WorkerStats;
  /** sets the stop flag; resolves with the final counters */
  stop(): Promise<WorkerStats>;
  /**
   * Replaces the kernel filter of every input device (XDP subprogram for zc:,
   * classic BPF for AF_PACKET) between bursts; applied within ~100 ms.
   */
  setInputFilter?(socketProgram: Uint8Array, xdpFunction: Uint8Array): void;
}

/** Rebuilds an error posted by a worker, keeping its code. */
function workerError(m: { error: string; code?: string; message?: string }): Error {
  const e = new RingzeroError(m.code ?? 'ERR_RINGZERO_WORKER', m.message ?? m.error);
  e.stack = m.error;
  return e;
}

function startThread(cluster: Cluster, job: WorkerJob, outputs: number): WorkerHandle {
  const counters = newCounters();
  const stop = new Int32Array(new SharedArrayBuffer(8));
  const filterBox = newFilterBox();
  const data: WorkerData = { job, handle: cluster.handle(), counters, stop, filterBox };
  const w = new Worker(new URL('./worker-main.js', import.meta.url), { workerData: data });
  let lastError: string | undefined;
  let readyResolve!: () => void;
  let readyReject!: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => { readyResolve = res; readyReject = rej; });
  const done = new Promise<WorkerStats>((resolve, reject) => {
    w.on('message', (m) => {
      if (m.type === 'ready') readyResolve();
      else if (m.type === 'fn-error') lastError = m.error;
      else if (m.type === 'done') resolve(readStats(counters, outputs, lastError));
      else if (m.type === 'error') { const e = workerError(m); readyReject(e); reject(e); }
    });
    w.once('error', (e) => { readyReject(e); reject(e); });
    w.once('exit', (code) => {
      const e = new RingzeroError('ERR_RINGZERO_WORKER', `worker exited with code ${code} before finishing`);
      readyReject(e);
      reject(e);
    });
  });
  ready.catch(() => {});
  done.catch(() => {});
  return {
    ready,
    done,
    stats: () => readStats(counters, outputs, lastError),
    stop() {
      Atomics.store(stop, 0, 1);
      Atomics.notify(stop, 0);
      return done;
    },
    setInputFilter(socketProgram, xdpFunction) {
      postFilter(filterBox, socketProgram, xdpFunction);
      Atomics.notify(stop, 0); // wake a sleeping loop so it looks at the box
    },
  };
}

/** N inputs -> M outputs, one output per packet by hash mode or user function. */
export function startBalancer(cluster: Cluster, options: BalancerOptions): WorkerHandle {
  return startThread(cluster, { kind: 'balancer', options }, options.outputs.length);
}

/** Every packet to every output (or to a function's mask, or one output per group), buffers shared, not copied. */
export function startFanout(cluster: Cluster, options: FanoutOptions): WorkerHandle {
  return startThread(cluster, { kind: 'fanout', options }, options.outputs.length);
}

/** One pipeline stage in a thread: input queue -> function -> output (or release, for a last stage). */
export function startStage(cluster: Cluster, options: StageOptions): WorkerHandle {
  return startThread(cluster, { kind: 'stage', options }, options.output === undefined ? 0 : 1);
}

/**
 * One pipeline stage in a separate process, attached to the cluster by id.
 * The process prints `ready`, `stats {json}` lines every `statsMs` and
 * `done {json}` on SIGTERM/SIGINT (stop() sends SIGTERM).
 */
export function startStageProcess(clusterId: number, options: StageOptions, statsMs = 100): WorkerHandle & { pid: number } {
  const child = spawn(process.execPath, [new URL('./stage-process.js', import.meta.url).pathname, JSON.stringify({ clusterId, options, statsMs })], { stdio: ['ignore', 'pipe', 'pipe'] });
  const outputs = options.output === undefined ? 0 : 1;
  let latest: WorkerStats = readStats(newCounters(), outputs);
  let buf = '';
  let err = '';
  let final: WorkerStats | null = null;
  let failure: Error | null = null;
  let readyResolve!: () => void;
  let readyReject!: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => { readyResolve = res; readyReject = rej; });
  child.stdout!.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line === 'ready') readyResolve();
      else if (line.startsWith('stats ')) latest = JSON.parse(line.slice(6));
      else if (line.startsWith('done ')) final = latest = JSON.parse(line.slice(5));
      else if (line.startsWith('error ')) failure = workerError(JSON.parse(line.slice(6)));
    }
  });
  child.stderr!.on('data', (d) => { err += d; });
  const done = new Promise<WorkerStats>((resolve, reject) => {
    child.once('exit', (code, signal) => {
      if (final) resolve(final);
      else {
        const e = failure ?? new RingzeroError('ERR_RINGZERO_WORKER', `stage process ${child.pid} ended (code ${code}, signal ${signal}) without final stats: ${err}`);
        readyReject(e);
        reject(e);
      }
    });
  });
  ready.catch(() => {});
  done.catch(() => {});
  return {
    pid: child.pid ?? -1,
    ready,
    done,
    stats: () => latest,
    stop() {
      child.kill('SIGTERM');
      return done;
    },
  };
}
