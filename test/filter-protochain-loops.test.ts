// libpcap compiles `protochain` as a loop over the extension headers (a
// backward `ja`). The JS back-end (pcap: files, queues) runs it as libpcap's
// interpreter does, within a budget of steps per packet; the kernel back-ends
// (socket filter, XDP) cannot, and refuse it naming what to do instead.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BpfCheckError, FilterUnsupportedError } from '../src/errors.js';
import { BPF, type BpfInsn } from '../src/filter/cbpf.js';
import { checkProgram, checkUserProgram } from '../src/filter/check.js';
import { compileFilter } from '../src/filter/index.js';
import { LOOP_STEPS_BASE, toJsFunction } from '../src/filter/js.js';
import { pcapCompile, pcapFilter } from '../src/filter/pcap.js';
import { eth, ext6, ipv4, ipv6, tcp, udp, type TestPacket } from './helpers/filter-packets.js';
import { buildPcap } from './helpers/pcap-gen.js';
import { BIN } from './helpers/cli.js';
import { needTool } from './helpers/env.js';

const M1 = '00:11:22:33:44:55';
const M2 = '66:77:88:99:aa:bb';
/** An authentication header (AH): (len + 2) * 4 bytes. */
const ah = (next: number, len = 1): number[] => [next, len, 0, 0, ...Array((len + 2) * 4 - 4).fill(7)];
/** A 16-byte IPv6 extension header (length field 1). */
const ext16 = (next: number): number[] => [next, 1, ...Array(14).fill(1)];

/** IPv4 and IPv6 frames with and without extension headers and AH, cut and whole. */
function chainPackets(): TestPacket[] {
  const out: TestPacket[] = [];
  const add = (name: string, b: number[]): void => { out.push({ name, bytes: Uint8Array.from(b), wirelen: b.length }); };
  const v4 = (proto: number, payload: number[]): number[] => eth(M1, M2, 0x0800, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto }, payload));
  const v6 = (next: number, payload: number[]): number[] => eth(M1, M2, 0x86dd, ipv6('2001:db8::1', '2001:db8::2', next, payload));
  add('v4-tcp', v4(6, tcp(1024, 80, 2)));
  add('v4-udp', v4(17, udp(53, 53)));
  add('v4-ah-tcp', v4(51, [...ah(6), ...tcp(1024, 80, 2)]));
  add('v4-ah-udp', v4(51, [...ah(17, 4), ...udp(53, 53)]));
  add('v4-ah-ah-tcp', v4(51, [...ah(51), ...ah(6), ...tcp(1024, 80, 2)]));
  add('v6-udp', v6(17, udp(53, 53)));
  add('v6-hop-udp', v6(0, [...ext6(17, 0), ...udp(53, 53)]));
  add('v6-hop-dst-tcp', v6(0, [...ext6(60, 0), ...ext6(6, 60), ...tcp(1024, 80, 2)]));
  add('v6-rt-frag-udp', v6(43, [...ext6(44, 43), ...ext6(17, 44), ...udp(53, 53)]));
  add('v6-dst16-udp', v6(60, [...ext16(17), ...udp(53, 53)]));
  add('v6-ah-tcp', v6(51, [...ah(6), ...tcp(1024, 80, 2)]));
  add('v6-hop-ah-udp', v6(0, [...ext6(51, 0), ...ah(17), ...udp(53, 53)]));
  add('v6-nonext', v6(59, [1, 2, 3, 4]));
  // 1000 destination options headers: a long chain libpcap walks to its end, well inside the budget
  let long = udp(53, 53);
  for (let i = 0; i < 1000; i++) long = [...ext6(i === 0 ? 17 : 60, 60), ...long];
  add('v6-dst1000-udp', v6(60, long));
  for (const p of out.slice()) {
    for (const cut of [54, 62, 70]) {
      if (cut < p.bytes.length) out.push({ name: `${p.name}-snap${cut}`, bytes: p.bytes.slice(0, cut), wirelen: p.wirelen });
    }
  }
  return out;
}

