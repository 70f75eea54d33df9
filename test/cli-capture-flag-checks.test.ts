// count and dump check flags that only some inputs use, and dump's rotation
// flags, before anything is opened, in the flags' own words (they used to be
// ignored, or refused after the device opened as "maxFileBytes 0 must be a
// positive integer"). An interface that is down at start is waited for, with
// a notice, as tcpdump does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, sleep, start, until } from './helpers/cli.js';
import { createVethPair } from './helpers/netns.js';
import { needNetns } from './helpers/env.js';
import { privateRegionLeft, removePrivateRegion, writeCapture } from './helpers/capture-cli.js';

test('flags that do nothing for the input, and bad rotation flags, are usage errors before any region exists', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rz-flags-'));
  const pids: number[] = [];
  try {
    const file = join(dir, 'in.pcap');
    writeCapture(file, 10, 1000);
    const out = join(dir, 'out.pcap');
    const cases: Array<[string[], RegExp]> = [
      [['count', '-i', `pcap:${file}`, '-c', '5'], /-c sets the id of the private cluster of a network device \(to stop after N packets, use -n N\); it does nothing for -i pcap:/],
      [['count', '-i', 'zc:4242@0', '-c', '5'], /-c sets the id of the private cluster .* it does nothing for -i zc:4242@0/],
      [['count', '-i', 'lo', '--speed', '2'], /--speed sets the replay speed of a pcap: input; it does nothing for -i lo/],
      [['count', '-i', `pcap:${file}`, '-B', '1024'], /-B sizes the kernel ring of a standard \(AF_PACKET\) device; it does nothing for -i pcap:/],
      [['dump', '-i', 'zc:lo', '-w', out, '-B', '1024'], /-B sizes the kernel ring .* it does nothing for -i zc:lo/],
      [['dump', '-i', `pcap:${file}`, '-w', out, '-C', '0'], /-C 0: the file size is in MB \(1,000,000 bytes\) and must be above 0/],
      [['dump', '-i', `pcap:${file}`, '-w', out, '-W', '3'], /-W N counts the files of a rotation: give -C MB \(a ring of N files\) or -G SECONDS/],
      [['dump', '-i', `pcap:${file}`, '-w', '-', '-C', '1'], /-C and -G rotate files: give -w a file name, not -/],
    ];
    for (const [args, message] of cases) {
      const c = start(args);
      pids.push(c.p.pid!);
      const r = await c.done;
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, message);
      assert.match(r.err, /ERR_RINGZERO_USAGE/);
      assert.doesNotMatch(r.err, /maxFileBytes|maxFiles|INVALID_ARGUMENT/);
      assert.equal(privateRegionLeft(c.p.pid!), null, `${args.join(' ')} left a region`);
    }
  } finally {
    for (const p of pids) removePrivateRegion(p);
    rmSync(dir, { recursive: true });
  }
});

test('count on an interface that is down says so, waits, and counts once it is up', { skip: needNetns() ?? false }, async () => {
  const veth = createVethPair();
  execFileSync('ip', ['link', 'set', veth.host, 'down']);
  const c = start(['count', '-i', veth.host, '-n', '20', '-d', '30', '--json']);
  try {
    await until(() => c.err().includes('is down'), `the notice (stderr: ${c.err()})`);
    assert.match(c.err(), new RegExp(`count: ${veth.host} is down: waiting for it to come up \\(ip link set ${veth.host} up\\)`));
    await sleep(300);
    assert.equal(c.p.exitCode, null, 'count waits');
    execFileSync('ip', ['link', 'set', veth.host, 'up']);
    await sleep(500);
    veth.exec(process.execPath, [BIN, 'send', '-i', veth.peer, '-n', '20', '-p', '1000', '-q']);
    const r = await c.done;
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out.trim()).packets, 20);
  } finally {
    if (c.p.exitCode === null) { c.p.kill('SIGKILL'); await c.done; }
    removePrivateRegion(c.p.pid);
    veth.remove();
  }
});
