// `vlan` expressions on a standard (AF_PACKET) device keep the frames tcpdump
// keeps on the same interface. The kernel takes the outer 802.1Q / 802.1ad
// tag off into metadata before a socket filter runs, so a classic BPF program
// compiled as for a file (tag in the packet) matched the wrong frames there;
// such expressions now run in user space on the frame with its tag put back.
// Reference: tcpdump capturing live beside us with the same expression, and
// (where libpcap's live VLAN code is itself wrong, see LIVE_WRONG) tcpdump -r
// over tcpdump's own unfiltered capture of the same traffic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstOf, needNetns, needTool } from './helpers/env.js';
import { withVethPair, type VethPair } from './helpers/netns.js';
import { sendFromPeer } from './helpers/filter-wire.js';
import { eth, ipv4, tcp, udp } from './helpers/filter-packets.js';
import { readAll } from './helpers/pcap-gen.js';
import { lastJson, sleep, start, until, type Started } from './helpers/cli.js';
import { removeRegionsOf } from './helpers/zc-procs.js';

const skip = firstOf(needNetns(), needTool('/usr/bin/tcpdump', 'tcpdump'));

const A = '02:00:00:00:00:0a', B = '02:00:00:00:00:0b';
const udp4 = (port: number) => ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17 }, udp(4000, port));
const Q = (vid: number): [number, number] => [0x8100, vid];
const AD = (vid: number): [number, number] => [0x88a8, vid];

/** 802.1Q, QinQ (802.1ad and double 802.1Q), untagged; MPLS and PPPoE inside a tag; a 0x9100 outer tag (the kernel leaves it). */
const FRAMES = [
  ...[1, 2, 3].map((k) => eth(B, A, 0x0800, udp4(k), [Q(100)])),
  ...[4, 5, 6].map((k) => eth(B, A, 0x0800, udp4(k), [AD(200), Q(100)])),
  ...[7, 8, 9].map((k) => eth(B, A, 0x0800, udp4(k))),
  eth(B, A, 0x0800, udp4(10), [Q(300), Q(20)]),
  eth(B, A, 0x0800, udp4(11), [[0x9100, 10], Q(100)]),
  eth(B, A, 0x8847, [0, 0x01, 0x01, 0x40, ...udp4(12)], [Q(100)]),
  eth(B, A, 0x8864, [0x11, 0, 0, 1, 0, 30, 0, 0x21, ...ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6 }, tcp(80, 1024, 2))], [Q(100)]),
].map((f) => Uint8Array.from(f));

const EXPRESSIONS = ['vlan', 'vlan 100', 'vlan 200', 'vlan 200 and vlan 100', 'vlan and vlan 20', 'vlan and udp', 'vlan and mpls', 'vlan and pppoes', 'udp'];
/**
 * libpcap 1.10's live Linux code for these (BPF_SPECIAL_VLAN_HANDLING) misses
 * the frame: PPPoE inside an 802.1Q tag the kernel took off. Compared with
 * tcpdump reading the same traffic from a file instead.
 */
const LIVE_WRONG = new Set(['vlan and pppoes']);

interface Scene {
  pair: VethPair;
  dir: string;
  /** tcpdump -i HOST -w FILE EXPR in the background; returns its stderr so far */
  tcpdump(file: string, expr: string[]): () => string;
  /** a ringzero command in the background */
  ringzero(args: string[]): Started;
  /** SIGINT to everything started, then waits for all to exit; the ringzero results */
  stopAll(): Promise<Array<Awaited<Started['done']>>>;
}

