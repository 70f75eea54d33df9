// tcpdump expressions -> classic BPF with libpcap's own compiler, and
// libpcap's reference interpreter (native/libpcap.cc, loaded with dlopen).
import { BpfCheckError, FilterSyntaxError, LibpcapMissingError } from '../errors.js';
import { native } from '../native/index.js';
import { encodeProgram, type BpfInsn } from './cbpf.js';
import { checkUserProgram, type UserProgram } from './check.js';

/** Link-layer types (pcap LINKTYPE_* / DLT_*, https://www.tcpdump.org/linktypes.html). */
export const LINKTYPE = {
  NULL: 0, ETHERNET: 1, RAW: 101, LINUX_SLL: 113, LINUX_SLL2: 276, IPV4: 228, IPV6: 229,
} as const;

/**
 * pcap_open_dead takes a DLT_* value; pcap files and this API use LINKTYPE_*.
 * They differ only in 100..103 (libpcap pcap-common.c, linktype_to_dlt; the
 * DLT values are Linux's).
 */
export function linktypeToDlt(linktype: number): number {
  switch (linktype) {
    case 100: return 11; // ATM_RFC1483
    case 101: return 12; // RAW
    case 102: return 15; // SLIP_BSDOS
    case 103: return 16; // PPP_BSDOS
    default: return linktype;
  }
}

/** PCAP_NETMASK_UNKNOWN: `ip broadcast` cannot be compiled without a netmask. */
export const NETMASK_UNKNOWN = 0xffffffff;

export interface PcapCompileOptions {
  /** LINKTYPE_* of the packets the filter sees, as in pcap file headers (default 1, Ethernet) */
  linktype?: number;
  /** the value accepting `ret` instructions return (default 262144, tcpdump's) */
  snaplen?: number;
  /** run libpcap's optimizer (default true, like tcpdump without -O) */
  optimize?: boolean;
  /** IPv4 netmask for `ip broadcast` (default unknown) */
  netmask?: number;
}

function rethrow(e: unknown, expression: string): never {
  const code = (e as { code?: string } | null)?.code;
  const msg = (e as Error).message;
  if (code === 'ERR_RINGZERO_FILTER_SYNTAX') {
    throw new FilterSyntaxError(
      `invalid filter expression "${expression}": ${msg} — fix the expression (syntax: man 7 pcap-filter)`, expression, msg);
  }
  if (code === 'ERR_RINGZERO_LIBPCAP_MISSING') throw new LibpcapMissingError(msg, e);
  throw e;
}

/**
 * Compiles a tcpdump filter expression with libpcap (pcap_compile on a
 * pcap_open_dead handle, as `tcpdump -d` does) and checks the result with the
 * rules of libpcap's interpreter (checkUserProgram: the kernel's, but `ip6
 * protochain` may loop; kernelProgram() tells whether the kernel can run it).
 * Throws FilterSyntaxError (with libpcap's message), LibpcapMissingError, or
 * BpfCheckError when libpcap emits something not even it would run.
 */
export function pcapCompile(expression: string, opts: PcapCompileOptions = {}): UserProgram {
  const { linktype = LINKTYPE.ETHERNET, snaplen = 262144, optimize = true, netmask = NETMASK_UNKNOWN } = opts;
  let bytes: Uint8Array;
  try {
    bytes = native.pcapCompile(expression, linktypeToDlt(linktype), snaplen, optimize, netmask >>> 0);
  } catch (e) {
    rethrow(e, expression);
  }
  try {
    return checkUserProgram(bytes);
  } catch (e) {
    if (e instanceof BpfCheckError) {
      throw new BpfCheckError(`filter expression "${expression}" compiles to a program that fails the checks: ${e.message}`, e.index, e.rule);
    }
    throw e;
  }
}

/** libpcap's version string, e.g. "libpcap version 1.10.3 (with TPACKET_V3)". Throws LibpcapMissingError. */
export function libpcapVersion(): string {
  try {
    return native.pcapVersion();
  } catch (e) {
    rethrow(e, '');
  }
}

const encoded = new WeakMap<object, Uint8Array>();
/** The program as 8-byte host-order instructions (cached per checked program). */
export function programBytes(program: UserProgram): Uint8Array {
  let b = encoded.get(program);
  if (!b) {
    b = encodeProgram(program as readonly BpfInsn[]);
    encoded.set(program, b);
  }
  return b;
}

/**
 * libpcap's reference interpreter (bpf_filter) on one packet: `packet` holds
 * the captured bytes (caplen = its length), `wirelen` the original length.
 * One addon call per packet: for tests and tools, not for the data path.
 * It has no loop bound: a program that loops (protochain) on a packet whose
 * headers point at each other never returns.
 */
export function pcapFilter(program: UserProgram, packet: Uint8Array, wirelen = packet.byteLength): number {
  try {
    return native.pcapBpfFilter(programBytes(checkUserProgram(program)), packet, wirelen);
  } catch (e) {
    rethrow(e, '');
  }
}

/** bpf_filter over `count` packets (data[offsets[i] .. +caplens[i]]) `rounds` times; returns the accept count. */
export function pcapFilterMany(program: UserProgram, data: Uint8Array, offsets: Uint32Array, caplens: Uint32Array,
  wirelens: Uint32Array, count: number, rounds = 1): number {
  try {
    return native.pcapBpfFilterMany(programBytes(checkUserProgram(program)), data, offsets, caplens, wirelens, count, rounds);
  } catch (e) {
    rethrow(e, '');
  }
}
