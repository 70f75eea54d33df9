// What the device benchmarks share (rx.ts, tx.ts, files-live.ts, xdp-gen.ts):
// the CPUs the sides are pinned to, the frame every sender sends, processes
// started in their own group and measured by /proc, and the table printer.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { VethPair } from '../test/helpers/netns.js';

export const FRAME_BYTES = 60;
/** the ringzero command line (dist/src/cli/main.js beside dist/bench/) */
export const RINGZERO_CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
export const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux x86-64
/** trafgen --cpus 1 binds its worker to CPU 0 whatever the affinity it was started with */
export const GEN_CPU = '0';
export const RX_CPU = '1';

// ---- processes -------------------------------------------------------------

/** utime+stime (clock ticks) of every live process in process group `pgid`. */
export function groupCpuTicks(pgid: number): number {
  let ticks = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // fields after "(comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(f[2]) === pgid) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks;
}

export interface Proc {
  child: ChildProcess;
  out: () => string;
  /** SIGINT to the whole group, then SIGKILL if it lingers; resolves with all output */
  stop(graceMs?: number): Promise<string>;
}

/** Starts a command in its own process group; resolves when `ready` matches its output. */
export async function startProc(argv: string[], ready: RegExp | null, timeoutMs = 15_000): Promise<Proc> {
  const child = spawn(argv[0], argv.slice(1), { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (b) => { text += b; });
  child.stderr!.on('data', (b) => { text += b; });
  // 'close', not 'exit': the output may still be on its way when the process has exited
  const exited = new Promise<void>((r) => child.on('close', () => r()));
  let alive = true;
  child.on('exit', () => { alive = false; });
  const signal = (sig: NodeJS.Signals) => { try { process.kill(-child.pid!, sig); } catch { /* gone */ } };
  const proc: Proc = {
    child,
    out: () => text,
    async stop(graceMs = 5000) {
      if (alive) signal('SIGINT');
      const t = setTimeout(() => signal('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
      return text;
    },
  };
  if (ready) {
    const end = Date.now() + timeoutMs;
    while (!ready.test(text)) {
      if (!alive) throw new Error(`${argv.join(' ')} exited before it was ready:\n${text}`);
      if (Date.now() > end) {
        await proc.stop(1000);
        throw new Error(`${argv.join(' ')} not ready after ${timeoutMs} ms:\n${text}`);
      }
      await sleep(20);
    }
  }
  return proc;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function which(bin: string): string | null {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    if (existsSync(join(dir, bin))) return join(dir, bin);
  }
  return null;
}

export function peerCounter(pair: VethPair, counter: string): number {
  return Number(pair.exec('cat', [`/sys/class/net/${pair.peer}/statistics/${counter}`]));
}

/** The frame every RX and TX bench sender sends: FRAME_BYTES bytes, test MACs, the test ethertype (0x88b5), zeros. */
export function benchFrame(): Uint8Array {
  const f = new Uint8Array(FRAME_BYTES);
  f.set([0x02, 0x52, 0x5a, 0x00, 0x00, 0x01, 0x02, 0x52, 0x5a, 0x00, 0x00, 0x02, 0x88, 0xb5]);
  return f;
}

/** A trafgen packet file holding benchFrame(). */
export function trafgenConfig(dir: string): string {
  const file = join(dir, 'frame.cfg');
  const bytes = [...benchFrame()].map((b) => `0x${b.toString(16).padStart(2, '0')}`);
  writeFileSync(file, `{ ${bytes.join(',')} }\n`);
  return file;
}

export function printTable(title: string, rows: ReadonlyArray<object>, cols: string[]): void {
  const get = (r: object, c: string) => (r as Record<string, unknown>)[c];
  const cell = (v: unknown) => (v === undefined || v === null ? '-' : typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : String(v));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(get(r, c)).length)));
  console.log(`\n${title}`);
  console.log(cols.map((c, i) => c.padEnd(widths[i])).join('  '));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(cols.map((c, i) => cell(get(r, c)).padEnd(widths[i])).join('  '));
}

export function testpmdArgs(prefix: string, cpu: string, vdev: string, mode: string, extra: string[] = []): string[] {
  // both lcores (main + forwarding) on one CPU; no hugepages needed, small mbuf pool
  // stdbuf: testpmd's stdout is a pipe here, and we wait for its "ready" line
  return ['stdbuf', '-oL', 'dpdk-testpmd', '--no-huge', '-m', '512', '--no-pci', '--vdev', vdev, '--lcores', `0@${cpu},1@${cpu}`,
    '--file-prefix', prefix, '--log-level', 'lib.eal:error', '--', `--forward-mode=${mode}`, '-a',
    '--total-num-mbufs=16384', ...extra];
}
