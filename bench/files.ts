// Capture file throughput: ringzero's reader and writer against tcpdump on the
// same large generated files, in the same run.
//   read:  PcapReader bursts into cluster-like memory   vs  tcpdump -r BIG -w /dev/null
//   write: PcapReader -> PcapWriter to /dev/shm         vs  tcpdump -r BIG -w /dev/shm/out
// Both sides read the whole file and (for write) produce byte-identical
// output, which is checked. Prints a table, then one JSON line:
//   {"bench":"files","rows":[...]}
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { PcapReader, PcapWriter, createPacketRecords } from '../src/pcap/index.js';

export interface FilesRow {
  case: string;
  op: 'read' | 'write';
  packets: number;
  megabytes: number;
  ringzero_pps: number;
  tcpdump_pps: number | null;
  /** ringzero / tcpdump: above 1 means ringzero is faster */
  ratio: number | null;
}

const DIR = existsSync('/dev/shm') ? '/dev/shm' : '/tmp';
const BURST = 256;
const SLOT = 2048;

/**
 * Mixed sizes as on a real link: mostly small (ACKs of 54/66 bytes, 2 mod 4, so
 * copies run unaligned in classic pcap), some mid-size and full-size frames.
 */
const MIXED = [54, 66, 60, 66, 590, 54, 1514, 74, 66, 1514, 60, 122];

/** A BIG file of `count` packets of `size` bytes, or cycling through `size` (pcap microseconds, as tcpdump writes, or pcapng). */
function makeBig(path: string, count: number, size: number | number[], format: 'pcap' | 'pcapng'): void {
  const w = PcapWriter.open(path, { format, nanosecond: false });
  const mem = new Uint8Array(BURST * SLOT);
  const rec = createPacketRecords(BURST);
  for (let i = 0; i < BURST; i++) {
    const len = typeof size === 'number' ? size : size[i % size.length];
    for (let j = 0; j < len; j++) mem[i * SLOT + j] = (i * 31 + j * 7) & 0xff;
    rec.offset[i] = i * SLOT; rec.caplen[i] = len; rec.wirelen[i] = 0;
  }
  let sec = 1_700_000_000;
  let usec = 0;
  for (let done = 0; done < count;) {
    const k = Math.min(BURST, count - done);
    for (let i = 0; i < k; i++) {
      usec += 3;
      if (usec >= 1_000_000) { usec -= 1_000_000; sec++; }
      rec.sec[i] = sec; rec.nsec[i] = usec * 1000;
    }
    w.writeBurst(mem, rec, k);
    done += k;
  }
  w.close();
}

/** Reads the whole file into slots of a shared buffer (as a pcap: device would). Returns seconds. */
function ringzeroRead(path: string, expect: number): number {
  const t0 = process.hrtime.bigint();
  const r = PcapReader.openSync(path, { matchAlignment: true });
  const mem = new Uint8Array(new SharedArrayBuffer(BURST * SLOT));
  const rec = createPacketRecords(BURST);
  let n = 0;
  for (;;) {
    for (let i = 0; i < BURST; i++) rec.offset[i] = i * SLOT;
    const k = r.readBurst(mem, SLOT, rec, BURST);
    if (k === 0) break;
    n += k;
  }
  r.close();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (n !== expect) throw new Error(`ringzero read ${n} packets, expected ${expect}`);
  return s;
}

