// ringzero send (zsend / pfsend): synthetic UDP frames to a device, at a
// packet rate (-p), a bit rate (-r) or as fast as possible; or a capture file
// replayed (-f, replay.ts).
//
// Every flag is checked and the CPU pinned before anything is created; once
// the device or queue is open, everything runs inside one try/finally that
// closes it, so no error leaves a cluster region behind. A run that ends in an
// error (the interface deleted, the queue's owner gone, a capture file cut
// short) still prints its summary before the error.
import type { Server } from 'node:http';
import { openTx, type TxEndpoint } from './tx-endpoint.js';
import { parseArgs, usage, intFlag, numFlag, UsageError, type FlagSpec, type Parsed } from './args.js';
import { runLoop } from './loop.js';
import { statsReport, thousands } from './format.js';
import { buildFrames } from './frames.js';
import { serveMetrics } from './metrics.js';
import { collectGarbageNow } from '../heap.js';
import { Replayer, warmUpSpin } from './replay.js';
import { SyntheticSender } from './send-synthetic.js';
import { checkFrameLength, checkLinkType, pinToCpu } from './send-checks.js';
import { ClusterClosedError, InterfaceGoneError, LinkDownError } from '../errors.js';

const FLAGS: FlagSpec[] = [
  { names: ['i', 'interface'], value: true, help: 'device to send on (zc:IFACE[@Q] AF_XDP, IFACE AF_PACKET), or zc:CLUSTER@QUEUE: a queue of a running `ringzero cluster`' },
  { names: ['c', 'cluster'], value: true, help: 'id of the private cluster (default: derived from the pid)' },
  { names: ['f', 'file'], value: true, help: "replay this pcap/pcapng file of Ethernet frames ('-' = standard input) instead of synthetic frames; frames longer than the device sends whole (see -l) are skipped, counted and reported" },
  { names: ['speed'], value: true, help: 'replay: multiplier of the recorded pace (default 1)' },
  { names: ['topspeed'], value: false, help: 'replay: as fast as possible' },
  { names: ['loop'], value: true, help: 'replay: play the file N times (0 = forever; default 1)' },
  { names: ['l', 'length'], value: true, help: 'frame length in bytes without FCS (default 60), at most what the device sends whole: for IFACE and zc:IFACE its MTU + 14 (the Ethernet header; replayed frames with a VLAN tag 4 more), for zc:IFACE also 4092 (an AF_XDP frame fits one page), for zc:CLUSTER@Q its buffer size - 4' },
  { names: ['b', 'sources'], value: true, help: 'number of distinct source IPs / flows (default 1)' },
  { names: ['n', 'packets'], value: true, help: 'stop after this many packets (default: until interrupted)' },
  { names: ['p', 'pps'], value: true, help: 'packets per second, at most; while the queue or TX ring is full send waits and the rate clock stops (no catch-up burst afterwards)' },
  { names: ['r', 'gbps'], value: true, help: 'rate in Gbit/s (counting 24 bytes of preamble and gap per frame)' },
  { names: ['g', 'core'], value: true, help: 'pin the send loop to this CPU' },
  { names: ['d', 'duration'], value: true, help: 'stop after this many seconds' },
  { names: ['q', 'quiet'], value: false, help: 'no start line and no per-second stats lines; the Total line at the end stays' },
  { names: ['json'], value: false, help: 'print one JSON object at exit' },
  { names: ['metrics'], value: true, help: 'serve Prometheus metrics on 127.0.0.1:PORT' },
  { names: ['h', 'help'], value: false, help: 'this help' },
];

const SUMMARY = 'Send synthetic UDP frames, or replay a capture file, to a device (zsend, pfsend, tcpreplay). ' +
  'A full queue or device TX ring makes send wait (as zsend does), never drop: it offers only what fits. ' +
  'Other drops: frames refused as invalid (by send, or by the kernel after they were queued), still queued on a link that went down, or skipped as too long.';

/** Templates of every source's frame are built up front; beyond this they would not be worth their memory. */
const MAX_TEMPLATE_BYTES = 256 << 20;

