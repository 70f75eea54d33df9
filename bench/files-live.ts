// Part of `npm run bench -- files`: live capture to a file on tmpfs, on the
// same veth pair and traffic (trafgen, 60-byte frames, CPU 0): `ringzero dump`
// (zc: and standard) vs `tcpdump -w`, receiver on CPU 1. Reports packets
// written (counted back from the file), pps, and receiver CPU ns per packet.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVethPair } from '../test/helpers/netns.js';
import { GEN_CPU, RINGZERO_CLI as CLI, RX_CPU, groupCpuTicks, peerCounter, startProc, trafgenConfig, which } from './harness.js';
import { PcapReader, createPacketRecords } from '../src/pcap/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface LiveRow { writer: string; generated: number; written: number; mpps: number; cpuNsPerPacket: number; fileMB: number; skipped?: string }

function countRecords(path: string): number {
  const r = PcapReader.openSync(path, { onTruncated: 'end' });
  const data = new Uint8Array(256 * 2048);
  const rec = createPacketRecords(256);
  for (let i = 0; i < 256; i++) rec.offset[i] = i * 2048;
  let n = 0;
  let k;
  while ((k = r.readBurst(data, 2048, rec, 256)) > 0) n += k;
  r.close();
  return n;
}

export async function benchFilesLive(seconds = 3): Promise<LiveRow[]> {
  if (process.getuid?.() !== 0) return [];
  const dir = mkdtempSync(join('/dev/shm', 'rz-bench-live-'));
  const cfgDir = mkdtempSync(join(tmpdir(), 'rz-bench-live-'));
  const cfg = trafgenConfig(cfgDir);
  const pair = createVethPair();
  const rows: LiveRow[] = [];
  try {
    const writers: Array<[string, (out: string) => string[], RegExp]> = [
      ['tcpdump -w (tmpfs)', (out) => ['taskset', '-c', RX_CPU, 'tcpdump', '-i', pair.host, '-w', out, '-n', '-B', '16384', '-Z', 'root'], /listening on/],
      ['ringzero dump -i zc:', (out) => ['taskset', '-c', RX_CPU, process.execPath, CLI, 'dump', '-i', `zc:${pair.host}`, '-w', out], /capturing/],
      ['ringzero dump -i IFACE', (out) => ['taskset', '-c', RX_CPU, process.execPath, CLI, 'dump', '-i', pair.host, '-w', out], /capturing/],
    ];
    for (const [name, argv, ready] of writers) {
      if (!which('trafgen') || (name.startsWith('tcpdump') && !which('tcpdump'))) { rows.push({ writer: name, generated: 0, written: 0, mpps: 0, cpuNsPerPacket: 0, fileMB: 0, skipped: 'trafgen/tcpdump missing' }); continue; }
      const out = join(dir, `${rows.length}.pcap`);
      const rx = await startProc(argv(out), ready);
      await sleep(300);
      const pgid = rx.child.pid!;
      const gen0 = peerCounter(pair, 'tx_packets');
      const cpu0 = groupCpuTicks(pgid);
      const t0 = performance.now();
      const gen = await startProc(['ip', 'netns', 'exec', pair.ns, 'taskset', '-c', GEN_CPU, 'trafgen', '--dev', pair.peer, '--conf', cfg, '--cpus', '1', '--no-sock-mem', '--notouch-irq'], null);
      await sleep(seconds * 1000);
      await gen.stop();
      const dt = (performance.now() - t0) / 1000;
      await sleep(300);
      const cpu1 = groupCpuTicks(pgid);
      await rx.stop();
      const generated = peerCounter(pair, 'tx_packets') - gen0;
      const written = countRecords(out);
      rows.push({ writer: name, generated, written, mpps: written / dt / 1e6, cpuNsPerPacket: ((cpu1 - cpu0) * 1e7) / Math.max(1, written), fileMB: statSync(out).size / 1e6 });
      rmSync(out, { force: true });
    }
  } finally {
    pair.remove();
    rmSync(dir, { recursive: true, force: true });
    rmSync(cfgDir, { recursive: true, force: true });
  }
  return rows;
}
