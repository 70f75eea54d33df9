// Hand-made hostile and broken inputs: every rejection is a ringzero error
// with a stable code and the file offset of the culprit, and every good
// record before it is delivered first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { PcapReader, createPacketRecords, PcapFormatError, PcapTruncatedError } from '../src/pcap/index.js';
import { RingzeroError } from '../src/errors.js';
import { Bytes, buildPcap, buildPcapng, makePackets, readAll, readAllAsync, type GenBlock } from './helpers/pcap-gen.js';

const pkts = makePackets(3, 11, 40, 90);

function failure(input: Uint8Array, opts = {}): { err: RingzeroError & { offset: number }; delivered: number } {
  let delivered = 0;
  try {
    const r = PcapReader.openSync(input, opts);
    const rec = createPacketRecords(8);
    for (let i = 0; i < 8; i++) rec.offset[i] = i * 2048;
    const mem = new Uint8Array(8 * 2048);
    for (;;) {
      const n = r.readBurst(mem, 2048, rec, 8);
      delivered += n;
      if (n === 0) break;
    }
  } catch (e) {
    assert.ok(e instanceof RingzeroError, `a ringzero error, got ${String(e)}`);
    return { err: e as RingzeroError & { offset: number }, delivered };
  }
  assert.fail('expected an error');
}

test('an unknown magic is a format error at offset 0 naming the bytes', () => {
  const { err } = failure(new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n this is not a capture'));
  assert.equal(err.code, 'ERR_RINGZERO_PCAP_FORMAT');
  assert.equal(err.offset, 0);
  assert.match(err.message, /47 45 54 20/);
  assert.match(failure(Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0)).err.message, /gzip/);
  // the old "modified" magic is a known one (pcap-old-variants.test.ts): this header's fault is its version
  assert.match(failure(Uint8Array.of(0x34, 0xcd, 0xb2, 0xa1, ...new Uint8Array(20))).err.message, /pcap version 0\.0 .* is not 2\.x/);
});

test('empty input and a header cut short are truncation errors at offset 0', () => {
  for (const len of [0, 1, 3, 4, 23]) {
    const { err } = failure(buildPcap(pkts).subarray(0, len));
    assert.equal(err.code, 'ERR_RINGZERO_PCAP_TRUNCATED', `length ${len}`);
    assert.equal(err.offset, 0);
  }
});

test('classic pcap: a version other than 2.x is a format error', () => {
  const f = buildPcap(pkts);
  new DataView(f.buffer).setUint16(4, 3, true);
  const { err } = failure(f);
  assert.equal(err.code, 'ERR_RINGZERO_PCAP_FORMAT');
  assert.equal(err.offset, 4);
});

test('classic pcap: a captured length above 256 KiB is a format error at its field, after the good records', () => {
  const f = buildPcap(pkts);
  const second = 24 + 16 + pkts[0].data.length;
  new DataView(f.buffer).setUint32(second + 8, 262145, true);
  const { err, delivered } = failure(f);
  assert.ok(err instanceof PcapFormatError);
  assert.equal(err.offset, second + 8);
  assert.equal(delivered, 1);
});

/** Record boundaries of a file: the offsets where a cut leaves only whole records. */
function cutEverywhere(file: Uint8Array, boundaries: number[], headerEnd: number): void {
  for (let len = headerEnd; len < file.length; len++) {
    const cut = file.subarray(0, len);
    const whole = boundaries.filter((b) => b <= len).length - 1; // records fully inside the cut
    const start = Math.max(...boundaries.filter((b) => b <= len));
    if (start === len) {
      const got = readAll(cut);
      assert.equal(got.data.length, whole, `cut at ${len} (on a boundary)`);
      continue;
    }
    const { err, delivered } = failure(cut);
    assert.ok(err instanceof PcapTruncatedError, `cut at ${len}: ${err.message}`);
    assert.equal(err.offset, start, `cut at ${len}: offset of the cut record`);
    assert.equal(delivered, whole, `cut at ${len}: whole records first`);
    const soft = readAll(cut, { onTruncated: 'end' });
    assert.equal(soft.data.length, whole);
    assert.equal(soft.reader.truncatedAt, start);
    assert.ok(soft.reader.ended);
  }
}

