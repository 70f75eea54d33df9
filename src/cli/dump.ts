// ringzero dump (pfdump): capture from a device, a cluster queue or a file
// into pcap (nanosecond, default) or pcapng, with tcpdump-style rotation.
// Packets go from the cluster buffers into the writer's 1 MiB batch and out
// with one write(2) per batch; `-w -` writes to standard output.
// The flags and the output file are checked before the input opens, so a bad
// path fails before any frame is taken; from then on the input, the writer
// and the rest are closed on every path.
import { META_LEN, META_NSEC, META_SEC, META_WIRELEN, META_WORDS, META_OFF } from '../zc/meta.js';
import { PcapWriter, createPacketRecords, makeFileName, type PacketRecords } from '../pcap/index.js';
import type { Cluster } from '../zc/cluster.js';
import type { BufferSource } from '../zc/meta.js';
import type { FilterFunction } from '../filter/js.js';
import { syntheticBurst, WARM_UP_BURSTS } from '../devices/synthetic.js';
import { suffixWidth } from '../pcap/file-names.js';
import { parseArgs, usage, intFlag, numFlag, coreFlag, UsageError, type FlagSpec, type Parsed } from './args.js';
import { bufferKiBFlag, openInput, type Input } from './endpoint.js';
import { runLoop, type LoopResult } from './loop.js';
import { statsReport, thousands } from './format.js';
import { FILTER_FLAGS, filterFromArgs } from './filter-option.js';
import { errnoOf, PcapWriteError } from '../errors.js';
import { CAPTURE_SLICE_MS, cutFrames, inputKind, metricsPortFlag, recvOrEnd, refuseFlag, startExtras, startNotices } from './capture.js';
import { checkOutputFile, outputFileError } from './output-file.js';

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
  { names: ['metrics'], value: true, help: 'serve Prometheus metrics on 127.0.0.1:PORT' },
  { names: ['q', 'quiet'], value: false, help: 'no start line and no per-second stats lines (on standard error with -w -); the summary at the end stays' },
  ...FILTER_FLAGS,
  { names: ['h', 'help'], value: false, help: 'this help' },
];

