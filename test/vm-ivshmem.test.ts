// Inter-VM zero copy: a QEMU guest attaches to a host cluster through an
// ivshmem-plain device backed by the cluster's region file. The host side is
// driven through src/vm/ (coldplugArgs, hotplugIvshmem, unplugIvshmem) and the
// Cluster/pool/producer API; inside the guest run `ringzero count` and a
// consumer that checks every byte (helpers/vm-guest-consume.ts).
// Correctness only, with generous timeouts: TCG is slow and its timing means
// nothing.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../src/zc/cluster.js';
import type { BufferPool } from '../src/zc/pool.js';
import type { QueueProducer } from '../src/zc/queue.js';
import { META_LEN, META_WORDS } from '../src/zc/meta.js';
import { ROLE } from '../src/zc/layout.js';
import { coldplugArgs, hotplugIvshmem, unplugIvshmem } from '../src/vm/index.js';
import { IvshmemSizeError, QmpCommandError, QmpConnectError } from '../src/errors.js';
import { firstOf } from './helpers/env.js';
import { testClusterId } from './helpers/zc-procs.js';
import { bootGuest, guestImage, qemuUnavailable, removeDir, tempDir, until, type Guest, type GuestImage } from './helpers/vm-qemu.js';
import { bytesOf, fillPacket, packetIsExact, seqOf } from './helpers/vm-packets.js';

// Decided before the tests are declared, so a skip shows its reason.
let skip: string | false = firstOf(qemuUnavailable());
let image: GuestImage | null = null;
if (!skip) {
  const r = await guestImage();
  if (typeof r === 'string') skip = r;
  else image = r;
}
const guests: Guest[] = [];
const clusters: Cluster[] = [];
const dirs: string[] = [];

after(async () => {
  for (const g of guests) await g.kill();
  for (const c of clusters) c.close();
  for (const d of dirs) removeDir(d);
});

function boot(o: Parameters<typeof bootGuest>[1]): Guest {
  const g = bootGuest(image!, o);
  guests.push(g);
  return g;
}

function cluster(opts: { guestTimeoutMs?: number } = {}): Cluster {
  const c = Cluster.create({ id: testClusterId(), buffers: 1024, queues: 1, queueLength: 512, hugepages: 'never', powerOfTwoSize: true, ...opts });
  clusters.push(c);
  return c;
}

const tick = () => new Promise((r) => setImmediate(r));

/** The guest's consumer registration on queue q, once it shows in the attach table. */
function guestConsumer(c: Cluster, q: number) {
  return c.attach.list().find((i) => i.guest && i.role === ROLE.CONSUMER && i.target === q && i.state === 2);
}

/**
 * Sends packets first..first+n-1 on `prod`, yielding to the event loop between
 * bursts so the owner's heartbeat and liveness timer keep running. Lossless:
 * waits for room (at most `timeoutMs`); lossy: a full queue drops and counts.
 * Returns how many the queue accepted.
 */
async function send(c: Cluster, pool: BufferPool, prod: QueueProducer, first: number, n: number, lossless = true, stop = () => false, timeoutMs = 60_000): Promise<number> {
  const b = new Uint32Array(32);
  const deadline = Date.now() + timeoutMs;
  let seq = first;
  let accepted = 0;
  while (seq < first + n && !stop()) {
    if (Date.now() > deadline) throw new Error(`send: packets ${seq}..${first + n - 1} not sent after ${timeoutMs} ms (queue ${JSON.stringify(c.queueCounters(prod.id))})`);
    const want = Math.min(b.length, first + n - seq);
    if (lossless && prod.free < want) { pool.drain(); prod.maintain(); await new Promise((r) => setTimeout(r, 1)); continue; }
    const k = pool.alloc(b, want);
    if (k === 0) { prod.maintain(); pool.drain(); await new Promise((r) => setTimeout(r, 1)); continue; }
    for (let i = 0; i < k; i++) {
      c.memory.meta[b[i] * META_WORDS + META_LEN] = fillPacket(c.memory.bytes, c.dataOffset(b[i]), seq + i);
    }
    accepted += prod.sendBurst(b, k);
    seq += k;
    await tick();
  }
  return accepted;
}

