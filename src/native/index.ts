// Typed access to the C addon (native/*.cc). Everything here is a thin system
// call; policy lives in the TypeScript layers above.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NativeAddon {
  close(fd: number): void;
  mmap(fd: number, length: number, offset: number, writable: boolean, populate: boolean): SharedArrayBuffer;
  unmap(sab: SharedArrayBuffer): void;
  /** fallocate(2), mode 0: allocates [offset, offset + length) of the file (and extends it); throws ENOSPC, EOPNOTSUPP, ... */
  fallocate(fd: number, offset: number, length: number): void;
  /** page-aligned part of an mmap() buffer: read-only (writable false) or read-write */
  mprotect(sab: SharedArrayBuffer, byteOffset: number, length: number, writable: boolean): void;
  /** 0 woken, 1 timed out, 2 value differed, 3 interrupted */
  futexWait(bytes: ArrayBufferView | SharedArrayBuffer, byteOffset: number, expected: number, timeoutMs: number): number;
  futexWake(bytes: ArrayBufferView | SharedArrayBuffer, byteOffset: number, count: number): number;
  pinThread(cpu: number): void;
  gettid(): number;
  socket(domain: number, type: number, protocol: number): number;
  /** `patches` writes user pointers into `value` before the call, as for bpf() (e.g. XDP_UMEM_REG's addr). */
  setsockopt(fd: number, level: number, name: number, value: ArrayBufferView,
    patches?: Array<[number, ArrayBufferView | SharedArrayBuffer]>): void;
  getsockopt(fd: number, level: number, name: number, value: ArrayBufferView): number;
  bind(fd: number, sockaddr: ArrayBufferView): void;
  sendto(fd: number, data: ArrayBufferView | null, flags: number, addr: ArrayBufferView | null): number;
  recv(fd: number, data: ArrayBufferView, flags: number): number;
  poll(fd: number, events: number, timeoutMs: number): number;
  /** [offset, bytes, into]: the pointer goes into the view `into` (a structure `attr` points to) instead of `attr`. */
  bpf(cmd: number, attr: ArrayBufferView, patches?: Array<[number, ArrayBufferView | SharedArrayBuffer] | [number, ArrayBufferView, ArrayBufferView]>): number;
  /** poll() over several fds (1..64); returns how many are ready (0 on timeout or EINTR). */
  pollFds(fds: Int32Array, events: number, timeoutMs: number): number;
  /** [soft, hard]; -1 = unlimited */
  getrlimit(resource: number): [number, number];
  /** -1 = unlimited */
  setrlimit(resource: number, soft: number, hard: number): void;
  /** if_nametoindex (socket + SIOCGIFINDEX); throws ENODEV when there is no such interface, EMFILE/ENFILE when no socket could be had to ask with */
  ifNameToIndex(name: string): number;
  /** the name of interface `index` now, '' when this network namespace has none with that index */
  ifIndexToName(index: number): string;
  // libpcap (native/libpcap.cc), loaded with dlopen on first use; these throw
  // code ERR_RINGZERO_LIBPCAP_MISSING when it is not installed.
  /** pcap_lib_version() */
  pcapVersion(): string;
  /** pcap_compile on pcap_open_dead(linktype, snaplen): 8 bytes per instruction, host order. Throws code ERR_RINGZERO_FILTER_SYNTAX with libpcap's message. */
  pcapCompile(expression: string, linktype: number, snaplen: number, optimize: boolean, netmask: number): Uint8Array;
  /** libpcap's bpf_filter over one packet (caplen = packet.byteLength). */
  pcapBpfFilter(insns: Uint8Array, packet: ArrayBufferView, wirelen: number): number;
  /** bpf_filter over `count` packets in `data`, `rounds` times; returns how many results were non-zero (benchmarks). */
  pcapBpfFilterMany(insns: Uint8Array, data: ArrayBufferView, offsets: Uint32Array, caplens: Uint32Array,
    wirelens: Uint32Array, count: number, rounds: number): number;
  [extra: string]: unknown;
}

function findAddon(): string {
  // dist/src/native/index.js -> package root is three levels up; src/native/index.ts two.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'build', 'Release', 'ringzero.node');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  const err = new Error(
    'ringzero native addon not found (build/Release/ringzero.node): run `npm ci` or `npx node-gyp rebuild` in the package folder',
  ) as Error & { code: string };
  err.code = 'ERR_RINGZERO_ADDON_MISSING';
  throw err;
}

const require = createRequire(import.meta.url);
export const native: NativeAddon = require(findAddon()) as NativeAddon;
