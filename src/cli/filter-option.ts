// -f EXPR / -F FILE on the commands: where a filter runs depends on the input.
//   zc: devices     -> inside the XDP program (rejected frames never reach the socket)
//   AF_PACKET       -> SO_ATTACH_FILTER on the socket (rejected frames are never copied)
//   queues, files   -> the JS translation over each packet in the loop
// -F FILE is re-read on SIGUSR1: the new program replaces the old one between
// bursts, so nothing already received or queued is dropped by the switch.
import { compileFilter, readFilterFile, type CompiledFilter } from '../filter/index.js';
import type { OpenDeviceOptions } from '../devices/index.js';
import { UsageError, type Parsed, type FlagSpec } from './args.js';

export const FILTER_FLAGS: FlagSpec[] = [
  { names: ['f', 'filter'], value: true, help: "tcpdump filter expression, e.g. -f 'tcp port 80'" },
  { names: ['F', 'filter-file'], value: true, help: 'read the filter expression from FILE (SIGUSR1 re-reads it)' },
];

export interface FilterChoice {
  expression: string;
  file: string | null;
}

/**
 * The filter of a capture command: -f EXPR, -F FILE, or, as with tcpdump, the
 * words after the options (parseArgs with positional 'filter'). Two of them
 * at once is a usage error: `-f udp port 53` unquoted would otherwise filter
 * on 'udp' alone.
 */
export function filterFromArgs(a: Parsed, command: string): FilterChoice | null {
  if (a.filter !== undefined && a['filter-file'] !== undefined) throw new UsageError(`${command}: give -f EXPR or -F FILE, not both`);
  const words = a._.join(' ');
  if (words !== '') {
    if (typeof a.filter === 'string') {
      throw new UsageError(`${command}: two filters: -f '${a.filter}' and the words after the options '${words}'; quote the whole expression in one -f (-f '${a.filter} ${words}') or drop -f`);
    }
    if (typeof a['filter-file'] === 'string') {
      throw new UsageError(`${command}: two filters: -F ${a['filter-file']} and the words after the options '${words}'; keep one of them`);
    }
    return { expression: words, file: null };
  }
  if (typeof a.filter === 'string') return { expression: a.filter, file: null };
  if (typeof a['filter-file'] === 'string') {
    const file = a['filter-file'];
    try {
      return { expression: readFilterFile(file), file };
    } catch (e) {
      throw new UsageError(`${command}: cannot read filter file ${file}: ${(e as Error).message}`);
    }
  }
  return null;
}

/** Compiles for the link type and snap length of the input; syntax errors carry libpcap's message. */
export function compileFor(expression: string, linktype = 1, snaplen = 262144): CompiledFilter {
  return compileFilter(expression, { linktype, snaplen });
}

/** Device options that put the filter in the kernel for device kind `spec`. */
export function deviceFilterOptions(spec: string, f: CompiledFilter | null): Partial<OpenDeviceOptions> {
  if (!f) return {};
  if (spec.startsWith('zc:')) return { xdpFilter: f.xdpFunction(), xdpFilterReject: 'pass' };
  f.kernelProgram(); // a filter the kernel cannot run (one that loops) is refused here, before a socket is opened
  return { attachFilter: (fd: number) => f.attachToSocket(fd) };
}

/**
 * Installs a SIGUSR1 handler that re-reads `file` and calls `apply` with the
 * new filter; errors are reported and the old filter stays. Returns an
 * uninstaller.
 */
export function reloadOnSigusr1(file: string, linktype: number, apply: (f: CompiledFilter) => void, log: (m: string) => void): () => void {
  const handler = () => {
    try {
      const expr = readFilterFile(file);
      apply(compileFor(expr, linktype));
      log(`filter reloaded from ${file}: ${expr}`);
    } catch (e) {
      log(`filter reload from ${file} failed, keeping the previous filter: ${(e as Error).message}`);
    }
  };
  process.on('SIGUSR1', handler);
  return () => process.off('SIGUSR1', handler);
}