function consumeCommand(id: number, packets: number, progressEvery = 500): string {
  return `node dist/test/helpers/vm-guest-consume.js '${JSON.stringify({ id, queue: 0, packets, progressEvery })}'`;
}

function resultOf(g: Guest, line: RegExpMatchArray): { packets: number; bytes: number; bad: number; firstBad: number; ended: string } {
  try { return JSON.parse(line[line.length - 1]); } catch { throw new Error(`bad result line ${line[0]}; console:\n${g.console()}`); }
}

test('cold-plug: a guest `ringzero count` on queue 0 of a host cluster counts exactly the N packets and bytes the host sent; a guest consumer sees the owner close the cluster', { skip, timeout: 180_000 }, async () => {
  const c = Cluster.create({ id: testClusterId(), buffers: 1024, queues: 1, queueLength: 512, hugepages: 'never', powerOfTwoSize: true });
  clusters.push(c); // closed below; close() is idempotent, so after() is only the safety net
  const pool = c.pool(0);
  const prod = c.producer(0, pool);
  const N = 3000;
  const g = boot({ command: `node dist/src/cli/main.js count -i zc:${c.id}@0 --json -n ${N} && ${consumeCommand(c.id, 0)}`, args: coldplugArgs(c) });
  await until(() => guestConsumer(c, 0) !== undefined, 90_000, `the guest's consumer on queue 0 (console:\n${g.console()})`);
  assert.equal(await send(c, pool, prod, 0, N), N);
  const m = await g.waitFor(/^(\{"packets".*\})$/, 90_000);
  const r = JSON.parse(m[1]) as { packets: number; bytes: number };
  assert.equal(r.packets, N, g.console());
  assert.equal(r.bytes, bytesOf(0, N));
  await until(() => pool.drain() === pool.size, 10_000, 'every buffer back in the pool');
  assert.equal(c.queueCounters(0).out, N);
  // Then a second guest consumer attaches and waits; the owner shuts the cluster down.
  await g.waitFor(new RegExp(`^attached ${c.id} `), 60_000);
  prod.close();
  pool.detach();
  c.close();
  const end = resultOf(g, await g.waitFor(new RegExp(`^result ${c.id} (.*)$`), 60_000));
  assert.equal(end.packets, 0);
  assert.match(end.ended, new RegExp(`cluster ${c.id} was shut down by its owner`));
  await g.waitFor(/^RZ-EXIT 0$/, 30_000);
  await g.exited;
});

test('hot-plug: QEMU runs first, the cluster is plugged in through QMP, the guest attaches once the device appears and gets every byte; unplug removes it', { skip, timeout: 180_000 }, async () => {
  const dir = tempDir();
  dirs.push(dir);
  const qmp = `${dir}/qmp.sock`;
  const N = 2000;
  // The id is fixed before the cluster exists: the guest waits for the device, then attaches.
  const id = testClusterId();
  const waitDevice = 'until grep -qs 0x1110 /sys/bus/pci/devices/*/device; do sleep 0.1; done';
  const waitGone = 'while grep -qs 0x1110 /sys/bus/pci/devices/*/device; do sleep 0.1; done; echo RZ-UNPLUGGED';
  const g = boot({
    command: `${waitDevice}; echo RZ-DEVICE; ${consumeCommand(id, N)}; ${waitGone}`,
    qmpSocket: qmp,
  });
  await g.waitFor(/^RZ-BOOTED/, 90_000);
  const c = Cluster.create({ id, buffers: 1024, queues: 1, queueLength: 512, hugepages: 'never', powerOfTwoSize: true });
  clusters.push(c);
  const pool = c.pool(0);
  const prod = c.producer(0, pool);
  const plug = await hotplugIvshmem(qmp, c);
  assert.equal(plug.size, c.memory.sab.byteLength);
  await g.waitFor(/^RZ-DEVICE$/, 30_000);
  // The same cluster twice into one VM: QEMU refuses the duplicate id, the first device stays.
  await assert.rejects(hotplugIvshmem(qmp, c), (e: unknown) => e instanceof QmpCommandError && e.command === 'object-add');
  const attached = await g.waitFor(new RegExp(`^attached ${id} (\\S+)$`), 60_000);
  assert.match(attached[1], /^\/sys\/bus\/pci\/devices\/[0-9a-f:.]+\/resource2$/);
  await until(() => guestConsumer(c, 0) !== undefined, 30_000, "the guest's consumer on queue 0");
  assert.equal(await send(c, pool, prod, 0, N), N);
  const r = resultOf(g, await g.waitFor(new RegExp(`^result ${id} (.*)$`), 90_000));
  assert.deepEqual({ packets: r.packets, bytes: r.bytes, bad: r.bad }, { packets: N, bytes: bytesOf(0, N), bad: 0 });
  await until(() => pool.drain() === pool.size, 10_000, 'every buffer back in the pool');
  await unplugIvshmem(plug, { timeoutMs: 30_000 });
  await g.waitFor(/^RZ-UNPLUGGED$/, 30_000);
  await g.waitFor(/^RZ-EXIT 0$/, 30_000);
  await g.exited;
  prod.close();
  pool.detach();
});

