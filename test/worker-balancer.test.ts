// The balancer moves every packet from its inputs to exactly one output,
// keeps each flow (both directions) on one output, counts every drop with
// its reason, and every buffer ends up back in its pool.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from '../src/zc/cluster.js';
import { startBalancer, prefillPool } from '../src/workers/index.js';
import { PacketInfo, FLOW_HASHES } from '../src/net/index.js';
import { testClusterId } from './helpers/zc-procs.js';
import { flowTemplate, inThread, type ConsumeFlowsResult, type ProduceFlowsResult } from './fixtures/worker-roles.js';
import { eth, flowFrame, gre, gtpu, ipv4, udp, u8 } from './fixtures/net-frames.js';

const N = 204_800; // 64 flows x 2 directions x 1600
const F = 64;

/** Consumer threads on `queues`; they stop when together they got expectTotal (-1: the value later put in total[1]). */
function consumers(c: Cluster, queues: number[], expectTotal: number, trailer = true, extra: object = {}): { total: Int32Array; results: Promise<ConsumeFlowsResult[]> } {
  const total = new Int32Array(new SharedArrayBuffer(8));
  return { total, results: Promise.all(queues.map((q) => inThread<ConsumeFlowsResult>(c, 'consume', { queue: q, expectTotal, total, trailer, ...extra }))) };
}

