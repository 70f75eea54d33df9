// Where a capture command's filter runs on a network device, and moving it
// when a reload (SIGUSR1 with -F) needs another place.
//
// zc: devices: inside the XDP program, which sees each frame as on the wire.
// Standard (AF_PACKET) devices: as a socket filter, which sees the frame after
// the kernel took its outer 802.1Q / 802.1ad tag off into metadata (the ring
// hands the tag over, and the device puts it back: packet/device.ts). An
// expression without `vlan` matches there as tcpdump's does on a live
// interface: the same program over the same frame. One with `vlan`, compiled
// as libpcap compiles for a file (tag in the packet), would match the wrong
// frames. libpcap's live code for it (loads of the tag from metadata,
// BPF_SPECIAL_VLAN_HANDLING) is only reachable through an activated capture
// handle, and misses PPPoE inside a tag. So such an expression runs in JS over
// the frame with its tag back in place: the same matches as in files and on
// zc:, and as tcpdump's live ones for every vlan form (but that bug), except
// a primitive before the first `vlan` ('udp or vlan 300': live, tcpdump's
// 'udp' also matches tagged frames; here, as in a file, only untagged ones).
import type { CompiledFilter } from '../filter/index.js';
import { detachFromSocket } from '../filter/socket.js';
import type { FilterFunction } from '../filter/js.js';
import type { OpenDeviceOptions, PacketDevice } from '../devices/index.js';
import { FilterAttachError } from '../errors.js';
import { UsageError } from './args.js';

export type FilterPlace = 'xdp' | 'socket' | 'js' | 'none';

/** what the startup lines say about a filter in JS on a standard device */
export const TAG_NOTE = 'js: the kernel takes the outer VLAN tag off before a socket filter would see the frame';

/** The expression names `vlan` (as libpcap's scanner reads words: `vlan-gw` is a host name). */
export function namesVlan(expression: string): boolean {
  return /(?:^|[^A-Za-z0-9_.-])vlan(?![A-Za-z0-9_.-])/.test(expression);
}

/**
 * The input filter of balance and fanout runs in the kernel of each device
 * (the workers have no JS place for it): a `vlan` expression is refused for
 * a standard device, naming what does work.
 */
export function refuseVlanOnStandard(command: string, devices: readonly string[], expression: string): void {
  const standard = devices.filter((d) => !d.startsWith('zc:'));
  if (standard.length === 0 || !namesVlan(expression)) return;
  throw new UsageError(
    `${command}: the input filter '${expression}' names vlan, and on the standard device ${standard.join(', ')} ` +
    'the kernel takes the outer VLAN tag off before a socket filter sees the frame, so it would match the wrong frames. ' +
    `Use zc:${standard[0]} (the filter then runs in XDP, on the frame as sent)` +
    (command === 'balance' ? `, or filter in the balancer, on the frame with its tag: -f '${expression}@0,1,...' naming every queue (what it rejects counts as drops)` : '') + '.',
  );
}

/** Where `f` runs on device `spec` (zc:IFACE[@Q] or IFACE). */
export function devicePlace(spec: string, f: CompiledFilter): 'xdp' | 'socket' | 'js' {
  if (spec.startsWith('zc:')) return 'xdp';
  return namesVlan(f.expression) ? 'js' : 'socket';
}

/** Device options that put the filter in the kernel for device `spec`; none when it runs in JS. */
export function deviceFilterOptions(spec: string, f: CompiledFilter | null): Partial<OpenDeviceOptions> {
  if (!f) return {};
  const place = devicePlace(spec, f);
  if (place === 'xdp') return { xdpFilter: f.xdpFunction(), xdpFilterReject: 'pass' };
  if (place === 'js') return {};
  f.kernelProgram(); // a filter the kernel cannot run (one that loops) is refused here, before a socket is opened
  return { attachFilter: (fd: number) => f.attachToSocket(fd) };
}

/**
 * The filter of an open standard device, in its socket or in JS as each
 * expression needs (devicePlace). Frames already in the kernel's ring when a
 * reload moves it are judged by both the old and the new filter: the old one
 * ran (socket) or still runs (JS) on them, and the new one too. Call
 * beforeRecv() and afterRecv() around each receive.
 */
export class PacketDeviceFilter {
  js: FilterFunction | null;
  place: 'socket' | 'js';
  /** moved into the socket: the old JS filter runs until the ring was seen drained ('drained': gone at the next receive) */
  private retiring: 'no' | 'waiting' | 'drained' = 'no';

  constructor(private readonly dev: PacketDevice, f: CompiledFilter) {
    this.place = devicePlace(dev.ifname, f) === 'js' ? 'js' : 'socket';
    this.js = this.place === 'js' ? f.match : null;
  }

  replace(f: CompiledFilter): void {
    if (devicePlace(this.dev.ifname, f) === 'js') {
      this.js = f.match;
      this.retiring = 'no';
      if (this.place === 'socket') this.dev.setSocketFilter(detachIfAny);
      this.place = 'js';
    } else {
      this.dev.setSocketFilter((fd) => f.attachToSocket(fd));
      if (this.place === 'js') this.retiring = 'waiting';
      this.place = 'socket';
    }
  }

  beforeRecv(): void {
    if (this.retiring !== 'drained') return;
    this.js = null;
    this.retiring = 'no';
  }

  /** a receive that got fewer than it asked for emptied the ring: every later frame passed the new socket filter */
  afterRecv(n: number, max: number): void {
    if (this.retiring === 'waiting' && n < max) this.retiring = 'drained';
  }
}

function detachIfAny(fd: number): void {
  try {
    detachFromSocket(fd);
  } catch (e) {
    if (!(e instanceof FilterAttachError && e.errno === 'ENOENT')) throw e; // ENOENT: none attached
  }
}
