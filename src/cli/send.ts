// ringzero send (zsend / pfsend): synthetic UDP frames to a device, at a
// packet rate (-p), a bit rate (-r) or as fast as possible.
import { META_LEN, META_OFF, META_WORDS } from '../zc/meta.js';
import { openTx } from './tx-endpoint.js';
import { parseArgs, usage, intFlag, numFlag, UsageError, type FlagSpec } from './args.js';
import { runLoop, type LoopResult } from './loop.js';
import { absoluteLine, actualLine, thousands } from './format.js';
import { buildFrames } from './frames.js';
import { serveMetrics } from './metrics.js';
import { collectGarbageNow } from '../heap.js';
import { Replayer, warmUpSpin } from './replay.js';
import { LinkDownError } from '../errors.js';

const FLAGS: FlagSpec[] = [
  { names: ['i', 'interface'], value: true, help: 'device to send on (zc:IFACE[@Q] AF_XDP, IFACE AF_PACKET), or zc:CLUSTER@QUEUE: a queue of a running `ringzero cluster`' },
  { names: ['c', 'cluster'], value: true, help: 'id of the private cluster (default: derived from the pid)' },
  { names: ['f', 'file'], value: true, help: "replay this pcap/pcapng file ('-' = standard input) instead of synthetic frames" },
  { names: ['speed'], value: true, help: 'replay: multiplier of the recorded pace (default 1)' },
  { names: ['topspeed'], value: false, help: 'replay: as fast as possible' },
  { names: ['loop'], value: true, help: 'replay: play the file N times (0 = forever; default 1)' },
  { names: ['l', 'length'], value: true, help: 'frame length in bytes without FCS (default 60)' },
  { names: ['b', 'sources'], value: true, help: 'number of distinct source IPs / flows (default 1)' },
  { names: ['n', 'packets'], value: true, help: 'stop after this many packets (default: until interrupted)' },
  { names: ['p', 'pps'], value: true, help: 'packets per second' },
  { names: ['r', 'gbps'], value: true, help: 'rate in Gbit/s (counting 24 bytes of preamble and gap per frame)' },
  { names: ['g', 'core'], value: true, help: 'pin the send loop to this CPU' },
  { names: ['d', 'duration'], value: true, help: 'stop after this many seconds' },
  { names: ['q', 'quiet'], value: false, help: 'no per-second stats lines' },
  { names: ['json'], value: false, help: 'print one JSON object at exit' },
  { names: ['metrics'], value: true, help: 'serve Prometheus metrics on 127.0.0.1:PORT' },
  { names: ['h', 'help'], value: false, help: 'this help' },
];

