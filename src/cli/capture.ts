// What count and dump share around their packet loops: the flags that only
// some inputs use (refused up front instead of ignored), and what is set up
// once the input is open (CPU pinning, the -F reload, --metrics, the notices),
// undone in one place so that no path leaves the input's cluster behind.
import type { Server } from 'node:http';
import { intFlag, UsageError, type Parsed } from './args.js';
import { linkState, nameOf } from '../devices/iface.js';
import { longFrameWarning } from '../devices/xdp/frame-limit.js';
import { PacketDevice, XdpDevice } from '../devices/index.js';
import { PcapDevice } from '../devices/pcap.js';
import { parseQueueSpec, type Input } from './endpoint.js';
import { reloadOnSigusr1, type FilterChoice } from './filter-option.js';
import { serveTotals } from './metrics.js';
import type { Totals } from './loop.js';
import { ClusterClosedError } from '../errors.js';
import { thousands } from './format.js';

/** 'queue': zc:CLUSTER@QUEUE of another process; 'file': pcap:FILE; 'device': a network interface. */
export type InputKind = 'queue' | 'file' | 'device';

export function inputKind(spec: string): InputKind {
  return parseQueueSpec(spec) ? 'queue' : spec.startsWith('pcap:') ? 'file' : 'device';
}

/** Flag `name` (as the user sees it: `shown`) given with an input it does nothing for: a usage error saying what it is for. */
export function refuseFlag(a: Parsed, name: string, shown: string, command: string, spec: string, applies: boolean, what: string): void {
  if (a[name] !== undefined && !applies) throw new UsageError(`${command}: ${shown} ${what}; it does nothing for -i ${spec}: leave it out`);
}

/** --metrics PORT, checked before anything is opened (undefined: not given). */
export function metricsPortFlag(a: Parsed): number | undefined {
  return a.metrics === undefined ? undefined : intFlag(a, 'metrics', 0, 1, 65535);
}

/**
 * What count and dump say at start (also when quiet) about a device input:
 * its interface is administratively down (capture starts when it comes up, as
 * tcpdump waits), or its MTU lets frames arrive that a zc: device cannot take.
 */
export function startNotices(input: Input): string[] {
  const d = input.device;
  if (!(d instanceof PacketDevice || d instanceof XdpDevice)) return [];
  const out: string[] = [];
  if (linkState(d.ifindex) === 'down') out.push(`${d.ifname} is down: waiting for it to come up (ip link set ${d.ifname} up)`);
  const long = d instanceof XdpDevice ? longFrameWarning(d.name, d.ifname, d.rxFrameLimit) : null;
  if (long) out.push(`warning: ${long}`);
  return out;
}

/**
 * How long count and dump receive before the event loop gets a turn (signals,
 * stats lines, --metrics, timers): 20 ms, not runLoop's 5. Each turn is a few
 * system calls and often a wake-up; at ~1 Mpps of trafgen frames, three
 * alternating pairs of `count -i zc:` gave 94/73/61 ns of CPU per packet with
 * 20 ms against 101/101/116 with 5 (2026-12-04); a stop waits 20 ms at most.
 */
export const CAPTURE_SLICE_MS = 20;

export interface CaptureExtras {
  /** pin the packet loop to this CPU (-1: no) */
  core: number;
  filter: FilterChoice | null;
  metricsPort: number | undefined;
  command: string;
  /** what a counted packet is, for the metrics' help ("received", "written") */
  what: string;
  totals: () => Totals;
  log: (m: string) => void;
}

/**
 * Pins, installs the -F reload and serves --metrics for `input`; returns the
 * undo. When one step fails, the steps before are undone before the error
 * propagates (the caller closes the input).
 */
export async function startExtras(input: Input, o: CaptureExtras): Promise<() => void> {
  const undo: Array<() => void> = [];
  const close = () => { for (const u of undo.reverse()) u(); undo.length = 0; };
  try {
    if (o.core >= 0) {
      const { native } = await import('../native/index.js');
      native.pinThread(o.core);
    }
    if (o.filter?.file) {
      undo.push(reloadOnSigusr1(o.filter.file, input.linktype, (f) => {
        const was = input.filterWhere;
        input.setFilter(f);
        return input.filterWhere === was ? undefined : `now ${input.filterWhere}`;
      }, o.log));
    }
    const rename = watchRename(input, o.log);
    if (rename) undo.push(rename);
    if (o.metricsPort !== undefined) {
      const server: Server = await serveTotals(o.metricsPort, o.command, o.what, o.totals);
      undo.push(() => { server.close(); });
    }
  } catch (e) {
    close();
    throw e;
  }
  return close;
}

/**
 * A device follows its interface by index, so a rename does not end the
 * capture; this says so once a second at most, between slices (one lookup
 * off the data path). Returns the undo, or null for an input with no interface.
 */
function watchRename(input: Input, log: (m: string) => void): (() => void) | null {
  const d = input.device;
  if (!(d instanceof PacketDevice || d instanceof XdpDevice)) return null;
  let known = d.ifname;
  const timer = setInterval(() => {
    const now = d.closed ? null : nameOf(d.ifindex);
    if (now == null || now === known) return; // gone: the device itself reports that; undefined: could not ask
    log(`${d.name}: interface ${known} is now named ${now}; the capture goes on`);
    known = now;
  }, 1000);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * input.recv of the capture loops, up to `max` buffers, waiting 2 ms when
 * idle; -1 when the input ended: `ended` gets the message of a cluster whose
 * owner closed it (a normal end), or the error (a malformed capture file:
 * the command reports what it had, then the error).
 */
export function recvOrEnd(input: Input, out: Uint32Array, max: number, ended: (closed: string | null, error: unknown) => void): number {
  try {
    return input.recv(out, max, 2);
  } catch (e) {
    if (e instanceof ClusterClosedError) ended(e.message, null);
    else ended(null, e);
    return -1;
  }
}

/**
 * The frames of `input` not kept whole, and what to tell the user about them
 * (read before the input closes): those longer than a cluster buffer, and a
 * capture file's records longer than the snaplen it gives their interface
 * (cut to it, as tcpdump -r reads them). Each keeps its true length as the
 * wire length.
 */
export function cutFrames(input: Input): { cut: number; notices: string[] } {
  const d = input.device;
  if (d === null) return { cut: 0, notices: [] };
  const notices: string[] = [];
  const buffers = d.stats().rxTruncated;
  if (buffers > 0) {
    notices.push(`${thousands(buffers)} frames were longer than the ${thousands(input.cluster.layout.bufferSize - input.cluster.layout.headroom)}-byte ` +
      'cluster buffers: each kept its first bytes, with its true length as the wire length');
  }
  const snap = d instanceof PcapDevice ? d.cutToSnaplen : 0;
  if (snap > 0) {
    const of = d instanceof PcapDevice && d.snaplen > 0 ? ` (${thousands(d.snaplen)} bytes for its first interface)` : '';
    notices.push(`${thousands(snap)} records were longer than the snaplen their file gives their interface${of}: each kept its ` +
      'first snaplen bytes, as tcpdump -r reads them (Wireshark shows the whole record), with its true length as the wire length');
  }
  return { cut: buffers + snap, notices };
}
