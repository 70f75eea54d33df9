// Write -> read round trips through ringzero's own writer and reader, for both
// formats: identical bytes, lengths and nanosecond timestamps, with the reader
// fed from a file, an fd, a stream and standard input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync, openSync, closeSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PcapReader, PcapWriter, createPacketRecords, type PcapWriterOptions } from '../src/pcap/index.js';
import { makePackets, readAll, readAllAsync, type GenPacket, type ReadBack } from './helpers/pcap-gen.js';

const dir = mkdtempSync(join(tmpdir(), 'rz-pcap-rt-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const pcapIndex = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'pcap', 'index.js');

/** Writes `pkts` with writeBurst in bursts of 32 from one shared memory area. */
function writeWithRingzero(target: string | number, pkts: GenPacket[], opts: PcapWriterOptions = {}): PcapWriter {
  const w = PcapWriter.open(target, opts);
  const slot = 9216;
  const mem = new Uint8Array(new SharedArrayBuffer(32 * slot));
  const rec = createPacketRecords(32);
  for (let i = 0; i < pkts.length; i += 32) {
    const k = Math.min(32, pkts.length - i);
    for (let j = 0; j < k; j++) {
      const p = pkts[i + j];
      rec.offset[j] = j * slot + 2; // odd-ish offsets: copies must not assume alignment
      mem.set(p.data, j * slot + 2);
      rec.caplen[j] = p.data.length;
      rec.wirelen[j] = p.wirelen ?? 0;
      rec.sec[j] = p.sec;
      rec.nsec[j] = p.nsec;
    }
    assert.equal(w.writeBurst(mem, rec, k), k);
  }
  w.close();
  return w;
}

function assertSame(got: ReadBack, pkts: GenPacket[], o: { usec?: boolean; snaplen?: number; capacity?: number } = {}): void {
  assert.equal(got.data.length, pkts.length, 'packet count');
  for (let i = 0; i < pkts.length; i++) {
    const p = pkts[i];
    const keep = Math.min(p.data.length, o.snaplen ?? Infinity, o.capacity ?? Infinity);
    assert.equal(got.caplen[i], keep, `caplen of ${i}`);
    assert.equal(got.wirelen[i], p.wirelen ?? p.data.length, `wirelen of ${i}`);
    assert.deepEqual(got.data[i], p.data.subarray(0, keep), `bytes of ${i}`);
    assert.equal(got.sec[i], p.sec, `sec of ${i}`);
    assert.equal(got.nsec[i], o.usec ? Math.floor(p.nsec / 1000) * 1000 : p.nsec, `nsec of ${i}`);
    assert.equal(got.linkType[i], 1);
    assert.equal(got.ifIndex[i], 0);
  }
}

// ~3.8 MB: several 1 MiB read buffers and writer flushes, records straddling every boundary.
const pkts = makePackets(5000, 7, 14, 1514);
pkts.push(...makePackets(20, 8, 9000, 9000, 1_800_000_000));
pkts.push({ data: new Uint8Array(0), sec: 4294967295, nsec: 999999999 }); // empty packet, last representable second

for (const format of ['pcap', 'pcapng'] as const) {
  test(`${format}: write then read returns identical bytes, lengths and nanosecond timestamps`, () => {
    const f = join(dir, `rt.${format}`);
    const w = writeWithRingzero(f, pkts, { format });
    assert.ok(w.stats.writes <= Math.ceil(statSync(f).size / (1 << 20)) + 1, `batched writes (${w.stats.writes})`);
    const got = readAll(f);
    assertSame(got, pkts);
    assert.equal(got.reader.format, format);
    assert.equal(got.reader.linkType, 1);
    assert.equal(got.reader.stats.packets, pkts.length);
  });

  test(`${format}: microsecond files keep the microseconds and drop the rest`, () => {
    const f = join(dir, `us.${format}`);
    writeWithRingzero(f, pkts.slice(0, 500), { format, nanosecond: false });
    assertSame(readAll(f), pkts.slice(0, 500), { usec: true });
  });

  test(`${format}: snaplen cuts captured bytes and keeps the wire length`, () => {
    const f = join(dir, `snap.${format}`);
    const w = writeWithRingzero(f, pkts.slice(0, 800), { format, snaplen: 96 });
    assert.equal(w.stats.cutToSnaplen, pkts.slice(0, 800).filter((p) => p.data.length > 96).length);
    const got = readAll(f);
    assertSame(got, pkts.slice(0, 800), { snaplen: 96 });
    assert.equal(got.reader.snaplen, 96);
  });

  test(`${format}: a slot capacity smaller than a packet cuts the copy and counts it`, () => {
    const f = join(dir, `cap.${format}`);
    writeWithRingzero(f, pkts.slice(0, 300), { format });
    const got = readAll(f, {}, 16, 128);
    assertSame(got, pkts.slice(0, 300), { capacity: 128 });
    assert.equal(got.reader.stats.cutToCapacity, pkts.slice(0, 300).filter((p) => p.data.length > 128).length);
  });

  test(`${format}: reading from a stream with tiny chunks matches reading the file`, async () => {
    const f = join(dir, `stream.${format}`);
    writeWithRingzero(f, pkts.slice(0, 1500), { format });
    const r = await PcapReader.open(createReadStream(f, { highWaterMark: 997 }));
    const got = await readAllAsync(r, 7, 2048);
    r.close();
    assertSame(got, pkts.slice(0, 1500));
  });

  test(`${format}: reading an open fd (sync) matches reading the file`, () => {
    const f = join(dir, `fd.${format}`);
    writeWithRingzero(f, pkts.slice(0, 700), { format });
    const fd = openSync(f, 'r');
    try {
      assertSame(readAll(fd, { bufferSize: 300 * 1024 }), pkts.slice(0, 700));
    } finally { closeSync(fd); }
  });

  test(`${format}: '-' reads standard input and writes standard output`, () => {
    const f = join(dir, `stdio.${format}`);
    writeWithRingzero(f, pkts.slice(0, 2000), { format });
    // A child process copies stdin to stdout through the reader and writer ('-' both ways).
    const script = `
      const { PcapReader, PcapWriter, createPacketRecords } = await import(${JSON.stringify(pcapIndex)});
      const r = await PcapReader.open('-');
      const w = PcapWriter.open('-', { format: ${JSON.stringify(format)} });
      const mem = new Uint8Array(64 * 2048); const rec = createPacketRecords(64);
      for (let i = 0; i < 64; i++) rec.offset[i] = i * 2048;
      for (;;) { const n = await r.read(mem, 2048, rec, 64); if (n === 0) break; w.writeBurst(mem, rec, n); }
      w.close(); r.close();`;
    const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      input: readFileSync(f), maxBuffer: 64 << 20,
    });
    assert.equal(res.status, 0, res.stderr.toString());
    assert.deepEqual(new Uint8Array(res.stdout), new Uint8Array(readFileSync(f)), 'stdin -> stdout copy is byte-identical');
    assertSame(readAll(new Uint8Array(res.stdout)), pkts.slice(0, 2000));
  });
}

