// Compiling expressions with libpcap (dlopen'd): the program is what tcpdump
// itself produces, options reach libpcap, bad expressions surface libpcap's
// own message, a missing libpcap names the package, and compileFilter offers
// every back-end for one expression.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileFilter, readFilterFile } from '../src/filter/index.js';
import { pcapCompile, libpcapVersion, LINKTYPE } from '../src/filter/pcap.js';
import { disassemble } from '../src/filter/cbpf.js';
import { FilterSyntaxError, FilterUnsupportedError } from '../src/errors.js';
import { EXPRESSIONS, ANCILLARY_EXPRESSIONS, BAD_EXPRESSIONS } from './helpers/filter-exprs.js';
import { needTool } from './helpers/env.js';

const noTcpdump = needTool('/usr/bin/tcpdump', 'tcpdump') ?? false;

function tcpdump(args: string[]): { out: string; err: string; status: number | null } {
  const r = spawnSync('tcpdump', args, { encoding: 'utf8' });
  return { out: r.stdout, err: r.stderr, status: r.status };
}

/** `tcpdump -ddd`: a count line, then "code jt jf k" per instruction. */
function tcpdumpProgram(expr: string, linktype = 'EN10MB', snaplen?: number): number[][] {
  const r = tcpdump(['-ddd', '-y', linktype, ...(snaplen ? ['-s', String(snaplen)] : []), '--', expr]);
  assert.equal(r.status, 0, r.err);
  const lines = r.out.trim().split('\n');
  assert.equal(Number(lines[0]), lines.length - 1);
  return lines.slice(1).map((l) => l.trim().split(/\s+/).map(Number));
}

const asRows = (p: ReturnType<typeof pcapCompile>): number[][] => p.map((i) => [i.code, i.jt, i.jf, i.k]);

test('libpcap is found and reports its version', () => {
  assert.match(libpcapVersion(), /^libpcap version \d+\.\d+/);
});

test('pcapCompile produces the same instructions as tcpdump -ddd', { skip: noTcpdump }, () => {
  for (const expr of EXPRESSIONS.filter((_, i) => i % 4 === 0)) {
    assert.deepEqual(asRows(pcapCompile(expr)), tcpdumpProgram(expr), expr);
  }
});

test('linktype and snaplen options reach libpcap (same as tcpdump -y / -s)', { skip: noTcpdump }, () => {
  assert.deepEqual(asRows(pcapCompile('tcp port 80', { linktype: LINKTYPE.RAW })), tcpdumpProgram('tcp port 80', 'RAW'));
  assert.deepEqual(asRows(pcapCompile('udp', { linktype: LINKTYPE.LINUX_SLL })), tcpdumpProgram('udp', 'LINUX_SLL'));
  assert.deepEqual(asRows(pcapCompile('ip', { snaplen: 96 })), tcpdumpProgram('ip', 'EN10MB', 96));
  const unoptimised = pcapCompile('tcp port 80', { optimize: false });
  assert.ok(unoptimised.length > pcapCompile('tcp port 80').length, 'optimize: false keeps the longer program');
});

test('disassembly reads like tcpdump -d', { skip: noTcpdump }, () => {
  const norm = (s: string): string => s.trim().split('\n').map((l) => l.replace(/\s+/g, ' ').trim()).join('\n');
  for (const expr of EXPRESSIONS.filter((_, i) => i % 5 === 0)) {
    assert.equal(norm(disassemble(pcapCompile(expr))), norm(tcpdump(['-d', '-y', 'EN10MB', '--', expr]).out), expr);
  }
});

