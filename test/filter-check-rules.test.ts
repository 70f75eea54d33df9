// The classic BPF checker enforces the kernel's rules: each rule has a
// program it rejects (naming the instruction and the rule), the kernel
// refuses the same program with EINVAL on a real socket, and over thousands
// of random (often invalid) programs checker and kernel agree exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native } from '../src/native/index.js';
import { BPF, encodeProgram, type BpfInsn } from '../src/filter/cbpf.js';
import { checkProgram, isChecked } from '../src/filter/check.js';
import { pcapCompile } from '../src/filter/pcap.js';
import { BpfCheckError, errnoOf } from '../src/errors.js';
import { RandomPrograms } from './helpers/filter-random.js';
import { EXPRESSIONS } from './helpers/filter-exprs.js';

const I = (code: number, k = 0, jt = 0, jf = 0): BpfInsn => ({ code, jt, jf, k: k >>> 0 });
const RET0 = I(BPF.RET | BPF.K, 0);
const RETA = I(BPF.RET | BPF.A);

/** What the kernel says: SO_ATTACH_FILTER on a UDP socket (no privilege needed). */
function kernelAccepts(insns: readonly BpfInsn[]): boolean {
  const fd = native.socket(2 /* AF_INET */, 2 /* SOCK_DGRAM */, 0);
  try {
    const fprog = new Uint8Array(16);
    new DataView(fprog.buffer).setUint16(0, insns.length, true);
    native.setsockopt(fd, 1, 26, fprog, [[8, insns.length ? encodeProgram(insns) : new Uint8Array(8)]]);
    return true;
  } catch (e) {
    if (errnoOf(e) !== 'EINVAL') throw e;
    return false;
  } finally {
    native.close(fd);
  }
}

const CASES: Array<{ rule: string; index: number; insns: BpfInsn[] }> = [
  { rule: 'length', index: 0, insns: [] },
  { rule: 'length', index: 4097, insns: [...Array(4096).fill(I(BPF.LD | BPF.IMM, 1)), RET0] },
  { rule: 'opcode', index: 0, insns: [I(0x0e), RET0] }, // ret x: libpcap knows it, the kernel does not
  { rule: 'opcode', index: 1, insns: [I(BPF.LD | BPF.IMM), I(0xffff), RET0] },
  { rule: 'opcode', index: 0, insns: [I(BPF.LD | BPF.W | BPF.MSH), RET0] },
  { rule: 'division-by-zero', index: 0, insns: [I(BPF.ALU | BPF.DIV | BPF.K, 0), RETA] },
  { rule: 'division-by-zero', index: 1, insns: [I(BPF.LD | BPF.LEN), I(BPF.ALU | BPF.MOD | BPF.K, 0), RETA] },
  { rule: 'shift-range', index: 0, insns: [I(BPF.ALU | BPF.LSH | BPF.K, 32), RETA] },
  { rule: 'shift-range', index: 0, insns: [I(BPF.ALU | BPF.RSH | BPF.K, 0xffffffff), RETA] },
  { rule: 'scratch-slot', index: 0, insns: [I(BPF.ST, 16), RET0] },
  { rule: 'scratch-slot', index: 1, insns: [I(BPF.ST, 0), I(BPF.LDX | BPF.MEM, 99), RET0] },
  { rule: 'jump-range', index: 0, insns: [I(BPF.JMP | BPF.JA, 1), RET0] },
  { rule: 'jump-range', index: 0, insns: [I(BPF.JMP | BPF.JA, 0xffffffff), RET0] }, // backwards
  { rule: 'jump-range', index: 1, insns: [I(BPF.LD | BPF.LEN), I(BPF.JMP | BPF.JEQ | BPF.K, 5, 0, 1), RETA] },
  { rule: 'jump-range', index: 0, insns: [I(BPF.JMP | BPF.JGT | BPF.X, 0, 2, 0), RET0, RETA] },
  { rule: 'ancillary', index: 0, insns: [I(BPF.LD | BPF.W | BPF.ABS, 0xfffff000 + 64), RETA] },
  { rule: 'last-return', index: 1, insns: [I(BPF.LD | BPF.IMM, 1), I(BPF.MISC | BPF.TAX)] },
  { rule: 'last-return', index: 0, insns: [I(BPF.LD | BPF.LEN)] },
  { rule: 'scratch-uninitialised', index: 0, insns: [I(BPF.LD | BPF.MEM, 3), RETA] },
  // stored on one branch only
  { rule: 'scratch-uninitialised', index: 4, insns: [I(BPF.LD | BPF.LEN), I(BPF.JMP | BPF.JGT | BPF.K, 60, 0, 1), I(BPF.ST, 2), I(BPF.LD | BPF.IMM, 0), I(BPF.LDX | BPF.MEM, 2), RETA] },
  // stored on every path that reaches the load, but the kernel's linear scan carries the state
  // of the path that ended at `ret` into the next instruction: refused like the kernel does
  { rule: 'scratch-uninitialised', index: 5, insns: [I(BPF.LD | BPF.LEN), I(BPF.JMP | BPF.JEQ | BPF.K, 1, 0, 2), I(BPF.ST, 0), I(BPF.JMP | BPF.JEQ | BPF.K, 2, 1, 0), RET0, I(BPF.LD | BPF.MEM, 0), RETA] },
];

