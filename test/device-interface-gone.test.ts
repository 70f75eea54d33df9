// A device outlives trouble with its interface cleanly, on both kinds:
// - deleted: wait() throws ERR_RINGZERO_INTERFACE_GONE within about a second
//   (no silent hang, no busy loop) and close() still returns every buffer;
// - down, then up again: wait() sleeps instead of spinning on the socket
//   error, stats().linkDowns counts it, and frames flow again once it is up;
// - the capture commands exit 1 naming the error, and dump's file keeps every
//   frame captured before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Device } from '../src/devices/index.js';
import { firstOf, needNetns } from './helpers/env.js';
import { withVethPair } from './helpers/netns.js';
import { drainDevice, peerSend, startPeerCapture, writeFrame } from './helpers/raw-peer.js';
import { lastJson, start, until, type Started } from './helpers/cli.js';
import { readAll } from './helpers/pcap-gen.js';
import { testFrame } from './helpers/raw-frames.js';
import { testClusterId } from './helpers/zc-procs.js';
import { withDevice } from './helpers/device.js';

const skip = firstOf(needNetns());

/** Calls wait(20) until it throws or `ms` pass; returns the error (or null) and the CPU ms spent. */
function waitFor(dev: Device, ms: number): { error: (Error & { code?: string }) | null; cpuMs: number; waits: number } {
  const c0 = process.cpuUsage();
  const end = Date.now() + ms;
  let waits = 0;
  let error: (Error & { code?: string }) | null = null;
  while (Date.now() < end) {
    try {
      dev.wait(20);
      waits++;
    } catch (e) {
      error = e as Error & { code?: string };
      break;
    }
  }
  const c = process.cpuUsage(c0);
  return { error, cpuMs: (c.user + c.system) / 1000, waits };
}

/** Runs `act` once `started` printed `ready` on stderr, then waits for its exit (SIGKILL after 15 s). */
async function exitAfter(started: Started, ready: string, act: () => Promise<void> | void): Promise<{ code: number | null; signal: string | null; out: string; err: string }> {
  const killer = setTimeout(() => started.p.kill('SIGKILL'), 15_000);
  try {
    await until(() => started.err().includes(ready), `'${ready}'`);
    await act();
    return await started.done;
  } finally {
    clearTimeout(killer);
    started.p.kill('SIGKILL'); // no-op once it has exited
  }
}

