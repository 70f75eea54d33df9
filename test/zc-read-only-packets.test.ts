// A consumer that attaches with readOnlyPackets reads packets as usual, but a
// write into packet memory kills that consumer (SIGSEGV) and nothing else:
// the others keep receiving intact packets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Cluster } from '../src/zc/cluster.js';
import { META_LEN, META_WORDS } from '../src/zc/meta.js';
import { testClusterId } from './helpers/zc-procs.js';

const url = new URL('../src/zc/cluster.js', import.meta.url).href;

function child(id: number, write: boolean) {
  const code = `
    import { Cluster } from '${url}';
    const c = Cluster.attach(${id}, { readOnlyPackets: true });
    const rx = c.consumer(0);
    const out = new Uint32Array(8);
    const n = rx.waitBurst(out, 8, 5000);
    const first = c.memory.bytes[c.dataOffset(out[0])];
    ${write ? 'c.memory.bytes[c.dataOffset(out[0])] = 0xee;' : ''}
    rx.release(out, n);
    console.log(JSON.stringify({ n, first }));
    rx.close(); c.close();`;
  return spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 20_000 });
}

test('a read-only consumer receives, and its write into a packet faults in that process only', () => {
  const id = testClusterId();
  const c = Cluster.create({ id, buffers: 64, queues: 1, queueLength: 16, hugepages: 'never' });
  try {
    const pool = c.pool(0);
    const prod = c.producer(0, pool);
    const put = (v: number) => {
      const b = pool.allocOne();
      c.memory.bytes.fill(v, c.dataOffset(b), c.dataOffset(b) + 60);
      c.memory.meta[b * META_WORDS + META_LEN] = 60;
      assert.ok(prod.sendOne(b));
    };
    put(0x11);
    const ok = child(id, false);
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout), { n: 1, first: 0x11 });
    put(0x22);
    const bad = child(id, true);
    assert.equal(bad.signal, 'SIGSEGV', `the writer died of its own write: ${bad.status} ${bad.stderr.slice(0, 200)}`);
    // The owner reclaims the dead consumer; the packet it held was never changed.
    const deadline = Date.now() + 5000;
    while (c.queueCounters(0).reclaims === 0 && Date.now() < deadline) { prod.maintain(); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20); c.checkLiveness(); }
    pool.drain();
    let intact = 0;
    for (let b = 0; b < 64; b++) if (c.memory.bytes[c.dataOffset(b)] === 0x22) intact++;
    assert.equal(intact, 1, 'the packet the faulting consumer held is unchanged');
    put(0x33);
    const again = child(id, false);
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(JSON.parse(again.stdout), { n: 1, first: 0x33 });
    const ro = Cluster.attach(id, { readOnlyPackets: true });
    try {
      assert.throws(() => ro.pool(0), (e: any) => e.code === 'ERR_RINGZERO_INVALID_ARGUMENT' && /read-only/.test(e.message));
    } finally {
      ro.close();
    }
  } finally {
    c.close();
  }
});
