// filter/: tcpdump expression -> classic BPF -> { kernel socket | JS function | eBPF inside XDP }.
//
// API (the kernel back-ends take a CheckedProgram, i.e. one that passed the
// kernel's rules in checkProgram(); the JS back-end also takes a UserProgram,
// which passed libpcap's looser ones in checkUserProgram(): it may loop, as
// libpcap's `protochain` does; compileFilter/pcapCompile return UserPrograms):
//
//   compileFilter(expression, { linktype = 1, snaplen = 262144, optimize = true, netmask }) -> CompiledFilter
//     .expression, .linktype, .snaplen
//     .program                       readonly BpfInsn[] ({ code, jt, jf, k }), frozen and checked
//     .bytes                         the same, 8 bytes per instruction in host order (struct sock_filter)
//                                    for the kernel: throws FilterUnsupportedError if the program loops
//     .match(bytes, offset, caplen, wirelen) -> number     JS back-end (0 = reject, else snap length);
//                                    built on first access; throws FilterUnsupportedError for
//                                    Linux-only ancillary loads (inbound/outbound/ifindex); runs loops
//                                    with a budget per packet (js.ts)
//     .kernelProgram()               the program for the kernel back-ends below, which all throw
//                                    FilterUnsupportedError (naming the fix) for a program that loops
//     .attachToSocket(fd, { lock })  kernel back-end (SO_ATTACH_FILTER); see socket.ts for ordering
//     .toXdpEbpf({ onReject })       eBPF filter prefix for an XDP program; contract in xdp.ts:
//                                    entry R1 = ctx; reject => `r0 = onReject; exit`;
//                                    accept => falls through with R1 = ctx, R0 = snap length;
//                                    clobbers R0, R2-R5 and stack [R10-64, R10)
//     .xdpFunction()                 the same as a function body for a bpf-to-bpf call (devices'
//                                    `xdpFilter` hook): R1 = ctx in, returns R0 = 0 reject / snap length
//     .buildXdpProgram({ onAccept, onReject })  the prefix + `return onAccept` (a whole program)
//     .disassemble()                 `tcpdump -d`-style text
//   readFilterFile(path) -> string   `-F FILE`: the file's text with `#` comments removed (as tcpdump does)
//
//   pcapCompile(expression, opts) -> UserProgram          libpcap's compiler (dlopen'd, see native/libpcap.cc)
//   pcapFilter(program, packet, wirelen) -> number        libpcap's interpreter (reference, tests)
//   checkProgram(insns | bytes) -> CheckedProgram         throws BpfCheckError { index, rule }
//   checkUserProgram(insns | bytes) -> UserProgram        the same rules, but `ja` may jump backwards
//   kernelProgram(program, expression?) -> CheckedProgram FilterUnsupportedError if it loops
//   toJsFunction(program) -> FilterFunction               the JS back-end alone
//   toXdpEbpf(program, opts) / toXdpFunction(program) / buildXdpFilterProgram(program, opts) -> Uint8Array
//   attachToSocket(fd, program) / detachFromSocket(fd)
//   loadXdpProgram(insns) -> fd, testRunXdp(fd, packet) -> { retval }, attachXdpLink(fd, ifindex) -> link fd
//
// Errors (src/errors.ts): FilterSyntaxError (.pcapMessage is libpcap's text), LibpcapMissingError
// (apt-get install libpcap0.8), BpfCheckError, FilterUnsupportedError, FilterAttachError,
// BpfRejectedError (verifier log), SystemError.
//
// Wiring notes for devices/ and cli/:
// - zc: devices: pass `xdpFilter: f.xdpFunction()` (called as a subprogram; devices/xdp/program.ts),
//   or prepend toXdpEbpf({ onReject }) to a program (the prefix jumps only inside itself or to its
//   end). Reload (SIGUSR1) = build a new program and replace the link's program.
// - standard devices: socket(AF_PACKET, SOCK_RAW, 0), attachToSocket, then bind with ETH_P_ALL;
//   reload = attachToSocket again. Rejected packets never reach the ring.
// - pcap files / software paths: compileFilter(...).match over each packet (no allocation).
// - The kernel strips 802.1Q tags before packet sockets see a frame; pcap files and XDP keep them.
import { readFileSync } from 'node:fs';
import { disassemble, type BpfInsn } from './cbpf.js';
import { kernelProgram, type CheckedProgram, type UserProgram } from './check.js';
import { toJsFunction, type FilterFunction } from './js.js';
import { pcapCompile, programBytes, type PcapCompileOptions, LINKTYPE } from './pcap.js';
import { attachToSocket } from './socket.js';
import { buildXdpFilterProgram, toXdpEbpf, toXdpFunction, type XdpFilterOptions, type XdpProgramOptions } from './xdp.js';

