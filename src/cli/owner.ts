// What the cluster-owning commands (balance, fanout, pipeline) share: the
// cluster, the consumer commands to print, the per-second lines with
// per-queue counters, --json, --metrics, and a clean shutdown that tells
// attached consumers the cluster is gone.
import type { InputSpec } from '../workers/index.js';
import { ownedBufferSize } from './capture-buffers.js';
import { longFrameWarning, xdpFrameLimit } from '../devices/xdp/frame-limit.js';
import { Cluster } from '../zc/cluster.js';
import type { WorkerHandle, WorkerStats } from '../workers/index.js';
import { intFlag, numFlag, UsageError, type FlagSpec, type Parsed } from './args.js';
import { runLoop, type LoopResult } from './loop.js';
import { statsReport, thousands } from './format.js';
import { serveMetrics, type Sample } from './metrics.js';
import { sleepSync } from '../sleep.js';
import { stackNotice } from './endpoint.js';

export const OWNER_FLAGS: FlagSpec[] = [
  { names: ['c', 'cluster'], value: true, help: 'cluster id (required): consumers attach with -i zc:ID@QUEUE' },
  { names: ['q', 'queue-len'], value: true, help: 'slots per queue, a power of two (default 4096)' },
  { names: ['buffers'], value: true, help: 'cluster buffers (default: enough for every queue and device ring)' },
  { names: ['g', 'core'], value: true, help: 'pin the worker thread to this CPU' },
  { names: ['p', 'per-queue'], value: false, help: 'print per-queue stats every second' },
  { names: ['d', 'duration'], value: true, help: 'stop after this many seconds' },
  { names: ['hugepages'], value: true, help: "auto (default), require or never" },
  { names: ['json'], value: false, help: 'print one JSON object at exit' },
  { names: ['metrics'], value: true, help: 'serve Prometheus metrics on 127.0.0.1:PORT' },
  { names: ['quiet'], value: false, help: 'no per-second lines; the Total lines at the end stay' },
  { names: ['vm'], value: true, repeat: true, help: 'QMP_SOCKET of a running QEMU VM: hot-plug the cluster as an ivshmem device (repeatable)' },
  { names: ['vm-args'], value: false, help: 'print the QEMU arguments that cold-plug the cluster into a VM' },
  { names: ['h', 'help'], value: false, help: 'this help' },
];

/** The device names of an owner's inputs ('' for a queue input), for the buffer size and the consumer hints. */
export function deviceNames(inputs: readonly InputSpec[]): string[] {
  return inputs.map((i) => (i.kind === 'device' ? i.name : ''));
}

export function createOwnedCluster(a: Parsed, command: string, queues: number, inputNames: readonly string[]): Cluster {
  const inputs = inputNames.length;
  if (a.cluster === undefined) throw new UsageError(`${command}: -c CLUSTER is required (consumers attach with -i zc:CLUSTER@QUEUE)`);
  const id = intFlag(a, 'cluster', 0, 0, 0xffffffff);
  const qlen = intFlag(a, 'queue-len', 4096, 2, 1 << 24);
  if ((qlen & (qlen - 1)) !== 0) throw new UsageError(`${command}: -q ${qlen}: the queue length must be a power of two`);
  const buffers = a.buffers !== undefined ? intFlag(a, 'buffers', 0, 64) : queues * qlen + inputs * 16384 + 4096; // each zc: input keeps up to 8192 in its fill ring
  const hp = (a.hugepages ?? 'auto') as string;
  if (!['auto', 'require', 'never'].includes(hp)) throw new UsageError(`${command}: --hugepages must be auto, require or never`);
  // An ivshmem BAR must be a power of two: pad the region when it is meant for VMs.
  const forVm = a.vm !== undefined || Boolean(a['vm-args']);
  return Cluster.create({ id, queues, queueLength: qlen, buffers, bufferSize: ownedBufferSize(inputNames), hugepages: hp as 'auto' | 'require' | 'never', powerOfTwoSize: forVm });
}

/**
 * --vm-args prints the cold-plug QEMU arguments; --vm SOCK hot-plugs the
 * region into each running VM. Returns the undo (after cluster.close(), so
 * guests see the cluster closed before their device goes away).
 */