test('a guest VM killed mid-stream: the host keeps sending, the queue is reclaimed after the guest heartbeat timeout, and a new consumer gets exact packets', { skip, timeout: 180_000 }, async () => {
  const c = cluster({ guestTimeoutMs: 1500 });
  const pool = c.pool(0);
  const prod = c.producer(0, pool);
  const g = boot({ command: consumeCommand(c.id, 0, 200), args: coldplugArgs(c) });
  await until(() => guestConsumer(c, 0) !== undefined, 90_000, `the guest's consumer on queue 0 (console:\n${g.console()})`);
  // Stream until the guest has checked some packets, then kill the VM while the host is still sending.
  let stop = false;
  let seq = 0;
  const streaming = (async () => {
    while (!stop) { await send(c, pool, prod, seq, 64, true, () => stop); seq += 64; }
  })();
  await g.waitFor(new RegExp(`^progress ${c.id} [1-9]\\d{3,}$`), 90_000); // >= 1000 packets
  assert.ok(!g.lines.some((l) => l.startsWith('result')), 'the guest consumer is still running');
  await g.kill();
  stop = true;
  await streaming;
  // The host keeps running: sends go on while the dead guest still holds the
  // queue; every packet is either queued or dropped and counted (full queue).
  const before = c.queueCounters(0);
  await send(c, pool, prod, seq, 2000, false);
  seq += 2000;
  const afterKill = c.queueCounters(0);
  assert.equal(afterKill.in + afterKill.dropFull - before.in - before.dropFull, 2000);
  // The owner's liveness scan sees the guest's heartbeat stop changing; the producer reclaims.
  await until(() => { prod.maintain(); return c.queueCounters(0).reclaims >= 1; }, 15_000, 'the reclaim of the dead guest consumer');
  assert.equal(guestConsumer(c, 0), undefined);
  // No buffer lost: the dead guest's are back in the pool; packets it had not taken stay queued.
  await until(() => pool.drain() + c.queueCounters(0).queued === pool.size, 10_000, 'every buffer free or queued after the reclaim');
  // A new consumer (here the host's own thread) attaches: first the packets
  // left in the queue, each exact for its own sequence number and in order,
  // then new ones, all exact.
  const cons = c.consumer(0);
  const out = new Uint32Array(64);
  const left = c.queueCounters(0).queued;
  let prev = -1;
  let got = 0;
  while (got < left) {
    const n = cons.recvBurst(out, 64);
    for (let i = 0; i < n; i++) {
      const off = c.dataOffset(out[i]);
      const s = seqOf(c.memory.bytes, off);
      assert.ok(s > prev && packetIsExact(c.memory.bytes, off, c.memory.meta[out[i] * META_WORDS + META_LEN], s), `left-over packet ${got + i} (seq ${s}) exact and in order`);
      prev = s;
    }
    got += n;
    if (n > 0) cons.release(out, n);
  }
  const M = 300;
  assert.equal(await send(c, pool, prod, seq, M), M);
  let exact = 0;
  got = 0;
  while (got < M) {
    const n = cons.recvBurst(out, 64);
    for (let i = 0; i < n; i++) {
      if (packetIsExact(c.memory.bytes, c.dataOffset(out[i]), c.memory.meta[out[i] * META_WORDS + META_LEN], seq + got + i)) exact++;
    }
    got += n;
    if (n > 0) cons.release(out, n); else await tick();
  }
  assert.equal(exact, M);
  cons.close();
  await until(() => pool.drain() === pool.size, 10_000, 'every buffer back in the pool at the end');
  prod.close();
  pool.detach();
});

