// ringzero balance (zbalance_ipc): device inputs -> hash -> N queues that
// consumer processes attach to; -n N,M gives every application group its own
// copy (shared buffers) balanced inside the group; -r q:dev sends output q to
// a device instead of a queue.
import { startBalancer, startFanout, type HashMode, type InputSpec, type OutputSpec } from '../workers/index.js';
import { parseArgs, usage, UsageError, intFlag, type FlagSpec } from './args.js';
import { OWNER_FLAGS, consumerHints, createOwnedCluster, deviceNames, runOwner, whenReady } from './owner.js';
import { compileFor, reloadOnSigusr1 } from './filter-option.js';
import { refuseVlanOnStandard } from './filter-place.js';
import { CAPTURE_BUFFER_KIB, ringBlocks } from './endpoint.js';
import { readFilterFile } from '../filter/index.js';
import { composeOutputFilters, parseFilterArg, type OutputFilter } from './output-filters.js';
import type { FunctionSpec } from '../workers/index.js';
import { resolve } from 'node:path';

const FLAGS: FlagSpec[] = [
  { names: ['i', 'interface'], value: true, help: 'input devices, comma-separated (zc:eth0, eth1, ...); their index is the input port' },
  { names: ['n', 'queues'], value: true, help: 'queues: N, or N,M,... one balanced group per application (each group gets every packet)' },
  { names: ['m', 'mode'], value: true, help: 'hash: 5tuple (default), ip, tunnel (GTP-U/GRE inner IP), vlan, port, rr; PF_RING numbers 0 rr, 1 ip, 4/5 tunnel, 6 port, 7 vlan' },
  { names: ['r', 'egress'], value: true, repeat: true, help: 'q:DEV: send queue q\'s packets to device DEV instead (repeatable)' },
  { names: ['f', 'filter'], value: true, repeat: true, help: "input filter in the kernel of each device, e.g. -f 'udp'; EXPR@Q1,Q2 filters what goes to those queues only (repeatable)" },
  { names: ['F', 'filter-file'], value: true, help: 'input filter read from FILE; SIGUSR1 re-reads it and swaps it in the kernel' },
  { names: ['fn'], value: true, help: 'MODULE[:EXPORT]: a function (view) => queue index that replaces the hash; negative drops' },
  ...OWNER_FLAGS,
];

const MODE_ALIASES: Record<string, HashMode> = {
  '0': 'round-robin', rr: 'round-robin', 'round-robin': 'round-robin',
  '1': 'ip', ip: 'ip',
  '4': 'tunnel', '5': 'tunnel', tunnel: 'tunnel', gtp: 'tunnel', gre: 'tunnel',
  '6': 'port', port: 'port', interface: 'port',
  '7': 'vlan', vlan: 'vlan',
  '5tuple': 'five-tuple', 'five-tuple': 'five-tuple',
};

export function parseMode(m: string | undefined, command: string): HashMode {
  if (m === undefined) return 'five-tuple';
  const mode = MODE_ALIASES[m];
  if (!mode) throw new UsageError(`${command}: unknown mode -m ${m}; use ${Object.keys(MODE_ALIASES).filter((k) => !/^\d$/.test(k)).join(', ')} (or 0,1,4,5,6,7)`);
  return mode;
}

export function parseGroups(v: unknown, command: string): number[] {
  const groups = String(v ?? '1').split(',').map((x) => Number(x));
  if (groups.some((g) => !Number.isInteger(g) || g < 1 || g > 64) || groups.reduce((a, b) => a + b, 0) > 64) {
    throw new UsageError(`${command}: -n ${v}: give queue counts 1..64 per group, at most 64 queues in all`);
  }
  return groups;
}

export function parseInputs(v: unknown, command: string, filter?: string): InputSpec[] {
  if (typeof v !== 'string' || v === '') throw new UsageError(`${command}: -i DEV[,DEV...] is required`);
  if (filter !== undefined) refuseVlanOnStandard(command, v.split(','), filter);
  const f = filter !== undefined ? compileFor(filter) : null;
  return v.split(',').map((name, port) => ({
    kind: 'device', name, port,
    // Deep rings ride out the worker's idle naps, its JIT warm-up and GC pauses without kernel drops:
    // 8192 AF_XDP frames; for AF_PACKET the capture commands' 32 MiB in 64 blocks.
    options: name.startsWith('zc:')
      ? { ringSize: 8192, ...(f ? { xdpFilter: f.xdpFunction() } : {}) }
      : { ...ringBlocks(CAPTURE_BUFFER_KIB), ...(f ? { socketFilter: f.bytes } : {}) },
  }));
}