for (const kind of ['zc', 'standard'] as const) {
  test(`${kind} device: deleting the interface makes wait() throw ERR_RINGZERO_INTERFACE_GONE, and close() returns every buffer`, { skip }, async () => {
    await withVethPair((pair) => withDevice(kind, pair, {}, ({ dev, cluster, pool }) => {
      peerSend(pair, ['--count', '5', '--size', '64']);
      assert.equal(drainDevice(dev, cluster.memory, pool, 5).length, 5);
      execFileSync('ip', ['link', 'del', pair.host]);
      const r = waitFor(dev, 5000);
      assert.equal(r.error?.code, 'ERR_RINGZERO_INTERFACE_GONE', `wait() after the deletion: ${r.error?.message ?? 'no error in 5 s'}`);
      assert.match(r.error!.message, new RegExp(`'${pair.host}' disappeared.*the 5 packets received before`));
      assert.ok(r.cpuMs < 600, `waiting for the verdict took ${r.cpuMs.toFixed(0)} ms of CPU: it must sleep, not spin`);
    }));
  });

  test(`${kind} device: a link that goes down and up again is waited out without spinning, counted, and receives again`, { skip }, async () => {
    await withVethPair((pair) => withDevice(kind, pair, {}, ({ dev, cluster, pool }) => {
      execFileSync('ip', ['link', 'set', pair.host, 'down']);
      const r = waitFor(dev, 1500);
      assert.equal(r.error, null, 'a link that is down is not an error');
      assert.ok(r.cpuMs < 600, `1.5 s of wait(20) on a down link took ${r.cpuMs.toFixed(0)} ms of CPU (${r.waits} calls): it spins`);
      assert.ok(dev.stats().linkDowns >= 1, `linkDowns = ${dev.stats().linkDowns}`);
      execFileSync('ip', ['link', 'set', pair.host, 'up']);
      peerSend(pair, ['--count', '5', '--size', '64']);
      assert.equal(drainDevice(dev, cluster.memory, pool, 5).length, 5, 'frames sent after the link came back up arrive');
    }));
  });

  // The kernel tells a socket nothing when an interface that is already down
  // is unregistered (AF_PACKET: its hook is off; AF_XDP: never): only looking finds it.
  test(`${kind} device: an interface deleted while it is down makes wait() throw ERR_RINGZERO_INTERFACE_GONE within about a second`, { skip }, async () => {
    await withVethPair((pair) => withDevice(kind, pair, {}, ({ dev }) => {
      execFileSync('ip', ['link', 'set', pair.host, 'down']);
      assert.equal(waitFor(dev, 600).error, null, 'down is not gone');
      execFileSync('ip', ['link', 'del', pair.host]);
      const t0 = Date.now();
      const r = waitFor(dev, 5000);
      assert.equal(r.error?.code, 'ERR_RINGZERO_INTERFACE_GONE', `wait() after the deletion: ${r.error?.message ?? 'no error in 5 s'}`);
      assert.ok(Date.now() - t0 < 1200, `the deletion was seen after ${Date.now() - t0} ms`);
      assert.ok(r.cpuMs < 300, `waiting for the verdict took ${r.cpuMs.toFixed(0)} ms of CPU: it must sleep, not spin`);
    }));
  });

  for (const downAtStart of [false, true]) {
    test(`count -i ${kind === 'zc' ? 'zc:' : ''}IFACE on a link ${downAtStart ? 'down from the start' : 'set down'} exits 1 with ERR_RINGZERO_INTERFACE_GONE when the interface is then deleted`, { skip }, async () => {
      await withVethPair(async (pair) => {
        if (downAtStart) execFileSync('ip', ['link', 'set', pair.host, 'down']);
        const c = start(['count', '-i', kind === 'zc' ? `zc:${pair.host}` : pair.host, '--json']);
        let deletedAt = 0;
        const r = await exitAfter(c, 'Capturing', async () => {
          if (!downAtStart) execFileSync('ip', ['link', 'set', pair.host, 'down']);
          await new Promise((res) => setTimeout(res, 1000));
          execFileSync('ip', ['link', 'del', pair.host]);
          deletedAt = Date.now();
        });
        assert.equal(r.code, 1, `count exit ${r.code} ${r.signal ?? ''}:\n${r.err}`);
        assert.match(r.err, /ERR_RINGZERO_INTERFACE_GONE/);
        assert.ok(Date.now() - deletedAt < 2000, `count ended ${Date.now() - deletedAt} ms after the deletion`);
        assert.equal(lastJson(r.out).packets, 0, 'the summary is still printed');
      });
    });
  }

  test(`dump -i ${kind === 'zc' ? 'zc:' : ''}IFACE exits 1 with ERR_RINGZERO_INTERFACE_GONE when the interface is deleted, and its file keeps what was captured`, { skip }, async () => {
    await withVethPair(async (pair) => {
      const dir = mkdtempSync(join(tmpdir(), 'rz-gone-'));
      const file = join(dir, 'c.pcap');
      try {
        const d = start(['dump', '-i', kind === 'zc' ? `zc:${pair.host}` : pair.host, '-w', file]);
        const r = await exitAfter(d, 'capturing', async () => {
          peerSend(pair, ['--count', '20', '--size', '100']);
          await new Promise((res) => setTimeout(res, 300));
          execFileSync('ip', ['link', 'del', pair.host]);
        });
        assert.equal(r.code, 1, `dump exit ${r.code} ${r.signal ?? ''}:\n${r.err}`);
        assert.match(r.err, /ERR_RINGZERO_INTERFACE_GONE/);
        assert.match(r.err, /20 packets captured/);
        assert.equal(readAll(file, { onTruncated: 'end' }).caplen.length, 20, 'the file holds the 20 frames captured before');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

test('balance exits 1 with ERR_RINGZERO_INTERFACE_GONE when its input interface is deleted, and removes its cluster', { skip }, async () => {
  await withVethPair(async (pair) => {
    const id = testClusterId();
    const b = start(['balance', '-i', `zc:${pair.host}`, '-n', '2', '-c', String(id)]);
    const r = await exitAfter(b, 'Run the consumers', () => { execFileSync('ip', ['link', 'del', pair.host]); });
    assert.equal(r.code, 1, `balance exit ${r.code} ${r.signal ?? ''}:\n${r.err}`);
    assert.match(r.err, /ERR_RINGZERO_INTERFACE_GONE/);
    assert.equal(existsSync(`/dev/shm/ringzero-cluster-${id}`), false, 'the cluster region is removed');
  });
});

for (const kind of ['zc', 'standard'] as const) {
  test(`${kind} device: frames sent while the link is down stay queued (flush() and txPending() say how many, linkDowns counts it) and go out once it is up`, { skip }, async () => {
    await withVethPair((pair) => withDevice(kind, pair, { rx: false }, async ({ dev, cluster, pool }) => {
      execFileSync('ip', ['link', 'set', pair.host, 'down']);
      const burst = new Uint32Array(10);
      assert.equal(pool.alloc(burst, 10), 10);
      for (let i = 0; i < 10; i++) writeFrame(cluster.memory, burst[i], testFrame(i, 60), cluster.memory.headroom);
      assert.equal(dev.sendBurst(burst, 10), 10, 'queued in the TX ring');
      assert.equal(dev.flush(), 10, 'nothing can leave while the link is down');
      assert.deepEqual(dev.txPending(), { frames: 10, bytes: 600 }, 'txPending: the 10 frames of 60 bytes');
      assert.equal(dev.stats().linkDowns, 1, 'one outage, however many kicks');
      execFileSync('ip', ['link', 'set', pair.host, 'up']);
      const received = await startPeerCapture(pair, 10);
      const end = Date.now() + 5000;
      while (dev.flush() > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
      assert.equal(dev.flush(), 0, 'the queue drained once the link was up');
      assert.deepEqual(dev.txPending(), { frames: 0, bytes: 0 });
      assert.deepEqual(await received(), Array.from({ length: 10 }, (_, i) => Buffer.from(testFrame(i, 60)).toString('hex')));
    }));
  });

  test(`send -i ${kind === 'zc' ? 'zc:' : ''}IFACE: a down link fails at once with ERR_RINGZERO_LINK_DOWN; a deleted one ends the run with ERR_RINGZERO_INTERFACE_GONE and no region left`, { skip }, async () => {
    await withVethPair(async (pair) => {
      const dev = kind === 'zc' ? `zc:${pair.host}` : pair.host;
      execFileSync('ip', ['link', 'set', pair.host, 'down']);
      const early = await start(['send', '-i', dev, '-n', '100']).done;
      assert.equal(early.code, 1, early.err);
      assert.match(early.err, /is down, nothing could be sent.*ERR_RINGZERO_LINK_DOWN/);
      execFileSync('ip', ['link', 'set', pair.host, 'up']);
      const id = testClusterId();
      const s = start(['send', '-i', dev, '-c', String(id), '-d', '30']);
      const r = await exitAfter(s, 'Sending', async () => {
        await new Promise((res) => setTimeout(res, 500));
        execFileSync('ip', ['link', 'del', pair.host]);
      });
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, /ERR_RINGZERO_INTERFACE_GONE/);
      // what was sent is still summed up, in the tools' number style
      assert.match(r.out, /^Total: [\d']+ pkts sent \([\d']+ drops\)/m);
      assert.match(r.err, /; \d{1,3}('\d{3})* packets had been queued to send before/);
      assert.equal(existsSync(`/dev/shm/ringzero-cluster-${id}`), false, 'the cluster region is removed');
    });
  });
}