/** Reads and re-writes the file (same format, microseconds) like tcpdump -r -w. Returns seconds. */
function ringzeroCopy(path: string, out: string, format: 'pcap' | 'pcapng'): number {
  const t0 = process.hrtime.bigint();
  // as the pcap: device reads: each packet keeps its alignment from the file (word copies)
  const r = PcapReader.openSync(path, { matchAlignment: true });
  const w = PcapWriter.open(out, { format, nanosecond: false, linkType: r.linkType });
  const mem = new Uint8Array(new SharedArrayBuffer(BURST * SLOT));
  const rec = createPacketRecords(BURST);
  for (;;) {
    for (let i = 0; i < BURST; i++) rec.offset[i] = i * SLOT;
    const k = r.readBurst(mem, SLOT, rec, BURST);
    if (k === 0) break;
    w.writeBurst(mem, rec, k);
  }
  w.close();
  r.close();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function tcpdump(args: string[]): number | null {
  if (!existsSync('/usr/bin/tcpdump') && !existsSync('/usr/sbin/tcpdump')) return null;
  const t0 = process.hrtime.bigint();
  // As root, tcpdump drops to its own user and could not overwrite our output files: keep root.
  const z = process.getuid?.() === 0 ? ['-Z', 'root'] : [];
  const r = spawnSync('tcpdump', [...z, ...args], { stdio: 'ignore' });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return r.status === 0 ? s : null;
}

function best(runs: number, f: () => number | null): number | null {
  let b: number | null = null;
  for (let i = 0; i < runs; i++) {
    const s = f();
    if (s === null) return null;
    b = b === null ? s : Math.min(b, s);
  }
  return b;
}

/** `only`: run just the cases whose name contains it (e.g. 'mixed'). */
export async function benchFiles(opts: { runs?: number; scale?: number; only?: string } = {}): Promise<FilesRow[]> {
  const runs = opts.runs ?? 3;
  const scale = opts.scale ?? 1;
  type Case = { name: string; count: number; size: number | number[]; format: 'pcap' | 'pcapng' };
  const all: Case[] = [
    { name: 'pcap 64 B', count: Math.round(2_000_000 * scale), size: 64, format: 'pcap' },
    { name: 'pcap 1500 B', count: Math.round(200_000 * scale), size: 1500, format: 'pcap' },
    { name: 'pcap mixed', count: Math.round(1_000_000 * scale), size: MIXED, format: 'pcap' },
    { name: 'pcapng 64 B', count: Math.round(2_000_000 * scale), size: 64, format: 'pcapng' },
  ];
  const cases = all.filter((c) => opts.only === undefined || c.name.includes(opts.only));
  const rows: FilesRow[] = [];
  for (const c of cases) {
    const big = `${DIR}/rz-bench-${process.pid}.${c.format}`;
    const ours = `${DIR}/rz-bench-${process.pid}-out.${c.format}`;
    const theirs = `${DIR}/rz-bench-${process.pid}-td.${c.format}`;
    try {
      makeBig(big, c.count, c.size, c.format);
      const mb = statSync(big).size / 1e6;
      const rzRead = best(runs, () => ringzeroRead(big, c.count))!;
      const tdRead = best(runs, () => tcpdump(['-r', big, '-w', '/dev/null']));
      rows.push(row(c.name, 'read', c.count, mb, rzRead, tdRead));
      const rzWrite = best(runs, () => ringzeroCopy(big, ours, c.format))!;
      // tcpdump writes classic pcap only (libpcap's dumper); compare against it for the pcap cases.
      const tdWrite = c.format === 'pcap' ? best(runs, () => tcpdump(['-r', big, '-w', theirs])) : null;
      if (tdWrite !== null && !readFileSync(ours).equals(readFileSync(theirs))) {
        throw new Error(`${c.name}: ringzero's copy differs from tcpdump's`);
      }
      rows.push(row(c.name, 'write', c.count, mb, rzWrite, tdWrite));
    } finally {
      for (const f of [big, ours, theirs]) rmSync(f, { force: true });
    }
  }
  return rows;
}

function row(name: string, op: 'read' | 'write', packets: number, mb: number, rz: number, td: number | null): FilesRow {
  const rzPps = packets / rz;
  const tdPps = td === null ? null : packets / td;
  return {
    case: name, op, packets, megabytes: Math.round(mb),
    ringzero_pps: Math.round(rzPps), tcpdump_pps: tdPps === null ? null : Math.round(tdPps),
    ratio: tdPps === null ? null : Math.round((rzPps / tdPps) * 100) / 100,
  };
}

function printTable(rows: FilesRow[]): void {
  const m = (x: number | null): string => (x === null ? 'n/a' : (x / 1e6).toFixed(2) + ' M');
  console.log('case           op     packets    MB   ringzero pkt/s  tcpdump pkt/s  ratio');
  for (const r of rows) {
    console.log(`${r.case.padEnd(14)} ${r.op.padEnd(6)} ${String(r.packets).padStart(8)} ${String(r.megabytes).padStart(5)}` +
      `   ${m(r.ringzero_pps).padStart(14)} ${m(r.tcpdump_pps).padStart(14)}  ${r.ratio === null ? 'n/a' : r.ratio.toFixed(2) + 'x'}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await benchFiles();
  printTable(rows);
  const { benchFilesLive } = await import('./files-live.js');
  const live = await benchFilesLive();
  if (live.length > 0) {
    console.log('\nlive capture to tmpfs, same veth traffic (trafgen 60-byte frames on CPU 0, writer on CPU 1):');
    for (const r of live) console.log(`${r.writer.padEnd(24)} generated ${String(r.generated).padStart(9)}  written ${String(r.written).padStart(9)}  ${r.mpps.toFixed(3)} Mpps  ${r.cpuNsPerPacket.toFixed(0)} CPU ns/pkt  ${r.fileMB.toFixed(1)} MB${r.skipped ? '  skipped: ' + r.skipped : ''}`);
  } else console.log('\nlive capture rows skipped: they need root');
  console.log(JSON.stringify({ bench: 'files', rows, live }));
}
