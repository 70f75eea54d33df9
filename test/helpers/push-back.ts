// A veth peer that pushes back on the sender as a busy NIC does, so a TX ring
// really fills up: the tests of Device.txRoom and of `send` waiting for room.
import { execFileSync, spawn } from 'node:child_process';
import { needTool } from './env.js';
import type { VethPair } from './netns.js';

export const needPushBackTools = (): string | null =>
  needTool('/usr/sbin/ethtool', 'ethtool') ?? needTool('/usr/sbin/tc', 'iproute2');

/**
 * By default veth hands a frame to the peer's stack inside our own send call,
 * so the kernel takes every frame we kick and a TX ring never fills. Here:
 * - the peer gets NAPI (GRO on) run by a kernel thread of its own (threaded),
 *   so veth parks our frames on a 256-slot ring the peer drains at its pace;
 * - TSO off on our end: veth uses that NAPI path only for frames that cannot
 *   be TSO super-frames (veth_skb_is_eligible_for_gro);
 * - a qdisc on our end: when the peer's ring is full, veth (Linux >= 6.16)
 *   stops our TX queue and returns NETDEV_TX_BUSY, and the frame stays in our
 *   TX ring (AF_PACKET re-arms it, AF_XDP leaves the descriptor); with no
 *   qdisc veth drops it instead (counted in our end's tx_dropped).
 */
export function pushBack(pair: VethPair): void {
  execFileSync('ethtool', ['-K', pair.host, 'tso', 'off'], { stdio: 'ignore' });
  execFileSync('tc', ['qdisc', 'replace', 'dev', pair.host, 'root', 'pfifo', 'limit', '1000'], { stdio: 'ignore' });
  pair.exec('ethtool', ['-K', pair.peer, 'gro', 'on']);
  pair.exec('sh', ['-c', `echo 1 > /sys/class/net/${pair.peer}/threaded`]);
}

/**
 * Frames that reached the peer's interface. veth counts rx_packets as it
 * hands a frame over, before the peer's stack sees it: what the stack or a
 * socket drops later is in it (a test frame's ethertype has no handler, so
 * the stack also counts every one in rx_dropped: adding that would count
 * each twice). A count is thus about the sender's losses only.
 */
export function peerArrivals(pair: VethPair): number {
  return Number(pair.exec('cat', [`/sys/class/net/${pair.peer}/statistics/rx_packets`]).trim());
}

/**
 * Makes the peer (after pushBack) drain nothing while it lasts: its NAPI
 * kernel threads (comm `napi/PEER-ID`, cut to 15 characters) go to `cpu` at
 * SCHED_IDLE, and a busy process of ours holds that CPU. veth's 256-slot
 * ring then stays full, and every further frame is the driver's to drop, for
 * certain: on a CPU of its own the thread can drain as fast as a sender on
 * the other fills, and a test that needs drops saw none. Returns the undo
 * (the busy process is killed by its PID; the threads go with the pair).
 */
export function starvePeer(pair: VethPair, cpu: number): () => void {
  const prefix = `napi/${pair.peer}`.slice(0, 15);
  const pids = execFileSync('ps', ['-eo', 'pid=,comm='], { encoding: 'utf8' }).split('\n')
    .map((l) => l.trim().split(/\s+/)).filter(([, comm]) => comm?.startsWith(prefix)).map(([pid]) => pid);
  if (pids.length === 0) throw new Error(`no NAPI thread for ${pair.peer}: call pushBack() first`);
  const hog = spawn('taskset', ['-c', String(cpu), process.execPath, '-e', 'for (;;) {}'], { stdio: 'ignore' });
  for (const pid of pids) {
    execFileSync('taskset', ['-pc', String(cpu), pid], { stdio: 'ignore' });
    execFileSync('chrt', ['-i', '-p', '0', pid], { stdio: 'ignore' });
  }
  return () => { hog.kill('SIGKILL'); };
}