test('the writer carries whole seconds out of an oversized nanosecond field', () => {
  for (const format of ['pcap', 'pcapng'] as const) {
    const f = join(dir, `carry.${format}`);
    const w = PcapWriter.open(f, { format });
    w.writePacket(new Uint8Array(60), 0, 60, 0, 1_700_000_000, 2_500_000_001);
    w.close();
    const got = readAll(f);
    assert.deepEqual([got.sec[0], got.nsec[0]], [1_700_000_002, 500_000_001], format);
  }
});

test("openSync('-') reads standard input with blocking reads", () => {
  const f = join(dir, 'sync-stdin.pcap');
  writeWithRingzero(f, pkts.slice(0, 1000), { format: 'pcap' });
  const script = `
    const { PcapReader, createPacketRecords } = await import(${JSON.stringify(pcapIndex)});
    const r = PcapReader.openSync('-');
    const mem = new Uint8Array(64 * 2048); const rec = createPacketRecords(64);
    for (let i = 0; i < 64; i++) rec.offset[i] = i * 2048;
    let n = 0, bytes = 0, ns = 0;
    for (let k; (k = r.readBurst(mem, 2048, rec, 64)) > 0;) { n += k; for (let i = 0; i < k; i++) { bytes += rec.caplen[i]; ns = (ns + rec.nsec[i]) % 1e9; } }
    console.log(JSON.stringify([n, bytes, ns]));`;
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], { input: readFileSync(f) });
  assert.equal(res.status, 0, res.stderr.toString());
  const some = pkts.slice(0, 1000);
  assert.deepEqual(JSON.parse(res.stdout.toString()), [1000, some.reduce((a, p) => a + p.data.length, 0), some.reduce((a, p) => (a + p.nsec) % 1e9, 0)]);
});

test('the smallest allowed read buffer reads a file many times its size', () => {
  const f = join(dir, 'small-buffer.pcapng');
  writeWithRingzero(f, pkts, { format: 'pcapng' });
  assertSame(readAll(f, { bufferSize: 262144 + 4096 }, 1, 9216), pkts);
});