test('bad expressions throw FilterSyntaxError carrying libpcap\'s own message (as tcpdump prints it)', { skip: noTcpdump }, () => {
  for (const expr of BAD_EXPRESSIONS) {
    const r = tcpdump(['-d', '-y', 'EN10MB', '--', expr]);
    assert.notEqual(r.status, 0, `tcpdump accepts "${expr}"`);
    const theirs = r.err.split('\n').find((l) => l.startsWith('tcpdump: '))!.slice('tcpdump: '.length);
    assert.throws(() => pcapCompile(expr), (e: unknown) => {
      assert.ok(e instanceof FilterSyntaxError, String(e));
      assert.equal(e.code, 'ERR_RINGZERO_FILTER_SYNTAX');
      assert.equal(e.pcapMessage, theirs, expr);
      assert.equal(e.expression, expr);
      assert.ok(e.message.includes(theirs) && e.message.includes(expr) && e.message.includes('pcap-filter'));
      return true;
    });
  }
});

test('ip broadcast needs a netmask: libpcap\'s error without one, a program with one', () => {
  assert.throws(() => pcapCompile('ip broadcast'), (e: unknown) => e instanceof FilterSyntaxError && /netmask not known/.test(e.pcapMessage));
  const p = pcapCompile('ip broadcast', { netmask: 0xffffff00 });
  assert.ok(p.some((i) => i.k === 0xff), 'tests the host part against the netmask');
});

test('a missing libpcap is reported with the package to install', () => {
  const script = `import('${new URL('../src/filter/pcap.js', import.meta.url).href}').then((m) => {
    try { m.pcapCompile('tcp'); console.log('compiled'); } catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }
  });`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, RINGZERO_LIBPCAP: '/nonexistent/libpcap.so.0.8' }, encoding: 'utf8',
  });
  const e = JSON.parse(out) as { name: string; code: string; message: string };
  assert.equal(e.name, 'LibpcapMissingError');
  assert.equal(e.code, 'ERR_RINGZERO_LIBPCAP_MISSING');
  assert.match(e.message, /apt-get install libpcap0\.8/);
});

test('compileFilter offers the program, a JS matcher and both kernel back-ends', () => {
  const f = compileFilter('udp port 53', { snaplen: 1500 });
  assert.equal(f.expression, 'udp port 53');
  assert.equal(f.linktype, 1);
  assert.equal(f.bytes.length, f.program.length * 8);
  const frame = new Uint8Array(60);
  frame.set([0x08, 0x00, 0x45], 12);
  frame[23] = 17;
  frame.set([0x30, 0x39, 0x00, 0x35], 34); // 12345 -> 53
  const m = f.match; // detached use, as a data path would hold it
  assert.equal(m(frame, 0, 60, 60), 1500);
  frame[37] = 0x36;
  assert.equal(m(frame, 0, 60, 60), 0);
  assert.equal(f.toXdpEbpf().length % 8, 0);
  assert.equal(f.buildXdpProgram().length, f.toXdpEbpf().length + 16);
  assert.match(f.disassemble(), /^\(000\) ldh \[12\]/);
});

test('Linux ancillary expressions (inbound, ifindex) compile, but JS and XDP refuse them naming the expression', () => {
  for (const expr of ANCILLARY_EXPRESSIONS) {
    const f = compileFilter(expr);
    const check = (e: unknown): boolean => {
      assert.ok(e instanceof FilterUnsupportedError, String(e));
      assert.equal(e.code, 'ERR_RINGZERO_FILTER_UNSUPPORTED');
      assert.ok(e.message.includes(`"${expr}"`) && /SKF_AD_/.test(e.message) && e.message.includes('socket attach'), e.message);
      return true;
    };
    assert.throws(() => f.match, check);
    assert.throws(() => f.toXdpEbpf(), check);
  }
});

test('readFilterFile (-F FILE) joins lines and drops # comments', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rz-filter-'));
  try {
    const path = join(dir, 'filter.txt');
    writeFileSync(path, '# web traffic\ntcp port 80   # http\n  or tcp port 443\n');
    const expr = readFilterFile(path);
    assert.deepEqual(asRows(pcapCompile(expr)), asRows(pcapCompile('tcp port 80 or tcp port 443')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
