// send refuses what it cannot send, before sending anything, with an error
// that names the cause and the fix, and leaves no cluster region behind on any
// error path (bad files, a non-Ethernet capture, a CPU it cannot run on).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, lastJson, start, until } from './helpers/cli.js';
import { withVethPair } from './helpers/netns.js';
import { firstOf, needNetns } from './helpers/env.js';
import { regionsOfPid } from './helpers/zc-procs.js';
import { PcapWriter } from '../src/pcap/index.js';
import { buildFrames } from '../src/cli/frames.js';

const skip = firstOf(needNetns());

/** A capture of `n` 100-byte records with link type `linkType`. */
function capture(path: string, linkType: number, n = 5): void {
  const f = buildFrames({ length: 100, sources: 1 });
  const w = PcapWriter.open(path, { linkType });
  for (let i = 0; i < n; i++) w.writePacket(f.bytes, 0, 100, 100, 1_700_000_000, i * 1000);
  w.close();
}

test('send -f refuses a raw-IP or Linux SLL capture with ERR_RINGZERO_LINKTYPE_UNSUPPORTED naming the link type and a conversion, and sends nothing', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rz-send-linktype-'));
  try {
    await withVethPair(async (pair) => {
      // The peer counts what arrives meanwhile (IPv6 is off on the pair: nothing else is sent on it).
      const counter = start(['count', '-i', pair.host, '-d', '60', '--json']);
      await until(() => counter.err().includes('Capturing'), 'count to start');
      for (const [lt, name] of [[101, 'LINKTYPE_RAW'], [113, 'LINKTYPE_LINUX_SLL']] as const) {
        const file = join(dir, `${lt}.pcap`);
        capture(file, lt);
        for (const dev of [pair.peer, `zc:${pair.peer}`]) {
          const r = pair.exec('sh', ['-c', `${process.execPath} ${BIN} send -i ${dev} -f ${file} --topspeed 2>&1; echo "rc=$?"`]);
          assert.match(r, /rc=1$/m, r);
          assert.match(r, new RegExp(`holds link type ${lt} \\(${name}\\), not Ethernet \\(1\\).*nothing was sent.*tcprewrite --dlt=enet.*\\[ERR_RINGZERO_LINKTYPE_UNSUPPORTED\\]`), r);
        }
      }
      counter.p.kill('SIGINT');
      const rc = await counter.done;
      assert.equal(lastJson(rc.out).packets, 0, 'not one record reached the wire');
    });
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('send leaves no cluster region behind when it fails: bad capture files, empty standard input, a non-Ethernet capture, a frame too long, an unusable CPU', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rz-send-leaks-'));
  try {
    const bad = join(dir, 'badmagic.pcap');
    writeFileSync(bad, 'garbage, not a capture file at all........');
    const raw = join(dir, 'raw.pcap');
    capture(raw, 101);
    await withVethPair(async (pair) => {
      const cases: Array<{ args: string[]; input?: string; code: number; err: RegExp }> = [
        { args: ['-f', bad], code: 1, err: /ERR_RINGZERO_PCAP_FORMAT/ },
        { args: ['-f', join(dir, 'nonexistent.pcap')], code: 1, err: /ENOENT/ },
        { args: ['-f', '-'], input: '', code: 1, err: /empty input.*ERR_RINGZERO_PCAP_TRUNCATED/ },
        { args: ['-f', raw], code: 1, err: /ERR_RINGZERO_LINKTYPE_UNSUPPORTED/ },
        { args: ['-l', '3000', '-n', '2'], code: 1, err: /ERR_RINGZERO_FRAME_TOO_LONG/ },
        { args: ['-g', '1000', '-n', '2'], code: 2, err: /-g 1000: CPU 1000 is offline or outside this process's CPU set; online CPUs: [\d,-]+.*ERR_RINGZERO_USAGE/ },
      ];
      for (const kind of ['', 'zc:']) {
        for (const c of cases) {
          const r = spawnSync(process.execPath, [BIN, 'send', '-i', kind + pair.host, ...c.args], { encoding: 'utf8', input: c.input ?? '' });
          const what = `send -i ${kind}${pair.host} ${c.args.join(' ')}`;
          assert.equal(r.status, c.code, `${what}: ${r.stderr}`);
          assert.match(r.stderr, c.err, what);
          assert.deepEqual(regionsOfPid(r.pid!), [], `${what} left its cluster region`);
        }
      }
    });
  } finally {
    rmSync(dir, { recursive: true });
  }
});
