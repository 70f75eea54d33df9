// Interface facts from /sys/class/net and the helpers that turn kernel errnos
// into errors naming the cause and the fix.
import { readdirSync, readFileSync } from 'node:fs';
import { native } from '../native/index.js';
import {
  DeviceBusyError, InterfaceGoneError, InterfaceNotFoundError, PermissionDeniedError, QueueOutOfRangeError, errnoOf,
} from '../errors.js';
import { thousands } from '../number-format.js';
import { rethrowFdLimit } from '../fd-limit.js';
import { moreQueuesHint } from './channels.js';

export function listInterfaces(): string[] {
  try {
    return readdirSync('/sys/class/net').sort();
  } catch {
    return [];
  }
}

/** if_nametoindex: the index, 0 when there is no such interface; other failures throw (glibc asks through a socket: EMFILE). */
function nameToIndex(ifname: string): number {
  try {
    return native.ifNameToIndex(ifname);
  } catch (e) {
    if (errnoOf(e) === 'ENODEV') return 0;
    throw e;
  }
}

/** ifindex of `ifname`, 0 when there is no such interface; FdLimitError when no descriptor was left to ask with. */
export function ifindexOrZero(ifname: string): number {
  if (ifname.length === 0 || ifname.length >= 16 || /[/\s:@]/.test(ifname)) return 0;
  try {
    return nameToIndex(ifname);
  } catch (e) {
    rethrowFdLimit(e, `looking up network interface '${ifname}' (the lookup needs a socket)`);
    throw e;
  }
}

/** ifindex of `ifname`, or InterfaceNotFoundError listing the interfaces that exist. */
export function ifindexOf(ifname: string): number {
  const index = ifindexOrZero(ifname);
  if (index === 0) {
    const have = listInterfaces();
    throw new InterfaceNotFoundError(
      `no network interface named '${ifname}' in this network namespace; ` +
      `interfaces here: ${have.length ? have.join(', ') : '(none readable in /sys/class/net)'}. ` +
      'Check the name (ip link show) or run in the namespace that has it (ip netns exec NS ...).',
    );
  }
  return index;
}

function readSys(ifname: string, file: string): string | null {
  try {
    return readFileSync(`/sys/class/net/${ifname}/${file}`, 'utf8').trim();
  } catch {
    return null;
  }
}

/**
 * What became of the interface a device opened (it is followed by its index,
 * in this process's network namespace, where it was opened): 'gone' when no
 * interface has that index any more (deleted, moved to another namespace, its
 * driver unloaded; a new interface of the same name gets a new index), 'down'
 * when it is administratively down (IFF_UP clear), else 'up'. A rename keeps
 * the index, and the socket stays bound: the interface is still there.
 */
export function linkState(ifindex: number): 'up' | 'down' | 'gone' {
  const name = nameOf(ifindex);
  return name === null ? 'gone' : name === undefined || isUp(name) ? 'up' : 'down';
}

/**
 * The name interface `ifindex` has now; null when it is gone (see linkState);
 * undefined when we could not ask (no descriptor left for the lookup's
 * socket): no sign that anything changed, and the callers ask again later.
 */
export function nameOf(ifindex: number): string | null | undefined {
  try {
    return native.ifIndexToName(ifindex) || null;
  } catch {
    return undefined;
  }
}

/** IFF_UP of interface `name` (up when its flags cannot be read: renamed again in between, say). */
function isUp(name: string): boolean {
  return (Number.parseInt(readSys(name, 'flags') ?? '0x1', 16) & 1) !== 0;
}

/** How often an idle device looks whether its interface is still there (ms): a few syscalls each time. */
export const LINK_CHECK_MS = 250;

/**
 * An open device's view of its interface, shared by both kinds: looked up by
 * index (linkState), so a rename is followed (`ifname` is the name now) and
 * only a deletion or a move to another namespace ends the device. A device
 * calls check() when its socket reports trouble and idle() from every wait
 * that found nothing: an interface deleted while down, or any deletion under
 * AF_XDP, raises nothing on the socket, so only looking finds it. Never called
 * per packet: a busy device has no reason to look.
 */
export class LinkWatch {
  /** the interface's name as last seen */
  ifname: string;
  private checkedAt = performance.now();
  private down = false;

  constructor(
    private readonly device: string,
    ifname: string,
    private readonly ifindex: number,
    private readonly counters: { received: number; linkDowns: number },
  ) {
    this.ifname = ifname;
  }

  /**
   * Looks now: throws InterfaceGoneError when it is gone, counts an outage
   * in linkDowns when it went down (`fault`: the socket reported one, so a
   * new outage even if the last look also saw it down).
   */
  check(fault = false): 'up' | 'down' {
    this.checkedAt = performance.now();
    const name = nameOf(this.ifindex);
    if (name === null) throw interfaceGone(this.device, this.ifname, receivedBefore(this.counters.received));
    if (name === undefined) return this.down ? 'down' : 'up'; // could not ask: nothing new
    this.ifname = name;
    const down = !isUp(name);
    if (down && (!this.down || fault)) this.counters.linkDowns++;
    this.down = down;
    return down ? 'down' : 'up';
  }

  /** check(), at most every LINK_CHECK_MS: for waits that found nothing to receive. */
  idle(): void {
    if (performance.now() - this.checkedAt >= LINK_CHECK_MS) this.check();
  }
}

