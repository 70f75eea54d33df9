// ringzero demo (`npm run demo`): the main job on its own veth pair.
//   namespace rz-demo-PID with one end of a fresh veth pair
//   ringzero send (in the namespace) -> veth -> ringzero balance -i zc:HOST -n 2
//   -> two `ringzero count` consumer processes
// Shows the balancer's live stats, then the totals: every packet sent is
// either counted by a consumer or counted as a drop somewhere. Removes
// everything it made, also on Ctrl-C.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs, usage, intFlag, numFlag, UsageError, type FlagSpec } from './args.js';
import { thousands } from './format.js';
import { Cluster } from '../zc/cluster.js';

const FLAGS: FlagSpec[] = [
  { names: ['d', 'duration'], value: true, help: 'seconds of traffic (default 5)' },
  { names: ['p', 'pps'], value: true, help: 'packets per second sent (default 100000)' },
  { names: ['b', 'sources'], value: true, help: 'flows: distinct source IPs (default 256)' },
  { names: ['c', 'cluster'], value: true, help: 'cluster id (default 99)' },
  { names: ['json'], value: false, help: 'print the totals as one JSON object' },
  { names: ['h', 'help'], value: false, help: 'this help' },
];

const BIN = fileURLToPath(new URL('./main.js', import.meta.url));

interface Proc { p: ChildProcess; out: string; err: string; done: Promise<number | null> }

function run(args: string[], opts: { ns?: string; echo?: (line: string) => void } = {}): Proc {
  const argv = opts.ns ? ['ip', ['netns', 'exec', opts.ns, process.execPath, BIN, ...args]] as const : [process.execPath, [BIN, ...args]] as const;
  const p = spawn(argv[0], [...argv[1]], { stdio: ['ignore', 'pipe', 'pipe'] });
  const r: Proc = { p, out: '', err: '', done: new Promise((res) => p.on('exit', (code) => res(code))) };
  p.stdout!.on('data', (d: Buffer) => {
    r.out += d;
    if (opts.echo) for (const l of d.toString().split('\n')) if (l) opts.echo(l);
  });
  p.stderr!.on('data', (d: Buffer) => { r.err += d; });
  return r;
}

const lastJson = (s: string) => JSON.parse(s.trim().split('\n').filter((l) => l.startsWith('{')).pop() ?? '{}');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ip = (...a: string[]) => execFileSync('ip', a, { stdio: ['ignore', 'ignore', 'pipe'] });

