// send counts as sent only the frames that left: frames still queued in the
// TX ring when the link went down stay out of `packets` and `bytes` and are
// reported as `unsent` (and drops), whether the run ends by SIGINT (exit 1,
// ERR_RINGZERO_LINK_DOWN) or by the interface being deleted (exit 1,
// ERR_RINGZERO_INTERFACE_GONE, summary still printed). The interface's own
// tx_packets counter is the judge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { firstOf, needNetns } from './helpers/env.js';
import { withVethPair, type VethPair } from './helpers/netns.js';
import { lastJson, sleep, start, until } from './helpers/cli.js';
import { ifaceCounter } from '../src/devices/index.js';

const skip = firstOf(needNetns());

/**
 * send --json (60-byte frames) on the host end, with `extra` flags; once 100
 * frames left, sets the link down, lets frames pile up in the TX ring for a
 * second and returns the interface's tx_packets then.
 */
async function sendThenDown(pair: VethPair, kind: 'zc' | 'standard', extra: string[]) {
  const s = start(['send', '-i', kind === 'zc' ? `zc:${pair.host}` : pair.host, '--json', ...extra]);
  await until(() => ifaceCounter(pair.host, 'tx_packets') >= 100, `100 frames sent (stderr: ${s.err()})`);
  execFileSync('ip', ['link', 'set', pair.host, 'down']);
  await sleep(1000);
  assert.equal(s.p.exitCode, null, `send ended while the link was down:\n${s.err()}`);
  return { s, txPackets: ifaceCounter(pair.host, 'tx_packets') };
}

for (const kind of ['zc', 'standard'] as const) {
  const dev = kind === 'zc' ? 'zc:IFACE' : 'IFACE';

  test(`send -i ${dev}: interface deleted after going down, frames still queued are unsent, not sent (packets = the interface's tx_packets), summary then ERR_RINGZERO_INTERFACE_GONE`, { skip }, async () => {
    await withVethPair(async (pair) => {
      const { s, txPackets } = await sendThenDown(pair, kind, ['-p', '200', '-n', '1000']);
      try {
        pair.exec('ip', ['link', 'del', pair.peer]); // takes the host end with it
        const r = await s.done;
        assert.equal(r.code, 1, r.err);
        assert.match(r.err, /ERR_RINGZERO_INTERFACE_GONE/);
        const j = lastJson(r.out);
        assert.ok(j.unsent > 0, `frames were queued while the link was down: ${JSON.stringify(j)}`);
        assert.equal(j.packets, txPackets, `packets ${j.packets}, the interface sent ${txPackets}`);
        assert.equal(j.bytes, j.packets * 60, 'bytes are those of the packets sent');
        assert.ok(j.drops >= j.unsent, 'unsent frames are drops');
        const queued = /; ([\d']+) packets had been queued to send before/.exec(r.err);
        assert.ok(queued, r.err);
        assert.equal(Number(queued[1].replace(/'/g, '')), j.packets + j.unsent, 'what had been queued is what was sent and what was not');
        assert.match(r.err, new RegExp(`send: ${j.unsent} frames still queued when \\S+ went away were not sent \\(counted as drops\\)`));
      } finally {
        s.p.kill('SIGKILL'); // no-op once it has exited
      }
    });
  });

  test(`send -i ${dev}: SIGINT while the link is down counts the frames still queued as unsent, in neither packets nor bytes (ERR_RINGZERO_LINK_DOWN)`, { skip }, async () => {
    await withVethPair(async (pair) => {
      const { s, txPackets } = await sendThenDown(pair, kind, ['-p', '100']);
      try {
        s.p.kill('SIGINT');
        const r = await s.done;
        assert.equal(r.code, 1, r.err);
        assert.match(r.err, /ERR_RINGZERO_LINK_DOWN/);
        const j = lastJson(r.out);
        assert.ok(j.unsent > 0, JSON.stringify(j));
        assert.equal(j.packets, txPackets, `packets ${j.packets}, the interface sent ${txPackets}`);
        assert.equal(j.bytes, j.packets * 60, `bytes ${j.bytes} for ${j.packets} packets of 60 bytes (${j.unsent} unsent)`);
      } finally {
        s.p.kill('SIGKILL');
      }
    });
  });
}
