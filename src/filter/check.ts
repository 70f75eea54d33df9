// The Linux kernel's rules for classic BPF (net/core/filter.c,
// bpf_check_classic and check_load_and_stores), applied in TypeScript so a
// program is known good before any back-end sees it: the socket attach will
// not fail with a bare EINVAL, and the JS and XDP translations may rely on
// forward jumps, known opcodes, in-range scratch slots and no constant
// division by zero.
import { BpfCheckError } from '../errors.js';
import {
  BPF, BPF_MAXINSNS, BPF_MEMWORDS, SKF_AD, SKF_AD_OFF, cls, decodeProgram, formatInsn, mode, op, src,
  type BpfInsn,
} from './cbpf.js';

declare const checkedBrand: unique symbol;
/** A frozen program that passed checkProgram(); back-ends accept only these. */
export type CheckedProgram = readonly BpfInsn[] & { readonly [checkedBrand]: true };

const checked = new WeakSet<object>();

/** The opcodes the kernel accepts (chk_code_allowed in net/core/filter.c). */
const ALLOWED = new Set<number>([
  ...[BPF.ADD, BPF.SUB, BPF.MUL, BPF.DIV, BPF.MOD, BPF.AND, BPF.OR, BPF.XOR, BPF.LSH, BPF.RSH]
    .flatMap((o) => [BPF.ALU | o | BPF.K, BPF.ALU | o | BPF.X]),
  BPF.ALU | BPF.NEG,
  BPF.LD | BPF.W | BPF.ABS, BPF.LD | BPF.H | BPF.ABS, BPF.LD | BPF.B | BPF.ABS,
  BPF.LD | BPF.W | BPF.LEN,
  BPF.LD | BPF.W | BPF.IND, BPF.LD | BPF.H | BPF.IND, BPF.LD | BPF.B | BPF.IND,
  BPF.LD | BPF.IMM, BPF.LD | BPF.MEM,
  BPF.LDX | BPF.W | BPF.LEN, BPF.LDX | BPF.B | BPF.MSH, BPF.LDX | BPF.IMM, BPF.LDX | BPF.MEM,
  BPF.ST, BPF.STX,
  BPF.MISC | BPF.TAX, BPF.MISC | BPF.TXA,
  BPF.RET | BPF.K, BPF.RET | BPF.A,
  BPF.JMP | BPF.JA,
  ...[BPF.JEQ, BPF.JGE, BPF.JGT, BPF.JSET].flatMap((o) => [BPF.JMP | o | BPF.K, BPF.JMP | o | BPF.X]),
]);

export function isConditionalJump(code: number): boolean {
  return cls(code) === BPF.JMP && op(code) !== BPF.JA;
}

function usesScratch(code: number): boolean {
  return code === BPF.ST || code === BPF.STX || code === (BPF.LD | BPF.MEM) || code === (BPF.LDX | BPF.MEM);
}

function fail(insns: readonly BpfInsn[], pc: number, rule: string, what: string): never {
  const at = pc >= 0 && pc < insns.length ? `instruction ${pc} (${formatInsn(insns[pc]!, pc)})` : `the program`;
  throw new BpfCheckError(
    `classic BPF check failed at ${at}: ${what} [rule: ${rule}]; the kernel would refuse this program with EINVAL — ` +
    'fix the program (or the expression it came from)', pc, rule);
}

/**
 * Checks `program` (instructions, or 8-byte host-order bytes) with the kernel's
 * rules and returns a frozen copy marked as checked. Throws BpfCheckError naming
 * the instruction index and the rule:
 * - `length`: 1..4096 instructions
 * - `opcode`: only opcodes the kernel knows
 * - `division-by-zero`: no div/mod by the constant 0
 * - `shift-range`: no lsh/rsh by a constant >= 32
 * - `scratch-slot`: M[k] with k < 16
 * - `jump-range`: every jump lands on an instruction after itself and inside the program
 * - `ancillary`: a load at SKF_AD_OFF+n names an ancillary field the kernel has
 * - `last-return`: the last instruction is `ret #k` or `ret a`
 * - `scratch-uninitialised`: M[k] is stored before it is loaded, on every path
 *   (the kernel's own linear algorithm, which is slightly stricter than a path-exact one)
 */
