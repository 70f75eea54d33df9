// The owner commands count the same packets in `packets` and `bytes`: what
// their inputs received, in the --json object, the per-second lines and the
// Prometheus counters alike, whether a packet went to one queue, to a copy
// per application group, or was dropped at a full queue. What each queue took
// (the forwarded bytes) has its own names: queues[].bytes and
// ringzero_queue_in_bytes_total.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BIN, freePort, lastJson, start, until, type Started } from './helpers/cli.js';
import { createVethPair, type VethPair } from './helpers/netns.js';
import { firstOf, needNetns } from './helpers/env.js';
import { testClusterId } from './helpers/zc-procs.js';

const skip = firstOf(needNetns());
const N = 3000;
const LEN = 100;

/** `ringzero COMMAND -i HOST -c ID ...args` on a fresh veth pair, started and ready for traffic. */
async function owner(veth: VethPair, command: string, args: string[]): Promise<Started> {
  const o = start([command, '-i', veth.host, '-c', String(testClusterId()), ...args]);
  await until(() => /Run the consumer/.test(o.err()) || o.p.exitCode !== null, `${command} to start`);
  assert.equal(o.p.exitCode, null, o.err());
  return o;
}

/** N frames of LEN bytes from 64 flows, sent from the peer. */
const send = (veth: VethPair) =>
  veth.exec(process.execPath, [BIN, 'send', '-i', veth.peer, '-n', String(N), '-p', '20000', '-l', String(LEN), '-b', '64', '-q']);

/** Stops `o` and returns its JSON object. */
async function stopJson(o: Started): Promise<Record<string, any>> {
  o.p.kill('SIGINT');
  const r = await o.done;
  assert.equal(r.code, 0, r.err);
  return lastJson(r.out);
}

test('balance -n 2,3: bytes are those of the packets received, not of one copy per group', { skip }, async () => {
  const veth = createVethPair();
  try {
    const o = await owner(veth, 'balance', ['-n', '2,3', '--json']);
    send(veth);
    const j = await stopJson(o);
    assert.equal(j.packets, N, JSON.stringify(j));
    assert.equal(j.bytes, N * LEN, 'the bytes of the packets counted');
    assert.equal(j.forwarded, 2 * N, 'one copy per group');
    assert.equal(j.queues.reduce((s: number, q: { bytes: number }) => s + q.bytes, 0), 2 * N * LEN, 'what the queues took');
  } finally {
    veth.remove();
  }
});

test('balance and fanout with full queues: the lines, the metrics and the JSON count the bytes of every packet received', { skip }, async () => {
  const veth = createVethPair();
  try {
    // 256 slots and no consumers: most packets are dropped at the full queues
    const port = await freePort();
    const b = await owner(veth, 'balance', ['-n', '2', '-q', '256', '--metrics', String(port)]);
    send(veth);
    await until(() => /^Absolute Stats: 3'000 pkts/m.test(b.out()), `a stats line with the ${N} packets (${b.out()})`);
    assert.match(b.out(), /^Absolute Stats: 3'000 pkts \(2'488 drops\) - 300'000 bytes$/m);
    const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(body, /^ringzero_balance_received_total 3000$/m);
    assert.match(body, /^ringzero_balance_received_bytes_total 300000$/m);
    assert.match(body, /^ringzero_queue_in_bytes_total\{cluster="\d+",queue="0"\} 25600$/m);
    b.p.kill('SIGINT');
    assert.equal((await b.done).code, 0);

    const f = await owner(veth, 'fanout', ['-n', '2', '-q', '256', '--json']);
    send(veth);
    const j = await stopJson(f);
    assert.equal(j.packets, N, JSON.stringify(j));
    assert.equal(j.bytes, N * LEN);
    assert.deepEqual(j.queues.map((q: { bytes: number }) => q.bytes), [256 * LEN, 256 * LEN]);
  } finally {
    veth.remove();
  }
});
