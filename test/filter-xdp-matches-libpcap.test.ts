// The XDP back-end, loaded into the kernel and run with BPF_PROG_TEST_RUN,
// decides like libpcap's bpf_filter for the expression corpus over the packet
// corpus, and random valid programs agree too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native } from '../src/native/index.js';
import { compileFilter } from '../src/filter/index.js';
import { EBPF, EbpfAssembler } from '../src/filter/ebpf.js';
import { pcapCompile, pcapFilter } from '../src/filter/pcap.js';
import { buildXdpFilterProgram, XDP } from '../src/filter/xdp.js';
import { loadXdpProgram, testRunXdp } from '../src/filter/xdp-load.js';
import { BPF, disassemble, type BpfInsn } from '../src/filter/cbpf.js';
import { checkProgram } from '../src/filter/check.js';
import { EXPRESSIONS } from './helpers/filter-exprs.js';
import { buildPacketCorpus } from './helpers/filter-packets.js';
import { RandomPrograms } from './helpers/filter-random.js';
import { TEST_RUN_MAX, TEST_RUN_MIN, valueProgram } from './helpers/filter-xdp.js';
import { needRoot } from './helpers/env.js';

const skip = needRoot() ?? false;
// BPF_PROG_TEST_RUN refuses XDP input shorter than an Ethernet header; such
// frames cannot reach XDP on a real link either.
const packets = buildPacketCorpus().filter((p) => p.bytes.length >= TEST_RUN_MIN && p.bytes.length <= TEST_RUN_MAX);

test('XDP filter (BPF_PROG_TEST_RUN) returns libpcap bpf_filter result for every expression x packet pair', { skip }, () => {
  const attr = new Uint8Array(80);
  let pairs = 0;
  for (const expr of EXPRESSIONS) {
    const prog = checkProgram(pcapCompile(expr)); // the corpus has no loops: every program is kernel-checked
    const fd = loadXdpProgram(valueProgram(prog), { name: 'rz_test_value' });
    try {
      for (const p of packets) {
        const want = pcapFilter(prog, p.bytes, p.wirelen);
        const got = testRunXdp(fd, p.bytes, 1, attr).retval;
        if (got !== want) assert.fail(`"${expr}" on ${p.name} (${p.bytes.length} bytes): XDP ${got}, libpcap ${want}\n${disassemble(prog)}`);
        pairs++;
      }
    } finally {
      native.close(fd);
    }
  }
  assert.ok(pairs > 50000, `${pairs} pairs`);
});

test('standalone XDP filter program passes what libpcap accepts and drops the rest', { skip }, () => {
  for (const expr of EXPRESSIONS.filter((_, i) => i % 9 === 0)) {
    const prog = pcapCompile(expr);
    const fd = loadXdpProgram(buildXdpFilterProgram(prog, { onAccept: XDP.PASS, onReject: XDP.DROP }));
    try {
      for (const p of packets) {
        const want = pcapFilter(prog, p.bytes, p.wirelen) !== 0 ? XDP.PASS : XDP.DROP;
        assert.equal(testRunXdp(fd, p.bytes).retval, want, `"${expr}" on ${p.name}`);
      }
    } finally {
      native.close(fd);
    }
  }
});

test('random valid programs: XDP result equals libpcap bpf_filter (seeded)', { skip }, () => {
  const gen = new RandomPrograms(0xbeef);
  const pk = Array.from({ length: 24 }, () => gen.packet(TEST_RUN_MIN, 120)).map((p) => ({ bytes: p.bytes, wirelen: p.bytes.length }));
  const attr = new Uint8Array(80);
  for (let n = 0; n < 2000; n++) {
    const prog = gen.program(n % 10 === 0 ? 100 : 30);
    const fd = loadXdpProgram(valueProgram(prog), { name: 'rz_test_rand' });
    try {
      for (const p of pk) {
        const want = pcapFilter(prog, p.bytes, p.wirelen);
        const got = testRunXdp(fd, p.bytes, 1, attr).retval;
        if (got !== want) assert.fail(`program #${n} on ${Buffer.from(p.bytes).toString('hex')}: XDP ${got}, libpcap ${want}\n${disassemble(prog)}`);
      }
    } finally {
      native.close(fd);
    }
  }
});

test('a 4096-instruction program passes the verifier and agrees with libpcap', { skip }, () => {
  const insns: BpfInsn[] = [{ code: BPF.LD | BPF.W | BPF.LEN, jt: 0, jf: 0, k: 0 }];
  for (let i = 1; i < 4094; i++) insns.push({ code: BPF.JMP | BPF.JEQ | BPF.K, jt: 1, jf: 0, k: i });
  insns.push({ code: BPF.RET | BPF.A, jt: 0, jf: 0, k: 0 }, { code: BPF.RET | BPF.K, jt: 0, jf: 0, k: 7 });
  const prog = checkProgram(insns);
  const fd = loadXdpProgram(valueProgram(prog), { name: 'rz_test_big' });
  try {
    for (const len of [14, 60, 100, 1500]) {
      const pkt = new Uint8Array(len);
      assert.equal(testRunXdp(fd, pkt).retval, pcapFilter(prog, pkt), `${len}-byte packet`);
    }
  } finally {
    native.close(fd);
  }
});

test('xdpFunction works as a bpf-to-bpf subprogram (the devices\' xdpFilter hook shape)', { skip }, () => {
  for (const expr of ['tcp port 80', 'vlan and udp', 'len > 100 and ip[8] < 64', 'arp']) {
    const f = compileFilter(expr);
    const fn = f.xdpFunction();
    // main: r6 = r1; call filter; if r0 == 0 goto reject; r0 = XDP_PASS; exit; reject: r0 = XDP_DROP; exit
    const asm = new EbpfAssembler();
    const reject = asm.label();
    asm.alu64Reg(EBPF.MOV, 6, 1);
    asm.raw(EBPF.JMP | EBPF.CALL, 0, 1 /* BPF_PSEUDO_CALL */, 0, 5); // relative to the next instruction: the filter starts after 6 main slots
    asm.jmpImm(EBPF.JEQ, 0, 0, reject, true);
    asm.alu64Imm(EBPF.MOV, 0, XDP.PASS);
    asm.exit();
    asm.bind(reject);
    asm.alu64Imm(EBPF.MOV, 0, XDP.DROP);
    asm.exit();
    const main = asm.finish();
    assert.equal(main.length / 8, 7);
    const prog = new Uint8Array(main.length + fn.length);
    prog.set(main);
    prog.set(fn, main.length);
    const fd = loadXdpProgram(prog, { name: 'rz_test_subprog' });
    try {
      for (const p of packets) {
        const want = pcapFilter(f.program, p.bytes, p.wirelen) !== 0 ? XDP.PASS : XDP.DROP;
        assert.equal(testRunXdp(fd, p.bytes).retval, want, `"${expr}" on ${p.name}`);
      }
    } finally {
      native.close(fd);
    }
  }
});