for (const c of CASES) {
  test(`checker rule ${c.rule} rejects instruction ${c.index} and the kernel refuses the same program`, () => {
    assert.throws(() => checkProgram(c.insns), (e: unknown) => {
      assert.ok(e instanceof BpfCheckError, String(e));
      assert.equal(e.code, 'ERR_RINGZERO_BPF_CHECK');
      assert.equal(e.rule, c.rule);
      assert.equal(e.index, c.index);
      assert.match(e.message, new RegExp(`rule: ${c.rule}`));
      if (c.index < c.insns.length) assert.match(e.message, new RegExp(`instruction ${c.index} \\(`));
      return true;
    });
    if (c.insns.length <= 4096) assert.equal(kernelAccepts(c.insns), false, 'kernel verdict');
  });
}

test('every libpcap program of the expression corpus passes the checker and the kernel', () => {
  for (const expr of EXPRESSIONS.filter((_, i) => i % 3 === 0)) {
    const p = pcapCompile(expr);
    assert.ok(isChecked(p));
    assert.equal(kernelAccepts(p), true, expr);
  }
});

test('checked programs are frozen and checking twice returns the same object', () => {
  const p = checkProgram([I(BPF.LD | BPF.LEN), RETA]);
  assert.ok(Object.isFrozen(p) && Object.isFrozen(p[0]));
  assert.equal(checkProgram(p), p);
  assert.deepEqual(checkProgram(encodeProgram(p)), p, 'bytes decode to the same program');
});

test('checker verdict equals the kernel verdict on thousands of mutated programs (seeded)', () => {
  const gen = new RandomPrograms(0xc0de);
  let rejected = 0;
  for (let n = 0; n < 3000; n++) {
    const insns: BpfInsn[] = [...gen.program(20)];
    const at = gen.int(insns.length);
    const i = insns[at]!;
    switch (gen.int(5)) {
      case 0: insns[at] = { ...i, code: gen.int(4) === 0 ? gen.int(0x10000) : gen.int(0x100) }; break;
      case 1: insns[at] = { ...i, jt: gen.int(256), jf: gen.int(20) }; break;
      case 2: insns[at] = { ...i, k: gen.k() }; break;
      case 3: insns[at] = { ...i, k: gen.int(40) }; break;
      default: insns.splice(at, 1);
    }
    let ours = true;
    try { checkProgram(insns); } catch (e) { if (!(e instanceof BpfCheckError)) throw e; ours = false; }
    const theirs = kernelAccepts(insns);
    if (ours !== theirs) assert.fail(`checker says ${ours}, kernel says ${theirs} for ${JSON.stringify(insns)}`);
    if (!ours) rejected++;
  }
  assert.ok(rejected > 500 && rejected < 2900, `${rejected} of 3000 mutated programs rejected: both verdicts exercised`);
});