/** A veth pair, a directory and the processes started on them; all removed or killed afterwards. */
async function inScene(fn: (s: Scene) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'rz-vlan-'));
  const procs: Array<ReturnType<typeof spawn>> = [];
  const ours: Started[] = [];
  const exited = (p: ReturnType<typeof spawn>) => new Promise((r) => (p.exitCode !== null ? r(0) : p.on('exit', r)));
  try {
    await withVethPair((pair) => fn({
      pair, dir,
      tcpdump(file, expr) {
        // immediate mode: otherwise frames of a TPACKET_V3 block not yet handed over (up to 1 s) are lost at the stop
        const p = spawn('tcpdump', ['-i', pair.host, '--immediate-mode', '-U', '-w', file, ...expr], { stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        p.stderr!.on('data', (d) => { err += d; });
        procs.push(p);
        return () => err;
      },
      ringzero(args) {
        const c = start(args);
        ours.push(c);
        return c;
      },
      async stopAll() {
        for (const p of procs) p.kill('SIGINT');
        for (const c of ours) c.p.kill('SIGINT');
        await Promise.all(procs.map(exited));
        return Promise.all(ours.map((c) => c.done));
      },
    }));
  } finally {
    for (const p of procs) p.kill('SIGKILL'); // no-op for those that ended
    for (const c of ours) c.p.kill('SIGKILL');
    for (const c of ours) { await c.done; removeRegionsOf(c.p.pid!); } // what a killed one left (after a failure)
    rmSync(dir, { recursive: true });
  }
}

const hexes = (file: string) => readAll(file).data.map((d) => Buffer.from(d).toString('hex'));

test('vlan expressions on a standard device keep the frames tcpdump keeps there', { skip }, async () => {
  await inScene(async ({ pair, dir, tcpdump, ringzero, stopAll }) => {
    const ready = [tcpdump(join(dir, 'all.pcap'), []), ...EXPRESSIONS.map((e, k) => tcpdump(join(dir, `live${k}.pcap`), [e]))];
    const dumps = EXPRESSIONS.map((e, k) => ringzero(['dump', '-i', pair.host, '-w', join(dir, `rz${k}.pcap`), e]));
    for (const r of ready) await until(() => r().includes('listening on'), 'tcpdump to listen');
    for (const d of dumps) await until(() => d.err().includes('capturing from') || d.p.exitCode !== null, 'dump to capture');
    EXPRESSIONS.forEach((e, k) => {
      const said = dumps[k]!.err();
      assert.match(said, e === 'udp' ? /\(socket\)/ : /\(js: the kernel takes the outer VLAN tag off/, `${e}: where the filter runs:\n${said}`);
    });
    sendFromPeer(pair, FRAMES);
    await sleep(1000);
    await stopAll();
    assert.equal(hexes(join(dir, 'all.pcap')).length, FRAMES.length, 'tcpdump saw every frame');
    EXPRESSIONS.forEach((e, k) => {
      const got = hexes(join(dir, `rz${k}.pcap`));
      if (LIVE_WRONG.has(e)) {
        execFileSync('tcpdump', ['-r', join(dir, 'all.pcap'), '-w', join(dir, `file${k}.pcap`), e], { stdio: 'ignore' });
        assert.deepEqual(got, hexes(join(dir, `file${k}.pcap`)), `"${e}": the frames tcpdump keeps from a file of this traffic`);
      } else {
        assert.deepEqual(got, hexes(join(dir, `live${k}.pcap`)), `"${e}": the frames a live tcpdump kept`);
      }
    });
  });
});

test('a reload moves the filter of a standard device between its socket and JS as the expression needs', { skip }, async () => {
  await inScene(async ({ pair, dir, tcpdump, ringzero, stopAll }) => {
    const ffile = join(dir, 'filter');
    writeFileSync(ffile, 'udp\n');
    const ready = [tcpdump(join(dir, 'udp.pcap'), ['udp']), tcpdump(join(dir, 'vlan.pcap'), ['vlan 100'])];
    for (const r of ready) await until(() => r().includes('listening on'), 'tcpdump to listen');
    const cnt = ringzero(['count', '-i', pair.host, '-F', ffile, '--json']);
    await until(() => cnt.err().includes('Capturing') || cnt.p.exitCode !== null, 'count to capture');
    assert.match(cnt.err(), /with filter 'udp' \(socket\)/);
    const reload = async (expr: string, said: RegExp) => {
      writeFileSync(ffile, `${expr}\n`);
      const before = cnt.err().length;
      cnt.p.kill('SIGUSR1');
      await until(() => cnt.err().slice(before).includes('filter reload'), 'the reload line');
      assert.match(cnt.err().slice(before), said);
    };
    sendFromPeer(pair, FRAMES);
    await sleep(300);
    await reload('vlan 100', /filter reloaded from .*: vlan 100 \(now js: the kernel takes the outer VLAN tag off/);
    sendFromPeer(pair, FRAMES);
    await sleep(300);
    await reload('udp', /filter reloaded from .*: udp \(now socket\)/);
    await sleep(100);
    sendFromPeer(pair, FRAMES);
    await sleep(500);
    const [r] = await stopAll();
    assert.equal(r!.code, 0, r!.err);
    // tcpdump saw the same traffic three times, with each expression throughout
    const udp = hexes(join(dir, 'udp.pcap')).length / 3, vlan = hexes(join(dir, 'vlan.pcap')).length / 3;
    assert.ok(udp > 0 && vlan > 0 && Number.isInteger(udp) && Number.isInteger(vlan), `tcpdump: udp ${udp}, vlan 100 ${vlan} per round`);
    assert.equal(lastJson(r!.out).packets, udp + vlan + udp, `rounds under 'udp', 'vlan 100', 'udp' (tcpdump: ${udp}, ${vlan} per round)`);
  });
});

test('balance and fanout refuse a vlan input filter on a standard device, naming what works', async () => {
  for (const [command, extra] of [['balance', /-f 'vlan 100@0,1,\.\.\.'/], ['fanout', /Use zc:lo\b/]] as const) {
    const r = await start([command, '-i', 'lo', '-n', '2', '-f', 'vlan 100']).done;
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /names vlan, and on the standard device lo the kernel takes the outer VLAN tag off.*ERR_RINGZERO_USAGE/s);
    assert.match(r.err, extra);
  }
});