/** Every flag, checked before anything is created. */
function sendOptions(a: Parsed) {
  if (typeof a.interface !== 'string') throw new UsageError('send: -i DEVICE is required (e.g. -i zc:eth0, -i eth0)');
  const replayPath = typeof a.file === 'string' ? a.file : null;
  if (replayPath && (a.length !== undefined || a.sources !== undefined)) throw new UsageError('send: -l and -b describe synthetic frames; they do not apply to -f FILE');
  const length = intFlag(a, 'length', 60, 60, 65535);
  const sources = intFlag(a, 'sources', 1, 1, 65536);
  if (!replayPath && length * sources > MAX_TEMPLATE_BYTES) throw new UsageError(`send: -b ${sources} sources of -l ${length} bytes need ${thousands(length * sources)} bytes of frame templates; use fewer sources or shorter frames`);
  const gbps = numFlag(a, 'gbps', 0);
  const loops = intFlag(a, 'loop', 1);
  if (replayPath === '-' && loops !== 1) throw new UsageError('send: standard input can be played once only (--loop 1); write it to a file to loop it');
  return {
    device: a.interface,
    clusterId: a.cluster === undefined ? undefined : intFlag(a, 'cluster', 0),
    replayPath, length, sources, loops,
    limit: intFlag(a, 'packets', 0),
    pps: a.pps !== undefined ? numFlag(a, 'pps', 0) : gbps > 0 ? (gbps * 1e9) / ((length + 24) * 8) : 0,
    speed: a.topspeed ? 0 : numFlag(a, 'speed', 1),
    core: a.core === undefined ? -1 : intFlag(a, 'core', 0, 0, 1023), // CPU_SETSIZE
    durationS: numFlag(a, 'duration', 0),
    metricsPort: a.metrics === undefined ? 0 : intFlag(a, 'metrics', 0, 1, 65535),
    json: Boolean(a.json),
    quiet: Boolean(a.quiet) || Boolean(a.json),
  };
}

