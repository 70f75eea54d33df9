// The kernel back-end: a checked classic BPF program attached to a socket
// with SO_ATTACH_FILTER, so rejected packets are dropped in the kernel before
// they are copied to the socket or its ring (AF_PACKET / TPACKET_V3).
//
// Order that avoids a window of unfiltered packets on AF_PACKET: create the
// socket with protocol 0 (it receives nothing yet), attach the filter, then
// bind() to the interface with ETH_P_ALL. When replacing the filter of a
// live socket (e.g. on SIGUSR1 reload), just attach again: the kernel swaps
// it atomically (packets already queued were filtered by the old one).
//
// Mind 802.1Q: on receive the kernel moves a VLAN tag from the frame into
// skb metadata before packet sockets see it, so a socket filter runs on the
// untagged frame. A program compiled for pcap_open_dead (pcapCompile) tests
// `vlan` with inline TPID checks, which match what XDP and pcap files see, not
// what a packet socket sees.
import { endianness } from 'node:os';
import { FilterAttachError, errnoOf } from '../errors.js';
import { native } from '../native/index.js';
import { BPF, type BpfInsn } from './cbpf.js';
import { checkProgram, type CheckedProgram } from './check.js';
import { programBytes } from './pcap.js';

/** asm-generic/socket.h */
export const SOL_SOCKET = 1;
export const SO_ATTACH_FILTER = 26;
export const SO_DETACH_FILTER = 27;
export const SO_LOCK_FILTER = 44;

function attachError(e: unknown, what: string, fd: number): FilterAttachError {
  const errno = errnoOf(e) || 'EUNKNOWN';
  const fix = errno === 'EPERM' ? 'the filter is locked (SO_LOCK_FILTER): open a new socket'
    : errno === 'ENOMEM' ? 'raise net.core.optmem_max (the program does not fit the socket option memory)'
    : errno === 'EBADF' || errno === 'ENOTSOCK' ? 'pass an open socket fd'
    : errno === 'ENOENT' ? 'no filter was attached' : 'check the program with checkProgram()';
  return new FilterAttachError(`${what} on fd ${fd} failed: ${(e as Error).message} — ${fix}`, errno, e);
}

/**
 * Attaches `program` to socket `fd` (SO_ATTACH_FILTER). The program is checked
 * with the kernel's rules first (BpfCheckError names the bad instruction);
 * `lock` sets SO_LOCK_FILTER so it cannot be replaced or removed afterwards.
 */
export function attachToSocket(fd: number, program: CheckedProgram | readonly BpfInsn[], opts: { lock?: boolean } = {}): void {
  const p = checkProgram(program);
  const insns = programBytes(p);
  // struct sock_fprog { unsigned short len; struct sock_filter *filter; }: len @0, pointer @8 (64-bit)
  const fprog = new Uint8Array(16);
  new DataView(fprog.buffer).setUint16(0, p.length, endianness() === 'LE');
  try {
    native.setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, fprog, [[8, insns]]);
  } catch (e) {
    throw attachError(e, 'SO_ATTACH_FILTER', fd);
  }
  if (opts.lock) {
    try {
      native.setsockopt(fd, SOL_SOCKET, SO_LOCK_FILTER, new Int32Array([1]));
    } catch (e) {
      throw attachError(e, 'SO_LOCK_FILTER', fd);
    }
  }
}

/** Removes the socket's filter (SO_DETACH_FILTER); ENOENT when it has none. */
export function detachFromSocket(fd: number): void {
  try {
    native.setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, new Int32Array([0]));
  } catch (e) {
    throw attachError(e, 'SO_DETACH_FILTER', fd);
  }
}

/** A program that rejects everything: attach it first, drain the socket, then attach the real one. */
export const REJECT_ALL: CheckedProgram = checkProgram([{ code: BPF.RET | BPF.K, jt: 0, jf: 0, k: 0 }]);
