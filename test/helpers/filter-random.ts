// Random classic BPF programs that pass the kernel's rules, and random
// packets, for the property test JS translation == libpcap's interpreter.
// Programs favour what makes the semantics tricky: loads near the end of the
// packet, indirect loads through X, division and shifts by X (0, >= 32),
// u32 wrap-around, scratch memory, jumps over jumps and early returns.
import { BPF, type BpfInsn } from '../../src/filter/cbpf.js';
import { checkProgram, type CheckedProgram } from '../../src/filter/check.js';
import { BpfCheckError } from '../../src/errors.js';
import { prng } from './prng.js';

const ALU_OPS = [BPF.ADD, BPF.SUB, BPF.MUL, BPF.DIV, BPF.OR, BPF.AND, BPF.LSH, BPF.RSH, BPF.MOD, BPF.XOR];
const JMP_OPS = [BPF.JEQ, BPF.JGT, BPF.JGE, BPF.JSET];
const SIZES = [BPF.W, BPF.H, BPF.B];

export class RandomPrograms {
  private readonly rnd: () => number;
  constructor(seed: number) { this.rnd = prng(seed); }

  int(n: number): number { return Math.floor(this.rnd() * n); }
  pick<T>(a: readonly T[]): T { return a[this.int(a.length)]!; }

  /** A constant biased toward edge values. */
  k(): number {
    switch (this.int(8)) {
      case 0: return 0;
      case 1: return 0xffffffff;
      case 2: return 0x80000000 + this.int(4);
      case 3: return this.int(32);
      case 4: return 30 + this.int(6);
      default: return (this.rnd() * 0x100000000) >>> 0;
    }
  }

  private offset(): number {
    const r = this.int(10);
    return r < 7 ? this.int(70) : r < 9 ? 60 + this.int(60) : this.pick([0xffff, 0x10000, 0x7fffffff, 0xffdffffe]);
  }

  private insn(pc: number, n: number): BpfInsn {
    const left = n - pc - 2; // instructions a jump may skip, not counting the final ret
    const r = this.int(100);
    const i = (code: number, k = 0, jt = 0, jf = 0): BpfInsn => ({ code, jt, jf, k: k >>> 0 });
    if (r < 14) return i(BPF.LD | this.pick(SIZES) | BPF.ABS, this.offset());
    if (r < 24) return i(BPF.LD | this.pick(SIZES) | BPF.IND, this.int(10) < 8 ? this.int(60) : this.offset());
    if (r < 28) return i(BPF.LDX | BPF.B | BPF.MSH, this.int(10) < 8 ? this.int(40) : this.offset());
    if (r < 31) return i(this.pick([BPF.LD | BPF.W | BPF.LEN, BPF.LDX | BPF.W | BPF.LEN]));
    if (r < 36) return i(BPF.LD | BPF.IMM, this.k());
    if (r < 41) return i(BPF.LDX | BPF.IMM, this.int(3) === 0 ? this.k() : this.int(50));
    if (r < 45) return i(this.pick([BPF.LD | BPF.MEM, BPF.LDX | BPF.MEM]), this.int(16));
    if (r < 50) return i(this.pick([BPF.ST, BPF.STX]), this.int(16));
    if (r < 53) return i(this.pick([BPF.MISC | BPF.TAX, BPF.MISC | BPF.TXA]));
    if (r < 54) return i(BPF.ALU | BPF.NEG);
    if (r < 70) {
      const o = this.pick(ALU_OPS);
      if (this.int(2) === 0) return i(BPF.ALU | o | BPF.X);
      let k = this.k();
      if ((o === BPF.DIV || o === BPF.MOD) && k === 0) k = 1 + this.int(7);
      if (o === BPF.LSH || o === BPF.RSH) k = this.int(32);
      return i(BPF.ALU | o | BPF.K, k);
    }
    if (r < 92 && left > 0) {
      const jt = this.int(Math.min(left, 255) + 1), jf = this.int(Math.min(left, 255) + 1);
      const x = this.int(3) === 0;
      return i(BPF.JMP | this.pick(JMP_OPS) | (x ? BPF.X : BPF.K), x ? 0 : this.int(2) ? this.int(300) : this.k(), jt, jf);
    }
    if (r < 95 && left > 0) return i(BPF.JMP | BPF.JA, this.int(Math.min(left, 8) + 1));
    return this.ret();
  }

  private ret(): BpfInsn {
    return this.int(3) === 0 ? { code: BPF.RET | BPF.A, jt: 0, jf: 0, k: 0 }
      : { code: BPF.RET | BPF.K, jt: 0, jf: 0, k: this.pick([0, 0, 0xffff, 1, 0xffffffff, this.k()]) >>> 0 };
  }

  /** A program of 2..maxLen instructions that passes checkProgram(). */
  program(maxLen = 40): CheckedProgram {
    const n = 2 + this.int(maxLen - 1);
    const insns: BpfInsn[] = [];
    for (let pc = 0; pc < n - 1; pc++) insns.push(this.insn(pc, n));
    insns.push(this.ret());
    // A scratch load the kernel's rule cannot prove initialised becomes `ld #k`.
    for (;;) {
      try {
        return checkProgram(insns);
      } catch (e) {
        if (!(e instanceof BpfCheckError) || e.rule !== 'scratch-uninitialised') throw e;
        insns[e.index] = { code: insns[e.index]!.code === (BPF.LD | BPF.MEM) ? BPF.LD | BPF.IMM : BPF.LDX | BPF.IMM, jt: 0, jf: 0, k: this.k() };
      }
    }
  }

  /** Random packet bytes; wirelen >= caplen. */
  packet(minLen = 0, maxLen = 100): { bytes: Uint8Array; wirelen: number } {
    const len = minLen + this.int(maxLen - minLen + 1);
    const bytes = Uint8Array.from({ length: len }, () => (this.int(4) === 0 ? this.pick([0, 0x45, 0x08, 0xff, 6, 17]) : this.int(256)));
    return { bytes, wirelen: this.int(3) === 0 ? len + this.int(1500) : len };
  }
}
