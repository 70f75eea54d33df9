// RX benchmark: one veth pair, one generator in the namespace on CPU 0
// (60-byte frames, 64 on a wire with FCS), and in turn each receiver pinned
// to CPU 1: tcpdump -w /dev/null, netsniff-ng, dpdk-testpmd rxonly over
// net_af_xdp and net_af_packet, ringzero zc: and ringzero standard.
// Two generators, one table each:
// - xdp (bench/xdp-gen.ts): page-pool XDP frames handed to the veth as a NIC
//   driver hands them to its XDP program; GRO is turned on at the receiving
//   end for every receiver, since only a NAPI instance takes XDP frames there.
// - trafgen (trafgen pins its worker to CPU 0 itself): socket buffers built on
//   its TX ring's pages; veth copies each into a page of its own before an
//   XDP program sees it (skb_pp_cow_data), so AF_XDP receivers pay two copies
//   on the generator's CPU, AF_PACKET ones one.
// Reported per receiver: frames generated (peer tx counter), frames delivered
// to user space, kernel-reported drops, packets per second delivered, and the
// receiver's CPU time per delivered packet (utime+stime from /proc/PID/stat of
// its whole process group), over the whole run and after the first 2 s of
// traffic (the steady state, without a JIT's start-up compiling). Orders of
// magnitude only: veth is kernel-bound.
//
//   node dist/bench/rx.js [--seconds 10] [--only name,name] [--generator xdp|trafgen|xdp,trafgen]
// 10 s of traffic per receiver by default: in a 3 s window the JIT compiling
// ringzero's packet loop added ~25 ns to its CPU per packet (88 vs ~115 ns).
// Prints a table and a goal line per generator, then one JSON line
// { bench: 'rx', frameBytes, runs: [{ generator, rows }] }.
//
// Also the ringzero receiver itself: node dist/bench/rx.js --receiver DEVICE
// (prints "ready", receives until SIGINT, prints one JSON line).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Cluster } from '../src/zc/index.js';
import { openDevice } from '../src/devices/index.js';
import { Coalescer } from '../src/devices/coalesce.js';
import { createVethPair, type VethPair } from '../test/helpers/netns.js';

export const FRAME_BYTES = 60;
const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux x86-64
const SELF = fileURLToPath(import.meta.url);
/** trafgen --cpus 1 binds its worker to CPU 0 whatever the affinity it was started with */
export const GEN_CPU = '0';
export const RX_CPU = '1';

// ---- process helpers (shared with tx.ts) -----------------------------------

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
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
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

// ---- the benchmark ---------------------------------------------------------

export interface RxRow {
  receiver: string;
  generated: number;
  delivered: number;
  drops: number | null;
  mpps: number;
  cpuNsPerPacket: number | null;
  /**
   * The same after the first WARM_UP_S seconds of traffic (CPU over generated frames,
   * scaled by the share delivered): without start-up work such as a JIT compiling the loop.
   */
  steadyCpuNsPerPacket: number | null;
  skipped?: string;
  /** ringzero receivers: their own counters (bursts, naps, polls, busy ns per packet, kernel stats) */
  detail?: Record<string, unknown>;
}

/** Seconds of traffic left out of steadyCpuNsPerPacket. */
export const WARM_UP_S = 2;

interface Receiver {
  name: string;
  bin: string;
  argv(pair: VethPair, prefix: string): string[];
  ready: RegExp;
  /** [delivered, kernel drops] from the output after SIGINT */
  parse(out: string): [number, number | null, Record<string, unknown>?];
}

const num = (re: RegExp, s: string): number | null => {
  const m = re.exec(s);
  return m ? Number(m[1]) : null;
};

const RECEIVERS: Receiver[] = [
  {
    name: 'tcpdump -w /dev/null', bin: 'tcpdump',
    argv: (p) => ['taskset', '-c', RX_CPU, 'tcpdump', '-i', p.host, '-w', '/dev/null', '-n', '-B', '16384'],
    ready: /listening on/,
    parse: (o) => [num(/(\d+) packets? captured/, o) ?? 0, num(/(\d+) packets? dropped by kernel/, o)],
  },
  {
    name: 'netsniff-ng', bin: 'netsniff-ng',
    argv: (p) => ['taskset', '-c', RX_CPU, 'netsniff-ng', '--in', p.host, '--out', '/dev/null', '--silent', '--no-sock-mem', '--notouch-irq', '-S', '16MiB', '--bind-cpu', RX_CPU],
    ready: /Running/,
    parse: (o) => [num(/(\d+)\s+packets passed filter/, o) ?? 0, num(/(\d+)\s+packets failed filter/, o)],
  },
  {
    name: 'dpdk-testpmd rxonly net_af_xdp', bin: 'dpdk-testpmd',
    argv: (p, prefix) => testpmdArgs(prefix, RX_CPU, `net_af_xdp0,iface=${p.host}`, 'rxonly'),
    ready: /Press enter to exit/,
    parse: (o) => [num(/RX-packets:\s*(\d+)/, o) ?? 0, num(/RX-dropped:\s*(\d+)/, o)],
  },
  {
    name: 'dpdk-testpmd rxonly net_af_packet', bin: 'dpdk-testpmd',
    argv: (p, prefix) => testpmdArgs(prefix, RX_CPU, `net_af_packet0,iface=${p.host}`, 'rxonly'),
    ready: /Press enter to exit/,
    parse: (o) => [num(/RX-packets:\s*(\d+)/, o) ?? 0, num(/RX-dropped:\s*(\d+)/, o)],
  },
  ...(['zc', 'standard'] as const).map((kind): Receiver => ({
    name: `ringzero ${kind === 'zc' ? 'zc:' : 'standard'}`, bin: 'taskset',
    argv: (p) => ['taskset', '-c', RX_CPU, process.execPath, SELF, '--receiver', kind === 'zc' ? `zc:${p.host}` : p.host],
    ready: /^ready$/m,
    parse: (o) => {
      const line = o.split('\n').filter((l) => l.startsWith('{')).pop();
      if (!line) return [0, null];
      const r = JSON.parse(line) as { received: number; kernelDrops: number };
      return [r.received, r.kernelDrops, r];
    },
  })),
];

