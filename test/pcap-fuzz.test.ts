// Mutation fuzzing of the reader: 100,000+ inputs derived from a seed corpus
// of generated files (both formats, both byte orders, many block kinds).
// Every input must end in one of three ways — a clean end, PcapFormatError or
// PcapTruncatedError with an offset inside the input — never another
// exception, a hang or growing memory; every delivered record must respect
// the slot capacity and carry a valid timestamp.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { PcapReader, createPacketRecords, MAX_CAPLEN } from '../src/pcap/index.js';
import { RingzeroError } from '../src/errors.js';
import { buildPcap, buildPcapng, makePackets, type GenBlock } from './helpers/pcap-gen.js';
import { prng } from './helpers/prng.js';

const INPUTS = 300_000;

function corpus(): Uint8Array[] {
  const p = makePackets(6, 99, 1, 200);
  const seeds: Uint8Array[] = [];
  for (const bigEndian of [false, true]) {
    seeds.push(buildPcap(p, { bigEndian }), buildPcap(p, { bigEndian, nanosecond: true, snaplen: 64 }));
    const blocks: GenBlock[] = [{ kind: 'epb', pkt: p[0] }, { kind: 'nrb' }, { kind: 'spb', pkt: p[1] }, { kind: 'opb', pkt: p[2], iface: 1 },
      { kind: 'isb', iface: 1 }, { kind: 'epb', pkt: p[3], iface: 1, comment: 'x' }, { kind: 'raw', type: 0xbad, body: new Uint8Array(9) }];
    seeds.push(buildPcapng([{ bigEndian, interfaces: [{ snaplen: 100 }, { tsresol: 0x80 | 30, tsoffset: -5 }], blocks }]));
    seeds.push(buildPcapng([
      { bigEndian, interfaces: [{ tsresol: 9 }], blocks: [{ kind: 'epb', pkt: p[4] }] },
      { bigEndian: !bigEndian, interfaces: [{ tsresol: 3 }, {}], blocks: [{ kind: 'epb', pkt: p[5], iface: 1 }] },
    ]));
  }
  return seeds;
}

const INTERESTING = [0, 1, 3, 4, 8, 11, 12, 16, 20, 28, 32, 0x7f, 0x80, 0xff, 0xffff, 0x10000, MAX_CAPLEN, MAX_CAPLEN + 1,
  0x7fffffff, 0x80000000, 0xfffffffc, 0xffffffff, 0x0a0d0d0a, 0x1a2b3c4d, 0xa1b2c3d4, 0xa1b23c4d];

function mutate(seed: Uint8Array, others: Uint8Array[], r: () => number): Uint8Array {
  let b = seed.slice();
  const rounds = 1 + Math.floor(r() * 4);
  for (let k = 0; k < rounds; k++) {
    const at = Math.floor(r() * Math.max(1, b.length));
    switch (Math.floor(r() * 8)) {
      case 0: b[at] ^= 1 << Math.floor(r() * 8); break;
      case 1: b[at] = [0, 0xff, 0x7f, 0x80, 1][Math.floor(r() * 5)]; break;
      case 2: { // an interesting u32 at an aligned offset, either byte order: lengths and magics live there
        const a = at & ~3;
        if (a + 4 <= b.length) new DataView(b.buffer).setUint32(a, INTERESTING[Math.floor(r() * INTERESTING.length)], r() < 0.5);
        break;
      }
      case 3: { // length field +/- a little
        const a = at & ~3;
        if (a + 4 <= b.length) { const v = new DataView(b.buffer); v.setUint32(a, (v.getUint32(a, true) + Math.floor(r() * 9) - 4) >>> 0, true); }
        break;
      }
      case 4: b = b.slice(0, at); break; // truncate
      case 5: { // delete a run
        const n = Math.min(1 + Math.floor(r() * 8), b.length - at);
        const c = new Uint8Array(b.length - n);
        c.set(b.subarray(0, at)); c.set(b.subarray(at + n), at);
        b = c;
        break;
      }
      case 6: { // duplicate a run
        const n = 1 + Math.floor(r() * 64);
        const run = b.slice(at, at + n);
        const c = new Uint8Array(b.length + run.length);
        c.set(b.subarray(0, at)); c.set(run, at); c.set(b.subarray(at), at + run.length);
        b = c;
        break;
      }
      default: { // splice with another seed
        const o = others[Math.floor(r() * others.length)];
        const from = Math.floor(r() * o.length);
        const c = new Uint8Array(at + (o.length - from));
        c.set(b.subarray(0, at)); c.set(o.subarray(from), at);
        b = c;
      }
    }
  }
  return b;
}

