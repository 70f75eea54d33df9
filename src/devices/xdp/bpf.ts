// The bpf(2) commands the XDP device needs, with union bpf_attr laid out by
// hand (include/uapi/linux/bpf.h). Pointers inside bpf_attr are filled in by
// the addon from `patches`.
import { native } from '../../native/index.js';
import { BpfRejectedError, XdpMtuTooLargeError, XdpProgramExistsError, errnoOf } from '../../errors.js';
import { rethrowPermission } from '../iface.js';

// enum bpf_cmd
const BPF_MAP_CREATE = 0;
const BPF_MAP_UPDATE_ELEM = 2;
const BPF_MAP_DELETE_ELEM = 3;
const BPF_PROG_LOAD = 5;
const BPF_LINK_CREATE = 28;
const BPF_LINK_UPDATE = 29;
// enum bpf_map_type / bpf_prog_type / bpf_attach_type
const BPF_MAP_TYPE_XSKMAP = 17;
const BPF_PROG_TYPE_XDP = 6;
const BPF_XDP = 37;
// include/uapi/linux/if_link.h
export const XDP_FLAGS_SKB_MODE = 1 << 1;
export const XDP_FLAGS_DRV_MODE = 1 << 2;

const ATTR_SIZE = 128; // larger than every command's part we use; the tail stays zero

const BPF_CAPS = 'CAP_BPF and CAP_NET_ADMIN (or CAP_SYS_ADMIN)';

/** The name every ringzero XDP program is loaded with (15 characters: the kernel keeps 15 and a NUL). */
export const XDP_PROGRAM_NAME = 'rz_xsk_redirect';

function name16(view: Uint8Array, at: number, name: string): void {
  for (let i = 0; i < Math.min(15, name.length); i++) view[at + i] = name.charCodeAt(i) & 0x7f;
}

/** An XSKMAP with `entries` slots (one per RX queue). */
export function createXskMap(entries: number, name = 'rz_xsks'): number {
  const attr = new Uint8Array(ATTR_SIZE);
  const v = new DataView(attr.buffer);
  v.setUint32(0, BPF_MAP_TYPE_XSKMAP, true);
  v.setUint32(4, 4, true); // key: u32 queue index
  v.setUint32(8, 4, true); // value: u32 socket fd
  v.setUint32(12, entries, true);
  name16(attr, 28, name); // map_name
  try {
    return native.bpf(BPF_MAP_CREATE, attr);
  } catch (e) {
    rethrowPermission(e, BPF_CAPS, 'creating the XSKMAP (bpf BPF_MAP_CREATE)');
  }
}

function elemAttr(mapFd: number, key: Uint32Array, value: Uint32Array | null): [Uint8Array, Array<[number, Uint32Array]>] {
  const attr = new Uint8Array(ATTR_SIZE);
  new DataView(attr.buffer).setUint32(0, mapFd, true);
  const patches: Array<[number, Uint32Array]> = [[8, key]];
  if (value) patches.push([16, value]);
  return [attr, patches];
}

export function xskMapSet(mapFd: number, queue: number, socketFd: number): void {
  const [attr, patches] = elemAttr(mapFd, Uint32Array.of(queue), Uint32Array.of(socketFd));
  try {
    native.bpf(BPF_MAP_UPDATE_ELEM, attr, patches);
  } catch (e) {
    rethrowPermission(e, BPF_CAPS, 'adding the socket to the XSKMAP (bpf BPF_MAP_UPDATE_ELEM)');
  }
}

export function xskMapDelete(mapFd: number, queue: number): void {
  const [attr, patches] = elemAttr(mapFd, Uint32Array.of(queue), null);
  try {
    native.bpf(BPF_MAP_DELETE_ELEM, attr, patches);
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw e;
  }
}

const LICENSE = new TextEncoder().encode('Dual MIT/GPL\0');

function progLoadAttr(insns: Uint8Array, log: Uint8Array | null): [Uint8Array, Array<[number, Uint8Array]>] {
  const attr = new Uint8Array(ATTR_SIZE);
  const v = new DataView(attr.buffer);
  v.setUint32(0, BPF_PROG_TYPE_XDP, true);
  v.setUint32(4, insns.length / 8, true); // insn_cnt
  const patches: Array<[number, Uint8Array]> = [[8, insns], [16, LICENSE]];
  if (log) {
    v.setUint32(24, 1, true); // log_level
    v.setUint32(28, log.length, true); // log_size
    patches.push([32, log]); // log_buf
  }
  name16(attr, 48, XDP_PROGRAM_NAME); // prog_name
  v.setUint32(68, BPF_XDP, true); // expected_attach_type
  return [attr, patches];
}

