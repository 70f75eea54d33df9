// Part of `npm run bench -- filter`: a zc: capture of traffic where 1% of
// the frames match, with the filter in the XDP program (rejected frames never
// reach the socket) vs in JS after the packet reached user space. Same veth
// pair, same generator (ringzero send at a fixed rate from the namespace),
// receiver pinned to CPU 1 and sleeping in poll() when idle, so its CPU time
// is the work done. Reports receiver CPU ns per offered and per matched packet.
import { execFileSync, spawn } from 'node:child_process';
import { Cluster } from '../src/zc/cluster.js';
import { openDevice } from '../src/devices/index.js';
import { compileFilter } from '../src/filter/index.js';
import { native } from '../src/native/index.js';
import { createVethPair } from '../test/helpers/netns.js';

export interface CaptureRow {
  filter_in: 'xdp' | 'js';
  offered: number;
  matched: number;
  reached_user_space: number;
  cpu_ns_per_offered: number;
  cpu_ns_per_match: number;
}

const EXPR = 'src host 10.0.0.1'; // 1 of the 100 source addresses `send -b 100` cycles through

function runOnce(where: 'xdp' | 'js', seconds: number, pps: number): CaptureRow {
  const veth = createVethPair();
  const c = Cluster.create({ id: 0x46000000 + (process.pid & 0xffff), buffers: 8192, hugepages: 'auto' });
  try {
    const pool = c.pool(0);
    const f = compileFilter(EXPR);
    const dev = openDevice(`zc:${veth.host}`, { memory: c.memory, source: pool, tx: false, ...(where === 'xdp' ? { xdpFilter: f.xdpFunction(), xdpFilterReject: 'drop' as const } : {}) });
    native.pinThread(1);
    const txBefore = peerTx(veth.ns, veth.peer);
    const gen = spawn('ip', ['netns', 'exec', veth.ns, process.execPath, BIN, 'send', '-i', `zc:${veth.peer}`, '-b', '100', '-p', String(pps), '-d', String(seconds), '-g', '0', '-q'], { stdio: ['ignore', 'ignore', 'inherit'] });
    const burst = new Uint32Array(64);
    const match = f.match;
    const bytes = c.memory.bytes;
    let reached = 0;
    let matched = 0;
    const cpu0 = process.cpuUsage();
    const deadline = Date.now() + (seconds + 10) * 1000;
    // Synchronous loop: the generator's exit is seen through its pid.
    while (Date.now() < deadline) {
      const n = dev.recvBurst(burst, 64);
      if (n === 0) {
        if (!dev.wait(50) && gen.exitCode === null && !isRunning(gen.pid!)) break;
        continue;
      }
      reached += n;
      for (let i = 0; i < n; i++) {
        if (where === 'xdp' || match(bytes, c.dataOffset(burst[i]), c.memory.meta[burst[i] * 8], c.memory.meta[burst[i] * 8]) !== 0) matched++;
      }
      pool.free(burst, n);
    }
    const cpu = process.cpuUsage(cpu0);
    dev.close();
    pool.detach();
    // The generator's own output is not read (this loop never yields): count at the interface.
    const offered = peerTx(veth.ns, veth.peer) - txBefore;
    const ns = (cpu.user + cpu.system) * 1000;
    return { filter_in: where, offered, matched, reached_user_space: reached, cpu_ns_per_offered: Math.round(ns / Math.max(1, offered)), cpu_ns_per_match: Math.round(ns / Math.max(1, matched)) };
  } finally {
    c.close();
    veth.remove();
  }
}

function peerTx(ns: string, ifname: string): number {
  return Number(execFileSync('ip', ['netns', 'exec', ns, 'cat', `/sys/class/net/${ifname}/statistics/tx_packets`], { encoding: 'utf8' }));
}

function isRunning(pid: number): boolean {
  try { process.kill(pid, 0); } catch { return false; }
  try {
    return !require_('fs').readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].startsWith('Z');
  } catch { return false; }
}
import { createRequire } from 'node:module';
import { RINGZERO_CLI as BIN } from './harness.js';
const require_ = createRequire(import.meta.url);

export function benchFilterCapture(seconds = 3, pps = 200_000): CaptureRow[] {
  if (process.getuid?.() !== 0) return [];
  return [runOnce('xdp', seconds, pps), runOnce('js', seconds, pps)];
}
