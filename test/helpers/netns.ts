// Uniquely named veth pairs with one end in a fresh network namespace, always
// removed afterwards (also on failure and on process exit).
import { execFileSync } from 'node:child_process';

export interface VethPair {
  /** our end, in the root namespace */
  readonly host: string;
  /** the peer, inside `ns` */
  readonly peer: string;
  readonly ns: string;
  /** run a command inside the namespace; returns stdout */
  exec(cmd: string, args: string[], opts?: { input?: string | Buffer; timeout?: number }): string;
  remove(): void;
}

let counter = 0;
const live = new Set<VethPair>();
process.on('exit', () => { for (const p of live) p.remove(); });

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function sysctl(ns: string | null, key: string, value: string): void {
  const args = ['-w', `${key}=${value}`];
  try {
    if (ns) execFileSync('ip', ['netns', 'exec', ns, 'sysctl', ...args], { stdio: 'ignore' });
    else execFileSync('sysctl', args, { stdio: 'ignore' });
  } catch { /* IPv6 may be compiled out: then there is nothing to silence */ }
}

/**
 * Creates `rzNNNNNhK` (host end) and `rzNNNNNpK` (in namespace `rz-test-PID-K`).
 * IPv6 is disabled on both ends so no router or neighbour solicitations add
 * packets the tests did not send.
 */
export function createVethPair(opts: { mtu?: number; queues?: number } = {}): VethPair {
  const k = counter++;
  const tag = `${process.pid % 100000}${String.fromCharCode(97 + (k % 26))}${Math.floor(k / 26)}`;
  const host = `rz${tag}h`;
  const peer = `rz${tag}p`;
  const ns = `rz-test-${process.pid}-${k}`;
  let removed = false;
  const pair: VethPair = {
    host, peer, ns,
    exec(cmd, args, o = {}) {
      return execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], {
        input: o.input, timeout: o.timeout ?? 60_000, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'],
      });
    },
    remove() {
      if (removed) return;
      removed = true;
      live.delete(pair);
      try { ip('link', 'del', host); } catch { /* already gone with the namespace */ }
      try { ip('netns', 'del', ns); } catch { /* never created */ }
    },
  };
  live.add(pair);
  try {
    ip('netns', 'add', ns);
    const q = opts.queues ? ['numtxqueues', String(opts.queues), 'numrxqueues', String(opts.queues)] : [];
    ip('link', 'add', host, ...q, 'type', 'veth', 'peer', 'name', peer, ...q, 'netns', ns);
    sysctl(null, `net.ipv6.conf.${host}.disable_ipv6`, '1');
    sysctl(ns, `net.ipv6.conf.${peer}.disable_ipv6`, '1');
    if (opts.mtu) {
      ip('link', 'set', host, 'mtu', String(opts.mtu));
      ip('-n', ns, 'link', 'set', peer, 'mtu', String(opts.mtu));
    }
    ip('link', 'set', host, 'up');
    ip('-n', ns, 'link', 'set', peer, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
  } catch (e) {
    pair.remove();
    throw e;
  }
  return pair;
}

/** Runs `fn` with a fresh pair and removes the pair whatever happens. */
export async function withVethPair<T>(fn: (p: VethPair) => Promise<T> | T, opts?: { mtu?: number; queues?: number }): Promise<T> {
  const p = createVethPair(opts);
  try {
    return await fn(p);
  } finally {
    p.remove();
  }
}
