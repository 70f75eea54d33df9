// TX benchmark: one veth pair; in turn each sender, pinned to CPU 0 (trafgen
// pins itself there), sends 60-byte frames (64 on a wire with FCS) out of the
// host end as fast as it can: trafgen, dpdk-testpmd txonly over net_af_xdp and
// net_af_packet, tcpreplay --topspeed, ringzero zc: and ringzero standard.
// Frames are counted where they arrive (the peer's rx_packets; its stack then
// discards them, having no handler for the ethertype), and the
// sender's CPU time (utime+stime of its process group) is divided by them.
// Orders of magnitude only: veth is kernel-bound, and the peer's receive
// processing runs on the sender's CPU.
//
//   node dist/bench/tx.js [--seconds 3] [--only name,name]
// Prints a table, then one JSON line { bench: 'tx', rows }.
//
// Also the ringzero sender itself: node dist/bench/tx.js --sender DEVICE
// (prints "ready", sends until SIGINT, prints one JSON line).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Cluster, META_LEN, META_OFF, META_WORDS } from '../src/zc/index.js';
import { openDevice } from '../src/devices/index.js';
import { createVethPair, type VethPair } from '../test/helpers/netns.js';
import {
  CLK_TCK, FRAME_BYTES, GEN_CPU, benchFrame, groupCpuTicks, peerCounter, printTable, sleep, startProc, testpmdArgs, trafgenConfig, which, type Proc,
} from './harness.js';

const SELF = fileURLToPath(import.meta.url);
const TX_CPU = GEN_CPU;

export interface TxRow {
  sender: string;
  /** frames that arrived at the peer */
  delivered: number;
  mpps: number;
  cpuNsPerPacket: number | null;
  skipped?: string;
}

/** A classic pcap file (LINKTYPE_ETHERNET) with `n` copies of the frame, for tcpreplay. */
function pcapFile(dir: string, n: number): string {
  const f = benchFrame();
  const buf = Buffer.alloc(24 + n * (16 + f.length));
  buf.writeUInt32LE(0xa1b2c3d4, 0);
  buf.writeUInt16LE(2, 4);
  buf.writeUInt16LE(4, 6);
  buf.writeUInt32LE(65535, 16);
  buf.writeUInt32LE(1, 20);
  for (let i = 0, at = 24; i < n; i++, at += 16 + f.length) {
    buf.writeUInt32LE(1, at);
    buf.writeUInt32LE(i, at + 4);
    buf.writeUInt32LE(f.length, at + 8);
    buf.writeUInt32LE(f.length, at + 12);
    buf.set(f, at + 16);
  }
  const file = join(dir, 'frames.pcap');
  writeFileSync(file, buf);
  return file;
}

interface Sender {
  name: string;
  bin: string;
  argv(pair: VethPair, files: { cfg: string; pcap: string }, prefix: string): string[];
  /** null: give it a moment instead */
  ready: RegExp | null;
}

const SENDERS: Sender[] = [
  {
    name: 'trafgen', bin: 'trafgen',
    argv: (p, f) => ['taskset', '-c', TX_CPU, 'trafgen', '--dev', p.host, '--conf', f.cfg, '--cpus', '1', '--no-sock-mem', '--notouch-irq'],
    ready: null,
  },
  {
    name: 'dpdk-testpmd txonly net_af_xdp', bin: 'dpdk-testpmd',
    argv: (p, _f, prefix) => testpmdArgs(prefix, TX_CPU, `net_af_xdp0,iface=${p.host}`, 'txonly', [`--txpkts=${FRAME_BYTES}`]),
    ready: /Press enter to exit/,
  },
  {
    name: 'dpdk-testpmd txonly net_af_packet', bin: 'dpdk-testpmd',
    argv: (p, _f, prefix) => testpmdArgs(prefix, TX_CPU, `net_af_packet0,iface=${p.host}`, 'txonly', [`--txpkts=${FRAME_BYTES}`]),
    ready: /Press enter to exit/,
  },
  {
    name: 'tcpreplay --topspeed', bin: 'tcpreplay',
    argv: (p, f) => ['taskset', '-c', TX_CPU, 'tcpreplay', '-i', p.host, '--topspeed', '--loop=0', '--preload-pcap', '-q', f.pcap],
    ready: null,
  },
  ...(['zc', 'standard'] as const).map((kind): Sender => ({
    name: `ringzero ${kind === 'zc' ? 'zc:' : 'standard'}`, bin: 'taskset',
    argv: (p) => ['taskset', '-c', TX_CPU, process.execPath, SELF, '--sender', kind === 'zc' ? `zc:${p.host}` : p.host],
    ready: /^ready$/m,
  })),
];

