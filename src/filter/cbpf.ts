// Classic BPF: instruction layout, opcode numbers and a tcpdump-style
// disassembler (for error messages). Numbers are from linux/filter.h and
// linux/bpf_common.h (identical to libpcap's pcap/bpf.h).
import { endianness } from 'node:os';

/** One classic BPF instruction (struct sock_filter / struct bpf_insn). */
export interface BpfInsn {
  /** u16 opcode: class | size/op | mode/src */
  readonly code: number;
  /** u8 forward offset taken when a conditional jump's test is true */
  readonly jt: number;
  /** u8 forward offset taken when it is false */
  readonly jf: number;
  /** u32 constant (load offset, immediate, jump offset, scratch slot, return value) */
  readonly k: number;
}

export const BPF = {
  // classes
  LD: 0x00, LDX: 0x01, ST: 0x02, STX: 0x03, ALU: 0x04, JMP: 0x05, RET: 0x06, MISC: 0x07,
  // ld/ldx sizes
  W: 0x00, H: 0x08, B: 0x10,
  // ld/ldx modes
  IMM: 0x00, ABS: 0x20, IND: 0x40, MEM: 0x60, LEN: 0x80, MSH: 0xa0,
  // alu ops
  ADD: 0x00, SUB: 0x10, MUL: 0x20, DIV: 0x30, OR: 0x40, AND: 0x50, LSH: 0x60, RSH: 0x70, NEG: 0x80,
  MOD: 0x90, XOR: 0xa0,
  // jmp ops
  JA: 0x00, JEQ: 0x10, JGT: 0x20, JGE: 0x30, JSET: 0x40,
  // sources
  K: 0x00, X: 0x08,
  // ret sources
  A: 0x10,
  // misc ops
  TAX: 0x00, TXA: 0x80,
} as const;

/** Program length limit (BPF_MAXINSNS, linux/bpf_common.h). */
export const BPF_MAXINSNS = 4096;
/** Scratch memory words M[0..15] (BPF_MEMWORDS). */
export const BPF_MEMWORDS = 16;
/** Start of the kernel's special load offsets: SKF_LL_OFF (-0x200000) as u32 (linux/filter.h). */
export const SKF_LL_OFF = 0xffe00000;
/** SKF_NET_OFF (-0x100000) as u32. */
export const SKF_NET_OFF = 0xfff00000;
/** SKF_AD_OFF (-0x1000) as u32: ancillary data loads start here. */
export const SKF_AD_OFF = 0xfffff000;
/** Ancillary loads the kernel knows, by k - SKF_AD_OFF (linux/filter.h SKF_AD_*), with what libpcap uses them for. */
export const SKF_AD: Readonly<Record<number, string>> = {
  0: 'SKF_AD_PROTOCOL', 4: 'SKF_AD_PKTTYPE (inbound/outbound)', 8: 'SKF_AD_IFINDEX (ifindex)',
  12: 'SKF_AD_NLATTR', 16: 'SKF_AD_NLATTR_NEST', 20: 'SKF_AD_MARK', 24: 'SKF_AD_QUEUE', 28: 'SKF_AD_HATYPE',
  32: 'SKF_AD_RXHASH', 36: 'SKF_AD_CPU', 40: 'SKF_AD_ALU_XOR_X', 44: 'SKF_AD_VLAN_TAG (vlan on a live capture)',
  48: 'SKF_AD_VLAN_TAG_PRESENT (vlan on a live capture)', 52: 'SKF_AD_PAY_OFFSET', 56: 'SKF_AD_RANDOM',
  60: 'SKF_AD_VLAN_TPID',
};

export const cls = (code: number): number => code & 0x07;
export const size = (code: number): number => code & 0x18;
export const mode = (code: number): number => code & 0xe0;
export const op = (code: number): number => code & 0xf0;
export const src = (code: number): number => code & 0x08;

/** Bytes a load of this size reads. */
export function loadWidth(code: number): number {
  const s = size(code);
  return s === BPF.W ? 4 : s === BPF.H ? 2 : 1;
}

/**
 * Where `ja` at pc lands: k counts from the next instruction and, as a u32,
 * wraps to a backward jump (libpcap's interpreter sign-extends it; the
 * kernel refuses it), so it is read as signed.
 */
export function jaTarget(pc: number, k: number): number {
  return pc + 1 + (k | 0);
}

export function insn(code: number, jt: number, jf: number, k: number): BpfInsn {
  return { code, jt, jf, k: k >>> 0 };
}

const LE = endianness() === 'LE';