test('classic pcap truncated inside every field of every record: error names the record, whole records first', () => {
  const f = buildPcap(pkts, { bigEndian: true, nanosecond: true });
  const b = [24];
  for (const p of pkts) b.push(b[b.length - 1] + 16 + p.data.length);
  cutEverywhere(f, b, 24);
});

function ngFile(): { file: Uint8Array; boundaries: number[]; headerEnd: number } {
  const blocks: GenBlock[] = [{ kind: 'epb', pkt: pkts[0] }, { kind: 'nrb' }, { kind: 'spb', pkt: pkts[1] },
    { kind: 'isb' }, { kind: 'epb', pkt: pkts[2], comment: 'c' }];
  const file = buildPcapng([{ bigEndian: true, interfaces: [{ tsresol: 9, tsoffset: 5 }], blocks }]);
  // Walk the blocks to find their boundaries (big-endian lengths at +4).
  const v = new DataView(file.buffer);
  const boundaries: number[] = [];
  let p = 0;
  const starts: number[] = [];
  while (p < file.length) { starts.push(p); p += v.getUint32(p + 4, false); }
  boundaries.push(...starts.slice(2), file.length); // after SHB and IDB
  return { file, boundaries, headerEnd: starts[2] };
}

test('pcapng truncated inside every field of every block: error names the block, whole packets first', () => {
  const { file, boundaries, headerEnd } = ngFile();
  // Only packet blocks count as delivered records: map boundary -> packets before it.
  for (let len = headerEnd; len < file.length; len++) {
    const cut = file.subarray(0, len);
    const start = Math.max(...boundaries.filter((b) => b <= len));
    const packetsBefore = [0, 1, 1, 2, 2, 3][boundaries.indexOf(start)];
    if (start === len) { assert.equal(readAll(cut).data.length, packetsBefore); continue; }
    const { err, delivered } = failure(cut);
    assert.ok(err instanceof PcapTruncatedError, `cut at ${len}: ${err.message}`);
    assert.equal(err.offset, start, `cut at ${len}`);
    assert.equal(delivered, packetsBefore, `cut at ${len}`);
  }
  // And cuts inside the SHB and IDB themselves.
  const shbEnd = new DataView(file.buffer).getUint32(4, false);
  for (let len = 1; len < headerEnd; len++) {
    if (len === shbEnd) { assert.equal(readAll(file.subarray(0, len)).data.length, 0); continue; }
    const { err } = failure(file.subarray(0, len));
    assert.equal(err.code, 'ERR_RINGZERO_PCAP_TRUNCATED', `cut at ${len}`);
    assert.equal(err.offset, len < shbEnd ? 0 : shbEnd, `cut at ${len}`);
  }
});

test('a truncated stream read asynchronously reports the same error', async () => {
  const { file, boundaries } = ngFile();
  const len = boundaries[2] + 10;
  const r = await PcapReader.open(Readable.from([file.subarray(0, 50), file.subarray(50, len)]));
  await assert.rejects(readAllAsync(r), (e: unknown) => e instanceof PcapTruncatedError && e.offset === boundaries[2]);
});

/** A valid SHB + IDB, then `tail` (little-endian). */
function ngWith(tail: (b: Bytes) => void): Uint8Array {
  const head = buildPcapng([{ interfaces: [{}], blocks: [] }]);
  const b = new Bytes(true);
  b.bytes(head);
  tail(b);
  return b.done();
}

test('pcapng block lengths that cannot be right are format errors naming the length field', () => {
  const head = buildPcapng([{ interfaces: [{}], blocks: [] }]).length;
  for (const [len, why] of [[0, /minimum/], [8, /minimum/], [13, /multiple of 4/], [0xfffffffc, /limit/], [(16 << 20) + 4, /limit/]] as const) {
    const f = ngWith((b) => { b.u32(6).u32(len).u32(0).u32(0).u32(0).u32(0).u32(0).u32(len); });
    const { err } = failure(f);
    assert.equal(err.code, 'ERR_RINGZERO_PCAP_FORMAT', `length ${len}`);
    assert.equal(err.offset, head + 4, `length ${len}`);
    assert.match(err.message, why);
  }
});

