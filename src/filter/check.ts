// The Linux kernel's rules for classic BPF (net/core/filter.c,
// bpf_check_classic and check_load_and_stores), applied in TypeScript so a
// program is known good before any back-end sees it: the socket attach will
// not fail with a bare EINVAL, and the JS and XDP translations may rely on
// forward jumps, known opcodes, in-range scratch slots and no constant
// division by zero.
//
// libpcap's own interpreter is one rule looser (bpf_validate in
// bpf_filter.c): `ja` may also jump backwards, because libpcap compiles
// `protochain` as a loop over the extension headers. checkUserProgram()
// applies those rules; such a program can run in user space only (the JS
// back-end, which bounds its loops: see js.ts), and kernelProgram() refuses
// it for the socket and XDP back-ends with FilterUnsupportedError.
import { BpfCheckError, FilterUnsupportedError } from '../errors.js';
import {
  BPF, BPF_MAXINSNS, BPF_MEMWORDS, SKF_AD, SKF_AD_OFF, cls, decodeProgram, formatInsn, jaTarget, mode, op, src,
  type BpfInsn,
} from './cbpf.js';

declare const userBrand: unique symbol;
declare const checkedBrand: unique symbol;
/** A frozen program that passed checkUserProgram() (libpcap's rules: loops allowed); the JS back-end takes these. */
export type UserProgram = readonly BpfInsn[] & { readonly [userBrand]: true };
/** A frozen program that passed checkProgram() (the kernel's rules); every back-end takes these. */
export type CheckedProgram = UserProgram & { readonly [checkedBrand]: true };

const checked = new WeakSet<object>();
const userChecked = new WeakSet<object>();

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

function fail(insns: readonly BpfInsn[], pc: number, rule: string, what: string, kernel: boolean): never {
  const at = pc >= 0 && pc < insns.length ? `instruction ${pc} (${formatInsn(insns[pc]!, pc)})` : `the program`;
  throw new BpfCheckError(
    `classic BPF check failed at ${at}: ${what} [rule: ${rule}]; ` +
    `${kernel ? 'the kernel would refuse this program with EINVAL' : 'neither the kernel nor libpcap would run this program'} — ` +
    'fix the program (or the expression it came from)', pc, rule);
}

/** Where `ja` at pc lands, with k as the signed offset from the next instruction it is: "instruction 4 (offset -16)". */
function jaWhere(pc: number, k: number): string {
  const d = k | 0;
  return `instruction ${jaTarget(pc, k)} (offset ${d < 0 ? d : `+${d}`})`;
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
  return check(program, true) as CheckedProgram;
}

/**
 * The same rules, as libpcap's interpreter applies them: `ja` may also jump
 * backwards (to any instruction of the program), so the program may loop.
 * A program without a backward jump comes back marked as kernel-checked too.
 * `scratch-uninitialised` is then judged over every path, loops included.
 */
export function checkUserProgram(program: readonly BpfInsn[] | Uint8Array): UserProgram {
  if (!(program instanceof Uint8Array) && userChecked.has(program)) return program as UserProgram;
  return check(program, false);
}

function check(program: readonly BpfInsn[] | Uint8Array, kernel: boolean): UserProgram {
  const insns = program instanceof Uint8Array ? decodeProgram(program) : program;
  const n = insns.length;
  const no = (pc: number, rule: string, what: string): never => fail(insns, pc, rule, what, kernel);
  if (n === 0 || n > BPF_MAXINSNS) no(n, 'length', `${n} instructions; a program has 1..${BPF_MAXINSNS}`);
  let loops = false;
  for (let pc = 0; pc < n; pc++) {
    const i = insns[pc]!;
    if (!Number.isInteger(i.code) || !ALLOWED.has(i.code)) no(pc, 'opcode', `opcode 0x${i.code.toString(16)} is not a classic BPF instruction the kernel accepts`);
    if (!(i.jt >= 0 && i.jt <= 255 && i.jf >= 0 && i.jf <= 255) || !(i.k >= 0 && i.k <= 0xffffffff)) {
      no(pc, 'opcode', 'jt/jf must be u8 and k u32');
    }
    const c = i.code;
    if (cls(c) === BPF.ALU && (op(c) === BPF.DIV || op(c) === BPF.MOD) && src(c) === BPF.K && i.k === 0) {
      no(pc, 'division-by-zero', `${op(c) === BPF.DIV ? 'division' : 'modulo'} by the constant 0`);
    }
    if (cls(c) === BPF.ALU && (op(c) === BPF.LSH || op(c) === BPF.RSH) && src(c) === BPF.K && i.k >= 32) {
      no(pc, 'shift-range', `shift by the constant ${i.k} (must be < 32)`);
    }
    if (usesScratch(c) && i.k >= BPF_MEMWORDS) no(pc, 'scratch-slot', `scratch slot M[${i.k}] does not exist (0..${BPF_MEMWORDS - 1})`);
    if (c === (BPF.JMP | BPF.JA)) {
      const t = jaTarget(pc, i.k);
      if (t >= n) no(pc, 'jump-range', `ja jumps to ${jaWhere(pc, i.k)}, past the end of the program (${n} instructions)`);
      if (t < 0) no(pc, 'jump-range', `ja jumps to ${jaWhere(pc, i.k)}, before the start of the program`);
      if (t <= pc) {
        if (kernel) no(pc, 'jump-range', `ja jumps back to ${jaWhere(pc, i.k)}; the kernel runs forward jumps only (libpcap's protochain loops like this)`);
        loops = true;
      }
    }
    if (isConditionalJump(c) && (pc + i.jt + 1 >= n || pc + i.jf + 1 >= n)) {
      no(pc, 'jump-range', `jt +${i.jt} / jf +${i.jf} lands outside the program (${n} instructions)`);
    }
    if (cls(c) === BPF.LD && mode(c) === BPF.ABS && i.k >= SKF_AD_OFF && SKF_AD[i.k - SKF_AD_OFF] === undefined) {
      no(pc, 'ancillary', `load at SKF_AD_OFF+${i.k - SKF_AD_OFF} is no ancillary field the kernel knows`);
    }
  }
  const last = insns[n - 1]!.code;
  if (last !== (BPF.RET | BPF.K) && last !== (BPF.RET | BPF.A)) no(n - 1, 'last-return', 'the last instruction must be ret #k or ret a');
  const unstored = loops ? scratchReadBeforeStoreOnSomePath(insns) : scratchReadBeforeStore(insns);
  if (unstored >= 0) no(unstored, 'scratch-uninitialised', `M[${insns[unstored]!.k}] is read before it is stored on some path`);

  const frozen = Object.freeze(insns.map((i) => Object.freeze({ code: i.code, jt: i.jt, jf: i.jf, k: i.k >>> 0 })));
  userChecked.add(frozen);
  if (!loops) checked.add(frozen);
  return frozen as unknown as UserProgram;
}