export interface CompiledFilter {
  readonly expression: string;
  readonly linktype: number;
  readonly snaplen: number;
  readonly program: UserProgram;
  readonly bytes: Uint8Array;
  /** The JS back-end; safe to detach (`const m = f.match`). */
  readonly match: FilterFunction;
  kernelProgram(): CheckedProgram;
  attachToSocket(fd: number, opts?: { lock?: boolean }): void;
  toXdpEbpf(opts?: Omit<XdpFilterOptions, 'expression'>): Uint8Array;
  xdpFunction(): Uint8Array;
  buildXdpProgram(opts?: Omit<XdpProgramOptions, 'expression'>): Uint8Array;
  disassemble(): string;
}

/** Compiles a tcpdump expression once and offers every back-end for it. */
export function compileFilter(expression: string, opts: PcapCompileOptions = {}): CompiledFilter {
  const linktype = opts.linktype ?? LINKTYPE.ETHERNET;
  const snaplen = opts.snaplen ?? 262144;
  const program = pcapCompile(expression, { ...opts, linktype, snaplen });
  let match: FilterFunction | undefined;
  let kernel: CheckedProgram | undefined;
  const forKernel = (): CheckedProgram => (kernel ??= kernelProgram(program, expression));
  return {
    expression, linktype, snaplen, program,
    get bytes() { return programBytes(forKernel()); },
    get match() {
      match ??= toJsFunction(program, expression);
      return match;
    },
    kernelProgram: forKernel,
    attachToSocket: (fd, o) => attachToSocket(fd, forKernel(), o),
    toXdpEbpf: (o = {}) => toXdpEbpf(forKernel(), { ...o, expression }),
    xdpFunction: () => toXdpFunction(forKernel(), { expression }),
    buildXdpProgram: (o = {}) => buildXdpFilterProgram(forKernel(), { ...o, expression }),
    disassemble: () => disassemble(program as readonly BpfInsn[]),
  };
}

/** Reads a filter expression from a file (`-F FILE`), dropping `#` comments like tcpdump does. */
export function readFilterFile(path: string): string {
  return readFileSync(path, 'utf8').split('\n').map((l) => l.replace(/#.*$/, '')).join(' ').trim();
}

export { BPF, BPF_MAXINSNS, disassemble, formatInsn, decodeProgram, encodeProgram, type BpfInsn } from './cbpf.js';
export { checkProgram, checkUserProgram, isChecked, kernelProgram, type CheckedProgram, type UserProgram } from './check.js';
export { toJsFunction, toJsSource, LOOP_STEPS_BASE, LOOP_STEPS_PER_BYTE, type FilterFunction } from './js.js';
export { pcapCompile, pcapFilter, pcapFilterMany, libpcapVersion, LINKTYPE, NETMASK_UNKNOWN, type PcapCompileOptions } from './pcap.js';
export { attachToSocket, detachFromSocket, REJECT_ALL } from './socket.js';
export { toXdpEbpf, toXdpFunction, buildXdpFilterProgram, XDP, type XdpFilterOptions, type XdpProgramOptions } from './xdp.js';
export { loadXdpProgram, testRunXdp, attachXdpLink, XDP_FLAGS } from './xdp-load.js';
export { EbpfAssembler, EBPF } from './ebpf.js';