/** trafgen: socket buffers from a PACKET_TX_RING; xdp: page-pool XDP frames as from a NIC (bench/xdp-gen.ts) */
export type Generator = 'trafgen' | 'xdp';

function generatorArgv(gen: Generator, pair: VethPair, cfg: string): string[] {
  const inNs = ['ip', 'netns', 'exec', pair.ns, 'taskset', '-c', GEN_CPU];
  if (gen === 'xdp') return [...inNs, process.execPath, join(SELF, '..', 'xdp-gen.js'), pair.peer];
  return [...inNs, 'trafgen', '--dev', pair.peer, '--conf', cfg, '--cpus', '1', '--no-sock-mem', '--notouch-irq'];
}

export async function runRxBench(opts: { seconds?: number; only?: string[]; generator?: Generator } = {}): Promise<RxRow[]> {
  const seconds = opts.seconds ?? 10;
  const generator = opts.generator ?? 'trafgen';
  const rows: RxRow[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'rz-bench-rx-'));
  const cfg = trafgenConfig(dir);
  const pair = createVethPair();
  // XDP frames reach the host end only through its NAPI, which GRO turns on when no XDP program does
  if (generator === 'xdp') execFileSync('ethtool', ['-K', pair.host, 'gro', 'on']);
  try {
    for (const r of RECEIVERS) {
      if (opts.only && !opts.only.some((o) => r.name.includes(o))) continue;
      const base = { receiver: r.name, generated: 0, delivered: 0, drops: null, mpps: 0, cpuNsPerPacket: null, steadyCpuNsPerPacket: null };
      if (!which(r.bin)) { rows.push({ ...base, skipped: `${r.bin} not installed` }); continue; }
      if (generator === 'trafgen' && !which('trafgen')) { rows.push({ ...base, skipped: 'trafgen (netsniff-ng package) not installed' }); continue; }
      let rx: Proc | null = null;
      try {
        rx = await startProc(r.argv(pair, `rzbench${process.pid}`), r.ready);
        await sleep(300);
        const pgid = rx.child.pid!;
        const gen0 = peerCounter(pair, 'tx_packets');
        const cpu0 = groupCpuTicks(pgid);
        const t0 = performance.now();
        const gen = await startProc(generatorArgv(generator, pair, cfg), generator === 'xdp' ? /^running$/m : null);
        const warm = Math.min(WARM_UP_S, seconds / 2);
        await sleep(warm * 1000);
        const genW = peerCounter(pair, 'tx_packets');
        const cpuW = groupCpuTicks(pgid);
        await sleep((seconds - warm) * 1000);
        await gen.stop();
        const dt = (performance.now() - t0) / 1000;
        await sleep(300); // let the receiver drain what is queued
        const cpu1 = groupCpuTicks(pgid);
        const generated = peerCounter(pair, 'tx_packets') - gen0;
        const out = await rx.stop();
        rx = null;
        const [delivered, drops, detail] = r.parse(out);
        const steadyFrames = (peerCounter(pair, 'tx_packets') - genW) * (generated > 0 ? delivered / generated : 0);
        rows.push({
          receiver: r.name, generated, delivered, drops, mpps: delivered / dt / 1e6,
          cpuNsPerPacket: delivered > 0 ? ((cpu1 - cpu0) * (1e9 / CLK_TCK)) / delivered : null,
          steadyCpuNsPerPacket: steadyFrames > 0 ? ((cpu1 - cpuW) * (1e9 / CLK_TCK)) / steadyFrames : null,
          ...(detail ? { detail } : {}),
        });
      } catch (e) {
        rows.push({ ...base, skipped: `failed: ${(e as Error).message.split('\n').slice(0, 3).join(' | ')}` });
      } finally {
        await rx?.stop(2000);
      }
    }
  } finally {
    pair.remove();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

// ---- ringzero receiver (child process) -------------------------------------

const NAP = new Int32Array(new SharedArrayBuffer(4));
/** RX ring and fill depth, as the capture commands use (cli/endpoint.ts CAPTURE_RING_FRAMES); 16384 made the generator slower (a larger UMEM working set) */
const RING = 8192;

async function receiver(device: string): Promise<void> {
  // deep rings on both kinds: 8192 frames of AF_XDP fill/RX ring; 16 MiB of TPACKET_V3 blocks
  const cluster = Cluster.create({ id: 0x52b00000 + (process.pid & 0xfffff), buffers: RING * 4 });
  const pool = cluster.pool();
  const dev = openDevice(device, { memory: cluster.memory, source: pool, tx: false, ringSize: RING, blockCount: 16 });
  let stop = false;
  process.on('SIGINT', () => { stop = true; });
  process.stdout.write('ready\n');
  // 256 at a time, as `count` receives (cli/count.ts RECV_BURST; until 2026-12-04 19:45, 64)
  const burst = new Uint32Array(256);
  // As the capture commands do: after a short burst, nap until about a quarter of the ring (8192
  // frames either way) has filled at the recent rate, 0.25 to 8 ms (devices/coalesce.ts).
  let naps = 0, napMs = 0, polls = 0, busyMs = 0;
  const coalesce = new Coalescer(RING, (ms) => { naps++; napMs += ms; Atomics.wait(NAP, 0, 0, ms); });
  let received = 0, bursts = 0, empties = 0;
  while (!stop) {
    // receive for ~20 ms at a time, then let the event loop deliver SIGINT
    const until = performance.now() + 20;
    while (performance.now() < until) {
      coalesce.before();
      const tb = performance.now();
      let n = dev.recvBurst(burst, burst.length);
      // found empty twice: sleep in poll() until traffic comes (as the capture commands' recv does)
      if (n === 0 && coalesce.idle() && (polls++, dev.wait(5))) n = dev.recvBurst(burst, burst.length);
      coalesce.after(n, true);
      if (n === 0) { empties++; continue; }
      bursts++;
      received += n;
      pool.free(burst, n);
      busyMs += performance.now() - tb;
    }
    await new Promise((r) => setImmediate(r));
  }
  const st = dev.stats();
  dev.close();
  cluster.close();
  process.stdout.write(JSON.stringify({ received, bursts, empties, naps, napMs: Math.round(napMs), polls, busyNsPerPacket: busyMs * 1e6 / received, kernelDrops: st.kernelDrops, mode: dev.mode, kernel: st.kernel }) + '\n');
}

/** The goal of the devices issue, per generator: zc: pps against the fastest peer, and CPU per packet against that peer's. */
export function goalLine(rows: RxRow[]): string {
  const zc = rows.find((r) => r.receiver === 'ringzero zc:' && !r.skipped);
  const peers = rows.filter((r) => !r.receiver.startsWith('ringzero') && !r.skipped && r.delivered > 0);
  if (!zc || peers.length === 0) return 'goal: not measured (ringzero zc: or every peer missing)';
  const best = peers.reduce((a, b) => (b.mpps > a.mpps ? b : a));
  const cpu = zc.cpuNsPerPacket !== null && best.cpuNsPerPacket !== null ? zc.cpuNsPerPacket / best.cpuNsPerPacket : NaN;
  const met = zc.mpps >= best.mpps && cpu <= 1;
  return `goal (zc: >= best peer's pps at <= its CPU per packet): ${met ? 'met' : 'not met'}: ` +
    `${(zc.mpps / best.mpps).toFixed(2)}x the pps of ${best.receiver} at ${cpu.toFixed(2)}x its CPU per packet`;
}

const GENERATORS: Record<Generator, string> = {
  xdp: 'xdp (page-pool XDP frames, as a NIC driver hands them over; bench/xdp-gen.ts)',
  trafgen: 'trafgen (socket buffers from its TX ring; veth copies each once more before XDP sees it)',
};

async function main(): Promise<void> {
  const arg = (n: string) => { const i = process.argv.indexOf(n); return i > 0 ? process.argv[i + 1] : undefined; };
  if (arg('--receiver')) return receiver(arg('--receiver')!);
  // both generators by default: each table is one run with every receiver on the same traffic
  const generators = (arg('--generator')?.split(',') ?? ['xdp', 'trafgen']) as Generator[];
  const runs: Array<{ generator: Generator; rows: RxRow[] }> = [];
  for (const generator of generators) {
    if (!(generator in GENERATORS)) throw new Error(`--generator: ${generator}? use xdp, trafgen or both (xdp,trafgen)`);
    const rows = await runRxBench({ seconds: Number(arg('--seconds') ?? 10), only: arg('--only')?.split(','), generator });
    printTable(`RX, ${FRAME_BYTES}-byte frames on veth, generator ${GENERATORS[generator]} on CPU ${GEN_CPU}, receiver on CPU ${RX_CPU}`, rows,
      ['receiver', 'generated', 'delivered', 'drops', 'mpps', 'cpuNsPerPacket', 'steadyCpuNsPerPacket', 'skipped']);
    console.log(goalLine(rows));
    runs.push({ generator, rows });
  }
  console.log(JSON.stringify({ bench: 'rx', frameBytes: FRAME_BYTES, runs }));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => { console.error(e); process.exit(1); });
}
