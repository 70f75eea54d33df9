// Per-queue `count` processes on the queues of one multi-queue veth end
// (device-shared-xdp*.test.ts): frames steered to a chosen RX queue, and a
// counter per queue started, waited for and stopped.
import assert from 'node:assert/strict';
import type { VethPair } from './netns.js';
import { BIN, lastJson, start, until, type Started } from './cli.js';

/**
 * `n` UDP frames (to port 9) from the peer, sent from CPU `cpu`: with the
 * qdisc bypassed the kernel picks TX queue (CPU mod queues), and veth hands
 * the frame to the same RX queue on our side. Needs as many CPUs as queues.
 */
export function sendFrom(pair: VethPair, cpu: number, n: number): void {
  pair.exec('taskset', ['-c', String(cpu), process.execPath, BIN, 'send', '-i', pair.peer, '-n', String(n), '-q']);
}

/** `count -i zc:HOST@queue --json ...extra`, once it captures. */
export async function queueCounter(pair: VethPair, queue: number, extra: string[] = []): Promise<Started> {
  const c = start(['count', '-i', `zc:${pair.host}@${queue}`, ...extra, '--json']);
  await until(() => c.err().includes('Capturing') || c.p.exitCode !== null, `count on queue ${queue}`);
  assert.equal(c.p.exitCode, null, `count on queue ${queue} did not start:\n${c.err()}`);
  return c;
}

/** Stops a counter with SIGINT; its packet count (it must exit 0). */
export async function stoppedCount(c: Started): Promise<number> {
  c.p.kill('SIGINT');
  const r = await c.done;
  assert.equal(r.code, 0, r.err);
  return lastJson(r.out).packets as number;
}
