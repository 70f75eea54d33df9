// Old variants of classic pcap with record headers longer than 16 bytes: the
// "modified" one libpcap reads (and SuSE 6.3's, which shares its magic) read
// record for record like the standard file they were made from; RedHat 6.1's
// and Nokia's, which libpcap misreads, are refused naming the variant and the
// conversion; standard files that merely look odd are still read as standard.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { PcapFormatError, PcapTruncatedError } from '../src/errors.js';
import { PcapReader } from '../src/pcap/index.js';
import { buildPcap, makePackets, readAll, readAllAsync, type GenPacket, type ReadBack } from './helpers/pcap-gen.js';
import { BIN } from './helpers/cli.js';
import { firstOf, needTool } from './helpers/env.js';

const pkts = makePackets(300, 5, 14, 1514);

function sameRecords(got: ReadBack, want: ReadBack, what: string): void {
  assert.equal(got.data.length, want.data.length, `${what}: record count`);
  for (let i = 0; i < want.data.length; i++) {
    assert.deepEqual(got.data[i], want.data[i], `${what}: packet ${i} bytes`);
    assert.equal(got.wirelen[i], want.wirelen[i], `${what}: packet ${i} wire length`);
    assert.equal(got.sec[i], want.sec[i], `${what}: packet ${i} seconds`);
    assert.equal(got.nsec[i], want.nsec[i], `${what}: packet ${i} fraction`);
    assert.equal(got.linkType[i], want.linkType[i]);
  }
}

/** What the generator wrote, as a correct reader must return it (microsecond timestamps). */
function expected(p: GenPacket[]): ReadBack {
  return readAll(buildPcap(p));
}

const tools = firstOf(needTool('/usr/bin/editcap', 'wireshark-common'), needTool('/usr/bin/tcpdump', 'tcpdump'));

function editcap(format: string, from: string, to: string): void {
  const r = spawnSync('editcap', ['-F', format, from, to], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

test('editcap -F modpcap and suse6_3pcap files read as the pcap they were made from; count agrees with tcpdump -r', { skip: tools }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'rz-variants-'));
  try {
    const std = join(dir, 'std.pcap');
    writeFileSync(std, buildPcap(pkts, { snaplen: 65535 }));
    const want = readAll(std);
    for (const format of ['modpcap', 'suse6_3pcap']) {
      const file = join(dir, `${format}.pcap`);
      editcap(format, std, file);
      assert.deepEqual([...readFileSync(file).subarray(0, 4)], [0x34, 0xcd, 0xb2, 0xa1], `${format}: the modified magic`);
      const got = readAll(file);
      sameRecords(got, want, format);
      const r = spawnSync(process.execPath, [BIN, 'count', '-i', `pcap:${file}`, '--json', '-q'], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).packets, pkts.length, `${format}: ringzero count`);
      if (format === 'modpcap') { // libpcap reads this one (and misreads SuSE's, whose magic is the same)
        const t = spawnSync('tcpdump', ['-r', file, '-n', '-q'], { encoding: 'utf8', timeout: 30_000 });
        assert.equal(t.status, 0, t.stderr);
        assert.equal(t.stdout.split('\n').filter((l) => l !== '').length, pkts.length, 'tcpdump -r count');
        // libpcap lets an Ethernet record of this variant hold 14 bytes past the snaplen (a cooked-mode capture)
        assert.equal(got.reader.snaplen, Number(/snapshot length (\d+)/.exec(t.stderr)![1]));
        assert.equal(got.reader.snaplen, 65535 + 14);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('modified (24-byte) and SuSE 6.3 (28-byte) record headers read in either byte order, from files and streams', async () => {
  const want = expected(pkts);
  for (const bigEndian of [false, true]) {
    for (const recordExtra of [8, 12] as const) {
      const what = `${bigEndian ? 'big' : 'little'}-endian, ${16 + recordExtra}-byte record headers`;
      const file = buildPcap(pkts, { bigEndian, recordExtra });
      sameRecords(readAll(file), want, what);
      // through a stream that delivers 100 bytes at a time: the layout is told once enough has come
      const chunks = Array.from({ length: Math.ceil(file.length / 100) }, (_, i) => file.subarray(i * 100, (i + 1) * 100));
      sameRecords(await readAllAsync(await PcapReader.open(Readable.from(chunks))), want, `${what}, streamed`);
      // one record: the end of the input tells the layout
      sameRecords(readAll(buildPcap(pkts.slice(0, 1), { bigEndian, recordExtra })), expected(pkts.slice(0, 1)), `${what}, one record`);
    }
  }
});

test('RedHat 6.1 and Nokia variants (standard magic, longer record headers) are refused at open, naming the variant and editcap -F pcap', { skip: tools }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'rz-variants-'));
  try {
    const std = join(dir, 'std.pcap');
    writeFileSync(std, buildPcap(pkts));
    for (const [format, name] of [['rh6_1pcap', /RedHat 6\.1 tcpdump variant \(24-byte record headers\)/], ['nokiapcap', /Nokia tcpdump variant \(20-byte record headers\)/]] as const) {
      const file = join(dir, `${format}.pcap`);
      editcap(format, std, file);
      assert.throws(() => PcapReader.openSync(file), (e: unknown) => {
        assert.ok(e instanceof PcapFormatError, String(e));
        assert.equal(e.code, 'ERR_RINGZERO_PCAP_FORMAT');
        assert.match(e.message, name);
        assert.match(e.message, /libpcap cannot read either.*editcap -F pcap IN OUT/);
        return true;
      });
      const r = spawnSync(process.execPath, [BIN, 'count', '-i', `pcap:${file}`, '--json', '-q'], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 1);
      assert.equal(r.stdout, '', 'no packet was counted');
      assert.match(r.stderr, name);
      const back = join(dir, `${format}-back.pcap`);
      editcap('pcap', file, back); // the fix the message names
      sameRecords(readAll(back), readAll(std), `${format} converted back`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('standard files that only look odd stay standard: a long first gap, a cut after the first record', () => {
  const gap = pkts.slice(0, 5).map((p, i) => (i === 0 ? p : { ...p, sec: p.sec + 3 * 86_400 }));
  sameRecords(readAll(buildPcap(gap)), expected(gap), 'three days after the first record');
  for (const recordExtra of [8, 12] as const) {
    sameRecords(readAll(buildPcap(gap, { recordExtra })), expected(gap), `the same, ${16 + recordExtra}-byte record headers`);
  }
  const two = buildPcap(pkts.slice(0, 2));
  const cut = two.subarray(0, 24 + 16 + pkts[0]!.data.length + 8); // 8 bytes into the second record header
  assert.throws(() => readAll(cut), PcapTruncatedError);
  assert.equal(readAll(cut, { onTruncated: 'end' }).data.length, 1);
});
