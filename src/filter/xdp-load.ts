// Loading, test-running and attaching XDP programs with the bpf() system call
// through the addon (no libbpf). Attribute layouts are union bpf_attr from
// linux/bpf.h; offsets are noted per field.
import { BpfRejectedError, SystemError, errnoOf } from '../errors.js';
import { native } from '../native/index.js';
import { fdLimitError } from '../fd-limit.js';
import { endianness } from 'node:os';

/** bpf_attr fields are in host byte order. */
const LE = endianness() === 'LE';

/** bpf() commands (enum bpf_cmd). */
export const BPF_CMD = { PROG_LOAD: 5, PROG_TEST_RUN: 10, LINK_CREATE: 28 } as const;
/** BPF_PROG_TYPE_XDP (enum bpf_prog_type). */
export const BPF_PROG_TYPE_XDP = 6;
/** BPF_XDP (enum bpf_attach_type). */
export const BPF_XDP = 37;
/** XDP_FLAGS_* for BPF_LINK_CREATE (linux/if_link.h). */
export const XDP_FLAGS = { SKB_MODE: 1 << 1, DRV_MODE: 1 << 2 } as const;

const LICENSE = new TextEncoder().encode('GPL\0');
const PROG_LOAD_ATTR_SIZE = 128;

function sysError(e: unknown, what: string, fix: string): SystemError {
  const limit = fdLimitError(e, what);
  if (limit) return limit;
  const errno = errnoOf(e) || 'EUNKNOWN';
  return new SystemError('ERR_RINGZERO_BPF_SYSCALL', `${what} failed: ${(e as Error).message} — ${fix}`, errno, 'bpf', e);
}

function progLoadAttr(insns: Uint8Array, name: string, logSize: number): Uint8Array {
  const attr = new Uint8Array(PROG_LOAD_ATTR_SIZE);
  const dv = new DataView(attr.buffer);
  dv.setUint32(0, BPF_PROG_TYPE_XDP, LE); // prog_type
  dv.setUint32(4, insns.byteLength / 8, LE); // insn_cnt
  // insns @8 and license @16 are pointers (patched by the addon)
  dv.setUint32(24, logSize > 0 ? 1 : 0, LE); // log_level
  dv.setUint32(28, logSize, LE); // log_size; log_buf @32 patched
  const nm = new TextEncoder().encode(name.replace(/[^A-Za-z0-9_.]/g, '_').slice(0, 15));
  attr.set(nm, 48); // prog_name[16]
  dv.setUint32(68, BPF_XDP, LE); // expected_attach_type
  return attr;
}

/**
 * BPF_PROG_LOAD of an XDP program (8-byte eBPF instructions, host order);
 * returns the program fd. On a verifier rejection the load is repeated with
 * the log enabled and BpfRejectedError carries the log (its tail also in the message).
 */
export function loadXdpProgram(insns: Uint8Array, opts: { name?: string } = {}): number {
  const name = opts.name ?? 'rz_filter';
  if (insns.byteLength === 0 || insns.byteLength % 8 !== 0) throw new RangeError('eBPF program must be a non-empty multiple of 8 bytes');
  try {
    return native.bpf(BPF_CMD.PROG_LOAD, progLoadAttr(insns, name, 0), [[8, insns], [16, LICENSE]]);
  } catch (e) {
    if (errnoOf(e) !== 'EACCES' && errnoOf(e) !== 'EINVAL') {
      throw sysError(e, 'BPF_PROG_LOAD', errnoOf(e) === 'EPERM' ? 'run as root (needs CAP_BPF and CAP_NET_ADMIN)' : 'check the kernel supports XDP');
    }
    const log = new Uint8Array(1 << 22);
    try {
      const fd = native.bpf(BPF_CMD.PROG_LOAD, progLoadAttr(insns, name, log.byteLength), [[8, insns], [16, LICENSE], [32, log]]);
      return fd; // accepted the second time (should not happen); keep it
    } catch (e2) {
      const end = log.indexOf(0);
      const text = new TextDecoder().decode(log.subarray(0, end < 0 ? log.length : end));
      const tail = text.length > 3000 ? `…${text.slice(-3000)}` : text;
      throw new BpfRejectedError(
        `the kernel verifier rejected XDP program "${name}" (${insns.byteLength / 8} instructions, ${errnoOf(e2)}); ` +
        `if the program came from src/filter this is a ringzero bug — please report it with this log:\n${tail}`, text, e2);
    }
  }
}

export interface TestRunResult {
  /** the XDP verdict the program returned */
  retval: number;
  /** average run time in ns reported by the kernel */
  durationNs: number;
}

/**
 * BPF_PROG_TEST_RUN: runs the loaded program on `packet` inside the kernel
 * (no device needed). XDP requires 14 <= packet length <= about a page.
 * `attr` may be passed in to avoid allocating one per call.
 */
export function testRunXdp(progFd: number, packet: Uint8Array, repeat = 1, attr = new Uint8Array(80)): TestRunResult {
  attr.fill(0);
  const dv = new DataView(attr.buffer, attr.byteOffset, attr.byteLength);
  dv.setUint32(0, progFd, LE); // prog_fd
  dv.setUint32(8, packet.byteLength, LE); // data_size_in; data_in @16 patched
  dv.setUint32(32, repeat, LE); // repeat
  try {
    native.bpf(BPF_CMD.PROG_TEST_RUN, attr, [[16, packet]]);
  } catch (e) {
    throw sysError(e, `BPF_PROG_TEST_RUN on a ${packet.byteLength}-byte packet`, 'XDP test runs need 14..~3500 bytes and root');
  }
  return { retval: dv.getUint32(4, LE), durationNs: dv.getUint32(36, LE) };
}

/**
 * BPF_LINK_CREATE: attaches the XDP program to interface `ifindex` (native
 * mode when the driver has it, unless `flags` says otherwise); returns the
 * link fd. Closing it — or the process dying — detaches the program.
 */
export function attachXdpLink(progFd: number, ifindex: number, flags = 0): number {
  const attr = new Uint8Array(64);
  const dv = new DataView(attr.buffer);
  dv.setUint32(0, progFd, LE); // prog_fd
  dv.setUint32(4, ifindex, LE); // target_ifindex
  dv.setUint32(8, BPF_XDP, LE); // attach_type
  dv.setUint32(12, flags, LE); // flags
  try {
    return native.bpf(BPF_CMD.LINK_CREATE, attr);
  } catch (e) {
    const fix = errnoOf(e) === 'EBUSY' || errnoOf(e) === 'EEXIST'
      ? `another XDP program is attached to ifindex ${ifindex}: remove it (ip link set dev <dev> xdp off)`
      : 'run as root (CAP_NET_ADMIN, CAP_BPF) and check the interface supports XDP';
    throw sysError(e, `BPF_LINK_CREATE (XDP on ifindex ${ifindex})`, fix);
  }
}
