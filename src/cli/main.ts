#!/usr/bin/env node
// ringzero <command>: PF_RING-style tools over the zero-copy core.
// Stop requests (SIGINT, SIGTERM, a closed standard output) and SIGUSR1 are
// handled from here on, before any command creates anything (loop.ts says why);
// the commands themselves are imported only once that is in place.
import { commandFinished, installStopHandling } from './loop.js';
import { RingzeroError } from '../errors.js';

installStopHandling();

type Command = (argv: string[]) => number | Promise<number>;

const COMMANDS: Record<string, { run: () => Promise<Command>; help: string }> = {
  stats: { run: async () => (await import('./stats.js')).statsCommand, help: 'show the shared counters of a running cluster (-c ID)' },
  cleanup: { run: async () => (await import('./cleanup.js')).cleanupCommand, help: 'remove regions left by dead owners' },
  count: { run: async () => (await import('./count.js')).countCommand, help: 'count packets from a device or a cluster queue (zcount, pfcount)' },
  balance: { run: async () => (await import('./balance.js')).balanceCommand, help: 'balance device traffic to queues of a cluster (zbalance_ipc)' },
  fanout: { run: async () => (await import('./fanout.js')).fanoutCommand, help: 'every packet to every queue, buffers shared (zfanout_ipc)' },
  pipeline: { run: async () => (await import('./pipeline.js')).pipelineCommand, help: 'a chain of queues, one stage per thread or process (zpipeline_ipc)' },
  cluster: { run: async () => (await import('./cluster.js')).clusterCommand, help: 'create a cluster of plain queues for send/count processes' },
  demo: { run: async () => (await import('./demo.js')).demoCommand, help: 'balance generated traffic on a private veth pair to two consumers' },
  dump: { run: async () => (await import('./dump.js')).dumpCommand, help: 'write packets to a pcap/pcapng file, with rotation (pfdump)' },
  send: { run: async () => (await import('./send.js')).sendCommand, help: 'send synthetic frames to a device (zsend, pfsend)' },
};

export function registerCommand(name: string, help: string, run: () => Promise<Command>): void {
  COMMANDS[name] = { run, help };
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '-h' || name === '--help' || name === 'help') {
    console.log('usage: ringzero <command> [options]   (ringzero <command> --help for its flags)\n');
    for (const [n, c] of Object.entries(COMMANDS)) console.log(`  ${n.padEnd(10)} ${c.help}`);
    return name ? 0 : 2;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    console.error(`ringzero: unknown command '${name}'; commands: ${Object.keys(COMMANDS).join(', ')}`);
    return 2;
  }
  return (await cmd.run())(rest);
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  const code = (e as { code?: unknown }).code;
  if (e instanceof RingzeroError) {
    console.error(`ringzero: ${e.message} [${e.code}]`);
    process.exitCode = e.code === 'ERR_RINGZERO_USAGE' ? 2 : 1;
  } else if (typeof code === 'string' && e instanceof Error) {
    // A system call failed outside the data path (a missing file, a full disk, a closed pipe):
    // the kernel's words are the cause; no stack trace for an operator.
    console.error(`ringzero: ${e.message} [${code}]`);
    process.exitCode = 1;
  } else {
    throw e;
  }
} finally {
  commandFinished();
}