export async function runTxBench(opts: { seconds?: number; only?: string[] } = {}): Promise<TxRow[]> {
  const seconds = opts.seconds ?? 3;
  const rows: TxRow[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'rz-bench-tx-'));
  const files = { cfg: trafgenConfig(dir), pcap: pcapFile(dir, 1000) };
  const pair = createVethPair();
  try {
    for (const s of SENDERS) {
      if (opts.only && !opts.only.some((o) => s.name.includes(o))) continue;
      const base = { sender: s.name, delivered: 0, mpps: 0, cpuNsPerPacket: null };
      if (!which(s.bin)) { rows.push({ ...base, skipped: `${s.bin} not installed` }); continue; }
      let tx: Proc | null = null;
      try {
        // counting starts once the sender is up (and for the others right at launch)
        tx = await startProc(s.argv(pair, files, `rzbench${process.pid}`), s.ready);
        if (!s.ready) await sleep(200);
        const pgid = tx.child.pid!;
        const rx0 = peerCounter(pair, 'rx_packets');
        const cpu0 = groupCpuTicks(pgid);
        const t0 = performance.now();
        await sleep(seconds * 1000);
        const cpu1 = groupCpuTicks(pgid);
        const delivered = peerCounter(pair, 'rx_packets') - rx0;
        const dt = (performance.now() - t0) / 1000;
        await tx.stop();
        tx = null;
        rows.push({
          sender: s.name, delivered, mpps: delivered / dt / 1e6,
          cpuNsPerPacket: delivered > 0 ? ((cpu1 - cpu0) * (1e9 / CLK_TCK)) / delivered : null,
        });
      } catch (e) {
        rows.push({ ...base, skipped: `failed: ${(e as Error).message.split('\n').slice(0, 3).join(' | ')}` });
      } finally {
        await tx?.stop(2000);
      }
      await sleep(200);
    }
  } finally {
    pair.remove();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

// ---- ringzero sender (child process) ---------------------------------------

const NAP = new Int32Array(new SharedArrayBuffer(4));

async function sender(device: string): Promise<void> {
  const cluster = Cluster.create({ id: 0x52c00000 + (process.pid & 0xfffff), buffers: 16384 });
  const pool = cluster.pool();
  const m = cluster.memory;
  const dev = openDevice(device, { memory: m, source: pool, rx: false, ringSize: 4096, txFrames: 4096 });
  // every buffer holds the frame once: sending is then only moving indices
  const f = benchFrame();
  for (let i = 0; i < m.bufferCount; i++) {
    m.bytes.set(f, m.bufferOffset + i * m.bufferSize + m.headroom);
    m.meta[i * META_WORDS + META_LEN] = f.length;
    m.meta[i * META_WORDS + META_OFF] = m.headroom;
  }
  let stop = false;
  process.on('SIGINT', () => { stop = true; });
  process.stdout.write('ready\n');
  const burst = new Uint32Array(64);
  let sent = 0;
  while (!stop) {
    const until = performance.now() + 20;
    while (performance.now() < until) {
      // offer only what the TX ring takes (as send does): a full ring waits for the kernel, nothing is dropped
      const room = dev.txRoom();
      const k = room > 0 ? pool.alloc(burst, room < 64 ? room : 64) : 0;
      if (k === 0) { dev.flush(); Atomics.wait(NAP, 0, 0, 0.05); continue; } // ring full or all buffers in flight
      sent += dev.sendBurst(burst, k);
    }
    await new Promise((r) => setImmediate(r));
  }
  for (let t = 0; t < 100 && dev.flush() > 0; t++) Atomics.wait(NAP, 0, 0, 1);
  const st = dev.stats();
  dev.close();
  cluster.close();
  process.stdout.write(JSON.stringify({ sent, txRingFull: st.txRingFull, mode: dev.mode }) + '\n');
}

async function main(): Promise<void> {
  const arg = (n: string) => { const i = process.argv.indexOf(n); return i > 0 ? process.argv[i + 1] : undefined; };
  if (arg('--sender')) return sender(arg('--sender')!);
  const rows = await runTxBench({ seconds: Number(arg('--seconds') ?? 3), only: arg('--only')?.split(',') });
  printTable(`TX, ${FRAME_BYTES}-byte frames on veth (sender on CPU ${TX_CPU}, counted at the peer)`, rows,
    ['sender', 'delivered', 'mpps', 'cpuNsPerPacket', 'skipped']);
  console.log(JSON.stringify({ bench: 'tx', frameBytes: FRAME_BYTES, rows }));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => { console.error(e); process.exit(1); });
}