/** The first `ja` that jumps backwards, or -1 (a program that passed checkProgram() has none). */
export function firstBackwardJump(program: readonly BpfInsn[]): number {
  return program.findIndex((i, pc) => i.code === (BPF.JMP | BPF.JA) && jaTarget(pc, i.k) <= pc);
}

/**
 * The program as the kernel back-ends (socket filter, XDP) need it. A program
 * that loops (libpcap's `protochain`) cannot run there: FilterUnsupportedError
 * naming the backward jump and what to do instead. Other rule breaks throw
 * BpfCheckError as checkProgram() does.
 */
export function kernelProgram(program: UserProgram | readonly BpfInsn[], expression?: string): CheckedProgram {
  const back = firstBackwardJump(program);
  if (back < 0) return checkProgram(program);
  const i = program[back]!;
  const what = expression !== undefined ? `filter "${expression}"` : 'the program';
  throw new FilterUnsupportedError(
    `${what} loops: instruction ${back} (${formatInsn(i, back)}) jumps back to ${jaWhere(back, i.k)}, as libpcap compiles ` +
    'protochain (a loop over the extension headers). Kernel filters run forward jumps only (the socket filter of AF_PACKET ' +
    'devices, the XDP program of zc: devices), so filter in user space, where the JS back-end runs loops: capture ' +
    'unfiltered into a queue and give its consumer the filter (ringzero balance -i DEV -c ID, then ringzero count -i ' +
    "zc:ID@0 -f EXPR), or read a capture file (-i pcap:FILE); or drop protochain ('ip proto 6' sees no extension headers)",
    back);
}

/** True when `program` came out of checkProgram(). */
export function isChecked(program: readonly BpfInsn[]): program is CheckedProgram {
  return checked.has(program);
}

// check_load_and_stores(): one linear pass; `valid` holds one bit per slot
// stored on the way here; a jump ANDs its state into its targets' masks and
// the instruction after a jump starts from "all valid" & its mask. Returns the
// first load of a slot not stored before it, or -1. Forward jumps only.
function scratchReadBeforeStore(insns: readonly BpfInsn[]): number {
  const masks = new Uint16Array(insns.length).fill(0xffff);
  let valid = 0;
  for (let pc = 0; pc < insns.length; pc++) {
    valid &= masks[pc];
    const i = insns[pc]!;
    const c = i.code;
    if (c === BPF.ST || c === BPF.STX) {
      valid |= 1 << i.k;
    } else if (c === (BPF.LD | BPF.MEM) || c === (BPF.LDX | BPF.MEM)) {
      if (!(valid & (1 << i.k))) return pc;
    } else if (c === (BPF.JMP | BPF.JA)) {
      masks[pc + 1 + i.k] &= valid;
      valid = 0xffff;
    } else if (isConditionalJump(c)) {
      masks[pc + 1 + i.jt] &= valid;
      masks[pc + 1 + i.jf] &= valid;
      valid = 0xffff;
    }
  }
  return -1;
}

// With loops, a backward jump brings its state to an instruction the linear
// pass has already left behind: iterate instead until the slots stored on
// every path into each instruction stop shrinking (each pass can only clear
// bits, so it ends). Unreachable instructions are not judged.
function scratchReadBeforeStoreOnSomePath(insns: readonly BpfInsn[]): number {
  const n = insns.length;
  const into = new Int32Array(n).fill(-1); // slots stored on every path reaching pc; -1: not reached yet
  into[0] = 0;
  for (let changed = true; changed;) {
    changed = false;
    for (let pc = 0; pc < n; pc++) {
      if (into[pc] < 0) continue;
      const i = insns[pc]!;
      const c = i.code;
      if (cls(c) === BPF.RET) continue;
      const out = c === BPF.ST || c === BPF.STX ? into[pc] | (1 << i.k) : into[pc];
      const next = c === (BPF.JMP | BPF.JA) ? [jaTarget(pc, i.k)] : isConditionalJump(c) ? [pc + 1 + i.jt, pc + 1 + i.jf] : [pc + 1];
      for (const t of next) {
        const v = into[t] < 0 ? out : into[t] & out;
        if (v !== into[t]) { into[t] = v; changed = true; }
      }
    }
  }
  return insns.findIndex((i, pc) => into[pc] >= 0 && (i.code === (BPF.LD | BPF.MEM) || i.code === (BPF.LDX | BPF.MEM)) && !(into[pc] & (1 << i.k)));
}
