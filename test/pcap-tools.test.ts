// Interoperability with the reference tools: files written by ringzero read
// by tshark and tcpdump with the same count, bytes and nanosecond timestamps;
// files written by tcpdump, tshark, editcap, mergecap and dumpcap (including
// a live capture on a veth pair) read by ringzero identically to the tools.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapWriter, createPacketRecords } from '../src/pcap/index.js';
import { firstOf, needNetns, needTool } from './helpers/env.js';
import { withVethPair } from './helpers/netns.js';
import { makePackets, readAll, type GenPacket, type ReadBack } from './helpers/pcap-gen.js';

const dir = mkdtempSync(join(tmpdir(), 'rz-pcap-tools-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const noTshark = needTool('/usr/bin/tshark', 'tshark');
const noTcpdump = needTool('/usr/bin/tcpdump', 'tcpdump');
const noEditcap = needTool('/usr/bin/editcap', 'wireshark-common');
const noDumpcap = needTool('/usr/bin/dumpcap', 'wireshark-common');

interface Seen { sec: number; nsec: number; wirelen: number; caplen: number; data?: Uint8Array }

function splitTime(t: string): [number, number] {
  const [s, f = ''] = t.trim().split('.');
  return [Number(s), Number(f.padEnd(9, '0').slice(0, 9))];
}

/** What tshark sees: epoch time (ns), frame length, captured length. */
function tsharkView(file: string): Seen[] {
  const out = execFileSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'frame.len', '-e', 'frame.cap_len'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 });
  return out.split('\n').filter((l) => l.trim() !== '').map((l) => {
    const [t, len, cap] = l.split('\t');
    const [sec, nsec] = splitTime(t);
    return { sec, nsec, wirelen: Number(len), caplen: Number(cap) };
  });
}

/** What tcpdump sees: nanosecond time, frame length (-e) and every captured byte (-xx). */
function tcpdumpView(file: string): Seen[] {
  const out = execFileSync('tcpdump', ['-r', file, '-tt', '--nano', '-e', '-n', '-xx'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 });
  const seen: Seen[] = [];
  let hex: number[] = [];
  const finish = (): void => {
    if (seen.length) { const s = seen[seen.length - 1]; s.data = Uint8Array.from(hex); s.caplen = hex.length; }
    hex = [];
  };
  for (const line of out.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('\t0x')) {
      for (const g of line.slice(line.indexOf(':') + 1).trim().split(/\s+/)) {
        for (let i = 0; i < g.length; i += 2) hex.push(parseInt(g.slice(i, i + 2), 16));
      }
      continue;
    }
    finish();
    const [sec, nsec] = splitTime(line.split(' ')[0]);
    const m = /length (\d+)/.exec(line);
    seen.push({ sec, nsec, wirelen: m ? Number(m[1]) : -1, caplen: 0 });
  }
  finish();
  return seen;
}

function assertMatches(ours: ReadBack, theirs: Seen[], who: string, withBytes: boolean): void {
  assert.equal(ours.data.length, theirs.length, `${who}: packet count`);
  theirs.forEach((t, i) => {
    assert.equal(ours.sec[i], t.sec, `${who}: sec of ${i}`);
    assert.equal(ours.nsec[i], t.nsec, `${who}: nsec of ${i}`);
    assert.equal(ours.caplen[i], t.caplen, `${who}: caplen of ${i}`);
    if (t.wirelen >= 0) assert.equal(ours.wirelen[i], t.wirelen, `${who}: wirelen of ${i}`);
    if (withBytes) assert.deepEqual(ours.data[i], t.data, `${who}: bytes of ${i}`);
  });
}

