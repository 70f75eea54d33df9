// ringzero dump (pfdump): capture from a device, a cluster queue or a file
// into pcap (nanosecond, default) or pcapng, with tcpdump-style rotation.
// Packets go from the cluster buffers into the writer's 1 MiB batch and out
// with one write(2) per batch; `-w -` writes to standard output.
import { META_LEN, META_NSEC, META_SEC, META_WIRELEN, META_WORDS, META_OFF } from '../zc/meta.js';
import { PcapWriter, createPacketRecords, type PacketRecords } from '../pcap/index.js';
import type { Cluster } from '../zc/cluster.js';
import type { BufferSource } from '../zc/meta.js';
import type { FilterFunction } from '../filter/js.js';
import { syntheticBurst, WARM_UP_BURSTS } from '../devices/synthetic.js';
import { parseArgs, usage, intFlag, numFlag, UsageError, type FlagSpec } from './args.js';
import { bufferKiBFlag, openInput } from './endpoint.js';
import { runLoop } from './loop.js';
import { thousands } from './format.js';
import { FILTER_FLAGS, filterFromArgs, reloadOnSigusr1 } from './filter-option.js';
import { ClusterClosedError } from '../errors.js';

const FLAGS: FlagSpec[] = [
  { names: ['i', 'interface'], value: true, help: 'device (zc:IFACE[@Q], IFACE, pcap:FILE) or zc:CLUSTER@QUEUE' },
  { names: ['w', 'write'], value: true, help: "output file ('-' = standard output); a strftime pattern with -G" },
  { names: ['s', 'snaplen'], value: true, help: 'bytes kept per packet (default 262144)' },
  { names: ['c', 'count'], value: true, help: 'stop after this many packets' },
  { names: ['C', 'file-size'], value: true, help: 'start a new file after this many MB (1,000,000 bytes), like tcpdump -C' },
  { names: ['G', 'rotate-seconds'], value: true, help: 'start a new file every N seconds (packet time), like tcpdump -G' },
  { names: ['W', 'file-count'], value: true, help: 'with -C: reuse N file names in a ring; with -G: stop after N files' },
  { names: ['pcapng'], value: false, help: 'write pcapng instead of nanosecond pcap' },
  { names: ['micro'], value: false, help: 'write microsecond pcap (for old readers)' },
  { names: ['U', 'packet-buffered'], value: false, help: 'write out after every burst' },
  { names: ['B', 'buffer-size'], value: true, help: 'kernel capture buffer of a standard device in KiB, like tcpdump -B (default 32768)' },
  { names: ['g', 'core'], value: true, help: 'pin the capture loop to this CPU (V8\'s helper threads stay free to run elsewhere)' },
  { names: ['d', 'duration'], value: true, help: 'stop after this many seconds' },
  { names: ['json'], value: false, help: 'print one JSON object at exit' },
  { names: ['q', 'quiet'], value: false, help: 'no summary line' },
  ...FILTER_FLAGS,
  { names: ['h', 'help'], value: false, help: 'this help' },
];

export async function dumpCommand(argv: string[]): Promise<number> {
  const a = parseArgs(argv, FLAGS, 'dump', { positional: 'filter' });
  if (a.help) { process.stdout.write(usage('dump', 'Write packets to a pcap or pcapng file (pfdump).', FLAGS)); return 0; }
  if (typeof a.interface !== 'string') throw new UsageError('dump: -i DEVICE is required');
  if (typeof a.write !== 'string') throw new UsageError('dump: -w FILE is required (- for standard output)');
  const toStdout = a.write === '-';
  const limit = intFlag(a, 'count', 0);
  const snaplen = intFlag(a, 'snaplen', 262144, 1, 262144);
  const filter = filterFromArgs(a, 'dump');
  const core = a.core !== undefined ? intFlag(a, 'core', 0) : -1; // parsed before anything is opened
  const format = { format: a.pcapng ? 'pcapng' as const : 'pcap' as const, nanosecond: !a.micro, snaplen };
  const input = openInput(a.interface, {
    filter: filter?.expression, bufferKiB: bufferKiBFlag(a), beforeOpen: (c, pool) => warmUp(c, pool, format),
  });
  if (core >= 0) {
    const { native } = await import('../native/index.js');
    native.pinThread(core);
  }
  const log = (m: string) => process.stderr.write(`dump: ${m}\n`);
  let writer: PcapWriter;
  try {
    writer = PcapWriter.open(toStdout ? 1 : a.write, {
      ...format,
      linkType: input.linktype,
      maxFileBytes: a['file-size'] !== undefined ? numFlag(a, 'file-size', 0) * 1_000_000 : undefined,
      rotateSeconds: a['rotate-seconds'] !== undefined ? intFlag(a, 'rotate-seconds', 0, 1) : undefined,
      maxFiles: a['file-count'] !== undefined ? intFlag(a, 'file-count', 0, 1) : undefined,
      packetBuffered: Boolean(a['packet-buffered']),
    });
  } catch (e) {
    input.close();
    throw e;
  }
  const unReload = filter?.file ? reloadOnSigusr1(filter.file, input.linktype, (f) => input.setFilter(f), log) : () => {};
  if (!a.quiet) log(`capturing from ${input.description}${filter ? ` with filter '${filter.expression}' (${input.filterPlace})` : ''} to ${toStdout ? 'standard output' : a.write}${input.notice ? `\n  (${input.notice})` : ''}`);
  const ctx = burstContext(input.cluster);
  const burst = new Uint32Array(64);
  let captured = 0;
  let ended: string | null = null;
  let failure: unknown = null;
  let idle = true;
  const flushOk = (): boolean => {
    try {
      writer.flush();
      return true;
    } catch (e) {
      failure = outputError(e);
      return false;
    }
  };
  const outputError = (e: unknown): Error => {
    const code = (e as { code?: string }).code ?? 'EIO';
    const what = toStdout ? 'standard output' : String(a.write);
    const why = code === 'EPIPE' ? 'the reading side closed the pipe' : code === 'ENOSPC' ? 'no space left on the device' : (e as Error).message;
    return Object.assign(new Error(`cannot write the capture to ${what}: ${why}; ${thousands(captured)} packets had been captured`), { code });
  };
  const result = await runLoop({
    durationS: numFlag(a, 'duration', 0),
    totals: () => ({ packets: captured, bytes: ctx.wireBytes, drops: input.drops() }),
    slice(budgetMs) {
      const end = performance.now() + budgetMs;
      do {
        let n: number;
        try {
          n = input.recv(burst, limit > 0 ? Math.min(64, limit - captured) : 64, 2);
        } catch (e) {
          if (e instanceof ClusterClosedError) { ended = e.message; return false; }
          failure = e; // a malformed input file: keep what was written, report, then fail
          return false;
        }
        if (n === 0) {
          if (!idle) { idle = true; if (!flushOk()) return false; }
          if (input.ended()) return false;
          continue;
        }
        idle = false;
        let w = 0;
        try {
          w = writeBuffers(writer, ctx, burst, n, input.jsFilter);
        } catch (e) {
          input.release(burst, n);
          failure = outputError(e);
          return false;
        }
        captured += w;
        input.release(burst, n);
        if (writer.limitReached || (limit > 0 && captured >= limit)) return false;
      } while (performance.now() < end);
      return true;
    },
  });
  try {
    writer.close();
  } catch (e) {
    failure ??= outputError(e);
  }
  unReload();
  const drops = input.drops();
  const kernel = input.device ? input.device.stats().kernelDrops : 0;
  input.close();
  if (ended) log(ended);
  const files = writer.stats.files;
  if (a.json) {
    // The JSON goes to standard output unless the capture itself does.
    (toStdout ? process.stderr : process.stdout).write(JSON.stringify({ packets: captured, bytes: ctx.wireBytes, drops, kernel_drops: kernel, queue_drops: input.device ? 0 : drops, duration_s: result.duration_s, pps: result.pps, files }) + '\n');
  } else if (!a.quiet) {
    log(`${thousands(captured)} packets captured, ${thousands(kernel)} dropped by the kernel, ${thousands(input.device ? 0 : drops)} dropped by the queue, ${files} file${files === 1 ? '' : 's'}`);
  }
  if (failure) throw failure;
  return ended && !/shut down by its owner/.test(ended) ? 1 : 0;
}