export async function dumpCommand(argv: string[]): Promise<number> {
  const a = parseArgs(argv, FLAGS, 'dump', { positional: 'filter' });
  if (a.help) { process.stdout.write(usage('dump', 'Write packets to a pcap or pcapng file (pfdump).\nWords after the options are the filter expression, as with tcpdump.', FLAGS)); return 0; }
  if (typeof a.interface !== 'string') throw new UsageError('dump: -i DEVICE is required');
  if (typeof a.write !== 'string') throw new UsageError('dump: -w FILE is required (- for standard output)');
  if (a.write === '') throw new UsageError("dump: -w '' names no file: give -w FILE, or -w - for standard output");
  const spec = a.interface;
  const kind = inputKind(spec);
  refuseFlag(a, 'buffer-size', '-B', 'dump', spec, kind === 'device' && !spec.startsWith('zc:'), 'sizes the kernel ring of a standard (AF_PACKET) device');
  const toStdout = a.write === '-';
  const limit = intFlag(a, 'count', 0);
  const snaplen = intFlag(a, 'snaplen', 262144, 1, 262144);
  const filter = filterFromArgs(a, 'dump');
  const core = coreFlag(a, 'dump');
  const metricsPort = metricsPortFlag(a);
  const duration = numFlag(a, 'duration', 0);
  const rotation = rotationFlags(a, toStdout);
  const quiet = Boolean(a.quiet) || Boolean(a.json);
  const format = { format: a.pcapng ? 'pcapng' as const : 'pcap' as const, nanosecond: !a.micro, snaplen };
  // Before anything is created or any frame taken: can the (first) file be written, and is it not the input?
  if (!toStdout) {
    const width = rotation.maxFileBytes !== undefined && rotation.maxFiles !== undefined ? suffixWidth(rotation.maxFiles) : 0;
    checkOutputFile(makeFileName(a.write, Math.floor(Date.now() / 1000), 0, width), kind === 'file' ? spec.slice(5) : null);
  }

  const input = openInput(spec, {
    filter: filter?.expression, bufferKiB: bufferKiBFlag(a), snaplen, beforeOpen: (c, pool) => warmUp(c, pool, format),
  });
  const log = (m: string) => process.stderr.write(`dump: ${m}\n`);
  const what = toStdout ? 'standard output' : a.write;
  const ctx = burstContext(input.cluster);
  let captured = 0;
  let ended: string | null = null;
  let failure: unknown = null;
  let writer: PcapWriter | null = null;
  let result: LoopResult;
  let drops = 0, kernel = 0;
  let cut: { cut: number; notices: string[] } = { cut: 0, notices: [] };
  const outputError = (e: unknown): Error => {
    if (e instanceof PcapWriteError) {
      // What the files hold: the writer cut a torn record off, or could not create the next file.
      captured = e.packetsInFiles;
      return e.syscall === 'open' ? outputFileError(e.path, e) : e; // a rotation's next file: the first file's words
    }
    const code = (e as { code?: string }).code ?? 'EIO';
    const why = code === 'EPIPE' ? 'the reading side closed the pipe' : code === 'ENOSPC' ? 'no space left on the device' : (e as Error).message;
    return Object.assign(new Error(`cannot write the capture to ${what}: ${why}; ${thousands(captured)} packets had been captured`), { code });
  };
  try {
    try {
      writer = PcapWriter.open(toStdout ? 1 : a.write, { ...format, ...rotation, linkType: input.linktype, packetBuffered: Boolean(a['packet-buffered']) });
    } catch (e) {
      throw errnoOf(e) ? outputFileError(what, e) : e;
    }
    const w = writer;
    const totals = () => ({ packets: captured, bytes: wireBytesWritten(w), drops: input.drops() });
    const undo = await startExtras(input, { core, filter, metricsPort, command: 'dump', what: 'written', totals, log });
    try {
      if (!a.quiet) log(`capturing from ${input.description}${filter ? ` with filter '${filter.expression}' (${input.filterWhere})` : ''} to ${what}${input.notice ? `\n  (${input.notice})` : ''}`);
      for (const m of startNotices(input)) log(m);
      result = await runLoop({
        durationS: duration,
        totals,
        sliceMs: CAPTURE_SLICE_MS,
        // the stats lines go where the capture does not
        report: quiet ? undefined : statsReport(toStdout ? (l) => console.error(l) : (l) => console.log(l)),
        slice: captureSlice(input, w, ctx, limit, {
          captured: (n) => { captured += n; return captured; },
          ended: (m) => { ended = m; },
          failed: (e, output) => { failure = output ? outputError(e) : e; },
        }),
      });
    } finally {
      undo();
    }
  } finally {
    try {
      writer?.close();
    } catch (e) {
      failure ??= outputError(e);
    }
    drops = input.drops();
    kernel = input.device ? input.device.stats().kernelDrops : 0;
    // frames longer than a cluster buffer (64 KiB by default, capture-buffers.ts) keep what fits
    cut = cutFrames(input);
    input.close();
  }
  if (ended) log(ended);
  const files = writer.stats.files;
  if (a.json) {
    // The JSON goes to standard output unless the capture itself does.
    (toStdout ? process.stderr : process.stdout).write(JSON.stringify({ packets: captured, bytes: wireBytesWritten(writer), drops, kernel_drops: kernel, queue_drops: input.device ? 0 : drops, duration_s: result.duration_s, pps: result.pps, files, cut: cut.cut }) + '\n');
  } else {
    log(`${thousands(captured)} packets captured, ${thousands(kernel)} dropped by the kernel, ${thousands(input.device ? 0 : drops)} dropped by the queue, ${files} file${files === 1 ? '' : 's'}`);
  }
  for (const m of cut.notices) log(m);
  if (failure) throw failure;
  return ended && !/shut down by its owner/.test(ended) ? 1 : 0;
}

