// send -i zc:ID@Q into another process's cluster queue: it ends (exit 1,
// ERR_RINGZERO_CLUSTER_CLOSED, with its summary) as soon as the owner dies or
// shuts down, instead of spinning forever; and a full queue makes it wait,
// never count drops, while -p stays an upper bound, and naps while it waits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lastJson, sleep, start, until } from './helpers/cli.js';
import { removeRegionsOf, testClusterId } from './helpers/zc-procs.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapWriter } from '../src/pcap/index.js';
import { buildFrames } from '../src/cli/frames.js';
import { cpuShareOver } from './helpers/proc-cpu.js';

async function startOwner(args: string[]) {
  const owner = start(['cluster', ...args]);
  await until(() => owner.err().includes('Producers'), 'the cluster owner to start');
  return owner;
}

for (const how of ['killed', 'shut down'] as const) {
  test(`send into a queue exits 1 with ERR_RINGZERO_CLUSTER_CLOSED within a fraction of a second when the cluster's owner is ${how}, after its Total line`, async () => {
    const id = testClusterId();
    const owner = await startOwner(['-c', String(id), '-n', '1', '--quiet']);
    const send = start(['send', '-i', `zc:${id}@0`, '-p', '20000']);
    try {
      await until(() => send.err().includes('Sending'), 'send to start');
      await sleep(500); // the queue is full by now (4096 slots at 20 kpps): send waits for room
      owner.p.kill(how === 'killed' ? 'SIGKILL' : 'SIGINT');
      await owner.done;
      const t0 = Date.now();
      const r = await send.done;
      const ms = Date.now() - t0;
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, /ERR_RINGZERO_CLUSTER_CLOSED/);
      assert.match(r.err, how === 'killed' ? /its owner \(pid \d+\) died/ : /was shut down by its owner/);
      assert.match(r.out, /^Total: 4'096 pkts sent \(0 drops\)/m);
      assert.ok(ms < 500, `send took ${ms} ms to notice`);
    } finally {
      send.p.kill('SIGKILL');
      owner.p.kill('SIGKILL');
      await Promise.all([send.done, owner.done]);
      if (owner.p.pid) removeRegionsOf(owner.p.pid);
    }
  });
}

test('send -p into a full queue waits instead of dropping: nothing counted as dropped, at most PPS frames a second, and every frame reaches the consumer', async () => {
  const id = testClusterId();
  const PPS = 2000, SECONDS = 3, SLOTS = 1024;
  const owner = await startOwner(['-c', String(id), '-n', '1', '-q', String(SLOTS), '--json']);
  let cnt: ReturnType<typeof start> | null = null;
  try {
    const send = start(['send', '-i', `zc:${id}@0`, '-p', String(PPS), '-d', String(SECONDS), '--json']);
    // No consumer for a while: the queue fills (SLOTS frames at PPS, after start-up) and send waits.
    await sleep(1200);
    cnt = start(['count', '-i', `zc:${id}@0`, '--json']);
    const rs = await send.done;
    assert.equal(rs.code, 0, rs.err);
    const js = lastJson(rs.out);
    assert.equal(js.drops, 0, 'a full queue is waited out, not counted as drops');
    assert.ok(js.packets >= SLOTS, `at least the queue's ${SLOTS} slots were filled: ${js.packets}`);
    assert.ok(js.packets <= PPS * js.duration_s + 64, `at most ${PPS} pps: ${js.packets} in ${js.duration_s} s`);
    await sleep(500); // the consumer drains what is queued
    cnt.p.kill('SIGINT');
    const rc = await cnt.done;
    assert.equal(lastJson(rc.out).packets, js.packets, 'every frame send counted reached the consumer');
    owner.p.kill('SIGINT');
    const jo = lastJson((await owner.done).out);
    assert.equal(jo.queues[0].dropFull, 0);
    assert.equal(jo.queues[0].in, js.packets);
  } finally {
    cnt?.p.kill('SIGKILL');
    owner.p.kill('SIGKILL');
    await owner.done;
  }
});

test('a replay into a full queue naps while it waits for room instead of burning a CPU', async () => {
  const id = testClusterId();
  const dir = mkdtempSync(join(tmpdir(), 'rz-full-'));
  const owner = await startOwner(['-c', String(id), '-n', '1', '--quiet']);
  let send: ReturnType<typeof start> | undefined;
  try {
    const file = join(dir, 'f.pcap');
    const f = buildFrames({ length: 60, sources: 1 });
    const w = PcapWriter.open(file);
    for (let i = 0; i < 6000; i++) w.writePacket(f.bytes, 0, 60, 60, 1_700_000_000, i);
    w.close();
    send = start(['send', '-i', `zc:${id}@0`, '-f', file, '--topspeed']);
    const s = send;
    await until(() => s.err().includes('Replaying'), 'send to start');
    await sleep(500); // 4096 queued: the queue is full, 1904 records wait
    const used = await cpuShareOver(s.p.pid!, 2000);
    assert.equal(s.p.exitCode, null, 'send still waits for room');
    assert.ok(used < 0.3, `send used ${(used * 100).toFixed(0)}% of a CPU while waiting`);
  } finally {
    send?.p.kill('SIGKILL');
    owner.p.kill('SIGKILL');
    await Promise.all([send?.done, owner.done]);
    if (owner.p.pid) removeRegionsOf(owner.p.pid);
    rmSync(dir, { recursive: true, force: true });
  }
});
