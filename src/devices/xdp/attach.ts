// One XDP program + XSKMAP + BPF link per interface per thread, shared by all
// AF_XDP devices this thread opens on that interface (e.g. zc:eth0@0 and
// zc:eth0@1), reference counted, detached when the last one closes.
//
// An interface holds at most one XDP program: another thread or process that
// opens a queue of the same interface finds ours attached and joins it
// (join.ts) when it would run the same program (the same filter); a program
// that is not ringzero's, or ours with another filter, is refused with
// XdpProgramExistsError. Its filter is then everyone's: only a process that
// holds it alone may replace it (replaceXdpFilter, link-holders.ts).
import { native } from '../../native/index.js';
import { XdpProgramExistsError, XdpProgramSharedError, errnoOf } from '../../errors.js';
import {
  XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE, XDP_PROGRAM_NAME, attachXdpLink, createXskMap, loadXdpProgram, updateXdpLink,
} from './bpf.js';
import { joinXdp } from './join.js';
import { otherLinkHolders } from './link-holders.js';
import { buildXdpRedirectProgram } from './program.js';

export type XdpAttachMode = 'native' | 'generic';

export interface XdpAttachment {
  readonly ifindex: number;
  readonly mapFd: number;
  readonly mode: XdpAttachMode;
}

interface Entry extends XdpAttachment {
  ifname: string;
  progFd: number;
  linkFd: number;
  users: number;
  filterKey: string;
}

const byIfindex = new Map<number, Entry>();

function keyOf(filter: Uint8Array | undefined, rejectAction: number): string {
  return filter && filter.length ? `${rejectAction}:${Buffer.from(filter).toString('base64')}` : '';
}

export interface AcquireOptions {
  ifname: string;
  ifindex: number;
  /** XSKMAP slots: the interface's RX queue count */
  queues: number;
  filter?: Uint8Array;
  rejectAction: number;
  /** 'auto': native (driver) XDP, generic only when the driver has none */
  attach: 'auto' | XdpAttachMode;
}

export function acquireXdp(o: AcquireOptions): XdpAttachment {
  const key = keyOf(o.filter, o.rejectAction);
  const have = byIfindex.get(o.ifindex);
  if (have) {
    if (have.filterKey !== key) {
      throw new XdpProgramExistsError(
        `${o.ifname} already runs this process's XDP program with a different filter (another open device). ` +
        'Close that device first, or open both with the same xdpFilter.',
      );
    }
    have.users++;
    return have;
  }
  const cleanup: Array<() => void> = [];
  try {
    const mapFd = createXskMap(o.queues);
    cleanup.push(() => native.close(mapFd));
    const progFd = loadXdpProgram(buildXdpRedirectProgram({ xskMapFd: mapFd, filter: o.filter, rejectAction: o.rejectAction }));
    cleanup.push(() => native.close(progFd));
    let mode: XdpAttachMode = o.attach === 'generic' ? 'generic' : 'native';
    let linkFd: number;
    try {
      try {
        linkFd = attachXdpLink(progFd, o.ifindex, o.ifname, mode === 'native' ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE);
      } catch (e) {
        // a driver without native XDP: generic (skb) XDP works on every interface
        const code = errnoOf((e as { cause?: unknown }).cause ?? e);
        if (o.attach !== 'auto' || (code !== 'EOPNOTSUPP' && code !== 'EINVAL')) throw e;
        mode = 'generic';
        linkFd = attachXdpLink(progFd, o.ifindex, o.ifname, XDP_FLAGS_SKB_MODE);
      }
    } catch (e) {
      if (!(e instanceof XdpProgramExistsError)) throw e;
      const joined = joinXdp(o.ifindex, progFd, XDP_PROGRAM_NAME);
      if (joined === null) throw e;
      if (joined === 'other') {
        throw new XdpProgramExistsError(
          `${o.ifname} already runs ringzero's XDP program for another process or thread, with a different filter. ` +
          'Give every process on this interface the same filter (-f / xdpFilter), or none.', e,
        );
      }
      for (const undo of cleanup.reverse()) undo(); // our own map and program are not needed
      const entry: Entry = { ifindex: o.ifindex, ifname: o.ifname, ...joined, mode, users: 1, filterKey: key };
      byIfindex.set(o.ifindex, entry);
      return entry;
    }
    const entry: Entry = { ifindex: o.ifindex, ifname: o.ifname, mapFd, progFd, linkFd, mode, users: 1, filterKey: key };
    byIfindex.set(o.ifindex, entry);
    return entry;
  } catch (e) {
    for (const undo of cleanup.reverse()) undo();
    throw e;
  }
}

/**
 * Replaces the filter of the program this thread runs on an interface, for
 * every device of this thread sharing it, without detaching (reload of -F on
 * SIGUSR1). Refused with XdpProgramSharedError while another process or
 * thread holds the program: the new filter would judge its queues' frames too.
 */
export function replaceXdpFilter(a: XdpAttachment, filter: Uint8Array | undefined, rejectAction: number): void {
  const e = byIfindex.get(a.ifindex);
  if (!e || e !== a) return;
  refuseIfShared(e);
  const progFd = loadXdpProgram(buildXdpRedirectProgram({ xskMapFd: e.mapFd, filter, rejectAction }));
  try {
    updateXdpLink(e.linkFd, progFd, e.progFd);
  } catch (err) {
    native.close(progFd);
    throw err;
  }
  // A process that joined between the look and the swap compared its filter
  // with the old program: give it back (a join takes the link before it looks).
  try {
    refuseIfShared(e);
  } catch (err) {
    updateXdpLink(e.linkFd, e.progFd, progFd);
    native.close(progFd);
    throw err;
  }
  native.close(e.progFd);
  e.progFd = progFd;
  e.filterKey = keyOf(filter, rejectAction);
}

function refuseIfShared(e: Entry): void {
  const pids = otherLinkHolders(e.linkFd);
  if (pids.length === 0) return;
  throw new XdpProgramSharedError(
    `the XDP program on ${e.ifname} is shared with process ${pids.join(', ')} (ringzero on other queues of ${e.ifname}, ` +
    'or another thread of this one), and its filter judges their frames too: it is not replaced. ' +
    'Reload once this process holds the program alone, or restart all of them with the new filter.',
    pids,
  );
}

/** Drops one user; the last one closes the link (detaching the program), the program and the map. */
export function releaseXdp(a: XdpAttachment): void {
  const e = byIfindex.get(a.ifindex);
  if (!e || e !== a) return;
  if (--e.users > 0) return;
  byIfindex.delete(a.ifindex);
  native.close(e.linkFd);
  native.close(e.progFd);
  native.close(e.mapFd);
}
