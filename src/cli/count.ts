// ringzero count (zcount / pfcount / zcount_ipc): receive and count packets
// from a device or from a queue of another process's cluster.
// Every flag is checked before the input opens (it creates a cluster region
// for a device or a file); from then on everything is closed on every path.
import { META_LEN, META_WIRELEN, META_WORDS } from '../zc/meta.js';
import { parseArgs, usage, intFlag, numFlag, coreFlag, UsageError, type FlagSpec } from './args.js';
import { bufferKiBFlag, openInput } from './endpoint.js';
import { runLoop, type LoopResult } from './loop.js';
import { statsReport, thousands } from './format.js';
import { formatSummary, PacketInfo } from '../net/index.js';
import { META_NSEC, META_SEC } from '../zc/meta.js';
import { FILTER_FLAGS, filterFromArgs } from './filter-option.js';

import { CAPTURE_SLICE_MS, cutFrames, inputKind, metricsPortFlag, recvOrEnd, refuseFlag, startExtras, startNotices } from './capture.js';

/**
 * Packets per receive. 256, not 64: the per-burst work (ring indices, clock
 * read, refill, stats) is spread over more packets. `count -i zc:` on XDP
 * frames at ~6-9 Mpps, three alternating pairs (2026-12-04): 45.1-47.4 ns of
 * CPU per packet with 256, 48.3-52.5 with 64.
 */
const RECV_BURST = 256;

const FLAGS: FlagSpec[] = [
  { names: ['i', 'interface'], value: true, help: 'device (zc:IFACE[@Q] AF_XDP, IFACE AF_PACKET, pcap:FILE) or zc:CLUSTER@QUEUE' },
  { names: ['speed'], value: true, help: 'pcap: inputs: replay speed (1 = recorded pace; default: as fast as possible)' },
  { names: ['c', 'cluster'], value: true, help: 'id of the private cluster used for a network device (default: derived from the pid)' },
  { names: ['n', 'packets'], value: true, help: 'stop after this many packets' },
  { names: ['v', 'verbose'], value: false, help: 'print one line per packet (time, MACs, IPs, ports, length)' },
  { names: ['g', 'core'], value: true, help: 'pin the receive loop to this CPU' },
  { names: ['B', 'buffer-size'], value: true, help: 'kernel capture buffer of a standard device in KiB, like tcpdump -B (default 32768)' },
  { names: ['d', 'duration'], value: true, help: 'stop after this many seconds' },
  { names: ['q', 'quiet'], value: false, help: 'no start line and no per-second stats lines; the Total line at the end stays' },
  { names: ['json'], value: false, help: 'print one JSON object at exit' },
  { names: ['metrics'], value: true, help: 'serve Prometheus metrics on 127.0.0.1:PORT' },
  ...FILTER_FLAGS,
  { names: ['h', 'help'], value: false, help: 'this help' },
];