/** A burst's view of the cluster, the records handed to the writer, and the wire bytes so far. */
interface BurstContext {
  readonly meta: Uint32Array;
  readonly bytes: Uint8Array;
  readonly base: number;
  readonly size: number;
  readonly rec: PacketRecords;
  wireBytes: number;
  /** the bytes writeBuffers loads ahead of the copy (see there) */
  touch: number;
}

function burstContext(c: Cluster): BurstContext {
  return { meta: c.memory.meta, bytes: c.memory.bytes, base: c.layout.bufferOffset, size: c.layout.bufferSize, rec: createPacketRecords(64), wireBytes: 0, touch: 0 };
}

/**
 * Buffers burst[0..n) become writer records (skipping those `js` rejects) and
 * go to the writer; returns how many it took. One function for the capture
 * loop and its warm-up, so the warm-up trains the code the loop runs.
 */
function writeBuffers(writer: PcapWriter, ctx: BurstContext, burst: Uint32Array, n: number, js: FilterFunction | null): number {
  const { meta, bytes, base, size, rec } = ctx;
  let k = 0, touch = 0;
  for (let i = 0; i < n; i++) {
    const b = burst[i];
    const m = b * META_WORDS;
    const len = meta[m + META_LEN];
    const off = base + b * size + meta[m + META_OFF];
    const wire = meta[m + META_WIRELEN] || len;
    // Each frame sits in its own 2 KiB buffer, written by the kernel on another CPU: the copy's first
    // load misses, and no prefetcher sees a pattern. Loading the first and last byte of every frame
    // here, in a loop with nothing else waiting on them, starts those misses side by side.
    if (len > 0) touch ^= bytes[off] ^ bytes[off + len - 1];
    if (js !== null && js(bytes, off, len, wire) === 0) continue;
    rec.offset[k] = off;
    rec.caplen[k] = len;
    rec.wirelen[k] = wire;
    rec.sec[k] = meta[m + META_SEC];
    rec.nsec[k] = meta[m + META_NSEC];
    k++;
    ctx.wireBytes += wire;
  }
  ctx.touch = touch; // kept, so the compiler keeps the loads
  return writer.writeBurst(bytes, rec, k);
}

/**
 * Before the device opens: WARM_UP_BURSTS bursts of synthetic frames from the
 * command's own pool through writeBuffers into a writer of the same format on
 * /dev/null (devices/synthetic.ts says why).
 */
function warmUp(c: Cluster, pool: BufferSource, format: { format: 'pcap' | 'pcapng'; nanosecond: boolean; snaplen: number }): void {
  const scratch = PcapWriter.open('/dev/null', format);
  const ctx = burstContext(c);
  const burst = new Uint32Array(64);
  let n = syntheticBurst(c, pool, burst);
  try {
    for (let i = 0; i < WARM_UP_BURSTS; i++) {
      writeBuffers(scratch, ctx, burst, n, null);
      pool.free(burst, n); // the same buffers come back: the pool is a stack
      n = pool.alloc(burst, n);
    }
  } finally {
    pool.free(burst, n);
    scratch.close();
  }
}
