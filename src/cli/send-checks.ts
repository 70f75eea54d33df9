// What `send` checks before it sends anything: the CPU to pin to, that the
// frames fit the device, that a capture file holds Ethernet frames.
import { readFileSync } from 'node:fs';
import { FrameTooLongError, LinkTypeUnsupportedError, errnoOf } from '../errors.js';
import { LINKTYPE } from '../filter/pcap.js';
import { UsageError } from './args.js';
import type { TxEndpoint } from './tx-endpoint.js';

/**
 * Pins the calling thread to `cpu`. Done before anything is created: a CPU
 * that is offline or outside this process's CPU set (EINVAL from
 * sched_setaffinity) is a usage error, and nothing is left to undo.
 */
export function pinToCpu(cpu: number, pin: (cpu: number) => void): void {
  try {
    pin(cpu);
  } catch (e) {
    if (errnoOf(e) !== 'EINVAL') throw e;
    let online = '';
    try { online = readFileSync('/sys/devices/system/cpu/online', 'utf8').trim(); } catch { /* not mounted: say less */ }
    throw new UsageError(`send: -g ${cpu}: CPU ${cpu} is offline or outside this process's CPU set${online ? `; online CPUs: ${online}` : ''} (see taskset -p ${process.pid})`);
  }
}

/** Synthetic frames of `length` bytes must fit the endpoint whole. */
export function checkFrameLength(length: number, dev: TxEndpoint): void {
  if (length <= dev.maxFrame) return;
  throw new FrameTooLongError(
    `send: -l ${length}: ${dev.name} sends frames of up to ${dev.maxFrame} bytes (${dev.maxFrameWhy}); use -l ${dev.maxFrame} or less`,
  );
}

/** `send -f` puts each record on the wire as it is: only Ethernet records (LINKTYPE_ETHERNET) are frames. */
export function checkLinkType(path: string, linkType: number): void {
  if (linkType === LINKTYPE.ETHERNET) return;
  const name = Object.entries(LINKTYPE).find(([, v]) => v === linkType)?.[0];
  throw new LinkTypeUnsupportedError(
    `send: ${path === '-' ? 'standard input' : path} holds link type ${linkType}${name ? ` (LINKTYPE_${name})` : ''}, not Ethernet (1): ` +
    'its records have no Ethernet header and would go on the wire as garbage frames; nothing was sent. ' +
    'Give them one first, e.g. tcprewrite --dlt=enet --enet-smac=02:00:00:00:00:01 --enet-dmac=02:00:00:00:00:02 ' +
    `--infile=${path === '-' ? 'IN.pcap' : path} --outfile=OUT.pcap (package tcpreplay), and send OUT.pcap`,
  );
}