/** Loads an XDP program; on rejection the verifier's log is in the error. */
export function loadXdpProgram(insns: Uint8Array): number {
  const [attr, patches] = progLoadAttr(insns, null);
  try {
    return native.bpf(BPF_PROG_LOAD, attr, patches);
  } catch (first) {
    const code = errnoOf(first);
    if (code === 'EPERM' || code === 'EMFILE' || code === 'ENFILE') rethrowPermission(first, BPF_CAPS, 'loading the XDP program (bpf BPF_PROG_LOAD)');
    // Load again with a log buffer only now: the verifier's explanation.
    const log = new Uint8Array(1 << 16);
    const [attr2, patches2] = progLoadAttr(insns, log);
    try {
      const fd = native.bpf(BPF_PROG_LOAD, attr2, patches2);
      return fd; // a transient failure the second time round: fine
    } catch (e) {
      const end = log.indexOf(0);
      const text = new TextDecoder().decode(log.subarray(0, end < 0 ? log.length : end)).trim();
      throw new BpfRejectedError(
        `the kernel rejected the XDP program (${errnoOf(e) || code}); verifier log:\n${text || '(empty)'}\n` +
        'If a filter was given, check the eBPF it produced (it gets R1 = ctx and must return R0).',
        text, e,
      );
    }
  }
}

/**
 * Attaches the program to the interface with a BPF link: the kernel detaches
 * it when the last fd of the link closes, also when the process is killed.
 */
export function attachXdpLink(progFd: number, ifindex: number, ifname: string, flags: number): number {
  const attr = new Uint8Array(ATTR_SIZE);
  const v = new DataView(attr.buffer);
  v.setUint32(0, progFd, true);
  v.setUint32(4, ifindex, true); // target_ifindex
  v.setUint32(8, BPF_XDP, true); // attach_type
  v.setUint32(12, flags, true);
  try {
    return native.bpf(BPF_LINK_CREATE, attr);
  } catch (e) {
    const code = errnoOf(e);
    if (code === 'EBUSY' || code === 'EEXIST') {
      throw new XdpProgramExistsError(
        `${ifname} already has an XDP program attached (${code}), so ours cannot be added. ` +
        `See it with 'ip link show ${ifname}'; if nothing needs it, remove it with 'ip link set dev ${ifname} xdp off' ` +
        `('xdpgeneric off' for a generic one, or 'xdp-loader unload ${ifname} --all'), close the other ringzero ` +
        `process or thread using zc:${ifname} (or give this one CAP_SYS_ADMIN: it then joins that program), ` +
        `or use the standard device '${ifname}' (AF_PACKET) instead.`, e,
      );
    }
    if (code === 'ERANGE') {
      throw new XdpMtuTooLargeError(
        `native XDP refused ${ifname}: the MTU of the interface or of its veth peer is too large (ERANGE). ` +
        `Lower it on both ends (ip link set dev ${ifname} mtu 1500, and the peer), ` +
        `or capture from the standard device '${ifname}' (AF_PACKET) instead; from the API, opening with ` +
        "{ xdpAttach: 'generic' } (slower, skb-based XDP) also works.", e,
      );
    }
    rethrowPermission(e, 'CAP_NET_ADMIN and CAP_BPF', `attaching XDP to ${ifname} (bpf BPF_LINK_CREATE)`);
  }
}

/**
 * Swaps the program behind an XDP link atomically (BPF_LINK_UPDATE): packets
 * see either the old or the new program, never none. `oldProgFd` makes the
 * kernel refuse the swap if someone else replaced it meanwhile.
 */
export function updateXdpLink(linkFd: number, newProgFd: number, oldProgFd: number): void {
  const attr = new Uint8Array(ATTR_SIZE);
  const v = new DataView(attr.buffer);
  v.setUint32(0, linkFd, true); // link_update.link_fd
  v.setUint32(4, newProgFd, true); // new_prog_fd
  v.setUint32(8, 4, true); // flags: BPF_F_REPLACE
  v.setUint32(12, oldProgFd, true); // old_prog_fd
  native.bpf(BPF_LINK_UPDATE, attr);
}
