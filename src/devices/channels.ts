// How to give an interface more RX queues, for the QueueOutOfRangeError hint.
// Drivers differ: a NIC usually has "combined" channels (ethtool -L IF
// combined N); veth has separate RX and TX ones, enabled up to a maximum
// fixed when the pair was created (numrxqueues), and no combined ones at all.
// What the driver allows is what `ethtool -l` prints (ETHTOOL_MSG_CHANNELS_GET);
// run only on this error path, and when ethtool is missing or the driver
// does not say, the hint names both ways.
import { execFileSync } from 'node:child_process';

/** the driver's maximums (ethtool -l, "Pre-set maximums") */
interface Channels { maxRx: number; maxCombined: number }

/** ethtool's output; null when it failed (the driver has no such operation: EOPNOTSUPP), 'missing' without ethtool */
function run(args: string[]): string | null | 'missing' {
  try {
    return execFileSync('ethtool', args, { encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch (e) {
    return (e as { code?: string }).code === 'ENOENT' ? 'missing' : null;
  }
}

/** `ethtool -l` parsed ("n/a" = 0), or null when the driver does not say. */
function channelsOf(ifname: string): Channels | null {
  const out = run(['-l', ifname]) ?? '';
  const at = out.indexOf('Current hardware settings');
  if (at < 0) return null;
  const num = (part: string, key: string) => Number(new RegExp(`^${key}:\\s*(\\d+)`, 'm').exec(part)?.[1] ?? 0);
  const max = out.slice(0, at);
  return { maxRx: num(max, 'RX'), maxCombined: num(max, 'Combined') };
}

const VETH_AT_CREATION = (ifname: string) =>
  `a veth pair gets its maximum when created (ip link add ${ifname} numrxqueues N numtxqueues N type veth peer name PEER numrxqueues N numtxqueues N)`;

/** A sentence on how `ifname` could get RX queue `queue` (or why it cannot). */
export function moreQueuesHint(ifname: string, queue: number): string {
  const need = queue + 1;
  const info = run(['-i', ifname]);
  if (info === 'missing') {
    // no ethtool to ask: both ways
    return `To add queues: on a NIC 'ethtool -L ${ifname} combined ${need}' (or 'rx ${need}', as its driver offers: ethtool -l ${ifname}); ` +
      `${VETH_AT_CREATION(ifname)}, and 'ethtool -L ${ifname} rx ${need}' enables them up to it.`;
  }
  const veth = /^driver:\s*veth$/m.test(info ?? '');
  const c = channelsOf(ifname);
  if (!c) return `${ifname}'s driver does not let its queues be changed (ethtool -l ${ifname}: not supported).`;
  if (c.maxCombined >= need) return `'ethtool -L ${ifname} combined ${need}' adds it (up to ${c.maxCombined}: ethtool -l ${ifname}).`;
  if (c.maxRx >= need) return `'ethtool -L ${ifname} rx ${need}' adds it (up to ${c.maxRx}: ethtool -l ${ifname}).`;
  const max = Math.max(c.maxCombined, c.maxRx);
  return `${ifname}'s driver allows ${max ? `at most ${max}` : 'no more'} RX queues (ethtool -l ${ifname})` + (veth ? `; ${VETH_AT_CREATION(ifname)}.` : '.');
}