test('two clusters in one VM: each guest consumer finds its own cluster by the id in the region header and gets only its packets', { skip, timeout: 180_000 }, async () => {
  const a = cluster();
  const b = cluster();
  const NA = 700;
  const NB = 1100;
  const g = boot({ command: `${consumeCommand(b.id, NB)} & ${consumeCommand(a.id, NA)} & wait`, args: [...coldplugArgs(a), ...coldplugArgs(b)] });
  const ends = [];
  for (const [c, n] of [[a, NA], [b, NB]] as const) {
    const pool = c.pool(0);
    const prod = c.producer(0, pool);
    ends.push({ c, n, pool, prod });
  }
  await until(() => guestConsumer(a, 0) !== undefined && guestConsumer(b, 0) !== undefined, 90_000, `both guest consumers (console:\n${g.console()})`);
  await Promise.all(ends.map((e) => send(e.c, e.pool, e.prod, 0, e.n)));
  for (const { c, n } of ends) {
    const r = resultOf(g, await g.waitFor(new RegExp(`^result ${c.id} (.*)$`), 90_000));
    assert.deepEqual({ packets: r.packets, bytes: r.bytes, bad: r.bad }, { packets: n, bytes: bytesOf(0, n), bad: 0 }, `cluster ${c.id}`);
  }
  const paths = [a, b].map((c) => new RegExp(`^attached ${c.id} (\\S+)$`).exec(g.lines.find((l) => l.startsWith(`attached ${c.id} `)) ?? '')?.[1]);
  assert.notEqual(paths[0], paths[1], 'two different ivshmem devices');
  await g.waitFor(/^RZ-EXIT 0$/, 30_000);
  for (const e of ends) { e.prod.close(); e.pool.detach(); }
});

test('a guest producer: a guest takes its own pool and sends on an ingress queue; a host consumer gets every byte, and the guest stays registered through a pause longer than the guest timeout', { skip, timeout: 180_000 }, async () => {
  const c = Cluster.create({ id: testClusterId(), buffers: 1024, pools: 2, queues: 2, queuePools: [0, 1], queueLength: 512, hugepages: 'never', powerOfTwoSize: true, guestTimeoutMs: 1500 });
  clusters.push(c);
  const N = 2000;
  const g = boot({
    command: `node dist/test/helpers/vm-guest-produce.js '${JSON.stringify({ id: c.id, queue: 1, pool: 1, packets: N, pauseMs: 3000 })}'`,
    args: coldplugArgs(c),
  });
  const cons = c.consumer(1);
  const out = new Uint32Array(64);
  let got = 0;
  let exact = 0;
  const deadline = Date.now() + 120_000;
  while (got < N) {
    if (Date.now() > deadline) assert.fail(`host consumer got ${got} of ${N}; console:\n${g.console()}`);
    const n = cons.waitBurst(out, 64, 20); // the guest cannot wake a host futex: short waits
    for (let i = 0; i < n; i++) {
      if (packetIsExact(c.memory.bytes, c.dataOffset(out[i]), c.memory.meta[out[i] * META_WORDS + META_LEN], got + i)) exact++;
    }
    got += n;
    if (n > 0) cons.release(out, n);
    else {
      await tick();
      // During the guest's pause its producer and pool registrations live on heartbeats alone.
      if (g.lines.some((l) => l === `sent ${c.id} ${N / 2}`)) {
        const mine = c.attach.list().filter((i) => i.guest && i.state === 2);
        assert.equal(mine.length, 2, `guest producer and pool still registered: ${JSON.stringify(mine)}`);
      }
    }
  }
  assert.equal(exact, N);
  const r = JSON.parse((await g.waitFor(new RegExp(`^result ${c.id} (.*)$`), 60_000))[1]) as { accepted: number; poolFree: number; poolSize: number };
  assert.deepEqual(r, { accepted: N, poolFree: 512, poolSize: 512 });
  assert.equal(c.queueCounters(1).reclaims, 0);
  await g.waitFor(/^RZ-EXIT 0$/, 30_000);
  cons.close();
});