export async function balanceCommand(argv: string[]): Promise<number> {
  const a = parseArgs(argv, FLAGS, 'balance');
  if (a.help) { process.stdout.write(usage('balance', 'Balance packets from devices to queues of a cluster (zbalance_ipc).', FLAGS)); return 0; }
  const groups = parseGroups(a.queues, 'balance');
  const mode = parseMode(a.mode as string | undefined, 'balance');
  const nq = groups.reduce((x, y) => x + y, 0);
  let inputFilter: string | undefined;
  const outputFilters: OutputFilter[] = [];
  for (const f of (a.filter as string[] | undefined) ?? []) {
    const p = parseFilterArg(f, nq);
    if (p.input !== undefined) {
      if (inputFilter !== undefined) throw new UsageError('balance: only one input filter (-f EXPR); per-queue filters are -f EXPR@Q,...');
      inputFilter = p.input;
    } else outputFilters.push(p.output!);
  }
  const filterFile = typeof a['filter-file'] === 'string' ? a['filter-file'] : undefined;
  if (filterFile !== undefined) {
    if (inputFilter !== undefined) throw new UsageError('balance: give the input filter with -f EXPR or -F FILE, not both');
    inputFilter = readFilterFile(filterFile);
  }
  if (outputFilters.length > 0 && (groups.length > 1 || a.fn !== undefined)) throw new UsageError('balance: per-queue filters (-f EXPR@Q) work with one group and without --fn');
  const fn: FunctionSpec | undefined = typeof a.fn === 'string'
    ? (() => { const [mod, exp] = a.fn.split(':'); return { module: resolve(mod), export: exp ?? 'default' }; })()
    : outputFilters.length > 0 ? composeOutputFilters(outputFilters, mode, nq) : undefined;
  const inputs = parseInputs(a.interface, 'balance', inputFilter);
  const outputs: OutputSpec[] = Array.from({ length: nq }, (_, q) => ({ kind: 'queue', queue: q }));
  for (const r of (a.egress as string[] | undefined) ?? []) {
    const m = /^(\d+):(.+)$/.exec(r);
    if (!m || Number(m[1]) >= nq) throw new UsageError(`balance: -r ${r}: expected QUEUE:DEVICE with a queue below ${nq}`);
    outputs[Number(m[1])] = { kind: 'device', name: m[2] };
  }
  const names = deviceNames(inputs);
  const cluster = createOwnedCluster(a, 'balance', nq, names);
  const cpu = a.core !== undefined ? intFlag(a, 'core', 0) : undefined;
  const handle = groups.length > 1
    ? startFanout(cluster, { inputs, outputs, groups, mode, fn, pool: 0, cpu })
    : startBalancer(cluster, { inputs, outputs, mode, fn, pool: 0, cpu });
  await whenReady(handle, cluster);
  console.error(consumerHints(cluster, nq, names, inputFilter !== undefined).replace(/count -i zc:\d+@(\d+)/g, (s, q) => (outputs[Number(q)].kind === 'device' ? `(queue ${q} goes to ${(outputs[Number(q)] as { name: string }).name})` : s)));
  const groupsCount = groups.length;
  const unReload = filterFile !== undefined
    ? reloadOnSigusr1(filterFile, 1, (f) => {
      refuseVlanOnStandard('balance', String(a.interface).split(','), f.expression);
      handle.setInputFilter!(f.bytes, f.xdpFunction());
    }, (m) => console.error(`balance: ${m}`))
    : () => {};
  await runOwner(a, {
    command: 'balance', cluster, handle, queues: nq,
    // Every received packet not delivered to an output, whatever the reason. With
    // groups each packet is due once per group.
    drops: (s) => Math.max(0, s.received * groupsCount - s.sent),
  });
  unReload();
  return 0;
}
