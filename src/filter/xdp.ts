// Classic BPF -> eBPF code that runs the same filter inside an XDP program.
//
// Contract of the code toXdpEbpf() returns (a "filter prefix"):
// - Entry: R1 = struct xdp_md *ctx, as at the start of any XDP program.
// - Registers: R1 and R6-R9 are preserved; R0 and R2-R5 are clobbered.
//   Stack: the 64 bytes at [R10-64, R10) hold scratch memory M[0..15] (only
//   when the program uses it). No helper calls, no maps.
// - Reject: the code itself executes `r0 = <onReject>; exit` (XDP_DROP by
//   default, or XDP_PASS to let rejected packets continue to the stack).
// - Accept: control falls through to the instruction right after the code
//   (index = code length / 8), with R1 = ctx and R0 = the classic program's
//   non-zero return value (its snap length). The caller appends its own code
//   there — e.g. the AF_XDP redirect (`bpf_redirect_map(xsks_map, rx_queue_index, XDP_PASS)`)
//   — and must reload data/data_end itself if it needs them.
// - Jumps never leave the code except to that fall-through point, so the
//   code can be prepended to any program without relocation.
//
// Semantics match libpcap's bpf_filter with caplen = wirelen = data_end - data
// (XDP without multi-buffer sees the whole frame linearly): a load past the
// end rejects, division by an X of 0 rejects, a shift by X >= 32 gives 0.
// Every packet load is preceded by the bounds check the verifier wants.
// Offsets beyond 0xffff can never be in an XDP frame and reject statically.
//
// Extensions: loads from the kernel's special offsets (SKF_AD_* ancillary
// data used by `inbound`, `outbound`, `ifindex`, live-capture `vlan`; and
// SKF_NET_OFF/SKF_LL_OFF) have no XDP equivalent and throw
// FilterUnsupportedError naming the expression and the instruction.
// libpcap compiles `vlan` for pcap_open_dead as inline checks of the 802.1Q
// TPIDs, which is exactly what XDP sees, as long as the NIC does not strip
// tags (veth does not; on hardware: `ethtool -K <dev> rxvlan off`).
// `len`, `greater` and `less` subtract packet pointers, which the verifier
// allows only with CAP_PERFMON (root has it).
import { FilterUnsupportedError } from '../errors.js';
import { BPF, cls, loadWidth, mode, op, src, type BpfInsn } from './cbpf.js';
import { checkProgram, isConditionalJump, type CheckedProgram } from './check.js';
import { EBPF, EbpfAssembler, R0, R1, R2, R3, R4, R5, R10, XDP, type Label } from './ebpf.js';
import { assertNoKernelOffsets, reachable } from './js.js';

export interface XdpFilterOptions {
  /** verdict for rejected packets: XDP_DROP (default) or XDP_PASS */
  onReject?: number;
  /** the expression the program came from, for error messages */
  expression?: string;
}

/** Largest packet offset an XDP frame can have (MAX_PACKET_OFF in kernel/bpf/verifier.c). */
const MAX_PACKET_OFF = 0xffff;
/** M[k] lives at R10 + SCRATCH + 4k. */
const SCRATCH = -64;

const A = R0, X = R4, DATA = R2, END = R3, T = R5;

const JMP_OP: Record<number, number> = { [BPF.JEQ]: EBPF.JEQ, [BPF.JGT]: EBPF.JGT, [BPF.JGE]: EBPF.JGE, [BPF.JSET]: EBPF.JSET };
/** The negated test, used when the true branch is the next instruction (JSET has none). */
const JMP_NOT: Record<number, number> = { [BPF.JEQ]: EBPF.JNE, [BPF.JGT]: EBPF.JLE, [BPF.JGE]: EBPF.JLT };

/** A packet load whose offset alone already exceeds any XDP frame. */
function alwaysOutOfBounds(i: BpfInsn): boolean {
  const c = i.code;
  if (cls(c) === BPF.LD && (mode(c) === BPF.ABS || mode(c) === BPF.IND)) return i.k + loadWidth(c) > MAX_PACKET_OFF;
  if (cls(c) === BPF.LDX && mode(c) === BPF.MSH) return i.k + 1 > MAX_PACKET_OFF;
  return false;
}

/** Emits `dst = big-endian load of w bytes at DATA + (ptr offset)`, rejecting when out of bounds. */
function loadChecked(asm: EbpfAssembler, dst: number, w: number, reject: Label): void {
  // T already points `w` bytes past the start of the field.
  asm.jmpReg(EBPF.JGT, T, END, reject, true);
  asm.ldx(w === 4 ? EBPF.W : w === 2 ? EBPF.H : EBPF.B, dst, T, -w);
  if (w > 1) asm.toBe(dst, w === 4 ? 32 : 16);
}

