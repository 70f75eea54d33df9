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
// ringzero receives as its users run it: `ringzero count -i zc:IFACE` and
// `ringzero count -i IFACE`.
// Reported per receiver: frames generated (peer tx counter), frames delivered
// to user space, kernel-reported drops, packets per second delivered, and the
// receiver's CPU time per delivered packet (utime+stime from /proc/PID/stat of
// its whole process group), over the whole run and after the first 2 s of
// traffic (the steady state, without a JIT's start-up compiling). Every
// receiver runs once per round, 3 rounds by default; the table has the
// medians (frames and drops summed), the goal line the medians and each round.
//
//   node dist/bench/rx.js [--seconds 10] [--rounds 3] [--only name,name] [--generator xdp|trafgen|xdp,trafgen]
// 10 s of traffic per receiver by default: in a 3 s window the JIT compiling
// ringzero's packet loop added ~25 ns to its CPU per packet (88 vs ~115 ns).
// Prints a table and a goal line per generator, then one JSON line
// { bench: 'rx', frameBytes, seconds, rounds, runs: [{ generator, rows: [{ ..., samples }] }] }.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createVethPair, type VethPair } from '../test/helpers/netns.js';
import {
  CLK_TCK, FRAME_BYTES, RINGZERO_CLI, GEN_CPU, RX_CPU, groupCpuTicks, peerCounter, printTable, sleep, startProc, testpmdArgs, trafgenConfig, which, type Proc,
} from './harness.js';

const SELF = fileURLToPath(import.meta.url);

// ---- the benchmark ---------------------------------------------------------

/** One receiver's run of `seconds` of traffic. */
export interface RxSample {
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
  failed?: string;
}

/** A receiver over all rounds: sums of frames, medians of rates and costs, every sample. */
export interface RxRow {
  receiver: string;
  generated: number;
  delivered: number;
  drops: number | null;
  /** median over the rounds */
  mpps: number;
  /** the slowest and the fastest round */
  mppsRange: string;
  cpuNsPerPacket: number | null;
  steadyCpuNsPerPacket: number | null;
  skipped?: string;
  samples: RxSample[];
}

/** Seconds of traffic left out of steadyCpuNsPerPacket. */
export const WARM_UP_S = 2;