async function until(cond: () => boolean, ms = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test(`producer thread -> queue -> balancer (5-tuple) -> 4 consumer queues: ${N} packets, exact counts, flows and both directions on one queue, pool full at the end`, async () => {
  // Queues as long as the pool: no queue can ever be full, so the run is lossless and counts are exact.
  const c = Cluster.create({ id: testClusterId(), buffers: 2048, queues: 5, queueLength: 2048, hugepages: 'never' });
  try {
    const cons = consumers(c, [1, 2, 3, 4], N);
    const bal = startBalancer(c, { inputs: [0], outputs: [1, 2, 3, 4], mode: 'five-tuple' });
    await bal.ready;
    const prod = await inThread<ProduceFlowsResult>(c, 'produce', { queue: 0, flows: F, total: N, burst: 32 });
    const res = await cons.results;
    const st = await bal.stop();
    assert.equal(prod.sent, N);
    assert.equal(prod.poolFreeAtEnd, prod.poolSize, 'every buffer back in the producer pool');
    res.forEach((r, i) => assert.deepEqual(r.errors, [], `consumer ${i}`));
    assert.equal(res.reduce((a, r) => a + r.received, 0), N);
    assert.equal(st.received, N);
    assert.equal(st.sent, N);
    assert.deepEqual(st.drops, { fn: 0, full: 0, invalid: 0, error: 0, noBuffer: 0 });
    assert.deepEqual(st.outputs.map((o) => o.sent), res.map((r) => r.received), 'per-output counters match what consumers got');
    // Each flow (both directions) on exactly one queue, the one its hash names, with the hash stored.
    const info = new PacketInfo();
    const seen = new Map<number, number>();
    res.forEach((r, qi) => {
      for (const [f, d, count, hash] of r.flows) {
        assert.equal(count, N / F / 2, `flow ${f}/${d} count`);
        const t = flowTemplate(f, d);
        assert.equal(hash, FLOW_HASHES['five-tuple'](t, 0, t.length, info), `META_HASH of flow ${f}/${d}`);
        assert.equal(hash % 4, qi, `flow ${f} on queue ${qi + 1} = hash % 4`);
        if (seen.has(f)) assert.equal(seen.get(f), qi, `flow ${f}: both directions on one queue`);
        seen.set(f, qi);
      }
    });
    assert.equal(seen.size, F);
    assert.ok(res.every((r) => r.received > 0), 'all four queues used');
    for (let q = 0; q < 5; q++) assert.equal(c.queueCounters(q).dropFull, 0);
  } finally {
    c.close();
  }
});

test('a user function\'s negative result drops the packet and counts it; out-of-range outputs and throws are counted too', async () => {
  const c = Cluster.create({ id: testClusterId(), buffers: 1024, queues: 2, queueLength: 512, hugepages: 'never' });
  try {
    // Four kinds of frame in the pool's buffers: UDP (passes, hash set to 77), TCP (the function drops it),
    // SCTP (names output 7 of 2), proto 1 (the function throws). Dropped buffers are handed out again at once,
    // so the mix is checked through the counters and what the consumers get.
    const frames = [flowFrame('10.0.0.1', '10.0.0.2', 1, 2, 17), flowFrame('10.0.0.1', '10.0.0.2', 1, 2, 6), flowFrame('10.0.0.1', '10.0.0.2', 1, 2, 132), eth(0x0800, ipv4('10.0.0.1', '10.0.0.2', 1, [8, 0, 0, 0]))].map(u8);
    prefillPool(c, 0, frames);
    const total = 40_000;
    const cons = consumers(c, [0, 1], -1, false, { checkHash: 77 });
    const fn = `(p) => { const ip = p.parse().ip; if (ip.proto === 1) throw new Error('icmp!'); if (ip.proto === 6) return -1; if (ip.proto === 132) return 7; p.hash = 77; return (p.index >> 2) & 1; }`;
    const bal = startBalancer(c, { inputs: [{ kind: 'memory', count: total }], outputs: [0, 1], pool: 0, fn: { source: fn } });
    await bal.ready;
    // received is counted last in a burst; check the sum anyway.
    const settled = () => { const s = bal.stats(); return s.received === total && s.sent + s.drops.fn + s.drops.invalid + s.drops.error === total; };
    await until(settled);
    Atomics.store(cons.total, 1, bal.stats().sent);
    const res = await cons.results;
    const st = await bal.stop();
    res.forEach((r, i) => assert.deepEqual(r.errors, [], `consumer ${i}: only UDP (hash 77) gets through`));
    assert.equal(st.received, total);
    assert.equal(st.sent + st.drops.fn + st.drops.invalid + st.drops.error, total, 'every packet sent or dropped with a reason');
    assert.equal(st.drops.full, 0);
    for (const k of ['fn', 'invalid', 'error'] as const) assert.ok(st.drops[k] > 0, `drops.${k} counted`);
    assert.match(st.lastError ?? '', /icmp!/);
    assert.equal(res[0].received + res[1].received, st.sent);
    assert.ok(res[0].received > 0 && res[1].received > 0);
    assert.deepEqual(st.pool, { free: 1024, size: 1024 }, 'the worker\'s pool is full again');
  } finally {
    c.close();
  }
});

test('a function from a module file picks outputs; the port, round-robin, VLAN and tunnel modes send where their hash says', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ringzero-fn-'));
  const mod = join(dir, 'pick.mjs');
  writeFileSync(mod, 'export function pick(p) { return p.u8(p.length - 1) % 3; }\n');
  const frames = Array.from({ length: 30 }, (_, i) => u8(flowFrame('10.0.0.1', '10.0.0.2', 1, 2, 17, [i])));
  const vlanFrames = Array.from({ length: 16 }, (_, i) => u8(eth(0x0800, ipv4('1.1.1.1', '2.2.2.2', 17, udp(1, 2)), [[0x8100, i * 37]])));
  const tunFrames = Array.from({ length: 16 }, (_, i) => u8(i % 2
    ? eth(0x0800, ipv4('192.0.2.1', '192.0.2.2', 17, udp(2152, 2152, gtpu(i, ipv4(`10.1.0.${i}`, '10.2.0.1', 17, udp(5, 6))))))
    : eth(0x0800, ipv4('1.0.0.1', '1.0.0.2', 47, gre(0x0800, ipv4(`10.3.0.${i}`, '10.4.0.1', 6, []), { key: i })))));
  // byFrame: the output follows from the frame (so from the buffer that holds it); else from the packet's position.
  const cases: Array<{ name: string; frames: Uint8Array[]; opts: object; byFrame: boolean; expect: (f: Uint8Array, i: number) => number }> = [
    { name: 'module function', frames, opts: { fn: { module: mod, export: 'pick' } }, byFrame: true, expect: (f) => f[f.length - 1] % 3 },
    { name: 'round-robin', frames, opts: { mode: 'round-robin' }, byFrame: false, expect: (_f, i) => i % 3 },
    { name: 'vlan', frames: vlanFrames, opts: { mode: 'vlan' }, byFrame: true, expect: (f) => FLOW_HASHES.vlan(f, 0, f.length, new PacketInfo()) % 3 },
    { name: 'tunnel', frames: tunFrames, opts: { mode: 'tunnel' }, byFrame: true, expect: (f) => FLOW_HASHES.tunnel(f, 0, f.length, new PacketInfo()) % 3 },
    { name: 'port', frames, opts: { mode: 'port' }, byFrame: true, expect: () => 5 % 3 },
  ];
  try {
    for (const k of cases) {
      const c = Cluster.create({ id: testClusterId(), buffers: k.frames.length * 8, queues: 3, queueLength: 512, hugepages: 'never' });
      try {
        prefillPool(c, 0, k.frames);
        const total = k.frames.length * 8;
        // Buffer b holds frame b % n (prefillPool); the pool hands buffers out again as they come back,
        // so a content-based mode is checked per buffer: it may only ever arrive on its frame's output.
        const outputOf = k.frames.map((f, i) => k.expect(f, i));
        const counter = new Int32Array(new SharedArrayBuffer(8));
        const results = Promise.all([0, 1, 2].map((q) => inThread<ConsumeFlowsResult>(c, 'consume', {
          queue: q, expectTotal: total, total: counter, trailer: false,
          ...(k.byFrame ? { allow: `(b) => ${JSON.stringify(outputOf)}[b % ${k.frames.length}] === ${q}` } : {}),
        })));
        const bal = startBalancer(c, { inputs: [{ kind: 'memory', count: total, port: 5 }], outputs: [0, 1, 2], pool: 0, ...k.opts });
        await bal.ready;
        const res = await results;
        const st = await bal.stop();
        res.forEach((r, q) => assert.deepEqual(r.errors, [], `${k.name}: queue ${q}`));
        assert.deepEqual(res.map((r) => r.received), st.outputs.map((o) => o.sent), k.name);
        assert.equal(st.sent, total, `${k.name}: every packet delivered`);
        if (!k.byFrame) {
          const want = [0, 0, 0];
          for (let i = 0; i < total; i++) want[k.expect(k.frames[i % k.frames.length], i)]++;
          assert.deepEqual(st.outputs.map((o) => o.sent), want, k.name);
        }
        assert.equal(st.pool?.free, total, `${k.name}: pool full`);
      } finally {
        c.close();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a full output drops and counts (reason: full); the buffers still go home', async () => {
  const c = Cluster.create({ id: testClusterId(), buffers: 512, queues: 1, queueLength: 64, hugepages: 'never' });
  try {
    prefillPool(c, 0, [u8(flowFrame('10.0.0.1', '10.0.0.2', 1, 2))]);
    // No consumer yet: queue 0 fills at 64 and refuses the rest.
    const bal = startBalancer(c, { inputs: [{ kind: 'memory', count: 1000 }], outputs: [0], pool: 0 });
    await bal.ready;
    await until(() => bal.stats().received === 1000);
    const cons = consumers(c, [0], 64, false);
    const res = await cons.results;
    const st = await bal.stop();
    assert.equal(st.received, 1000);
    assert.equal(st.sent, 64);
    assert.equal(st.drops.full, 1000 - 64);
    assert.equal(res[0].received, 64);
    assert.equal(c.queueCounters(0).dropFull, 1000 - 64);
    assert.deepEqual(st.pool, { free: 512, size: 512 });
  } finally {
    c.close();
  }
});

test('bad configurations fail at start with a message naming the fix', async () => {
  const c = Cluster.create({ id: testClusterId(), buffers: 256, queues: 3, queuePools: [0, 1, 0], pools: 2, hugepages: 'never' });
  try {
    await assert.rejects(startBalancer(c, { inputs: [0], outputs: [1] }).ready, /bind it to pool 0/);
    await assert.rejects(startBalancer(c, { inputs: [0], outputs: [2], fn: { source: '42' } }).ready, /not a function/);
    await assert.rejects(startBalancer(c, { inputs: [0], outputs: [2], fn: { source: '(p) =>' } }).ready, /does not compile/);
    await assert.rejects(startBalancer(c, { inputs: [7], outputs: [2] }).ready, /input queue 7 does not exist/);
  } finally {
    c.close();
  }
});
