// ringzero cluster + send -i zc:ID@Q + count -i zc:ID@Q: processes producing
// into and consuming from IPC queues (zsend / zcount_ipc), and reading a
// capture from standard input (count -i pcap:-).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { BIN, lastJson, sleep, start } from './helpers/cli.js';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testClusterId } from './helpers/zc-procs.js';
import { PcapWriter } from '../src/pcap/index.js';
import { buildFrames } from '../src/cli/frames.js';



test('send into a cluster queue and count from it in other processes: exact counts, a second producer is refused', async () => {
  const id = testClusterId();
  const owner = start(['cluster', '-c', String(id), '-n', '2', '-q', '1024', '--json']);
  for (let i = 0; i < 200 && !owner.err().includes('Producers'); i++) await sleep(25);
  const cnt = start(['count', '-i', `zc:${id}@1`, '--json']);
  for (let i = 0; i < 200 && !cnt.err().includes('Capturing'); i++) await sleep(25);
  const s = spawnSync(process.execPath, [BIN, 'send', '-i', `zc:${id}@1`, '-n', '50000', '-p', '100000', '-b', '8', '-l', '100', '--json'], { encoding: 'utf8' });
  assert.equal(s.status, 0, s.stderr);
  assert.equal(lastJson(s.stdout).packets, 50_000);
  // While one producer runs, a second one for the same queue is refused with the reason.
  const first = start(['send', '-i', `zc:${id}@1`, '-p', '1000', '-d', '3']);
  for (let i = 0; i < 200 && !first.err().includes('Sending'); i++) await sleep(25);
  const second = spawnSync(process.execPath, [BIN, 'send', '-i', `zc:${id}@1`, '-n', '10', '-q'], { encoding: 'utf8' });
  assert.equal(second.status, 1);
  assert.match(second.stderr, /ERR_RINGZERO_QUEUE_BUSY/);
  assert.match(second.stderr, /owned by pid \d+|already has a producer/);
  first.p.kill('SIGINT');
  await first.done;
  await sleep(300);
  owner.p.kill('SIGINT');
  const [ro, rc] = await Promise.all([owner.done, cnt.done]);
  assert.equal(rc.code, 0, rc.err);
  const jc = lastJson(rc.out);
  const jo = lastJson(ro.out);
  assert.equal(jo.queues[1].in, jc.packets);
  assert.ok(jc.packets >= 50_000, JSON.stringify(jo));
  assert.equal(jo.queues[1].dropFull + jc.packets, jo.queues[1].in + jo.queues[1].dropFull);
  assert.equal(jo.queues[0].in, 0);
});

test('count -i pcap:- reads a capture from standard input', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rz-stdin-'));
  try {
    const file = join(dir, 'in.pcap');
    const f = buildFrames({ length: 70, sources: 3 });
    const w = PcapWriter.open(file, {});
    for (let i = 0; i < 3000; i++) w.writePacket(f.bytes, (i % 3) * 70, 70, 70, 1_700_000_000, i);
    w.close();
    const r = spawnSync(process.execPath, [BIN, 'count', '-i', 'pcap:-', '--json'], { input: readFileSync(file), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(lastJson(r.stdout).packets, 3000);
    assert.equal(lastJson(r.stdout).bytes, 3000 * 70);
  } finally {
    rmSync(dir, { recursive: true });
  }
});
