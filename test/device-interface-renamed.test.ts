// A renamed interface is the same interface: its index and the device's
// socket stay, so both device kinds follow it by index instead of calling it
// gone (zc: used to end with ERR_RINGZERO_INTERFACE_GONE, as its name no
// longer led to it), keep receiving, and `count` says what it is called now.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { firstOf, needNetns } from './helpers/env.js';
import { withVethPair, type VethPair } from './helpers/netns.js';
import { drainDevice, peerSend } from './helpers/raw-peer.js';
import { lastJson, sleep, start, until } from './helpers/cli.js';
import { withDevice } from './helpers/device.js';

const skip = firstOf(needNetns());

/** Takes the host end down, renames it (`<host>x`) and brings it up again; returns the new name. */
function rename(pair: VethPair): string {
  const to = `${pair.host}x`;
  execFileSync('ip', ['link', 'set', pair.host, 'down']);
  execFileSync('ip', ['link', 'set', pair.host, 'name', to]);
  execFileSync('ip', ['link', 'set', to, 'up']);
  return to;
}

for (const kind of ['zc', 'standard'] as const) {
  test(`${kind} device: an interface renamed while open is followed (ifname is the new name) and frames still arrive`, { skip }, async () => {
    // the namespace's removal takes the renamed end with it (withVethPair)
    await withVethPair((pair) => withDevice(kind, pair, {}, ({ dev, cluster, pool }) => {
      const to = rename(pair);
      // idle waits look at the interface every few hundred ms: give them a second and a half
      const end = Date.now() + 1500;
      while (Date.now() < end) dev.wait(20);
      assert.equal(dev.ifname, to, 'the device follows the interface by index');
      peerSend(pair, ['--count', '5', '--size', '64']);
      assert.equal(drainDevice(dev, cluster.memory, pool, 5).length, 5, 'frames sent after the rename arrive');
    }));
  });

  test(`count -i ${kind === 'zc' ? 'zc:' : ''}IFACE goes on when the interface is renamed, says its new name, counts what arrives and exits 0`, { skip }, async () => {
    await withVethPair(async (pair) => {
      const c = start(['count', '-i', kind === 'zc' ? `zc:${pair.host}` : pair.host, '--json']);
      try {
        await until(() => c.err().includes('Capturing'), "count's 'Capturing' line");
        const to = rename(pair);
        await sleep(1500);
        assert.equal(c.p.exitCode, null, `count ended after the rename:\n${c.err()}`);
        await until(() => c.err().includes(`is now named ${to}`), `the notice of the new name (stderr so far: ${c.err()})`, 3000);
        peerSend(pair, ['--count', '10', '--size', '64']);
        await sleep(500);
        c.p.kill('SIGINT');
        const r = await c.done;
        assert.equal(r.code, 0, r.err);
        assert.doesNotMatch(r.err, /ERR_RINGZERO/);
        assert.match(r.err, new RegExp(`interface ${pair.host} is now named ${to}; the capture goes on`));
        assert.equal(lastJson(r.out).packets, 10, 'the frames sent after the rename were counted');
      } finally {
        c.p.kill('SIGKILL'); // no-op once it has exited
      }
    });
  });
}