const BURST = 4;
const CAP = 512;
const mem = new Uint8Array(BURST * CAP);
const rec = createPacketRecords(BURST);
for (let i = 0; i < BURST; i++) rec.offset[i] = i * CAP;
const readBuf = new Uint8Array(262144 + 4096);

function checkBurst(n: number): void {
  for (let i = 0; i < n; i++) {
    assert.ok(rec.caplen[i] <= CAP, 'caplen within the slot');
    assert.ok(rec.nsec[i] < 1e9, 'nsec below one second');
  }
}

function verdict(e: unknown, input: Uint8Array): void {
  if (!(e instanceof RingzeroError)) throw new Error(`non-ringzero failure on a ${input.length}-byte input: ${String(e)}`, { cause: e });
  assert.ok(e.code === 'ERR_RINGZERO_PCAP_FORMAT' || e.code === 'ERR_RINGZERO_PCAP_TRUNCATED', e.code);
  const off = (e as unknown as { offset: number }).offset;
  assert.ok(Number.isInteger(off) && off >= 0 && off <= input.length, `offset ${off} inside the ${input.length}-byte input`);
}

test(`${INPUTS} mutated inputs: clean end or a coded error with an in-range offset; no crash, hang or growth`, () => {
  const seeds = corpus();
  const r = prng(20240601);
  const counts = { clean: 0, format: 0, truncated: 0, packets: 0 };
  const heapBefore = process.memoryUsage();
  const t0 = Date.now();
  for (let k = 0; k < INPUTS; k++) {
    const input = mutate(seeds[k % seeds.length], seeds, r);
    try {
      const reader = PcapReader.openSync(input, { buffer: readBuf, maxBlockLength: k % 2 ? 1 << 20 : 0x7ffffff0 });
      // Progress bound: a reader of n bytes cannot need more than n + 2 calls.
      let calls = 0;
      for (;;) {
        const n = reader.readBurst(mem, CAP, rec, BURST);
        checkBurst(n);
        counts.packets += n;
        if (n === 0) { assert.ok(reader.ended, 'returned 0 only at the end'); break; }
        assert.ok(++calls <= input.length + 2, 'reader made progress');
      }
      counts.clean++;
    } catch (e) {
      verdict(e, input);
      if ((e as RingzeroError).code === 'ERR_RINGZERO_PCAP_FORMAT') counts.format++; else counts.truncated++;
    }
  }
  const secs = (Date.now() - t0) / 1000;
  const heapAfter = process.memoryUsage();
  console.log(`# fuzz: ${INPUTS} inputs in ${secs.toFixed(1)} s: ${JSON.stringify(counts)}`);
  // Each path was exercised, so the corpus and mutations are not degenerate.
  assert.ok(counts.clean > 1000 && counts.format > 1000 && counts.truncated > 1000, JSON.stringify(counts));
  assert.ok(heapAfter.arrayBuffers - heapBefore.arrayBuffers < 64 << 20, 'no retained buffers');
  assert.ok(heapAfter.heapUsed - heapBefore.heapUsed < 128 << 20, 'no retained heap');
});

test('2,000 mutated inputs through the async stream path behave like the sync path', async () => {
  const seeds = corpus();
  const r = prng(777);
  for (let k = 0; k < 2000; k++) {
    const input = mutate(seeds[k % seeds.length], seeds, r);
    let syncResult = '';
    let syncPackets = 0;
    try {
      const s = PcapReader.openSync(input, { buffer: readBuf });
      for (let n; (n = s.readBurst(mem, CAP, rec, BURST)) > 0;) syncPackets += n;
      syncResult = 'end';
    } catch (e) { verdict(e, input); syncResult = `${(e as RingzeroError).code}@${(e as unknown as { offset: number }).offset}`; }
    // Same bytes in random-sized chunks.
    const chunks: Uint8Array[] = [];
    for (let o = 0; o < input.length;) { const n = 1 + Math.floor(r() * 97); chunks.push(input.subarray(o, o + n)); o += n; }
    let asyncResult = '';
    let asyncPackets = 0;
    try {
      const a = await PcapReader.open(Readable.from(chunks), { buffer: new Uint8Array(262144 + 4096) });
      for (let n; (n = await a.read(mem, CAP, rec, BURST)) > 0;) asyncPackets += n;
      asyncResult = 'end';
    } catch (e) { verdict(e, input); asyncResult = `${(e as RingzeroError).code}@${(e as unknown as { offset: number }).offset}`; }
    assert.equal(asyncResult, syncResult, `input ${k}`);
    assert.equal(asyncPackets, syncPackets, `input ${k}`);
  }
});