function write(file: string, pkts: GenPacket[], format: 'pcap' | 'pcapng', snaplen?: number): void {
  const w = PcapWriter.open(file, { format, snaplen });
  const mem = new Uint8Array(1 << 20);
  const rec = createPacketRecords(pkts.length);
  let o = 0;
  pkts.forEach((p, i) => {
    mem.set(p.data, o);
    rec.offset[i] = o; rec.caplen[i] = p.data.length; rec.wirelen[i] = 0; rec.sec[i] = p.sec; rec.nsec[i] = p.nsec;
    o += p.data.length;
  });
  w.writeBurst(mem, rec, pkts.length);
  w.close();
}

const pkts = makePackets(300, 21, 42, 1514);

for (const format of ['pcap', 'pcapng'] as const) {
  test(`ringzero ${format} files read by tshark: same count, lengths and nanosecond timestamps`, { skip: firstOf(noTshark) }, () => {
    const f = join(dir, `rz-ts.${format}`);
    write(f, pkts, format, 1000);
    const ours = readAll(f);
    assert.equal(ours.data.length, pkts.length);
    assertMatches(ours, tsharkView(f), 'tshark', false);
  });

  test(`ringzero ${format} files read by tcpdump: same count, bytes and nanosecond timestamps`, { skip: firstOf(noTcpdump) }, () => {
    const f = join(dir, `rz-td.${format}`);
    write(f, pkts, format, 1000);
    assertMatches(readAll(f), tcpdumpView(f), 'tcpdump', true);
  });
}

test('files tcpdump re-writes from a ringzero file (micro- and nanosecond) read identically by ringzero and tcpdump', { skip: firstOf(noTcpdump) }, () => {
  const src = join(dir, 'src.pcap');
  write(src, pkts, 'pcap');
  for (const precision of ['micro', 'nano']) {
    const out = join(dir, `tcpdump-${precision}.pcap`);
    execFileSync('tcpdump', ['-Z', 'root', '--time-stamp-precision=' + precision, '-r', src, '-w', out], { stdio: 'ignore' });
    const ours = readAll(out);
    assertMatches(ours, tcpdumpView(out), `tcpdump -w (${precision})`, true);
    pkts.forEach((p, i) => {
      assert.deepEqual(ours.data[i], p.data);
      assert.equal(ours.nsec[i], precision === 'nano' ? p.nsec : Math.floor(p.nsec / 1000) * 1000);
    });
  }
});

test('pcapng from tshark, editcap and mergecap (several interfaces) read identically by ringzero and tshark', { skip: firstOf(noTshark, noEditcap, noTcpdump) }, () => {
  const src = join(dir, 'src-ns.pcap');
  write(src, pkts, 'pcap');
  const tsharkNg = join(dir, 'tshark.pcapng');
  execFileSync('tshark', ['-F', 'pcapng', '-r', src, '-w', tsharkNg], { stdio: 'ignore' });
  const editNg = join(dir, 'editcap.pcapng');
  execFileSync('editcap', ['-F', 'pcapng', src, editNg], { stdio: 'ignore' });
  const editUs = join(dir, 'editcap-us.pcap');
  execFileSync('editcap', ['-F', 'pcap', src, editUs], { stdio: 'ignore' });
  const editSnap = join(dir, 'editcap-snap.pcapng');
  execFileSync('editcap', ['-F', 'pcapng', '-s', '77', src, editSnap], { stdio: 'ignore' });
  // Two inputs of different link types merge into one pcapng with two interfaces.
  const other = join(dir, 'other.pcap');
  const w = PcapWriter.open(other, { linkType: 101 }); // LINKTYPE_RAW
  const ip = pkts.slice(0, 50).map((p) => ({ ...p, data: p.data.slice(14), sec: p.sec + 1 }));
  const rec = createPacketRecords(1);
  for (const p of ip) w.writePacket(p.data, 0, p.data.length, 0, p.sec, p.nsec);
  void rec;
  w.close();
  const merged = join(dir, 'merged.pcapng');
  execFileSync('mergecap', ['-F', 'pcapng', '-w', merged, src, other], { stdio: 'ignore' });
  for (const f of [tsharkNg, editNg, editUs, editSnap, merged]) {
    const ours = readAll(f);
    assertMatches(ours, tsharkView(f), `tshark on ${f}`, false);
    // libpcap refuses pcapng whose interfaces have different link types: tshark alone checks the merged file.
    if (f !== merged) assertMatches(ours, tcpdumpView(f), `tcpdump on ${f}`, true);
  }
  const m = readAll(merged);
  assert.deepEqual([...new Set(m.linkType)].sort((a, b) => a - b), [1, 101]);
  assert.equal(m.linkType.filter((l) => l === 101).length, 50);
  assert.deepEqual(new Set(m.ifIndex).size, 2);
  const snap = readAll(editSnap);
  assert.ok(snap.caplen.every((c, i) => c === Math.min(77, pkts[i].data.length)));
});

