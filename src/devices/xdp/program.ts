// The XDP program that steers frames to our AF_XDP sockets, assembled here as
// eBPF bytes (no clang, no libbpf). Encoding: include/uapi/linux/bpf.h and
// Documentation/bpf/standardization/instruction-set.rst — 8 bytes per
// instruction: opcode u8, dst_reg:4 | src_reg:4, off s16, imm s32 (little endian).
//
// Program (R1 = struct xdp_md *ctx on entry):
//     r6 = r1                              save ctx (r6..r9 survive calls)
//   [ call filter                          bpf-to-bpf call, filter gets r1 = ctx
//     if r0 == 0 goto reject ]             filter said "not for us"
//     r2 = *(u32 *)(r6 + 16)               ctx->rx_queue_index
//     r1 = xsks_map (ld_imm64, map fd)
//     r3 = XDP_PASS                        action when no socket sits at that key
//     call bpf_redirect_map
//     exit
//   [ reject: r0 = rejectAction; exit
//     filter: <filter instructions> ]
//
// The filter hook: any eBPF function body that takes R1 = ctx and returns
// (exit) with R0 != 0 to accept the frame, 0 to reject it — the shape a
// converted tcpdump expression has. Being a called subprogram it has its own
// stack frame and may use every register; it must not reference the caller.

export const XDP_ABORTED = 0;
export const XDP_DROP = 1;
export const XDP_PASS = 2;

const BPF_FUNC_redirect_map = 51;
const BPF_PSEUDO_MAP_FD = 1;
const BPF_PSEUDO_CALL = 1;
/** offsetof(struct xdp_md, rx_queue_index) */
const XDP_MD_RX_QUEUE_INDEX = 16;

// opcodes
const MOV64_X = 0xbf; // BPF_ALU64 | BPF_MOV | BPF_X
const MOV64_K = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K
const LDX_W = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const LD_IMM64 = 0x18; // BPF_LD | BPF_IMM | BPF_DW
const JEQ_K = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const CALL = 0x85; // BPF_JMP | BPF_CALL
const EXIT = 0x95; // BPF_JMP | BPF_EXIT

export const INSN_SIZE = 8;

/** A growable list of encoded instructions. */
export class EbpfAssembler {
  private buf = new Uint8Array(64 * INSN_SIZE);
  private view = new DataView(this.buf.buffer);
  private n = 0;

  get length(): number {
    return this.n;
  }

  insn(op: number, dst: number, src: number, off: number, imm: number): this {
    if ((this.n + 1) * INSN_SIZE > this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
      this.view = new DataView(bigger.buffer);
    }
    const at = this.n * INSN_SIZE;
    this.view.setUint8(at, op);
    this.view.setUint8(at + 1, (dst & 0xf) | ((src & 0xf) << 4));
    this.view.setInt16(at + 2, off, true);
    this.view.setInt32(at + 4, imm | 0, true);
    this.n++;
    return this;
  }

  /** Appends already encoded instructions (a multiple of 8 bytes). */
  raw(bytes: Uint8Array): this {
    if (bytes.length % INSN_SIZE !== 0) throw new RangeError('eBPF code must be a multiple of 8 bytes');
    for (let i = 0; i < bytes.length; i += INSN_SIZE) {
      const v = new DataView(bytes.buffer, bytes.byteOffset + i, INSN_SIZE);
      this.insn(v.getUint8(0), v.getUint8(1) & 0xf, v.getUint8(1) >> 4, v.getInt16(2, true), v.getInt32(4, true));
    }
    return this;
  }

  movReg(dst: number, src: number): this { return this.insn(MOV64_X, dst, src, 0, 0); }
  movImm(dst: number, imm: number): this { return this.insn(MOV64_K, dst, 0, 0, imm); }
  loadWord(dst: number, src: number, off: number): this { return this.insn(LDX_W, dst, src, off, 0); }
  /** dst = map (fd resolved by the kernel at load time); takes two instruction slots */
  loadMapFd(dst: number, fd: number): this {
    return this.insn(LD_IMM64, dst, BPF_PSEUDO_MAP_FD, 0, fd).insn(0, 0, 0, 0, 0);
  }
  jeqImm(dst: number, imm: number, off: number): this { return this.insn(JEQ_K, dst, 0, off, imm); }
  callHelper(id: number): this { return this.insn(CALL, 0, 0, 0, id); }
  /** bpf-to-bpf call to the instruction at absolute index `target` */
  callLocal(target: number): this { return this.insn(CALL, 0, BPF_PSEUDO_CALL, 0, target - this.n - 1); }
  exit(): this { return this.insn(EXIT, 0, 0, 0, 0); }

  bytes(): Uint8Array {
    return this.buf.slice(0, this.n * INSN_SIZE);
  }
}

export interface XdpProgramSpec {
  /** fd of the BPF_MAP_TYPE_XSKMAP, keyed by RX queue index */
  xskMapFd: number;
  /** optional filter function (see the header): R1 = ctx in, R0 != 0 = accept */
  filter?: Uint8Array;
  /** what happens to frames the filter rejects (default XDP_PASS: the kernel stack gets them) */
  rejectAction?: number;
}

/** Assembles the redirect program; returns the instruction bytes for BPF_PROG_LOAD. */
export function buildXdpRedirectProgram(spec: XdpProgramSpec): Uint8Array {
  const R0 = 0, R1 = 1, R2 = 2, R3 = 3, R6 = 6;
  const a = new EbpfAssembler();
  a.movReg(R6, R1);
  const hasFilter = spec.filter !== undefined && spec.filter.length > 0;
  // main body after the optional filter call: 6 slots (ldx, ld_imm64 x2, mov, call, exit)
  const MAIN = 6;
  if (hasFilter) {
    // layout: [0] mov, [1] call, [2] jeq, [3..8] main, [9] reject mov, [10] exit, [11..] filter
    const filterStart = 1 + 2 + MAIN + 2;
    a.callLocal(filterStart);
    a.jeqImm(R0, 0, MAIN); // skip the main body to the reject instructions
  }
  a.loadWord(R2, R6, XDP_MD_RX_QUEUE_INDEX);
  a.loadMapFd(R1, spec.xskMapFd);
  a.movImm(R3, XDP_PASS);
  a.callHelper(BPF_FUNC_redirect_map);
  a.exit();
  if (hasFilter) {
    a.movImm(R0, spec.rejectAction ?? XDP_PASS);
    a.exit();
    a.raw(spec.filter!);
  }
  return a.bytes();
}