export function checkProgram(program: readonly BpfInsn[] | Uint8Array): CheckedProgram {
  if (!(program instanceof Uint8Array) && checked.has(program)) return program as CheckedProgram;
  const insns = program instanceof Uint8Array ? decodeProgram(program) : program;
  const n = insns.length;
  if (n === 0 || n > BPF_MAXINSNS) fail(insns, n, 'length', `${n} instructions; a program has 1..${BPF_MAXINSNS}`);
  for (let pc = 0; pc < n; pc++) {
    const i = insns[pc]!;
    if (!Number.isInteger(i.code) || !ALLOWED.has(i.code)) fail(insns, pc, 'opcode', `opcode 0x${i.code.toString(16)} is not a classic BPF instruction the kernel accepts`);
    if (!(i.jt >= 0 && i.jt <= 255 && i.jf >= 0 && i.jf <= 255) || !(i.k >= 0 && i.k <= 0xffffffff)) {
      fail(insns, pc, 'opcode', 'jt/jf must be u8 and k u32');
    }
    const c = i.code;
    if (cls(c) === BPF.ALU && (op(c) === BPF.DIV || op(c) === BPF.MOD) && src(c) === BPF.K && i.k === 0) {
      fail(insns, pc, 'division-by-zero', `${op(c) === BPF.DIV ? 'division' : 'modulo'} by the constant 0`);
    }
    if (cls(c) === BPF.ALU && (op(c) === BPF.LSH || op(c) === BPF.RSH) && src(c) === BPF.K && i.k >= 32) {
      fail(insns, pc, 'shift-range', `shift by the constant ${i.k} (must be < 32)`);
    }
    if (usesScratch(c) && i.k >= BPF_MEMWORDS) fail(insns, pc, 'scratch-slot', `scratch slot M[${i.k}] does not exist (0..${BPF_MEMWORDS - 1})`);
    if (c === (BPF.JMP | BPF.JA) && i.k >= n - pc - 1) {
      fail(insns, pc, 'jump-range', `ja +${i.k} lands outside the program or backwards (there are ${n - pc - 1} instructions after it)`);
    }
    if (isConditionalJump(c) && (pc + i.jt + 1 >= n || pc + i.jf + 1 >= n)) {
      fail(insns, pc, 'jump-range', `jt +${i.jt} / jf +${i.jf} lands outside the program (${n} instructions)`);
    }
    if (cls(c) === BPF.LD && mode(c) === BPF.ABS && i.k >= SKF_AD_OFF && SKF_AD[i.k - SKF_AD_OFF] === undefined) {
      fail(insns, pc, 'ancillary', `load at SKF_AD_OFF+${i.k - SKF_AD_OFF} is no ancillary field the kernel knows`);
    }
  }
  const last = insns[n - 1]!.code;
  if (last !== (BPF.RET | BPF.K) && last !== (BPF.RET | BPF.A)) fail(insns, n - 1, 'last-return', 'the last instruction must be ret #k or ret a');
  checkScratchWrittenBeforeRead(insns);

  const frozen = Object.freeze(insns.map((i) => Object.freeze({ code: i.code, jt: i.jt, jf: i.jf, k: i.k >>> 0 })));
  checked.add(frozen);
  return frozen as unknown as CheckedProgram;
}

/** True when `program` came out of checkProgram(). */
export function isChecked(program: readonly BpfInsn[]): program is CheckedProgram {
  return checked.has(program);
}

// check_load_and_stores(): one linear pass; `valid` holds one bit per slot
// stored on the way here; a jump ANDs its state into its targets' masks and
// the instruction after a jump starts from "all valid" & its mask.
function checkScratchWrittenBeforeRead(insns: readonly BpfInsn[]): void {
  const masks = new Uint16Array(insns.length).fill(0xffff);
  let valid = 0;
  for (let pc = 0; pc < insns.length; pc++) {
    valid &= masks[pc];
    const i = insns[pc]!;
    const c = i.code;
    if (c === BPF.ST || c === BPF.STX) {
      valid |= 1 << i.k;
    } else if (c === (BPF.LD | BPF.MEM) || c === (BPF.LDX | BPF.MEM)) {
      if (!(valid & (1 << i.k))) fail(insns, pc, 'scratch-uninitialised', `M[${i.k}] is read before it is stored on some path`);
    } else if (c === (BPF.JMP | BPF.JA)) {
      masks[pc + 1 + i.k] &= valid;
      valid = 0xffff;
    } else if (isConditionalJump(c)) {
      masks[pc + 1 + i.jt] &= valid;
      masks[pc + 1 + i.jf] &= valid;
      valid = 0xffff;
    }
  }
}
