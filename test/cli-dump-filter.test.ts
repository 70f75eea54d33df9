// dump writes what tcpdump reads back; -f filters in the kernel (XDP or
// socket) or in JS depending on the input; -F is re-read on SIGUSR1 without
// losing queued packets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import { BIN, sleep, start } from './helpers/cli.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVethPair } from './helpers/netns.js';
import { firstOf, needNetns, needTool } from './helpers/env.js';
import { Cluster } from '../src/zc/cluster.js';
import { META_LEN, META_WORDS } from '../src/zc/meta.js';
import { buildFrames } from '../src/cli/frames.js';
import { testClusterId } from './helpers/zc-procs.js';
import { PcapWriter } from '../src/pcap/index.js';

const skipNet = firstOf(needNetns(), needTool('/usr/bin/tcpdump', 'tcpdump'));


for (const kind of ['zc:', '']) {
  test(`dump ${kind || 'AF_PACKET '}with -f keeps exactly the matching frames, and tcpdump reads the file`, { skip: skipNet }, async () => {
    const veth = createVethPair();
    const dir = mkdtempSync(join(tmpdir(), 'rz-dump-'));
    try {
      const file = join(dir, 'out.pcap');
      const N = 1600;
      const d = start(['dump', '-i', kind + veth.host, '-w', file, '-f', 'udp and src host 10.0.0.3', '-c', String(N / 16), '-d', '20', '--json']);
      for (let i = 0; i < 100 && !d.err().includes('capturing'); i++) await sleep(50);
      assert.match(d.err(), new RegExp(`\\(${kind ? 'xdp' : 'socket'}\\)`), 'the filter runs in the kernel');
      await sleep(200);
      veth.exec(process.execPath, [BIN, 'send', '-i', veth.peer, '-n', String(N), '-b', '16', '-l', '100', '-p', '5000', '-q']);
      const r = await d.done;
      assert.equal(r.code, 0, r.err);
      const j = JSON.parse(r.out.trim());
      assert.equal(j.packets, N / 16);
      const lines = execFileSync('tcpdump', ['-r', file, '-n', '--nano'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n');
      assert.equal(lines.length, N / 16);
      for (const l of lines) assert.match(l, /IP 10\.0\.0\.3\.10000 > 192\.0\.2\.1\.9: UDP, length 58/);
    } finally {
      rmSync(dir, { recursive: true });
      veth.remove();
    }
  });
}

test('dump -w - streams a capture that tcpdump -r - reads', { skip: needTool('/usr/bin/tcpdump', 'tcpdump') || false }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'rz-dump-'));
  try {
    const src = join(dir, 'in.pcap');
    const frames = buildFrames({ length: 80, sources: 4 });
    const w = PcapWriter.open(src, {});
    for (let i = 0; i < 400; i++) w.writePacket(frames.bytes, (i % 4) * 80, 80, 80, 1_700_000_000, i);
    w.close();
    const r = spawnSync('sh', ['-c', `"${process.execPath}" "${BIN}" dump -i pcap:${src} -w - -q | tcpdump -r - -n --nano 2>/dev/null | wc -l`], { encoding: 'utf8' });
    assert.equal(r.stdout.trim(), '400');
  } finally {
    rmSync(dir, { recursive: true });
  }
});


test('-F FILE is re-read on SIGUSR1 and packets already queued are not lost', async () => {
  const id = testClusterId();
  const c = Cluster.create({ id, buffers: 4096, queues: 1, queueLength: 2048, hugepages: 'never' });
  const dir = mkdtempSync(join(tmpdir(), 'rz-filt-'));
  try {
    const ffile = join(dir, 'filter');
    writeFileSync(ffile, '# first\nsrc host 10.0.0.1\n');
    const frames = buildFrames({ length: 60, sources: 2 });
    const pool = c.pool(0);
    const prod = c.producer(0, pool);
    const send = (n: number) => {
      const b = new Uint32Array(1);
      for (let i = 0; i < n; i++) {
        assert.equal(pool.alloc(b, 1), 1);
        c.memory.bytes.set(frames.bytes.subarray((i % 2) * 60, (i % 2) * 60 + 60), c.dataOffset(b[0]));
        c.memory.meta[b[0] * META_WORDS + META_LEN] = 60;
        assert.equal(prod.sendBurst(b, 1), 1);
      }
      pool.drain();
    };
    const cnt = start(['count', '-i', `zc:${id}@0`, '-F', ffile, '--json', '-d', '30']);
    for (let i = 0; i < 100 && !cnt.err().includes('Capturing'); i++) await sleep(50);
    send(1000); // 500 from each source: 500 match
    await sleep(500);
    writeFileSync(ffile, 'src host 10.0.0.2 or src host 10.0.0.1\n');
    cnt.p.kill('SIGUSR1');
    for (let i = 0; i < 100 && !cnt.err().includes('reloaded'); i++) await sleep(20);
    send(1000); // all 1000 match now
    await sleep(500);
    cnt.p.kill('SIGINT');
    const r = await cnt.done;
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out.trim().split('\n').pop()!);
    assert.equal(j.packets, 1500, r.err);
    assert.equal(j.filtered_in_user_space, 500);
    assert.equal(c.queueCounters(0).out, 2000, 'every queued packet was taken');
    prod.close();
    pool.detach();
  } finally {
    rmSync(dir, { recursive: true });
    c.close();
  }
});

test('a bad filter is refused with libpcap\'s message', () => {
  const r = spawnSync(process.execPath, [BIN, 'count', '-i', 'lo', '-f', 'tcp prot 80'], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /syntax error|prot/);
  assert.match(r.stderr, /ERR_RINGZERO_FILTER_SYNTAX/);
});

for (const kind of ['zc:', '']) {
  test(`-F reload on a ${kind ? 'zc: (XDP)' : 'standard (socket)'} device swaps the kernel filter in place`, { skip: skipNet }, async () => {
    const veth = createVethPair();
    const dir = mkdtempSync(join(tmpdir(), 'rz-filt-'));
    try {
      const ffile = join(dir, 'filter');
      writeFileSync(ffile, 'src host 10.0.0.1\n');
      const cnt = start(['count', '-i', kind + veth.host, '-F', ffile, '--json', '-d', '30']);
      for (let i = 0; i < 100 && !cnt.err().includes('Capturing'); i++) await sleep(50);
      await sleep(200);
      veth.exec(process.execPath, [BIN, 'send', '-i', veth.peer, '-n', '400', '-b', '4', '-p', '4000', '-q']);
      await sleep(300);
      writeFileSync(ffile, 'src host 10.0.0.1 or src host 10.0.0.2\n');
      cnt.p.kill('SIGUSR1');
      for (let i = 0; i < 100 && !cnt.err().includes('reloaded'); i++) await sleep(20);
      assert.match(cnt.err(), /filter reloaded/);
      veth.exec(process.execPath, [BIN, 'send', '-i', veth.peer, '-n', '400', '-b', '4', '-p', '4000', '-q']);
      await sleep(300);
      cnt.p.kill('SIGINT');
      const r = await cnt.done;
      assert.equal(r.code, 0, r.err);
      const j = JSON.parse(r.out.trim().split('\n').pop()!);
      assert.equal(j.packets, 100 + 200, r.err);
      assert.equal(j.filtered_in_user_space, 0, 'the filter ran in the kernel');
    } finally {
      rmSync(dir, { recursive: true });
      veth.remove();
    }
  });
}
