// A pcapng file whose interfaces mix link types (Ethernet, RAW, SLL) cannot be
// a pcap: input (one filter, one output header for the whole file): it is
// refused with ERR_RINGZERO_PCAP_MIXED_LINK_TYPES naming the types and a
// split recipe that works, instead of being rewritten as Ethernet or
// filtered as Ethernet. Files whose interfaces share one link type still
// work, and the reader API without oneLinkType still delivers each packet's
// own link type.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapReader } from '../src/pcap/index.js';
import { PcapLinkTypesError } from '../src/errors.js';
import { firstOf, needTool } from './helpers/env.js';
import { buildPcapng, readAll, type GenBlock, type GenInterface } from './helpers/pcap-gen.js';

const BIN = new URL('../src/cli/main.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'rz-mixed-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

/** An IPv4/UDP datagram of `len` bytes (10.0.0.1:12345 -> 10.0.0.2:53). */
function ipUdp(len: number): Uint8Array {
  const d = new Uint8Array(len);
  d[0] = 0x45; d[2] = len >> 8; d[3] = len & 255; d[8] = 64; d[9] = 17;
  d.set([10, 0, 0, 1, 10, 0, 0, 2], 12);
  d.set([0x30, 0x39, 0x00, 0x35, (len - 20) >> 8, (len - 20) & 255], 20);
  return d;
}
const withHeader = (h: number[], len: number) => { const d = new Uint8Array(h.length + len); d.set(h); d.set(ipUdp(len), h.length); return d; };
const ETH = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0];
const SLL = [0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 8, 0];
const frame = { 1: withHeader(ETH, 60), 101: ipUdp(60), 113: withHeader(SLL, 60) } as Record<number, Uint8Array>;
const pkt = (iface: number, link: number, i: number): GenBlock => ({ kind: 'epb', iface, pkt: { data: frame[link], sec: 1_700_000_000, nsec: i } });

function file(name: string, sections: Array<{ links: number[]; packets: Array<[number, number]> }>): string {
  const path = join(dir, name);
  writeFileSync(path, buildPcapng(sections.map((s) => ({
    interfaces: s.links.map((linkType): GenInterface => ({ linkType })),
    blocks: s.packets.map(([iface, i]) => pkt(iface, s.links[iface], i)),
  }))));
  return path;
}
// IDB0 Ethernet, IDB1 RAW, IDB2 SLL, one UDP packet on each.
const mixed = file('mixed.pcapng', [{ links: [1, 101, 113], packets: [[0, 1], [1, 2], [2, 3]] }]);
const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

test('the reader with oneLinkType refuses interfaces of different link types; without it delivers each packet\'s own', () => {
  assert.throws(() => PcapReader.openSync(mixed, { oneLinkType: true }), (e) => e instanceof PcapLinkTypesError
    && e.code === 'ERR_RINGZERO_PCAP_MIXED_LINK_TYPES' && e.linkTypes.join() === '1,101' && e.offset > 0
    && /interface 1 has link type RAW \(101\), different from the first interface's EN10MB \(1\)/.test(e.message));
  const all = readAll(mixed);
  assert.deepEqual([...all.linkType], [1, 101, 113]);
});

test('count, dump and dump --pcapng refuse a file mixing link types at open, write nothing, and name the types', () => {
  for (const args of [['count', '-f', 'udp'], ['dump', '-w', join(dir, 'out.pcap')], ['dump', '--pcapng', '-w', join(dir, 'out.pcapng')]]) {
    const [cmd, ...rest] = args;
    const r = run(cmd, '-i', `pcap:${mixed}`, ...rest);
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /interface 1 has link type RAW \(101\), different from the first interface's EN10MB \(1\)/);
    assert.match(r.stderr, /Split the file per interface.*tshark -r .* -Y 'frame.interface_id == 1'.*editcap -T rawip -F pcap/);
    assert.match(r.stderr, /\[ERR_RINGZERO_PCAP_MIXED_LINK_TYPES\]/);
  }
  assert.equal(existsSync(join(dir, 'out.pcap')) || existsSync(join(dir, 'out.pcapng')), false, 'no output file was created');
});

test('tcpdump refuses the same file (the behaviour matched)', { skip: needTool('/usr/bin/tcpdump', 'tcpdump') || false }, () => {
  const r = spawnSync('tcpdump', ['-r', mixed, '-n'], { encoding: 'utf8' });
  assert.match(r.stderr, /different from the type of the first interface/);
});

test('an interface of another link type in a later section: the packets before it are delivered, then the error', () => {
  const later = file('later.pcapng', [
    { links: [1], packets: [[0, 1], [0, 2]] },
    { links: [101], packets: [[0, 3]] },
  ]);
  const r = run('count', '-i', `pcap:${later}`, '-f', 'udp', '--json');
  assert.equal(r.status, 1, r.stderr);
  assert.equal(JSON.parse(r.stdout.trim().split('\n').pop()!).packets, 2);
  assert.match(r.stderr, /interface 1 has link type RAW \(101\).*\[ERR_RINGZERO_PCAP_MIXED_LINK_TYPES\]/);
});

test('interfaces that share one link type keep working: count -f udp and dump read every packet', () => {
  const same = file('same.pcapng', [{ links: [101, 101], packets: [[0, 1], [1, 2], [0, 3]] }]);
  const c = run('count', '-i', `pcap:${same}`, '-f', 'udp', '--json');
  assert.equal(c.status, 0, c.stderr);
  assert.equal(JSON.parse(c.stdout).packets, 3);
  const out = join(dir, 'same-out.pcap');
  const d = run('dump', '-i', `pcap:${same}`, '-w', out, '-q');
  assert.equal(d.status, 0, d.stderr);
  const back = readAll(out);
  assert.equal(back.reader.linkType, 101, 'written with the file\'s link type');
  assert.equal(back.sec.length, 3);
});

test('the split recipe in the message yields a file that count reads and filters',
  { skip: firstOf(needTool('/usr/bin/tshark', 'tshark'), needTool('/usr/bin/editcap', 'wireshark-common')) }, () => {
    const r = run('count', '-i', `pcap:${mixed}`);
    const recipe = /for interface 1: (tshark .*? -F pcap if1\.pcapng if1\.pcap)/.exec(r.stderr);
    assert.ok(recipe, r.stderr);
    execSync(recipe[1], { cwd: dir, stdio: 'ignore' });
    const c = run('count', '-i', `pcap:${join(dir, 'if1.pcap')}`, '-f', 'udp', '--json');
    assert.equal(c.status, 0, c.stderr);
    assert.equal(JSON.parse(c.stdout).packets, 1, 'the RAW packet, matched by udp');
  });