function translate(asm: EbpfAssembler, i: BpfInsn, pc: number, at: (t: number) => Label, tail: Label, reject: Label, next: number): void {
  const c = i.code;
  switch (cls(c)) {
    case BPF.LD:
    case BPF.LDX: {
      const reg = cls(c) === BPF.LDX ? X : A;
      switch (mode(c)) {
        case BPF.IMM: asm.alu32Imm(EBPF.MOV, reg, i.k); return;
        case BPF.MEM: asm.ldx(EBPF.W, reg, R10, SCRATCH + 4 * i.k); return;
        case BPF.LEN:
          asm.alu64Reg(EBPF.MOV, reg, END);
          asm.alu64Reg(EBPF.SUB, reg, DATA);
          asm.alu32Reg(EBPF.MOV, reg, reg);
          return;
        case BPF.ABS: {
          const w = loadWidth(c);
          if (alwaysOutOfBounds(i)) { asm.ja(reject); return; }
          asm.alu64Reg(EBPF.MOV, T, DATA);
          asm.alu64Imm(EBPF.ADD, T, i.k + w);
          loadChecked(asm, A, w, reject);
          return;
        }
        case BPF.IND: {
          const w = loadWidth(c);
          if (alwaysOutOfBounds(i)) { asm.ja(reject); return; }
          asm.alu64Reg(EBPF.MOV, T, X); // X's upper half is zero: it is only written by 32-bit ops
          asm.alu64Imm(EBPF.ADD, T, i.k);
          asm.jmpImm(EBPF.JGT, T, MAX_PACKET_OFF - w, reject, true); // bounds the variable offset for the verifier
          asm.alu64Reg(EBPF.ADD, T, DATA);
          asm.alu64Imm(EBPF.ADD, T, w);
          loadChecked(asm, A, w, reject);
          return;
        }
        case BPF.MSH: {
          if (alwaysOutOfBounds(i)) { asm.ja(reject); return; }
          asm.alu64Reg(EBPF.MOV, T, DATA);
          asm.alu64Imm(EBPF.ADD, T, i.k + 1);
          loadChecked(asm, X, 1, reject);
          asm.alu32Imm(EBPF.AND, X, 0xf);
          asm.alu32Imm(EBPF.LSH, X, 2);
          return;
        }
      }
      break;
    }
    case BPF.ST: asm.stx(EBPF.W, R10, SCRATCH + 4 * i.k, A); return;
    case BPF.STX: asm.stx(EBPF.W, R10, SCRATCH + 4 * i.k, X); return;
    case BPF.MISC: asm.alu32Reg(EBPF.MOV, op(c) === BPF.TAX ? X : A, op(c) === BPF.TAX ? A : X); return;
    case BPF.RET:
      if ((c & 0x18) !== BPF.A) asm.alu32Imm(EBPF.MOV, A, i.k);
      asm.ja(tail);
      return;
    case BPF.ALU: {
      const o = op(c);
      if (o === BPF.NEG) { asm.alu32Imm(EBPF.NEG, A, 0); return; }
      if (src(c) === BPF.K) { asm.alu32Imm(o, A, i.k); return; } // the checker ruled out k = 0 for div/mod and k >= 32 for shifts
      if (o === BPF.DIV || o === BPF.MOD) {
        asm.jmpImm(EBPF.JEQ, X, 0, reject); // libpcap returns 0; eBPF would give 0 or leave A unchanged
        asm.alu32Reg(o, A, X);
        return;
      }
      if (o === BPF.LSH || o === BPF.RSH) {
        // eBPF masks the shift count to 5 bits; libpcap gives 0 for X >= 32.
        const big = asm.label(), done = asm.label();
        asm.jmpImm(EBPF.JGT, X, 31, big);
        asm.alu32Reg(o, A, X);
        asm.ja(done);
        asm.bind(big);
        asm.alu32Imm(EBPF.MOV, A, 0);
        asm.bind(done);
        return;
      }
      asm.alu32Reg(o, A, X);
      return;
    }
    case BPF.JMP: {
      if (op(c) === BPF.JA) {
        if (pc + 1 + i.k !== next) asm.ja(at(pc + 1 + i.k));
        return;
      }
      const t = pc + 1 + i.jt, f = pc + 1 + i.jf;
      if (t === f) { if (t !== next) asm.ja(at(t)); return; }
      const useX = src(c) === BPF.X;
      const notOp = JMP_NOT[op(c)];
      if (t === next && notOp !== undefined) {
        if (useX) asm.jmpReg(notOp, A, X, at(f)); else asm.jmpImm(notOp, A, i.k, at(f));
        return;
      }
      if (useX) asm.jmpReg(JMP_OP[op(c)]!, A, X, at(t)); else asm.jmpImm(JMP_OP[op(c)]!, A, i.k, at(t));
      if (f !== next) asm.ja(at(f));
      return;
    }
  }
  throw new Error(`unreachable: instruction ${pc} code 0x${c.toString(16)}`);
}