test('pcapng inconsistent blocks are format errors: trailer, caplen, interface, options, resolution, version, byte order', () => {
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['trailer differs', ngWith((b) => b.u32(0x99).u32(16).u32(0).u32(20)), /trailing/],
    ['caplen beyond block', ngWith((b) => b.u32(6).u32(36).u32(0).u32(0).u32(0).u32(100).u32(100).u32(0).u32(36)), /cannot hold/],
    ['caplen above 256 KiB', ngWith((b) => b.u32(6).u32(32).u32(0).u32(0).u32(0).u32(300000).u32(300000).u32(32)), /maximum/],
    ['unknown interface', ngWith((b) => b.u32(6).u32(32).u32(7).u32(0).u32(0).u32(0).u32(0).u32(32)), /interface 7/],
    ['option overrun', ngWith((b) => b.u32(1).u32(28).u16(1).u16(0).u32(0).u16(9).u16(200).u32(0).u32(28)), /runs past/],
    ['tsresol 10^-127', ngWith((b) => b.u32(1).u32(28).u16(1).u16(0).u32(0).u16(9).u16(1).u32(0x7f).u32(28)), /if_tsresol/],
    ['EPB too short', ngWith((b) => b.u32(6).u32(16).u32(0).u32(16)), /shorter/],
  ];
  const bad = buildPcapng([{ interfaces: [], blocks: [] }]);
  new DataView(bad.buffer).setUint32(8, 0x12345678, true);
  cases.push(['byte-order magic', bad, /byte-order/]);
  const v2 = buildPcapng([{ interfaces: [], blocks: [] }]);
  new DataView(v2.buffer).setUint16(12, 2, true);
  cases.push(['version 2', v2, /version 2/]);
  for (const [name, f, why] of cases) {
    const { err } = failure(f);
    assert.equal(err.code, 'ERR_RINGZERO_PCAP_FORMAT', name);
    assert.ok(Number.isInteger(err.offset) && err.offset >= 0 && err.offset < f.length, `${name}: offset ${err.offset}`);
    assert.match(err.message, why, name);
  }
});

test('an error is sticky: later calls throw it again instead of reading on', () => {
  const f = buildPcap(pkts);
  new DataView(f.buffer).setUint32(24 + 8, 999999, true);
  const r = PcapReader.openSync(f);
  const rec = createPacketRecords(1);
  const mem = new Uint8Array(2048);
  const first = (() => { try { r.readBurst(mem, 2048, rec, 1); } catch (e) { return e; } return null; })();
  assert.ok(first instanceof PcapFormatError);
  assert.throws(() => r.readBurst(mem, 2048, rec, 1), (e) => e === first);
});

test('a huge declared block length allocates nothing: streamed, then reported truncated', () => {
  const before = process.memoryUsage().arrayBuffers;
  const f = ngWith((b) => b.u32(0x1234).u32(0x7ffffff0).u32(0).u32(0));
  const { err } = failure(f, { maxBlockLength: 0x7ffffff0 });
  assert.equal(err.code, 'ERR_RINGZERO_PCAP_TRUNCATED');
  assert.ok(process.memoryUsage().arrayBuffers - before < 16 << 20, 'no buffer sized from the hostile length');
});

test('more interfaces than the per-section bound is a format error', () => {
  const f = ngWith((b) => { for (let i = 0; i <= 65536; i++) b.u32(1).u32(20).u16(1).u16(0).u32(0).u32(20); });
  const { err } = failure(f);
  assert.equal(err.code, 'ERR_RINGZERO_PCAP_FORMAT');
  assert.match(err.message, /interfaces/);
});

test('a destination slot outside the caller memory is refused before any copy', () => {
  const r = PcapReader.openSync(buildPcap(pkts));
  const rec = createPacketRecords(2);
  rec.offset[0] = 0; rec.offset[1] = 2049;
  assert.throws(() => r.readBurst(new Uint8Array(4096), 2048, rec, 2), { code: 'ERR_RINGZERO_INVALID_ARGUMENT' });
  assert.equal(r.stats.packets, 0, 'nothing was read');
  rec.offset[1] = 2048;
  assert.equal(r.readBurst(new Uint8Array(4096), 2048, rec, 2), 2, 'the reader is still usable after a caller error');
});