interface Receiver {
  name: string;
  bin: string;
  argv(pair: VethPair, prefix: string): string[];
  ready: RegExp;
  /** [delivered, kernel drops] from the output after SIGINT */
  parse(out: string): [number, number | null];
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
  // ringzero as its users run it: `ringzero count` (zcount / pfcount), its JSON summary at SIGINT;
  // the standard device gets tcpdump's 16 MiB kernel buffer (-B 16384) instead of count's 32 MiB
  ...(['zc', 'standard'] as const).map((kind): Receiver => ({
    name: `ringzero count ${kind === 'zc' ? 'zc:' : 'standard'}`, bin: 'taskset',
    argv: (p) => ['taskset', '-c', RX_CPU, process.execPath, RINGZERO_CLI, 'count', '--json',
      ...(kind === 'zc' ? ['-i', `zc:${p.host}`] : ['-i', p.host, '-B', '16384'])],
    ready: /^Capturing from/m,
    parse: (o) => {
      const line = o.split('\n').filter((l) => l.startsWith('{')).pop();
      if (!line) return [0, null];
      const r = JSON.parse(line) as { packets: number; drops: number };
      return [r.packets, r.drops];
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

/** One receiver for `seconds` of traffic from a generator started after it is ready. */
async function runSample(r: Receiver, generator: Generator, pair: VethPair, cfg: string, seconds: number): Promise<RxSample> {
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
    const exit = rx.child.exitCode ?? rx.child.signalCode;
    rx = null;
    const [delivered, drops] = r.parse(out);
    if (delivered === 0) throw new Error(`delivered nothing of ${generated} frames (exit ${exit}); its output: ${out.trim().split('\n').slice(-3).join(' | ')}`);
    const steadyFrames = (peerCounter(pair, 'tx_packets') - genW) * (generated > 0 ? delivered / generated : 0);
    return {
      generated, delivered, drops, mpps: delivered / dt / 1e6,
      cpuNsPerPacket: delivered > 0 ? ((cpu1 - cpu0) * (1e9 / CLK_TCK)) / delivered : null,
      steadyCpuNsPerPacket: steadyFrames > 0 ? ((cpu1 - cpuW) * (1e9 / CLK_TCK)) / steadyFrames : null,
    };
  } catch (e) {
    return { generated: 0, delivered: 0, drops: null, mpps: 0, cpuNsPerPacket: null, steadyCpuNsPerPacket: null, failed: (e as Error).message.split('\n').slice(0, 3).join(' | ') };
  } finally {
    await rx?.stop(2000);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const medianOf = (xs: Array<number | null>): number | null => {
  const v = xs.filter((x): x is number => x !== null);
  return v.length ? median(v) : null;
};

function rowOf(receiver: string, samples: RxSample[]): RxRow {
  const ok = samples.filter((s) => !s.failed);
  const base = { receiver, samples, generated: 0, delivered: 0, drops: null, mpps: 0, mppsRange: '-', cpuNsPerPacket: null, steadyCpuNsPerPacket: null };
  if (ok.length === 0) return { ...base, skipped: `failed: ${samples[0]?.failed ?? 'not run'}` };
  const rates = ok.map((s) => s.mpps);
  return {
    ...base,
    generated: ok.reduce((t, s) => t + s.generated, 0),
    delivered: ok.reduce((t, s) => t + s.delivered, 0),
    drops: ok.some((s) => s.drops !== null) ? ok.reduce((t, s) => t + (s.drops ?? 0), 0) : null,
    mpps: median(rates),
    mppsRange: `${Math.min(...rates).toFixed(3)}-${Math.max(...rates).toFixed(3)}`,
    cpuNsPerPacket: medianOf(ok.map((s) => s.cpuNsPerPacket)),
    steadyCpuNsPerPacket: medianOf(ok.map((s) => s.steadyCpuNsPerPacket)),
    ...(ok.length < samples.length ? { skipped: `${samples.length - ok.length} of ${samples.length} rounds failed: ${samples.find((s) => s.failed)!.failed}` } : {}),
  };
}

/**
 * Every receiver in turn, `rounds` times over (round 1: all receivers, round
 * 2: all again, ...), on one veth pair: a slow or fast phase of this shared
 * machine then falls on every receiver alike, and the medians ignore one odd
 * round. The veth is kernel-bound, so a run's pps is mostly how fast the
 * generator's CPU is at that moment.
 */
export async function runRxBench(opts: { seconds?: number; rounds?: number; only?: string[]; generator?: Generator } = {}): Promise<RxRow[]> {
  const seconds = opts.seconds ?? 10;
  const rounds = opts.rounds ?? 3;
  const generator = opts.generator ?? 'trafgen';
  const dir = mkdtempSync(join(tmpdir(), 'rz-bench-rx-'));
  const cfg = trafgenConfig(dir);
  const pair = createVethPair();
  // XDP frames reach the host end only through its NAPI, which GRO turns on when no XDP program does
  if (generator === 'xdp') execFileSync('ethtool', ['-K', pair.host, 'gro', 'on']);
  const chosen = RECEIVERS.filter((r) => !opts.only || opts.only.some((o) => r.name.includes(o)));
  const missing = new Map<Receiver, string>();
  for (const r of chosen) {
    if (!which(r.bin)) missing.set(r, `${r.bin} not installed`);
    else if (generator === 'trafgen' && !which('trafgen')) missing.set(r, 'trafgen (netsniff-ng package) not installed');
  }
  const samples = new Map<Receiver, RxSample[]>(chosen.map((r) => [r, []]));
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const r of chosen) {
        if (missing.has(r)) continue;
        const s = await runSample(r, generator, pair, cfg, seconds);
        samples.get(r)!.push(s);
        console.error(`  round ${round}/${rounds} ${r.name}: ${s.failed ? `failed: ${s.failed}` : `${s.mpps.toFixed(3)} Mpps, ${s.cpuNsPerPacket?.toFixed(1) ?? '-'} ns/pkt`}`);
      }
    }
  } finally {
    pair.remove();
    rmSync(dir, { recursive: true, force: true });
  }
  return chosen.map((r) => missing.has(r)
    ? { ...rowOf(r.name, []), skipped: missing.get(r)! }
    : rowOf(r.name, samples.get(r)!));
}

const isZc = (r: RxRow) => r.receiver === 'ringzero count zc:';
const isPeer = (r: RxRow) => !r.receiver.startsWith('ringzero');

/**
 * The goal of the devices issue, per generator: zc: pps against the fastest
 * peer, and CPU per packet against that peer's, on the medians; and the same
 * round by round (each round's receivers ran minutes apart, not hours).
 */
export function goalLine(rows: RxRow[]): string {
  const zc = rows.find((r) => isZc(r) && r.delivered > 0);
  const peers = rows.filter((r) => isPeer(r) && r.delivered > 0);
  if (!zc || peers.length === 0) return 'goal: not measured (ringzero zc: or every peer missing)';
  const best = peers.reduce((a, b) => (b.mpps > a.mpps ? b : a));
  const cpu = zc.cpuNsPerPacket !== null && best.cpuNsPerPacket !== null ? zc.cpuNsPerPacket / best.cpuNsPerPacket : NaN;
  const met = zc.mpps >= best.mpps && cpu <= 1;
  let roundsMet = 0;
  const n = zc.samples.length;
  for (let i = 0; i < n; i++) {
    const z = zc.samples[i];
    const inRound = peers.map((p) => p.samples[i]).filter((s) => s && !s.failed && s.delivered > 0);
    if (z.failed || inRound.length === 0) continue;
    const b = inRound.reduce((x, y) => (y.mpps > x.mpps ? y : x));
    if (z.mpps >= b.mpps && z.cpuNsPerPacket !== null && b.cpuNsPerPacket !== null && z.cpuNsPerPacket <= b.cpuNsPerPacket) roundsMet++;
  }
  return `goal (zc: >= best peer's pps at <= its CPU per packet): ${met ? 'met' : 'not met'} on the medians: ` +
    `${(zc.mpps / best.mpps).toFixed(2)}x the pps of ${best.receiver} at ${cpu.toFixed(2)}x its CPU per packet; met in ${roundsMet} of ${n} rounds`;
}

const GENERATORS: Record<Generator, string> = {
  xdp: 'xdp (page-pool XDP frames, as a NIC driver hands them over; bench/xdp-gen.ts)',
  trafgen: 'trafgen (socket buffers from its TX ring; veth copies each once more before XDP sees it)',
};

async function main(): Promise<void> {
  const arg = (n: string) => { const i = process.argv.indexOf(n); return i > 0 ? process.argv[i + 1] : undefined; };
  // both generators by default: each table is one run with every receiver on the same traffic
  const generators = (arg('--generator')?.split(',') ?? ['xdp', 'trafgen']) as Generator[];
  const seconds = Number(arg('--seconds') ?? 10);
  const rounds = Number(arg('--rounds') ?? 3);
  const runs: Array<{ generator: Generator; rows: RxRow[] }> = [];
  for (const generator of generators) {
    if (!(generator in GENERATORS)) throw new Error(`--generator: ${generator}? use xdp, trafgen or both (xdp,trafgen)`);
    const rows = await runRxBench({ seconds, rounds, only: arg('--only')?.split(','), generator });
    printTable(`RX, ${FRAME_BYTES}-byte frames on veth, generator ${GENERATORS[generator]} on CPU ${GEN_CPU}, receiver on CPU ${RX_CPU}; ` +
      `${rounds} rounds of ${seconds} s per receiver, medians`, rows,
      ['receiver', 'generated', 'delivered', 'drops', 'mpps', 'mppsRange', 'cpuNsPerPacket', 'steadyCpuNsPerPacket', 'skipped']);
    console.log(goalLine(rows));
    runs.push({ generator, rows });
  }
  console.log(JSON.stringify({ bench: 'rx', frameBytes: FRAME_BYTES, seconds, rounds, runs }));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => { console.error(e); process.exit(1); });
}