export async function sendCommand(argv: string[]): Promise<number> {
  const a = parseArgs(argv, FLAGS, 'send');
  if (a.help) { process.stdout.write(usage('send', SUMMARY, FLAGS)); return 0; }
  const o = sendOptions(a);
  if (o.core >= 0) {
    const { native } = await import('../native/index.js');
    pinToCpu(o.core, (c) => native.pinThread(c));
  }
  const dev = openTx(o.device, o.clusterId);
  let replay: Replayer | null = null;
  let server: Server | null = null;
  try {
    if (dev.linkState() === 'down') {
      throw new LinkDownError(`send: ${dev.name} is down, nothing could be sent; bring it up first (ip link set ${o.device.replace(/^zc:/, '').replace(/@\d+$/, '')} up)`);
    }
    let synth: SyntheticSender | null = null;
    if (o.replayPath) {
      replay = new Replayer({ path: o.replayPath, speed: o.speed, loops: o.loops, pps: o.pps, limit: o.limit, maxFrame: dev.maxFrame, maxTaggedFrame: dev.maxTaggedFrame, maxQinQFrame: dev.maxQinQFrame }, dev, dev.pool, dev.memory);
      checkLinkType(o.replayPath, replay.linkType);
    } else {
      checkFrameLength(o.length, dev);
      synth = new SyntheticSender(dev, { frames: buildFrames({ length: o.length, sources: o.sources }), pps: o.pps, limit: o.limit });
    }
    const source = (replay ?? synth)!;
    if (!o.quiet) {
      if (replay) console.error(`Replaying ${o.replayPath} on ${dev.name} (${dev.mode}) ${o.speed ? `at ${o.speed}x the recorded pace` : 'at top speed'}${o.pps ? `, at most ${thousands(o.pps)} pps` : ''}`);
      else console.error(`Sending ${o.length}-byte frames from ${o.sources} source IPs on ${dev.name} (${dev.mode})${o.pps ? ` at ${thousands(o.pps)} pps` : ''}`);
    }
    const tooLong = () => replay?.tooLong ?? 0;
    const totals = () => {
      const s = dev.stats();
      // The device's counts, not the sender's: a burst that ended in an error (the interface deleted) was
      // queued all the same. A frame the kernel refused after it was queued (AF_PACKET: longer than the
      // MTU allows, say it was lowered during the run) is a drop, not a packet: the device took it back out
      // of its sent and sentBytes (txRejected). A queue refuses nothing later and counts no bytes: the
      // sender's own count is exact there.
      return {
        packets: s.sent,
        bytes: dev.mode === 'queue' ? source.bytes : s.sentBytes,
        drops: s.txRingFull + s.txInvalid + s.txRejected + tooLong(),
      };
    };
    if (o.metricsPort) {
      server = await serveMetrics(o.metricsPort, () => [
        { name: 'ringzero_send_packets_total', help: 'packets queued for transmission', value: totals().packets },
        { name: 'ringzero_send_bytes_total', help: 'bytes queued for transmission', value: totals().bytes },
        { name: 'ringzero_send_drops_total', help: 'packets not sent (TX ring full, invalid, refused by the kernel, or longer than the device sends)', value: totals().drops },
      ]);
    }
    // A timed replay starts with its spin loop compiled and an empty young generation: no compilation
    // and no collection of start-up garbage pauses its first gaps.
    if (replay && o.speed > 0) { warmUpSpin(); collectGarbageNow(); }
    const t0 = performance.now();
    let failure: unknown = null;
    try {
      await runLoop({
        durationS: o.durationS,
        totals,
        report: o.quiet ? undefined : statsReport((l) => console.log(l)),
        slice: (budgetMs) => source.slice(budgetMs),
      });
    } catch (e) {
      // The interface deleted, the queue's owner gone, a capture file cut short or malformed: what was
      // sent is still said, then the error (as count and dump do).
      failure = e;
    }
    // What is queued still goes, unless the endpoint itself went away.
    if (!endpointGone(failure)) {
      try {
        drain(dev);
      } catch (e) {
        failure ??= e;
      }
    }
    // Frames still queued did not leave (a link that went down, an interface deleted keeps them): they
    // are not packets sent but drops, and their bytes are not sent bytes.
    const left = dev.pending();
    const down = left.frames > 0 && failure === null && dev.linkState() === 'down';
    const t = totals();
    const packets = t.packets - left.frames;
    const bytes = t.bytes - left.bytes;
    const drops = t.drops + left.frames;
    const duration = (performance.now() - t0) / 1000;
    const pps = duration > 0 ? packets / duration : 0;
    if (o.json) console.log(JSON.stringify({ packets, bytes, drops, unsent: left.frames, skipped_too_long: tooLong(), duration_s: duration, pps }));
    else console.log(`Total: ${thousands(packets)} pkts sent (${thousands(drops)} drops) - ${thousands(bytes)} bytes in ${duration.toFixed(2)} s, ${thousands(pps)} pps`);
    if (tooLong() > 0) {
      console.error(`send: ${thousands(tooLong())} frames longer than ${dev.name} sends whole (max ${dev.maxFrame} bytes: ${dev.maxFrameWhy}) were skipped (counted as drops)`);
    }
    if (failure) {
      if (left.frames > 0 && endpointGone(failure)) console.error(`send: ${thousands(left.frames)} frames still queued when ${dev.name} went away were not sent (counted as drops)`);
      throw failure;
    }
    if (down) throw new LinkDownError(`send: ${dev.name} went down: ${thousands(left.frames)} frames still queued were not sent (counted as drops)`);
    return 0;
  } finally {
    replay?.close();
    dev.close();
    server?.close();
  }
}

/** The device's interface or the queue's cluster is gone: nothing queued there will leave. */
const endpointGone = (e: unknown): boolean => e instanceof InterfaceGoneError || e instanceof ClusterClosedError;

/**
 * Lets the kernel finish what is queued before closing (up to 2 s). A link
 * that went down keeps frames in the ring: TxEndpoint.pending() says how many.
 */
function drain(dev: TxEndpoint): void {
  const until = performance.now() + 2000;
  while (dev.flush() > 0 && performance.now() < until && dev.linkState() === 'up');
}