export async function countCommand(argv: string[]): Promise<number> {
  const a = parseArgs(argv, FLAGS, 'count', { positional: 'filter' });
  if (a.help) { process.stdout.write(usage('count', 'Count packets from a device or a cluster queue (zcount, pfcount, zcount_ipc).\nWords after the options are the filter expression, as with tcpdump.', FLAGS)); return 0; }
  if (typeof a.interface !== 'string') throw new UsageError('count: -i DEVICE is required (e.g. -i zc:eth0@0, -i eth0, -i zc:99@0)');
  const spec = a.interface;
  const kind = inputKind(spec);
  refuseFlag(a, 'speed', '--speed', 'count', spec, kind === 'file', 'sets the replay speed of a pcap: input');
  refuseFlag(a, 'cluster', '-c', 'count', spec, kind === 'device', 'sets the id of the private cluster of a network device (to stop after N packets, use -n N)');
  refuseFlag(a, 'buffer-size', '-B', 'count', spec, kind === 'device' && !spec.startsWith('zc:'), 'sizes the kernel ring of a standard (AF_PACKET) device');
  const limit = intFlag(a, 'packets', 0);
  const duration = numFlag(a, 'duration', 0);
  const verbose = Boolean(a.verbose);
  const quiet = Boolean(a.quiet) || Boolean(a.json);
  const filter = filterFromArgs(a, 'count');
  const core = coreFlag(a, 'count');
  const metricsPort = metricsPortFlag(a);
  const clusterId = a.cluster === undefined ? undefined : intFlag(a, 'cluster', 0, 0, 0xffffffff);
  const speed = numFlag(a, 'speed', 0);
  const bufferKiB = bufferKiBFlag(a);

  const input = openInput(spec, { clusterId, speed, filter: filter?.expression, bufferKiB });
  let packets = 0;
  let bytes = 0;
  let filtered = 0;
  let ended: string | null = null;
  let failure: unknown = null;
  let result: LoopResult;
  let cut: string[] = [];
  const totals = () => ({ packets, bytes, drops: input.drops() });
  try {
    const undo = await startExtras(input, { core, filter, metricsPort, command: 'count', what: 'received', totals, log: (m) => console.error(`count: ${m}`) });
    try {
      if (!a.quiet) console.error(`Capturing from ${input.description}${filter ? ` with filter '${filter.expression}' (${input.filterWhere})` : ''}${input.notice ? `\n  (${input.notice})` : ''}`);
      for (const m of startNotices(input)) console.error(`count: ${m}`);
      const info = new PacketInfo();
      const c = input.cluster;
      const meta = c.memory.meta;
      const bytesView = c.memory.bytes;
      const burst = new Uint32Array(RECV_BURST);
      const onEnd = (closed: string | null, error: unknown) => { ended = closed; failure = error; };
      result = await runLoop({
        durationS: duration,
        totals,
        sliceMs: CAPTURE_SLICE_MS,
        report: quiet ? undefined : statsReport((l) => console.log(l)),
        slice(budgetMs) {
          const end = performance.now() + budgetMs;
          do {
            const n = recvOrEnd(input, burst, limit > 0 ? Math.min(RECV_BURST, limit - packets) : RECV_BURST, onEnd);
            if (n < 0) return false;
            const js = input.jsFilter;
            let accepted = 0;
            for (let i = 0; i < n; i++) {
              const m = burst[i] * META_WORDS;
              const len = meta[m + META_LEN];
              const wire = meta[m + META_WIRELEN] || len;
              if (js !== null && js(bytesView, c.dataOffset(burst[i]), len, wire) === 0) { filtered++; continue; }
              accepted++;
              bytes += wire;
              if (verbose) console.log(formatSummary(bytesView, c.dataOffset(burst[i]), len, { sec: meta[m + META_SEC], nsec: meta[m + META_NSEC], wireLength: wire, info }));
            }
            packets += accepted;
            if (n > 0) input.release(burst, n);
            else if (input.ended()) return false;
            if (limit > 0 && packets >= limit) return false;
          } while (performance.now() < end);
          return true;
        },
      });
    } finally {
      undo();
    }
  } finally {
    // frames not kept whole: -v showed their first bytes (the counts are of wire bytes, whole)
    cut = cutFrames(input).notices;
    input.close();
  }
  if (ended) console.error(`count: ${ended}`);
  for (const m of cut) console.error(`count: ${m}`);
  // The reader of standard output went away (count | head -1): nothing more to say there.
  if (result.reason === 'output-closed' && !failure) return 0;
  if (a.json) {
    console.log(JSON.stringify({ packets: result.packets, bytes: result.bytes, drops: result.drops, duration_s: result.duration_s, pps: result.pps, ...(filter ? { filtered_in_user_space: filtered } : {}) }));
  } else {
    console.log(`Total: ${thousands(result.packets)} pkts (${thousands(result.drops)} drops) - ${thousands(result.bytes)} bytes in ${result.duration_s.toFixed(2)} s, ${thousands(result.pps)} pps`);
  }
  if (failure) throw failure;
  // The owner shutting the cluster down is a normal end; its death is not.
  return ended && !/shut down by its owner/.test(ended) ? 1 : 0;
}