export async function plugVms(a: Parsed, c: Cluster): Promise<() => Promise<void>> {
  if (!a.vm && !a['vm-args']) return async () => {};
  const vm = await import('../vm/index.js');
  if (a['vm-args']) console.error(`QEMU arguments to give a VM this cluster:\n  ${vm.coldplugArgs(c).join(' ')}`);
  const plugs: Awaited<ReturnType<typeof vm.hotplugIvshmem>>[] = [];
  try {
    for (const sock of (a.vm as string[] | undefined) ?? []) {
      plugs.push(await vm.hotplugIvshmem(sock, c));
      console.error(`cluster ${c.id} hot-plugged into the VM at ${sock}; in the guest: ringzero count -i zc:${c.id}@0`);
    }
  } catch (e) {
    for (const p of plugs) await vm.unplugIvshmem(p).catch(() => {});
    throw e;
  }
  return async () => {
    for (const p of plugs) {
      await vm.unplugIvshmem(p).catch((e: Error) => console.error(`unplug from the VM failed (the guest may not have released the device): ${e.message}`));
    }
  };
}

/** Waits for the worker to open its endpoints; if it cannot, stops it and removes the cluster before rethrowing. */
export async function whenReady(handle: WorkerHandle, cluster: Cluster): Promise<void> {
  try {
    await handle.ready;
  } catch (e) {
    await handle.stop().catch(() => {});
    cluster.close();
    throw e;
  }
}

export function consumerHints(c: Cluster, queues: number, inputs: readonly string[] = [], filtered = false): string {
  const lines = [`Cluster ${c.id} is up (${c.hugetlb ? 'hugepages' : c.path}). Run the consumers:`];
  for (let q = 0; q < queues; q++) lines.push(`  ringzero count -i zc:${c.id}@${q}`);
  const xdp = inputs.filter((i) => i.startsWith('zc:')).map((i) => i.slice(3));
  if (xdp.length > 0) lines.push(`(${stackNotice(xdp, filtered)})`);
  const limit = xdpFrameLimit(c.layout.bufferSize, c.layout.headroom);
  for (const i of xdp) {
    const long = longFrameWarning(`zc:${i}`, i.split('@')[0], limit);
    if (long) lines.push(`warning: ${long}`);
  }
  return lines.join('\n');
}

export interface OwnerRun {
  command: string;
  cluster: Cluster;
  handle: WorkerHandle;
  queues: number;
  /** received packets not delivered anywhere, for this command's meaning of "delivered" */
  drops(s: WorkerStats): number;
}