test('a live capture on a veth pair by tcpdump -w (both precisions) and dumpcap (pcapng) reads identically', { skip: firstOf(needNetns(), noTcpdump, noDumpcap) }, async () => {
  await withVethPair(async (pair) => {
    execFileSync('ip', ['addr', 'add', '10.213.7.1/24', 'dev', pair.host]);
    pair.exec('ip', ['addr', 'add', '10.213.7.2/24', 'dev', pair.peer]);
    const files = { us: join(dir, 'live-us.pcap'), ns: join(dir, 'live-ns.pcap'), ng: join(dir, 'live.pcapng') };
    const count = 20;
    const procs = [
      spawn('tcpdump', ['-Z', 'root', '-i', pair.host, '-c', String(count), '-w', files.us, 'udp']),
      spawn('tcpdump', ['-Z', 'root', '-i', pair.host, '-c', String(count), '--time-stamp-precision=nano', '-w', files.ns, 'udp']),
      spawn('dumpcap', ['-q', '-i', pair.host, '-c', String(count), '-f', 'udp', '-w', files.ng]),
    ];
    const done = procs.map((p) => new Promise<number>((res) => p.on('exit', (c) => res(c ?? -1))));
    // Wait until all three capture (each prints to stderr when listening).
    await Promise.all(procs.map((p) => new Promise<void>((res) => {
      let err = '';
      p.stderr!.on('data', (d: Buffer) => { err += d.toString(); if (/listening on|Capturing on/i.test(err)) res(); });
      setTimeout(res, 5000);
    })));
    // UDP datagrams of growing size from inside the namespace to our end.
    const sender = `const s = require('dgram').createSocket('udp4'); let i = 0;
      const next = () => { if (i === ${count}) return s.close(); s.send(Buffer.alloc(20 + 37 * i, i), 9, '10.213.7.1', () => { i++; setTimeout(next, 5); }); };
      next();`;
    pair.exec(process.execPath, ['-e', sender], { timeout: 30_000 });
    const codes = await Promise.race([Promise.all(done), new Promise<number[]>((res) => setTimeout(() => res([-2]), 20_000))]);
    for (const p of procs) p.kill();
    assert.deepEqual(codes, [0, 0, 0], 'every capture saw its packets');
    for (const f of Object.values(files)) {
      const ours = readAll(f);
      assert.equal(ours.data.length, count, f);
      assertMatches(ours, tcpdumpView(f), `tcpdump on ${f}`, true);
      assertMatches(ours, tsharkView(f), `tshark on ${f}`, false);
    }
    const ng = readAll(files.ng);
    assert.equal(ng.reader.format, 'pcapng');
    const res = ng.reader.interfaces()[0].tsresol;
    assert.ok(res === 6 || res === 9, `dumpcap's if_tsresol ${res}`);
    if (res === 6) assert.ok(ng.nsec.every((n) => n % 1000 === 0), 'microsecond ticks give whole microseconds');
    assert.ok(ng.reader.stats.blocksSkipped >= 1, 'dumpcap\'s interface statistics block was skipped');
  });
});