const EXPRS = ['ip protochain 6', 'ip6 protochain 17', 'protochain 6', 'protochain 17', 'ip6 protochain 51', 'ip6 protochain 60 or tcp'];

test('protochain programs loop (a backward ja), and the JS back-end returns what libpcap returns for every packet', () => {
  const packets = chainPackets();
  for (const expr of EXPRS) {
    const prog = pcapCompile(expr);
    assert.throws(() => checkProgram(prog), BpfCheckError, `${expr}: the kernel's rules refuse it`);
    const fn = toJsFunction(prog, expr);
    let accepted = 0;
    for (const p of packets) {
      const want = pcapFilter(prog, p.bytes, p.wirelen);
      const buf = new Uint8Array(p.bytes.length + 3);
      buf.set(p.bytes, 3);
      assert.equal(fn(buf, 3, p.bytes.length, p.wirelen), want, `"${expr}" on ${p.name}`);
      if (want) accepted++;
    }
    assert.ok(accepted > 0 && accepted < packets.length, `"${expr}" accepts ${accepted} of ${packets.length}: both outcomes`);
  }
});

test('count -i pcap:FILE runs protochain filters and counts what tcpdump -r counts', { skip: needTool('/usr/bin/tcpdump', 'tcpdump') || false }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'rz-protochain-'));
  try {
    const file = join(dir, 'chains.pcap');
    const packets = chainPackets();
    writeFileSync(file, buildPcap(packets.map((p, i) => ({ data: p.bytes, wirelen: p.wirelen, sec: 1_700_000_000 + i, nsec: 0 }))));
    for (const expr of EXPRS) {
      const r = spawnSync(process.execPath, [BIN, 'count', '-i', `pcap:${file}`, '--json', expr], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 0, `${expr}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`with filter '${expr}' \\(js\\)`), 'the start-up line says where the filter runs');
      const theirs = spawnSync('tcpdump', ['-r', file, '-n', expr], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(theirs.status, 0, theirs.stderr);
      const want = theirs.stdout.split('\n').filter((l) => l !== '').length;
      assert.ok(want > 0, `tcpdump matches some packets for ${expr}`);
      assert.equal(JSON.parse(r.stdout).packets, want, `"${expr}": ringzero vs tcpdump -r`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const I = (code: number, k = 0, jt = 0, jf = 0): BpfInsn => ({ code, jt, jf, k: k >>> 0 });
// X counts up to the wire length, one turn of the loop (instructions 1..6) per count, then returns X
const COUNT_TO_LEN = [
  I(BPF.LDX | BPF.IMM, 0),
  I(BPF.MISC | BPF.TXA), I(BPF.ALU | BPF.ADD | BPF.K, 1), I(BPF.MISC | BPF.TAX),
  I(BPF.LD | BPF.W | BPF.LEN), I(BPF.JMP | BPF.JGT | BPF.X, 0, 0, 1),
  I(BPF.JMP | BPF.JA, -6), // back to 1: each turn costs 6 steps
  I(BPF.MISC | BPF.TXA), I(BPF.RET | BPF.A),
];

test('a loop runs as in libpcap until the packet\'s budget of steps is spent; then the packet is rejected', () => {
  const prog = checkUserProgram(COUNT_TO_LEN);
  const fn = toJsFunction(prog);
  const empty = new Uint8Array(0); // caplen 0: the budget is LOOP_STEPS_BASE
  const turns = Math.floor(LOOP_STEPS_BASE / 6); // backward jumps the budget pays for
  for (const wirelen of [1, 2, 100, turns, turns + 1]) {
    assert.equal(fn(empty, 0, 0, wirelen), wirelen, `wirelen ${wirelen}`);
    assert.equal(pcapFilter(prog, empty, wirelen), wirelen);
  }
  assert.equal(fn(empty, 0, 0, turns + 2), 0, 'one turn more than the budget: rejected');
  assert.equal(pcapFilter(prog, empty, turns + 2), turns + 2, 'libpcap has no budget');
  const packet = new Uint8Array(100); // each captured byte adds LOOP_STEPS_PER_BYTE (8) steps
  assert.equal(fn(packet, 0, 100, turns + 2), turns + 2);
});

test('a protochain loop that never ends in libpcap (AH headers pointing at each other) is rejected promptly', () => {
  // libpcap's IPv4 AH step sets X = (length + 2) * 4 instead of adding it: an AH at X = 20 saying
  // length 3 and next header AH leads back to itself. tcpdump -r spins on this packet forever
  // (and ignores SIGTERM meanwhile), so only the JS back-end is run on it.
  const frame = Uint8Array.from(eth(M1, M2, 0x0800, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 51 }, ah(51, 3))));
  const fn = compileFilter('ip protochain 6').match;
  const t0 = process.hrtime.bigint();
  assert.equal(fn(frame, 0, frame.length, frame.length), 0);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  assert.ok(ms < 100, `rejected after ${ms.toFixed(1)} ms`);
  // a self-jump (`ja -1`) passes libpcap's checks too, and ends the same way
  assert.equal(toJsFunction(checkUserProgram([I(BPF.JMP | BPF.JA, -1), I(BPF.RET | BPF.K, 1)]))(frame, 0, frame.length, frame.length), 0);
});

test('libpcap\'s rules allow a backward ja inside the program only; the kernel\'s message says where a jump lands', () => {
  const rule = (insns: BpfInsn[]): string => {
    try { checkUserProgram(insns); return 'ok'; } catch (e) { assert.ok(e instanceof BpfCheckError); return e.rule; }
  };
  assert.equal(rule([I(BPF.LD | BPF.IMM, 1), I(BPF.JMP | BPF.JA, -2), I(BPF.RET | BPF.A)]), 'ok');
  assert.equal(rule([I(BPF.LD | BPF.IMM, 1), I(BPF.JMP | BPF.JA, -3), I(BPF.RET | BPF.A)]), 'jump-range');
  assert.equal(rule([I(BPF.JMP | BPF.JA, 1), I(BPF.RET | BPF.A)]), 'jump-range');
  assert.throws(() => checkProgram(pcapCompile('ip protochain 6')), (e: unknown) => {
    assert.ok(e instanceof BpfCheckError && e.rule === 'jump-range' && e.index === 19, String(e));
    assert.match(e.message, /instruction 19 \(ja 4\): ja jumps back to instruction 4 \(offset -16\)/);
    assert.doesNotMatch(e.message, /4294967280/);
    return true;
  });
});

test('the kernel back-ends refuse a filter that loops, naming the jump and the fix; capture commands refuse it before opening', () => {
  const f = compileFilter('ip protochain 6');
  const refused = (e: unknown): boolean => {
    assert.ok(e instanceof FilterUnsupportedError, String(e));
    assert.equal(e.code, 'ERR_RINGZERO_FILTER_UNSUPPORTED');
    assert.equal(e.index, 19);
    assert.match(e.message, /"ip protochain 6" loops: instruction 19 \(ja 4\) jumps back to instruction 4 \(offset -16\)/);
    assert.match(e.message, /balance -i DEV -c ID.*count -i zc:ID@0 -f EXPR.*pcap:FILE/);
    return true;
  };
  assert.throws(() => f.kernelProgram(), refused);
  assert.throws(() => f.bytes, refused);
  assert.throws(() => f.xdpFunction(), refused);
  assert.throws(() => f.attachToSocket(-1), refused);
  for (const dev of ['lo', 'zc:lo']) {
    const r = spawnSync(process.execPath, [BIN, 'count', '-i', dev, '-c', '1', 'ip protochain 6'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /loops: .*\[ERR_RINGZERO_FILTER_UNSUPPORTED\]/, dev);
  }
});
