// ringzero fanout and pipeline end to end on a veth pair: every consumer of
// a fanout gets every packet; a pipeline passes every packet through its
// stages (threads or processes) to the last queue; a stage that dies ends
// the pipeline with the summary of what was done, then its reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createVethPair, type VethPair } from './helpers/netns.js';
import { firstOf, needNetns } from './helpers/env.js';
import { testClusterId } from './helpers/zc-procs.js';
import { BIN, lastJson, sleep, start, until } from './helpers/cli.js';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { regionName } from '../src/zc/cluster.js';
import { SHM_DIR } from '../src/memory/region.js';

const skip = firstOf(needNetns());
const send = (veth: VethPair, n: number) =>
  veth.exec(process.execPath, [BIN, 'send', '-i', veth.peer, '-n', String(n), '-p', '10000', '-b', '16', '-q']);

async function consumer(id: number, q: number) {
  const c = start(['count', '-i', `zc:${id}@${q}`, '--json']);
  await until(() => c.err().includes('Capturing') || c.p.exitCode !== null, `consumer on queue ${q}`);
  return c;
}

test('fanout: each of 3 consumers counts every packet; the owner reports no drops', { skip }, async () => {
  const veth = createVethPair();
  const id = testClusterId();
  try {
    const f = start(['fanout', '-i', `zc:${veth.host}`, '-c', String(id), '-n', '3', '--json']);
    await until(() => f.err().includes('Run the consumers') || f.p.exitCode !== null, 'fanout');
    const cs = await Promise.all([0, 1, 2].map((q) => consumer(id, q)));
    send(veth, 3000);
    await sleep(500);
    f.p.kill('SIGINT');
    const [rf, ...rs] = await Promise.all([f.done, ...cs.map((c) => c.done)]);
    assert.equal(rf.code, 0, rf.err);
    const jf = lastJson(rf.out);
    assert.equal(jf.packets, 3000);
    assert.equal(jf.forwarded, 9000);
    assert.equal(jf.drops, 0);
    for (const r of rs) assert.equal(lastJson(r.out).packets, 3000);
  } finally {
    veth.remove();
  }
});

for (const processes of [false, true]) {
  test(`pipeline with 2 pass-through stages as ${processes ? 'processes' : 'threads'}: the last queue's consumer gets every packet`, { skip }, async () => {
    const veth = createVethPair();
    const id = testClusterId();
    try {
      const p = start(['pipeline', '-i', `zc:${veth.host}`, '-c', String(id), '-s', '2', '--json', ...(processes ? ['--processes'] : [])]);
      await until(() => p.err().includes('Run the consumer') || p.p.exitCode !== null, 'pipeline');
      assert.match(p.err(), new RegExp(`stage 1${processes ? ' \\(process\\)' : ''} -> q1 -> stage 2`));
      const last = await consumer(id, 2);
      send(veth, 2000);
      await sleep(600);
      p.p.kill('SIGINT');
      const [rp, rl] = await Promise.all([p.done, last.done]);
      assert.equal(rp.code, 0, rp.err);
      const jp = lastJson(rp.out);
      assert.equal(jp.packets, 2000);
      assert.equal(jp.drops, 0);
      assert.deepEqual(jp.queues.map((q: { packets: number }) => q.packets), [2000, 2000, 2000]);
      assert.equal(lastJson(rl.out).packets, 2000);
    } finally {
      veth.remove();
    }
  });
}

test('pipeline --processes --json: a SIGKILLed stage ends the owner with the summary of what was done, then exit 1 and ERR_RINGZERO_STAGE_DIED naming the stage', { skip }, async () => {
  const veth = createVethPair();
  const id = testClusterId();
  try {
    const p = start(['pipeline', '-i', `zc:${veth.host}`, '-c', String(id), '-s', '2', '--processes', '--json']);
    await until(() => p.err().includes('Run the consumer') || p.p.exitCode !== null, 'pipeline');
    const stages = execFileSync('pgrep', ['-P', String(p.p.pid)], { encoding: 'utf8' }).trim().split('\n').map(Number);
    assert.equal(stages.length, 2, 'two stage processes');
    send(veth, 100);
    await sleep(300); // the head has forwarded them
    process.kill(stages[1], 'SIGKILL');
    const r = await p.done;
    assert.equal(r.code, 1, r.err);
    const j = lastJson(r.out);
    assert.equal(j.packets, 100, 'what the head received');
    assert.equal(j.queues[0].packets, 100);
    assert.match(r.err, new RegExp(`stage 2 \\(process ${stages[1]}, queue 1 -> queue 2\\) ended while the pipeline ran.*signal SIGKILL.*nothing drains queue 1 any more.*\\[ERR_RINGZERO_STAGE_DIED\\]`));
    // Nothing left behind: the other stage stopped, the region removed.
    for (const pid of stages) assert.throws(() => process.kill(pid, 0), /ESRCH/);
    assert.ok(!existsSync(`${SHM_DIR}/${regionName(id)}`));
  } finally {
    veth.remove();
  }
});

test('pipeline --help says what happens when a stage or the last consumer dies', () => {
  const out = execFileSync(process.execPath, [BIN, 'pipeline', '--help'], { encoding: 'utf8' });
  assert.match(out, /If a stage dies .* exit 1 and ERR_RINGZERO_STAGE_DIED/);
  assert.match(out, /last queue is treated as balance treats its consumers/);
});