/**
 * Translates a checked classic BPF program into an eBPF filter prefix for an
 * XDP program (contract in the header of this file). Returns 8 bytes per eBPF
 * instruction, host order, ready for BPF_PROG_LOAD after the caller's code is
 * appended. Throws FilterUnsupportedError for ancillary loads or programs too
 * large for eBPF's 16-bit jump offsets.
 */
export function toXdpEbpf(program: CheckedProgram | readonly BpfInsn[], opts: XdpFilterOptions = {}): Uint8Array {
  const { onReject = XDP.DROP, expression } = opts;
  const p = checkProgram(program);
  assertNoKernelOffsets(p, 'XDP', expression);
  // A load that can never be in bounds rejects unconditionally (`ja reject`), so
  // what follows it is dead; the verifier refuses dead instructions, so they
  // must not be emitted.
  const live = reachable(p, (i) => cls(i.code) === BPF.RET || alwaysOutOfBounds(i));
  const asm = new EbpfAssembler();
  const labels = p.map(() => asm.label());
  const tail = asm.label(), reject = asm.label(), accept = asm.label();

  asm.ldx(EBPF.W, DATA, R1, 0); // xdp_md.data
  asm.ldx(EBPF.W, END, R1, 4); // xdp_md.data_end
  asm.alu32Imm(EBPF.MOV, A, 0);
  asm.alu32Imm(EBPF.MOV, X, 0);
  const order = p.map((_, pc) => pc).filter((pc) => live[pc]);
  if (!order.some((pc) => cls(p[pc]!.code) === BPF.RET)) {
    // Every path rejects on an impossible load, so nothing reaches the tail and
    // the caller's code after the prefix would be dead, which the verifier's CFG
    // check refuses. A branch it can prove never taken (w0 is 0 here) keeps both
    // structurally reachable at no cost.
    asm.jmpImm(EBPF.JNE, A, 0, tail);
  }
  order.forEach((pc, n) => {
    asm.bind(labels[pc]!);
    translate(asm, p[pc]!, pc, (t) => labels[t]!, tail, reject, order[n + 1] ?? -1);
  });
  // Every ret lands here with its value in w0. Testing it (rather than jumping
  // straight to accept or reject) keeps both exits structurally reachable, which
  // the verifier's CFG check demands even when a program always accepts.
  asm.bind(tail);
  asm.jmpImm(EBPF.JNE, A, 0, accept);
  asm.bind(reject);
  asm.alu64Imm(EBPF.MOV, R0, onReject);
  asm.exit();
  asm.bind(accept);
  try {
    return asm.finish();
  } catch (e) {
    throw new FilterUnsupportedError(`${expression ? `filter "${expression}"` : 'the program'} is too large for XDP: ${(e as Error).message}`, -1);
  }
}

/**
 * The filter as an eBPF function body for a bpf-to-bpf call (the devices'
 * `xdpFilter` hook): R1 = ctx in; returns (exit) R0 = the classic program's
 * u32 result, 0 = reject, otherwise its snap length. Being a called
 * subprogram it has its own stack frame.
 */
export function toXdpFunction(program: CheckedProgram | readonly BpfInsn[], opts: { expression?: string } = {}): Uint8Array {
  const asm = new EbpfAssembler();
  asm.exit();
  return concat(toXdpEbpf(program, { onReject: 0, expression: opts.expression }), asm.finish());
}

/** The filter prefix followed by a tail of instructions. */
function concat(prefix: Uint8Array, tail: Uint8Array): Uint8Array {
  const out = new Uint8Array(prefix.length + tail.length);
  out.set(prefix);
  out.set(tail, prefix.length);
  return out;
}

export interface XdpProgramOptions extends XdpFilterOptions {
  /** verdict for accepted packets (default XDP_PASS; XDP_TX bounces them back) */
  onAccept?: number;
}

/**
 * A complete XDP program: the filter prefix, then `return onAccept`.
 * For tests (BPF_PROG_TEST_RUN) and for dropping unwanted traffic early.
 */
export function buildXdpFilterProgram(program: CheckedProgram | readonly BpfInsn[], opts: XdpProgramOptions = {}): Uint8Array {
  const asm = new EbpfAssembler();
  asm.alu64Imm(EBPF.MOV, R0, opts.onAccept ?? XDP.PASS);
  asm.exit();
  return concat(toXdpEbpf(program, opts), asm.finish());
}

export { XDP };