/** Decodes 8-byte host-order instructions (what libpcap and the kernel use). */
export function decodeProgram(bytes: Uint8Array): BpfInsn[] {
  if (bytes.byteLength % 8 !== 0) throw new RangeError(`a classic BPF program is a multiple of 8 bytes, got ${bytes.byteLength}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: BpfInsn[] = [];
  for (let o = 0; o < bytes.byteLength; o += 8) {
    out.push({ code: dv.getUint16(o, LE), jt: dv.getUint8(o + 2), jf: dv.getUint8(o + 3), k: dv.getUint32(o + 4, LE) });
  }
  return out;
}

/** Encodes instructions as 8 bytes each in host order (struct sock_filter). */
export function encodeProgram(insns: readonly BpfInsn[]): Uint8Array {
  const bytes = new Uint8Array(insns.length * 8);
  const dv = new DataView(bytes.buffer);
  insns.forEach((i, n) => {
    dv.setUint16(n * 8, i.code, LE);
    dv.setUint8(n * 8 + 2, i.jt);
    dv.setUint8(n * 8 + 3, i.jf);
    dv.setUint32(n * 8 + 4, i.k >>> 0, LE);
  });
  return bytes;
}

const hex = (k: number): string => `0x${(k >>> 0).toString(16)}`;
const ALU_NAMES: Record<number, string> = {
  [BPF.ADD]: 'add', [BPF.SUB]: 'sub', [BPF.MUL]: 'mul', [BPF.DIV]: 'div', [BPF.OR]: 'or', [BPF.AND]: 'and',
  [BPF.LSH]: 'lsh', [BPF.RSH]: 'rsh', [BPF.NEG]: 'neg', [BPF.MOD]: 'mod', [BPF.XOR]: 'xor',
};
const JMP_NAMES: Record<number, string> = { [BPF.JEQ]: 'jeq', [BPF.JGT]: 'jgt', [BPF.JGE]: 'jge', [BPF.JSET]: 'jset' };

/** One instruction as `tcpdump -d` (libpcap's bpf_image) prints it, up to spacing (e.g. "ldh [12]", "jeq #0x800 jt 2 jf 5"). */
export function formatInsn(i: BpfInsn, pc: number): string {
  const sz = size(i.code) === BPF.W ? '' : size(i.code) === BPF.H ? 'h' : 'b';
  switch (cls(i.code)) {
    case BPF.LD:
    case BPF.LDX: {
      const x = cls(i.code) === BPF.LDX ? 'x' : '';
      switch (mode(i.code)) {
        case BPF.IMM: return `ld${x} #${hex(i.k)}`;
        case BPF.ABS: return `ld${x}${sz} [${i.k >= SKF_AD_OFF ? `SKF_AD_OFF+${i.k - SKF_AD_OFF}` : i.k}]`;
        case BPF.IND: return `ld${x}${sz} [x + ${i.k}]`;
        case BPF.MEM: return `ld${x} M[${i.k}]`;
        case BPF.LEN: return `ld${x} #pktlen`;
        case BPF.MSH: return `ldxb 4*([${i.k}]&0xf)`;
      }
      break;
    }
    case BPF.ST: return `st M[${i.k}]`;
    case BPF.STX: return `stx M[${i.k}]`;
    case BPF.ALU: {
      const name = ALU_NAMES[op(i.code)] ?? `alu?${hex(op(i.code))}`;
      if (op(i.code) === BPF.NEG) return 'neg';
      if (src(i.code) === BPF.X) return `${name} x`;
      // libpcap's bpf_image: bit operations in hex, arithmetic and shifts in signed decimal
      const bits = op(i.code) === BPF.AND || op(i.code) === BPF.OR || op(i.code) === BPF.XOR;
      return `${name} #${bits ? hex(i.k) : i.k | 0}`;
    }
    case BPF.JMP: {
      if (op(i.code) === BPF.JA) return `ja ${jaTarget(pc, i.k)}`;
      const name = JMP_NAMES[op(i.code)] ?? `jmp?${hex(op(i.code))}`;
      const operand = src(i.code) === BPF.X ? 'x' : `#${hex(i.k)}`;
      return `${name} ${operand} jt ${pc + 1 + i.jt} jf ${pc + 1 + i.jf}`;
    }
    case BPF.RET: return (i.code & 0x18) === BPF.A ? 'ret a' : (i.code & 0x18) === BPF.X ? 'ret x' : `ret #${i.k | 0}`;
    case BPF.MISC: return op(i.code) === BPF.TXA ? 'txa' : op(i.code) === BPF.TAX ? 'tax' : `misc?${hex(i.code)}`;
  }
  return `unknown opcode ${hex(i.code)}`;
}

/** The whole program, one "(NNN) insn" line each, like `tcpdump -d`. */
export function disassemble(insns: readonly BpfInsn[]): string {
  return insns.map((i, pc) => `(${String(pc).padStart(3, '0')}) ${formatInsn(i, pc)}`).join('\n');
}