export async function demoCommand(argv: string[]): Promise<number> {
  const a = parseArgs(argv, FLAGS, 'demo');
  if (a.help) { process.stdout.write(usage('demo', 'Balance generated traffic on a private veth pair to two consumer processes.', FLAGS)); return 0; }
  if (process.getuid?.() !== 0) throw new UsageError('demo: run as root (it creates a network namespace, a veth pair and AF_XDP sockets)');
  const seconds = numFlag(a, 'duration', 5, 0.5);
  const pps = intFlag(a, 'pps', 100_000, 1);
  const sources = intFlag(a, 'sources', 256, 1, 65536);
  const id = intFlag(a, 'cluster', 99, 0, 0xffffffff);
  const tag = process.pid % 100000;
  const ns = `rz-demo-${process.pid}`;
  const host = `rzd${tag}h`;
  const peer = `rzd${tag}p`;
  const children: ChildProcess[] = [];
  const cleanup = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    try { ip('link', 'del', host); } catch { /* gone */ }
    try { ip('netns', 'del', ns); } catch { /* gone */ }
  };
  const onSignal = () => { cleanup(); process.exit(130); };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    ip('netns', 'add', ns);
    ip('link', 'add', host, 'type', 'veth', 'peer', 'name', peer, 'netns', ns);
    for (const [where, dev] of [[null, host], [ns, peer]] as const) {
      const pre = where ? ['netns', 'exec', where] : [];
      try { execFileSync(where ? 'ip' : 'sysctl', [...pre, ...(where ? ['sysctl'] : []), '-qw', `net.ipv6.conf.${dev}.disable_ipv6=1`], { stdio: 'ignore' }); } catch { /* no IPv6 */ }
    }
    ip('link', 'set', host, 'up');
    ip('-n', ns, 'link', 'set', peer, 'up');
    console.log(`demo: veth ${host} <-> ${peer} (namespace ${ns}); ${thousands(pps)} pps for ${seconds} s from ${sources} flows\n`);

    const bal = run(['balance', '-i', `zc:${host}`, '-c', String(id), '-n', '2', '--json']);
    children.push(bal.p);
    for (let i = 0; i < 200 && !bal.err.includes('Run the consumers'); i++) {
      if (bal.p.exitCode !== null) throw new UsageError(`demo: balance failed: ${bal.err.trim()}`);
      await sleep(25);
    }
    const consumers = [0, 1].map((q) => run(['count', '-i', `zc:${id}@${q}`, '--json']));
    children.push(...consumers.map((c) => c.p));
    for (let i = 0; i < 200 && !consumers.every((c) => c.err.includes('Capturing')); i++) await sleep(25);
    const sender = run(['send', '-i', peer, '-p', String(pps), '-n', String(Math.round(pps * seconds)), '-b', String(sources), '--json'], { ns });
    children.push(sender.p);
    // Live view: the queues' counters, read from shared memory like `ringzero stats -c` does.
    const view = Cluster.attach(id);
    let last = [0, 0];
    let lastT = Date.now();
    const tick = setInterval(() => {
      const k = [0, 1].map((q) => view.queueCounters(q));
      const now = Date.now();
      const s = (now - lastT) / 1000;
      const line = k.map((c, q) => `Q${q} ${thousands(c.in)} pkts (${thousands(c.dropFull)} drops, ${thousands((c.in - last[q]) / s)} pps)`).join('  |  ');
      console.log(`[live] ${line}`);
      last = k.map((c) => c.in);
      lastT = now;
    }, 1000);
    await sender.done;
    await sleep(1000); // let the last packets through the queues
    clearInterval(tick);
    view.close();
    bal.p.kill('SIGINT');
    await bal.done;
    await Promise.all(consumers.map((c) => c.done));
    const sent = lastJson(sender.out);
    const b = lastJson(bal.out);
    const counted = consumers.map((c) => lastJson(c.out).packets as number);
    const queueDrops = (b.queues as Array<{ drops: number }>).reduce((s, q) => s + q.drops, 0);
    const kernelDrops = (b.kernel_drops as number | undefined) ?? 0;
    const notReceived = sent.packets - b.packets;
    const totals = {
      sent: sent.packets,
      received_by_balance: b.packets,
      counted_by_consumers: counted,
      balance_drops: b.drops,
      queue_drops: queueDrops,
      kernel_drops: kernelDrops,
      lost_before_balance: notReceived,
      ok: sent.packets === counted[0] + counted[1] + b.drops + notReceived && notReceived === kernelDrops,
    };
    if (a.json) console.log(JSON.stringify(totals));
    else {
      console.log(`\ndemo totals:`);
      console.log(`  sent                 ${thousands(totals.sent)}`);
      console.log(`  received by balance  ${thousands(totals.received_by_balance)} (kernel drops at the socket: ${thousands(kernelDrops)})`);
      console.log(`  counted by consumers ${counted.map(thousands).join(' + ')} = ${thousands(counted[0] + counted[1])}`);
      console.log(`  dropped in balance   ${thousands(totals.balance_drops)} (of which queue full: ${thousands(queueDrops)})`);
      console.log(`  ${totals.ok ? 'OK: sent = counted + counted drops' : 'MISMATCH: some packets are not accounted for'}`);
    }
    return totals.ok ? 0 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    cleanup();
  }
}