/** InterfaceGoneError for device `name` on `ifname`; `before` says what had been done (e.g. "the 5 packets received before were delivered"). */
export function interfaceGone(name: string, ifname: string, before: string): InterfaceGoneError {
  return new InterfaceGoneError(
    `${name}: interface '${ifname}' disappeared while open (deleted, moved to another network namespace, or its ` +
    `driver unloaded); ${before}. The device can only be closed now; open it again once the interface is back (ip link show).`,
  );
}

/** What an RX device had done before its interface went away. */
export const receivedBefore = (received: number): string => `the ${thousands(received)} packets received before were delivered`;

const ENETDOWN = 100;
const MSG_DONTWAIT = 0x40;

/**
 * The TX kick (sendto with no data) of a device, shared by both kinds. A
 * down link (ENETDOWN) keeps the frames queued: they go once it is up, and
 * the outage is counted once in `counters.linkDowns`, however many kicks
 * meet it. An interface that went away (ENXIO / ENODEV from an unbound
 * socket) throws InterfaceGoneError.
 */
export class TxKick {
  private down = false;

  constructor(
    private readonly name: string,
    private readonly ifname: string,
    private readonly ifindex: number,
    private readonly counters: { sent: number; linkDowns: number },
  ) {}

  /** Returns sendto's result: 0, or a transient -errno (-EBUSY from AF_XDP: see xdp/tx.ts kick). */
  kick(fd: number): number {
    let r: number;
    try {
      r = native.sendto(fd, null, MSG_DONTWAIT, null);
    } catch (e) {
      const code = errnoOf(e);
      if ((code === 'ENXIO' || code === 'ENODEV') && linkState(this.ifindex) === 'gone') {
        throw interfaceGone(this.name, this.ifname, `${thousands(this.counters.sent)} packets had been queued to send before`);
      }
      throw e;
    }
    const down = r === -ENETDOWN;
    if (down && !this.down) this.counters.linkDowns++;
    this.down = down;
    return r;
  }
}

const SOL_SOCKET = 1;
const SO_ERROR = 4;

/** Reads and clears a socket's pending error (SO_ERROR): 0 or an errno number (ENETDOWN = 100). */
export function takeSocketError(fd: number): number {
  const v = new Int32Array(1);
  try {
    native.getsockopt(fd, SOL_SOCKET, SO_ERROR, v);
  } catch {
    return 0;
  }
  return v[0];
}

export function mtuOf(ifname: string): number {
  return Number(readSys(ifname, 'mtu') ?? 1500);
}

/** Number of RX queues (rx-N folders under /sys/class/net/IF/queues); at least 1. */
export function rxQueueCount(ifname: string): number {
  try {
    const n = readdirSync(`/sys/class/net/${ifname}/queues`).filter((q) => q.startsWith('rx-')).length;
    return Math.max(1, n);
  } catch {
    return 1;
  }
}

export function checkQueue(ifname: string, queue: number): void {
  const n = rxQueueCount(ifname);
  if (!Number.isInteger(queue) || queue < 0 || queue >= n) {
    throw new QueueOutOfRangeError(
      `queue ${queue} does not exist on ${ifname}: it has ${n} RX queue${n === 1 ? '' : 's'} (0..${n - 1}). ` +
      `Use zc:${ifname}@0..${n - 1}, or zc:${ifname} for all of them.${queue >= n ? ` ${moreQueuesHint(ifname, queue)}` : ''}`,
    );
  }
}

/** A counter from /sys/class/net/IF/statistics (rx_packets, tx_packets, rx_dropped, ...). */
export function ifaceCounter(ifname: string, counter: string): number {
  return Number(readSys(ifname, `statistics/${counter}`) ?? NaN);
}

/** Effective capability bits of this process (from /proc/self/status CapEff). */
export function effectiveCaps(): bigint {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? BigInt('0x' + m[1]) : 0n;
  } catch {
    return 0n;
  }
}

export const CAP = { IPC_LOCK: 14, NET_ADMIN: 12, NET_RAW: 13, SYS_ADMIN: 21, SYS_RESOURCE: 24, BPF: 39 } as const;

export function hasCap(bit: number): boolean {
  return (effectiveCaps() >> BigInt(bit)) & 1n ? true : false;
}

/**
 * Rethrows an addon error as PermissionDeniedError when the kernel said
 * EPERM/EACCES, naming the capability `what` needs; other errors pass through.
 */
export function rethrowPermission(e: unknown, capability: string, what: string): never {
  // The calls that need a capability (socket, bpf) are those that make descriptors: EMFILE is said as such too.
  rethrowFdLimit(e, what);
  const code = errnoOf(e);
  if (code === 'EPERM' || code === 'EACCES') {
    throw new PermissionDeniedError(
      `${what} was refused (${code}): it needs ${capability}. ` +
      `Run as root, or grant it: setcap cap_net_raw,cap_net_admin,cap_bpf,cap_ipc_lock+ep "$(readlink -f "$(which node)")".`,
      capability, e,
    );
  }
  throw e;
}

export function rethrowBusy(e: unknown, what: string, fix: string): never {
  if (errnoOf(e) === 'EBUSY') throw new DeviceBusyError(`${what} is busy (EBUSY): ${fix}`, e);
  throw e;
}
