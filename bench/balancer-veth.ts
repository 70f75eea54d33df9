// Part of `npm run bench -- balancer`: on a veth pair, the same generated
// traffic (ringzero send at top speed from the namespace, 64 flows, for D
// seconds) received (a) by a plain `ringzero count -i zc:HOST` and (b) by
// `ringzero balance -i zc:HOST -n 2` with two `count` consumer processes.
// The ratio (b)/(a) says what the balancer hop costs; goal >= 0.9.
import { spawn, type ChildProcess } from 'node:child_process';
import { createVethPair, type VethPair } from '../test/helpers/netns.js';
import { RINGZERO_CLI as BIN } from './harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface P { p: ChildProcess; out: string; err: string; done: Promise<void> }
function start(cmd: string, args: string[]): P {
  const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const r: P = { p, out: '', err: '', done: new Promise((res) => p.on('exit', () => res())) };
  p.stdout!.on('data', (d) => { r.out += d; });
  p.stderr!.on('data', (d) => { r.err += d; });
  return r;
}
const cli = (args: string[]) => start(process.execPath, [BIN, ...args]);
const lastJson = (s: string) => JSON.parse(s.trim().split('\n').filter((l) => l.startsWith('{')).pop() ?? '{}');
async function until(cond: () => boolean): Promise<void> { for (let i = 0; i < 400 && !cond(); i++) await sleep(25); }

function generate(v: VethPair, seconds: number): P {
  return start('ip', ['netns', 'exec', v.ns, process.execPath, BIN, 'send', '-i', `zc:${v.peer}`, '-b', '64', '-d', String(seconds), '-g', '0', '-q', '--json']);
}

export interface VethRow { receiver: string; sent: number; counted: number; mpps: number }

export async function benchBalanceVeth(seconds = 3): Promise<{ rows: VethRow[]; ratio: number }> {
  if (process.getuid?.() !== 0) return { rows: [], ratio: NaN };
  const v = createVethPair();
  try {
    // (a) plain count
    const c = cli(['count', '-i', `zc:${v.host}`, '--json', '-g', '1']);
    await until(() => c.err.includes('Capturing'));
    let g = generate(v, seconds);
    await g.done;
    await sleep(300);
    c.p.kill('SIGINT');
    await c.done;
    const plain = { receiver: 'count -i zc:', sent: lastJson(g.out).packets, counted: lastJson(c.out).packets, mpps: 0 };
    plain.mpps = plain.counted / seconds / 1e6;
    // (b) balance -> 2 consumers
    const id = 0x5c000000 + (process.pid & 0xffff);
    const b = cli(['balance', '-i', `zc:${v.host}`, '-c', String(id), '-n', '2', '-g', '1', '--json']);
    await until(() => b.err.includes('Run the consumers'));
    const q = [0, 1].map((k) => cli(['count', '-i', `zc:${id}@${k}`, '--json']));
    await until(() => q.every((x) => x.err.includes('Capturing')));
    g = generate(v, seconds);
    await g.done;
    await sleep(300);
    b.p.kill('SIGINT');
    await Promise.all([b.done, ...q.map((x) => x.done)]);
    const counted = q.reduce((s, x) => s + (lastJson(x.out).packets ?? 0), 0);
    const bal = { receiver: 'balance -n 2 -> 2 x count', sent: lastJson(g.out).packets, counted, mpps: counted / seconds / 1e6 };
    // Both runs last the same time with the same generator: the pps ratio. (On veth both are
    // bound by the generator; `sent` shows how much each run was offered.)
    const ratio = bal.mpps / plain.mpps;
    return { rows: [plain, bal], ratio };
  } finally {
    v.remove();
  }
}
