// A tiny eBPF assembler: enough to emit the XDP filter code, with forward
// labels resolved at the end. Encoding per linux/bpf.h (struct bpf_insn:
// u8 code; u8 dst_reg:4, src_reg:4; s16 off; s32 imm), host byte order.
import { endianness } from 'node:os';

export const EBPF = {
  // classes
  LD: 0x00, LDX: 0x01, ST: 0x02, STX: 0x03, ALU: 0x04, JMP: 0x05, JMP32: 0x06, ALU64: 0x07,
  // sizes
  W: 0x00, H: 0x08, B: 0x10, DW: 0x18,
  // modes
  IMM: 0x00, MEM: 0x60,
  // alu ops (classic ones plus these)
  ADD: 0x00, SUB: 0x10, MUL: 0x20, DIV: 0x30, OR: 0x40, AND: 0x50, LSH: 0x60, RSH: 0x70, NEG: 0x80,
  MOD: 0x90, XOR: 0xa0, MOV: 0xb0, ARSH: 0xc0, END: 0xd0,
  // jmp ops
  JA: 0x00, JEQ: 0x10, JGT: 0x20, JGE: 0x30, JSET: 0x40, JNE: 0x50, CALL: 0x80, EXIT: 0x90, JLT: 0xa0, JLE: 0xb0,
  // sources
  K: 0x00, X: 0x08,
  // BPF_END direction
  TO_LE: 0x00, TO_BE: 0x08,
} as const;

/** XDP verdicts (enum xdp_action, linux/bpf.h). */
export const XDP = { ABORTED: 0, DROP: 1, PASS: 2, TX: 3, REDIRECT: 4 } as const;

export const R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5, R6 = 6, R7 = 7, R8 = 8, R9 = 9, R10 = 10;

export interface Label { readonly id: number }

interface Pending { code: number; dst: number; src: number; off: number; imm: number; target?: Label }

const LE = endianness() === 'LE';

export class EbpfAssembler {
  private readonly insns: Pending[] = [];
  private readonly bound = new Map<number, number>();
  private nextLabel = 0;

  get length(): number { return this.insns.length; }

  label(): Label { return { id: this.nextLabel++ }; }

  /** Places `l` at the next instruction to be emitted. */
  bind(l: Label): void {
    if (this.bound.has(l.id)) throw new Error(`label ${l.id} bound twice`);
    this.bound.set(l.id, this.insns.length);
  }

  isBound(l: Label): boolean { return this.bound.has(l.id); }

  raw(code: number, dst: number, src: number, off: number, imm: number, target?: Label): void {
    this.insns.push({ code, dst, src, off, imm: imm | 0, target });
  }

  alu32Imm(op: number, dst: number, imm: number): void { this.raw(EBPF.ALU | op | EBPF.K, dst, 0, 0, imm); }
  alu32Reg(op: number, dst: number, src: number): void { this.raw(EBPF.ALU | op | EBPF.X, dst, src, 0, 0); }
  alu64Imm(op: number, dst: number, imm: number): void { this.raw(EBPF.ALU64 | op | EBPF.K, dst, 0, 0, imm); }
  alu64Reg(op: number, dst: number, src: number): void { this.raw(EBPF.ALU64 | op | EBPF.X, dst, src, 0, 0); }
  /** dst = htobe<bits>(dst): network order to host order for loaded fields. */
  toBe(dst: number, bits: 16 | 32): void { this.raw(EBPF.ALU | EBPF.END | EBPF.TO_BE, dst, 0, 0, bits); }
  /** dst = *(size *)(src + off) */
  ldx(size: number, dst: number, src: number, off: number): void { this.raw(EBPF.LDX | size | EBPF.MEM, dst, src, off, 0); }
  /** *(size *)(dst + off) = src */
  stx(size: number, dst: number, off: number, src: number): void { this.raw(EBPF.STX | size | EBPF.MEM, dst, src, off, 0); }
  /** if (dst op imm) goto target; `wide` false compares the low 32 bits (BPF_JMP32, imm taken as u32). */
  jmpImm(op: number, dst: number, imm: number, target: Label, wide = false): void {
    this.raw((wide ? EBPF.JMP : EBPF.JMP32) | op | EBPF.K, dst, 0, 0, imm, target);
  }
  jmpReg(op: number, dst: number, src: number, target: Label, wide = false): void {
    this.raw((wide ? EBPF.JMP : EBPF.JMP32) | op | EBPF.X, dst, src, 0, 0, target);
  }
  ja(target: Label): void { this.raw(EBPF.JMP | EBPF.JA, 0, 0, 0, 0, target); }
  exit(): void { this.raw(EBPF.JMP | EBPF.EXIT, 0, 0, 0, 0); }

  /** Resolves labels and encodes; throws when a jump does not fit the s16 offset. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.insns.length * 8);
    const dv = new DataView(out.buffer);
    this.insns.forEach((i, pc) => {
      let off = i.off;
      if (i.target) {
        const at = this.bound.get(i.target.id);
        if (at === undefined) throw new Error(`eBPF label ${i.target.id} used at ${pc} but never bound`);
        off = at - pc - 1;
        if (off < -32768 || off > 32767) {
          throw new RangeError(`eBPF jump at ${pc} spans ${off} instructions (limit 32767): the filter is too large for XDP`);
        }
      }
      dv.setUint8(pc * 8, i.code);
      dv.setUint8(pc * 8 + 1, LE ? (i.src << 4) | i.dst : (i.dst << 4) | i.src);
      dv.setInt16(pc * 8 + 2, off, LE);
      dv.setInt32(pc * 8 + 4, i.imm, LE);
    });
    return out;
  }
}

/** Decodes encoded eBPF back into fields (tests, debugging). */
export function decodeEbpf(bytes: Uint8Array): Array<{ code: number; dst: number; src: number; off: number; imm: number }> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = [];
  for (let o = 0; o < bytes.byteLength; o += 8) {
    const regs = dv.getUint8(o + 1);
    out.push({
      code: dv.getUint8(o), dst: LE ? regs & 15 : regs >> 4, src: LE ? regs >> 4 : regs & 15,
      off: dv.getInt16(o + 2, LE), imm: dv.getInt32(o + 4, LE),
    });
  }
  return out;
}