/**
 * The bytes (on the wire) of the packets the files hold: those the writer
 * took, less those of a batch whose write failed (a full disk), as `packets`
 * counts them. Not what was handed to the writer: it may refuse some (-G -W).
 */
function wireBytesWritten(w: PcapWriter): number {
  return w.stats.wireBytes - w.stats.lostWireBytes;
}

/** -C, -G and -W as PcapWriter options, checked here in the flags' own words. */
function rotationFlags(a: Parsed, toStdout: boolean): { maxFileBytes?: number; rotateSeconds?: number; maxFiles?: number } {
  const size = a['file-size'] !== undefined ? numFlag(a, 'file-size', 0) : undefined;
  if (size !== undefined && size <= 0) throw new UsageError(`dump: -C ${a['file-size']}: the file size is in MB (1,000,000 bytes) and must be above 0, e.g. -C 100`);
  const seconds = a['rotate-seconds'] !== undefined ? intFlag(a, 'rotate-seconds', 0, 1) : undefined;
  const files = a['file-count'] !== undefined ? intFlag(a, 'file-count', 0, 1) : undefined;
  if (files !== undefined && size === undefined && seconds === undefined) {
    throw new UsageError('dump: -W N counts the files of a rotation: give -C MB (a ring of N files) or -G SECONDS (stop after N files) with it');
  }
  if (toStdout && (size !== undefined || seconds !== undefined)) throw new UsageError('dump: -C and -G rotate files: give -w a file name, not - (standard output)');
  return { maxFileBytes: size === undefined ? undefined : Math.max(1, Math.round(size * 1_000_000)), rotateSeconds: seconds, maxFiles: files };
}

interface SliceEvents {
  /** adds n captured packets; returns the total */
  captured(n: number): number;
  /** the cluster owner shut down (or died) */
  ended(message: string): void;
  /** the input (output: false) or the output (true) failed */
  failed(e: unknown, output: boolean): void;
}

/** The packet loop's slice: input bursts into the writer; false when done (limit, end of input, a failure). */
function captureSlice(input: Input, writer: PcapWriter, ctx: BurstContext, limit: number, ev: SliceEvents): (budgetMs: number) => boolean {
  const burst = new Uint32Array(64);
  let captured = 0;
  let idle = true;
  const flushOk = (): boolean => {
    try {
      writer.flush();
      return true;
    } catch (e) {
      ev.failed(e, true);
      return false;
    }
  };
  // a malformed input file: what was written is kept, the error reported after it
  const onEnd = (closed: string | null, error: unknown) => { if (closed !== null) ev.ended(closed); else ev.failed(error, false); };
  return (budgetMs) => {
    const end = performance.now() + budgetMs;
    do {
      const n = recvOrEnd(input, burst, limit > 0 ? Math.min(64, limit - captured) : 64, onEnd);
      if (n < 0) return false;
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
        ev.failed(e, true);
        return false;
      }
      captured = ev.captured(w);
      input.release(burst, n);
      if (writer.limitReached || (limit > 0 && captured >= limit)) return false;
    } while (performance.now() < end);
    return true;
  };
}

/** A burst's view of the cluster and the records handed to the writer. */
interface BurstContext {
  readonly meta: Uint32Array;
  readonly bytes: Uint8Array;
  readonly base: number;
  readonly size: number;
  readonly rec: PacketRecords;
  /** the bytes writeBuffers loads ahead of the copy (see there) */
  touch: number;
}

function burstContext(c: Cluster): BurstContext {
  return { meta: c.memory.meta, bytes: c.memory.bytes, base: c.layout.bufferOffset, size: c.layout.bufferSize, rec: createPacketRecords(64), touch: 0 };
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