test('a region whose size is not a power of two is refused before QEMU sees it (QEMU would abort the VM)', { timeout: 30_000 }, () => {
  const c = Cluster.create({ id: testClusterId(), buffers: 1100, queues: 1, hugepages: 'never' });
  clusters.push(c);
  assert.notEqual(c.memory.sab.byteLength & (c.memory.sab.byteLength - 1), 0, 'this layout is not a power of two by itself');
  assert.throws(() => coldplugArgs(c), (e: unknown) => e instanceof IvshmemSizeError && /powerOfTwoSize/.test((e as Error).message));
  return assert.rejects(hotplugIvshmem('/nonexistent/qmp.sock', c), IvshmemSizeError);
});

test('hot-plug to a QMP socket that nobody serves fails with QmpConnectError naming the -qmp flag', { timeout: 30_000 }, async () => {
  const c = cluster();
  const dir = tempDir();
  dirs.push(dir);
  await assert.rejects(hotplugIvshmem(`${dir}/none.sock`, c), (e: unknown) => e instanceof QmpConnectError && /-qmp unix:/.test((e as Error).message));
});

test('the tools run unchanged in a guest: `ringzero send` into an ingress queue of a host cluster, `ringzero dump` from a queue to a file there', { skip, timeout: 240_000 }, async () => {
  const c = Cluster.create({
    id: testClusterId(), buffers: 1024, queues: 2, queueLength: 512, pools: [512, 512], queuePools: [0, 1],
    hugepages: 'never', powerOfTwoSize: true,
  });
  clusters.push(c);
  const N = 2000;
  const D = 500;
  const g = boot({
    command: `node dist/src/cli/main.js send -i zc:${c.id}@1 -n ${N} -p 5000 -l 100 -b 4 -q --json && ` +
      `node dist/src/cli/main.js dump -i zc:${c.id}@0 -w /tmp/g.pcap -c ${D} -q --json && ` +
      'node dist/src/cli/main.js count -i pcap:/tmp/g.pcap --json',
    args: coldplugArgs(c),
  });
  // The host consumes what the guest sends on queue 1.
  const rx = c.consumer(1, { waitReclaimMs: 10_000 });
  const out = new Uint32Array(64);
  let got = 0;
  let bytes = 0;
  const deadline = Date.now() + 150_000;
  while (got < N && Date.now() < deadline) {
    const n = rx.recvBurst(out, 64);
    for (let i = 0; i < n; i++) bytes += c.memory.meta[out[i] * META_WORDS + META_LEN];
    if (n > 0) rx.release(out, n);
    got += n;
    await new Promise((r) => setTimeout(r, n > 0 ? 0 : 5));
  }
  assert.equal(got, N, `packets from the guest's send (console:\n${g.console()})`);
  assert.equal(bytes, N * 100);
  const sent = JSON.parse((await g.waitFor(/^(\{"packets":\d+,.*\})$/, 60_000))[1]);
  assert.equal(sent.packets, N);
  // Then the host feeds queue 0 for the guest's dump.
  const pool = c.pool(0);
  const prod = c.producer(0, pool);
  await until(() => c.attach.list().some((i) => i.guest && i.role === ROLE.CONSUMER && i.target === 0 && i.state === 2), 90_000, `the guest's dump on queue 0 (console:\n${g.console()})`);
  assert.equal(await send(c, pool, prod, 0, D), D);
  await g.waitFor(/^RZ-EXIT 0$/, 90_000);
  const lines = g.console().split('\n').filter((l) => l.startsWith('{"packets"'));
  const dumped = JSON.parse(lines[lines.length - 2]);
  const counted = JSON.parse(lines[lines.length - 1]);
  assert.equal(dumped.packets, D, g.console());
  assert.equal(counted.packets, D, 'the guest reads back the file it wrote');
  assert.equal(counted.bytes, bytesOf(0, D));
  rx.close();
  prod.close();
  pool.detach();
  await g.exited;
});