export async function sendCommand(argv: string[]): Promise<number> {
  const a = parseArgs(argv, FLAGS, 'send');
  if (a.help) { process.stdout.write(usage('send', 'Send synthetic UDP frames, or replay a capture file, to a device (zsend, pfsend, tcpreplay).', FLAGS)); return 0; }
  if (typeof a.interface !== 'string') throw new UsageError('send: -i DEVICE is required (e.g. -i zc:eth0, -i eth0)');
  const length = intFlag(a, 'length', 60, 60, 9000);
  const sources = intFlag(a, 'sources', 1, 1, 65536);
  const limit = intFlag(a, 'packets', 0);
  const gbps = numFlag(a, 'gbps', 0);
  const pps = a.pps !== undefined ? numFlag(a, 'pps', 0) : gbps > 0 ? (gbps * 1e9) / ((length + 24) * 8) : 0;
  const quiet = Boolean(a.quiet) || Boolean(a.json);
  const replayPath = typeof a.file === 'string' ? a.file : null;
  if (replayPath && (a.length !== undefined || a.sources !== undefined)) throw new UsageError('send: -l and -b describe synthetic frames; they do not apply to -f FILE');
  const speed = a.topspeed ? 0 : numFlag(a, 'speed', 1);
  if (replayPath === '-' && intFlag(a, 'loop', 1) !== 1) throw new UsageError('send: standard input can be played once only (--loop 1); write it to a file to loop it');
  const frames = buildFrames({ length, sources });
  const dev = openTx(a.interface, a.cluster === undefined ? undefined : intFlag(a, 'cluster', 0));
  if (dev.linkState() === 'down') {
    dev.close();
    throw new LinkDownError(`send: ${dev.name} is down, nothing could be sent; bring it up first (ip link set ${a.interface.replace(/^zc:/, '').replace(/@\d+$/, '')} up)`);
  }
  const pool = dev.pool;
  const mem = dev.memory;
  const { native } = await import('../native/index.js');
  if (a.core !== undefined) native.pinThread(intFlag(a, 'core', 0));
  if (length > mem.bufferSize - mem.headroom) throw new UsageError(`send: -l ${length} does not fit a ${mem.bufferSize}-byte buffer`);
  const bytes = mem.bytes;
  const meta = mem.meta;
  let replay: Replayer | null = null;
  try {
    replay = replayPath ? new Replayer({ path: replayPath, speed, loops: intFlag(a, 'loop', 1), pps, limit }, dev, pool, mem) : null;
  } catch (e) {
    dev.close(); // a file that cannot be opened or read must not leave the device's cluster region behind
    throw e;
  }
  const burst = new Uint32Array(64);
  let sent = 0;
  let next = 0;
  const t0 = performance.now();
  if (!quiet) {
    if (replay) console.error(`Replaying ${replayPath} on ${dev.name} (${dev.mode}) ${speed ? `at ${speed}x the recorded pace` : 'at top speed'}${pps ? `, at most ${thousands(pps)} pps` : ''}`);
    else console.error(`Sending ${length}-byte frames from ${frames.count} source IPs on ${dev.name} (${dev.mode})${pps ? ` at ${thousands(pps)} pps` : ''}`);
  }
  const d = dev;
  const totals = () => {
    const s = d.stats();
    return replay ? { packets: replay.sent, bytes: replay.bytes, drops: s.txRingFull + s.txInvalid } : { packets: sent, bytes: sent * length, drops: s.txRingFull + s.txInvalid };
  };
  if (a.metrics !== undefined) {
    await serveMetrics(intFlag(a, 'metrics', 0, 1, 65535), () => [
      { name: 'ringzero_send_packets_total', help: 'packets queued for transmission', value: totals().packets },
      { name: 'ringzero_send_bytes_total', help: 'bytes queued for transmission', value: totals().bytes },
      { name: 'ringzero_send_drops_total', help: 'packets dropped (TX ring full or invalid)', value: totals().drops },
    ]);
  }
  // A timed replay starts with its spin loop compiled and an empty young generation: no compilation
  // and no collection of start-up garbage pauses its first gaps.
  if (replay && speed > 0) { warmUpSpin(); collectGarbageNow(); }
  let result: LoopResult;
  let unsent = 0;
  try {
    result = await runLoop({
      durationS: numFlag(a, 'duration', 0),
      totals,
      report: quiet ? undefined : (now, last, s) => {
        console.log(absoluteLine(now.packets, now.drops, now.bytes));
        console.log(actualLine(now.packets - last.packets, now.drops - last.drops, now.bytes - last.bytes, s));
      },
      slice(budgetMs) {
        if (replay) return replay.slice(budgetMs);
        const end = performance.now() + budgetMs;
        do {
          let want = 64;
          if (limit > 0) want = Math.min(want, limit - sent);
          if (pps > 0) {
            const allowed = Math.floor(((performance.now() - t0) / 1000) * pps) - sent;
            if (allowed <= 0) { d.flush(); continue; }
            want = Math.min(want, allowed);
          }
          if (want <= 0) break;
          const k = pool.alloc(burst, want);
          if (k === 0) { d.flush(); continue; }
          for (let i = 0; i < k; i++) {
            const b = burst[i];
            const m = b * META_WORDS;
            const dst = mem.bufferOffset + b * mem.bufferSize + meta[m + META_OFF];
            const f = next++ % frames.count;
            bytes.set(frames.bytes.subarray(f * length, (f + 1) * length), dst);
            meta[m + META_LEN] = length;
          }
          sent += d.sendBurst(burst, k);
        } while (performance.now() < end);
        return limit === 0 || sent < limit;
      },
    });
    // Let the kernel finish what is queued before closing. A link that went
    // down keeps frames in the ring: they are counted as not sent, and said so.
    const until = performance.now() + 2000;
    unsent = d.flush();
    while (unsent > 0 && performance.now() < until && d.linkState() === 'up') unsent = d.flush();
  } catch (e) {
    // an interface that went away, a failing replay file: the summary is lost, the cluster must not be
    replay?.close();
    d.close();
    throw e;
  }
  const down = unsent > 0 && d.linkState() === 'down';
  const st = d.stats();
  replay?.close();
  d.close();
  const packets = result.packets - unsent;
  const drops = st.txRingFull + st.txInvalid + unsent;
  if (a.json) console.log(JSON.stringify({ packets, bytes: result.bytes, drops, unsent, duration_s: result.duration_s, pps: result.pps }));
  else if (!Boolean(a.quiet)) console.log(`Total: ${thousands(packets)} pkts sent (${thousands(drops)} drops) - ${thousands(result.bytes)} bytes in ${result.duration_s.toFixed(2)} s, ${thousands(result.pps)} pps`);
  if (down) throw new LinkDownError(`send: ${d.name} went down: ${thousands(unsent)} frames still queued were not sent (counted as drops)`);
  return 0;
}