/** Runs until SIGINT/SIGTERM/--duration; prints lines; returns the JSON object printed at exit. */
export async function runOwner(a: Parsed, r: OwnerRun): Promise<Record<string, unknown>> {
  const { cluster: c, handle, queues } = r;
  let unplug: () => Promise<void>;
  try {
    unplug = await plugVms(a, c);
  } catch (e) {
    await handle.stop().catch(() => {});
    c.close();
    throw e;
  }
  const quiet = Boolean(a.quiet) || Boolean(a.json);
  const lines = statsReport((l) => console.log(l));
  const perQueue = Boolean(a['per-queue']);
  // packets and bytes of what the inputs delivered, everywhere (lines, JSON, metrics): what the
  // queues took (forwarded, copies of a group included) is in the per-queue counters
  const totals = () => { const s = handle.stats(); return { packets: s.received, bytes: s.receivedBytes, drops: r.drops(s) }; };
  const collect = (): Sample[] => {
    const s = handle.stats();
    const out: Sample[] = [
      { name: `ringzero_${r.command}_received_total`, help: 'packets received from the inputs', value: s.received },
      { name: `ringzero_${r.command}_received_bytes_total`, help: 'bytes of the packets received from the inputs', value: s.receivedBytes },
      { name: `ringzero_${r.command}_forwarded_total`, help: 'packets accepted by the outputs', value: s.sent },
      { name: `ringzero_${r.command}_drops_total`, help: 'received packets not delivered', value: r.drops(s) },
    ];
    for (let q = 0; q < queues; q++) {
      const k = c.queueCounters(q);
      out.push({ name: 'ringzero_queue_in_total', help: 'packets accepted by the queue', value: k.in, labels: { cluster: c.id, queue: q } });
      out.push({ name: 'ringzero_queue_in_bytes_total', help: 'bytes of the packets accepted by the queue', value: k.inBytes, labels: { cluster: c.id, queue: q } });
      out.push({ name: 'ringzero_queue_out_total', help: 'packets taken by the consumer', value: k.out, labels: { cluster: c.id, queue: q } });
      out.push({ name: 'ringzero_queue_drops_total', help: 'packets dropped because the queue was full', value: k.dropFull, labels: { cluster: c.id, queue: q } });
    }
    return out;
  };
  // A bad or busy --metrics port stops the worker and removes the cluster, as a failed VM plug does.
  if (a.metrics !== undefined) {
    try {
      await serveMetrics(intFlag(a, 'metrics', 0, 1, 65535), collect);
    } catch (e) {
      await handle.stop().catch(() => {});
      c.close();
      await unplug();
      throw e;
    }
  }
  // A worker that ends on its own (an input interface deleted, an error) ends the run too.
  let workerEnded = false;
  handle.done.then(() => { workerEnded = true; }, () => { workerEnded = true; });
  let result: LoopResult;
  try {
    result = await runLoop({
      durationS: numFlag(a, 'duration', 0),
      totals,
      sliceMs: 50,
      // The worker thread does the work; this thread only sleeps between lines.
      slice: (ms) => { sleepSync(ms); return !workerEnded && handle.stats().state !== 'stopped'; },
      report: quiet ? undefined : (now, last, s) => {
        lines(now, last, s);
        if (perQueue) {
          for (let q = 0; q < queues; q++) {
            const k = c.queueCounters(q);
            console.log(`  Q ${q}: ${thousands(k.in)} pkts (${thousands(k.dropFull)} drops) - ${thousands(k.queued)} queued - ${thousands(k.out)} taken`);
          }
        }
      },
    });
  } finally {
    // fall through to the final stats in every case
  }
  // A worker (or a pipeline stage) that failed: the summary of what was done first, as count and
  // dump give theirs, then its error is the command's (exit 1).
  let final: WorkerStats;
  let failure: unknown = null;
  try {
    final = await handle.stop();
  } catch (e) {
    failure = e;
    final = handle.stats(); // the counters as the worker left them
  }
  const perQ = Array.from({ length: queues }, (_, q) => c.queueCounters(q));
  const out = {
    packets: final.received,
    bytes: final.receivedBytes,
    drops: r.drops(final),
    duration_s: result.duration_s,
    pps: result.duration_s > 0 ? final.received / result.duration_s : 0,
    forwarded: final.sent,
    drop_reasons: final.drops,
    kernel_drops: final.inputKernelDrops,
    cut: final.inputTruncated,
    queues: perQ.map((k, q) => ({ queue: q, packets: k.in, bytes: k.inBytes, drops: k.dropFull, taken: k.out, queued: k.queued })),
  };
  const bufferSize = c.layout.bufferSize;
  c.close(); // attached consumers now see ERR_RINGZERO_CLUSTER_CLOSED and exit with that message
  await unplug();
  if (a.json) console.log(JSON.stringify(out));
  else {
    console.log(`Total: ${thousands(out.packets)} pkts received, ${thousands(out.forwarded)} forwarded, ${thousands(out.drops)} dropped in ${out.duration_s.toFixed(2)} s`);
    for (const q of out.queues) console.log(`  Q ${q.queue}: ${thousands(q.packets)} pkts (${thousands(q.drops)} drops), ${thousands(q.taken)} taken by the consumer`);
  }
  if (out.cut > 0) {
    console.error(`${thousands(out.cut)} frames were longer than the ${thousands(bufferSize)}-byte cluster buffers: each kept its first bytes, ` +
      'with its true length as the wire length (jumbo or GSO frames on a standard device: lower the MTU, or turn GRO/GSO off with ethtool -K)');
  }
  if (failure) throw failure;
  return out;
}
