// Starting the zc-roles fixtures as worker threads and child processes.
import { privateClusterIdOf } from '../../src/cli/endpoint.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { listClusters } from '../../src/zc/admin.js';
import { removeRegion } from '../../src/memory/region.js';
import { Worker } from 'node:worker_threads';
import type { Cluster } from '../../src/zc/cluster.js';

const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url);

export function runInThread<T>(c: Cluster, role: 'produce' | 'consume', opts: object): Promise<T> {
  return new Promise((resolve, reject) => {
    const w = new Worker(fixture('zc-worker.js'), { workerData: { handle: c.handle(), role, opts } });
    w.once('message', (m) => (m.ok ? resolve(m.result as T) : reject(Object.assign(new Error(m.error), { code: m.code }))));
    w.once('error', reject);
    w.once('exit', (code) => { if (code !== 0) reject(new Error(`worker exited with ${code}`)); });
  });
}

export interface Child<T> {
  proc: ChildProcess;
  /** latest progress count printed by the child */
  progress(): number;
  /** resolves with the child's result line (rejects on an error line or a bad exit) */
  result: Promise<T>;
  /** resolves once progress >= n */
  reached(n: number, timeoutMs?: number): Promise<void>;
  lines: string[];
}

export function runInProcess<T>(id: number, role: 'produce' | 'consume', opts: object): Child<T> {
  const proc = spawn(process.execPath, [fixture('zc-child.js').pathname, JSON.stringify({ id, role, opts })], { stdio: ['ignore', 'pipe', 'pipe'] });
  let progress = 0;
  let buf = '';
  let err = '';
  const lines: string[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  let resultLine: string | null = null;
  proc.stdout!.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(line);
      if (line.startsWith('progress ')) progress = Number(line.slice(9));
      else resultLine = line;
      for (const w of waiters.splice(0)) (progress >= w.n ? w.resolve() : waiters.push(w));
    }
  });
  proc.stderr!.on('data', (d) => { err += d; });
  const result = new Promise<T>((resolve, reject) => {
    proc.on('exit', (code, signal) => {
      if (resultLine?.startsWith('result ')) resolve(JSON.parse(resultLine.slice(7)) as T);
      else reject(Object.assign(new Error(`child ${proc.pid} ended (code ${code}, signal ${signal}): ${resultLine ?? ''} ${err}`), { signal, line: resultLine }));
    });
  });
  result.catch(() => {}); // observed by whoever awaits it
  return {
    proc, lines, result,
    progress: () => progress,
    reached(n, timeoutMs = 20_000) {
      if (progress >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`child ${proc.pid} did not reach ${n} (at ${progress}) in ${timeoutMs} ms; stderr: ${err}`)), timeoutMs);
        waiters.push({ n, resolve: () => { clearTimeout(t); resolve(); } });
      });
    },
  };
}

let nextId = 0;
/** A cluster id unlikely to collide with a parallel test run or a user's cluster. */
export function testClusterId(): number {
  return 0x52000000 + ((process.pid & 0xffff) << 8) + (nextId++ & 0xff);
}

/**
 * Removes the cluster regions a child process left when the test killed it
 * (SIGKILL gives the child no chance to close them). Only regions whose owner
 * is that pid and is dead: never another run's.
 */
export function removeRegionsOf(pid: number): void {
  for (const r of listClusters()) {
    if (r.ownerPid === pid && !r.ownerAlive) removeRegion(r.path);
  }
}

/**
 * Cluster regions a process (pid) left: those whose header names it as owner,
 * and its private cluster by name (privateClusterIdOf, cli/endpoint.ts), even
 * half-written. A command that failed must leave none.
 */
export function regionsOfPid(pid: number): string[] {
  const own = `ringzero-cluster-${privateClusterIdOf(pid)}`;
  return listClusters().filter((r) => r.ownerPid === pid || r.path.endsWith(`/${own}`)).map((r) => r.path);
}
