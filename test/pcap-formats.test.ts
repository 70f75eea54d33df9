// Files made by an independent encoder (test/helpers/pcap-gen.ts, BigInt
// timestamps) in every variant the reader must understand: both byte orders,
// micro/nanosecond classic pcap, pcapng resolutions in powers of 10 and 2,
// timestamp offsets, simple/obsolete packet blocks, skipped blocks, several
// interfaces and several sections.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PcapReader, createPacketRecords } from '../src/pcap/index.js';
import {
  buildPcap, buildPcapng, expectedTime, makePackets, readAll, ticksOf, type GenBlock, type GenInterface, type GenPacket,
} from './helpers/pcap-gen.js';

const pkts = makePackets(300, 3, 14, 1514);

for (const bigEndian of [false, true]) {
  for (const nanosecond of [false, true]) {
    test(`classic pcap, ${bigEndian ? 'big' : 'little'}-endian, ${nanosecond ? 'nano' : 'micro'}seconds: every field reads back`, () => {
      const got = readAll(buildPcap(pkts, { bigEndian, nanosecond, linkType: 113 }));
      assert.equal(got.reader.format, 'pcap');
      assert.equal(got.reader.nanosecond, nanosecond);
      assert.equal(got.data.length, pkts.length);
      for (let i = 0; i < pkts.length; i++) {
        assert.deepEqual(got.data[i], pkts[i].data);
        assert.equal(got.sec[i], pkts[i].sec);
        assert.equal(got.nsec[i], nanosecond ? pkts[i].nsec : Math.floor(pkts[i].nsec / 1000) * 1000);
        assert.equal(got.linkType[i], 113);
      }
    });
  }
}

test('classic pcap: the FCS bits above the link type are masked off', () => {
  const f = buildPcap(pkts.slice(0, 2), { linkType: 1 });
  new DataView(f.buffer).setUint32(20, 0x10000000 | 0x04000000 | 1, true); // FCS present, 2 words
  assert.equal(readAll(f).linkType[0], 1);
});

test('classic pcap: a captured length above the header snaplen is clamped and counted', () => {
  const got = readAll(buildPcap(pkts.slice(0, 50), { snaplen: 100 }));
  for (let i = 0; i < 50; i++) assert.equal(got.caplen[i], Math.min(100, pkts[i].data.length));
  assert.equal(got.reader.stats.clampedToSnaplen, pkts.slice(0, 50).filter((p) => p.data.length > 100).length);
  assert.deepEqual(got.data[49], pkts[49].data.subarray(0, 100));
});

/** Checks a pcapng read against what each block's interface must yield. */
function checkNg(blocks: Array<{ pkt: GenPacket; iface: GenInterface; global: number; spb?: boolean }>, got: ReturnType<typeof readAll>): void {
  assert.equal(got.data.length, blocks.length);
  blocks.forEach((b, i) => {
    const snap = b.iface.snaplen ?? 0;
    const cap = snap && b.pkt.data.length > snap ? snap : b.pkt.data.length;
    assert.equal(got.caplen[i], cap, `caplen ${i}`);
    assert.deepEqual(got.data[i], b.pkt.data.subarray(0, cap), `bytes ${i}`);
    assert.equal(got.wirelen[i], b.pkt.data.length);
    assert.equal(got.ifIndex[i], b.global, `ifIndex ${i}`);
    assert.equal(got.linkType[i], b.iface.linkType ?? 1);
    const want = b.spb ? { sec: 0, nsec: 0 } : expectedTime(ticksOf(b.pkt, b.iface), b.iface);
    assert.equal(got.sec[i], want.sec, `sec ${i}`);
    assert.equal(got.nsec[i], want.nsec, `nsec ${i}`);
  });
}

const resolutions: Array<[string, number]> = [
  ['default (microseconds)', -1], ['10^-9', 9], ['10^-3', 3], ['10^0', 0], ['10^-12', 12], ['10^-19', 19],
  ['2^-10', 0x80 | 10], ['2^-20', 0x80 | 20], ['2^-24', 0x80 | 24], ['2^-30', 0x80 | 30], ['2^-32', 0x80 | 32],
  ['2^-40', 0x80 | 40], ['2^-63', 0x80 | 63], ['2^0', 0x80],
];
for (const bigEndian of [false, true]) {
  for (const [label, res] of resolutions) {
    test(`pcapng ${bigEndian ? 'big' : 'little'}-endian, if_tsresol ${label}: timestamps exact to the nanosecond`, () => {
      // Finer-than-second resolutions cannot count from 1970 in 64 bits: use a tsoffset then.
      const iface: GenInterface = { tsresol: res < 0 ? undefined : res, linkType: 1 };
      if (res === 19 || res === (0x80 | 40) || res === (0x80 | 63)) iface.tsoffset = 1_700_000_000;
      const some = pkts.slice(0, 60);
      const f = buildPcapng([{ bigEndian, interfaces: [iface], blocks: some.map((pkt) => ({ kind: 'epb', pkt }) as GenBlock) }]);
      const got = readAll(f);
      assert.equal(got.reader.format, 'pcapng');
      checkNg(some.map((pkt) => ({ pkt, iface, global: 0 })), got);
      if (res === 9) for (let i = 0; i < some.length; i++) assert.equal(got.nsec[i], some[i].nsec);
    });
  }
}

test('pcapng: if_tsoffset (positive and negative) is added to the seconds', () => {
  for (const tsoffset of [3600, -7200, 1_000_000_000]) {
    const iface: GenInterface = { tsresol: 9, tsoffset };
    const some = pkts.slice(0, 20);
    const got = readAll(buildPcapng([{ interfaces: [iface], blocks: some.map((pkt) => ({ kind: 'epb', pkt }) as GenBlock) }]));
    for (let i = 0; i < some.length; i++) {
      assert.equal(got.sec[i], some[i].sec, `offset ${tsoffset}`);
      assert.equal(got.nsec[i], some[i].nsec);
    }
  }
});

test('pcapng: several interfaces, simple and obsolete packet blocks, skipped NRB/ISB/custom blocks', () => {
  const ifs: GenInterface[] = [{ linkType: 1, snaplen: 128 }, { linkType: 101, tsresol: 9 }, { linkType: 228, tsresol: 0x80 | 29 }];
  const blocks: GenBlock[] = [{ kind: 'nrb' }];
  const want: Array<{ pkt: GenPacket; iface: GenInterface; global: number; spb?: boolean }> = [];
  pkts.slice(0, 120).forEach((pkt, i) => {
    const k = i % 5;
    if (k === 0) { blocks.push({ kind: 'spb', pkt }); want.push({ pkt, iface: ifs[0], global: 0, spb: true }); }
    else if (k === 1) { blocks.push({ kind: 'opb', pkt, iface: 1 }); want.push({ pkt, iface: ifs[1], global: 1 }); }
    else {
      const ifc = k - 2;
      blocks.push({ kind: 'epb', pkt, iface: ifc, comment: i % 2 ? 'with an option' : undefined });
      want.push({ pkt, iface: ifs[ifc], global: ifc });
    }
    if (i % 17 === 0) blocks.push({ kind: 'isb', iface: 1 }, { kind: 'raw', type: 0x00000bad, body: new Uint8Array(i) });
    if (i === 60) blocks.push({ kind: 'raw', type: 0x40000bad, body: new Uint8Array(10) }); // custom block
  });
  const got = readAll(buildPcapng([{ interfaces: ifs, blocks }]));
  checkNg(want, got);
  assert.equal(got.reader.stats.interfaces, 3);
  assert.ok(got.reader.stats.blocksSkipped >= 1 + 2 * 8);
  assert.deepEqual(got.reader.interfaces().map((i) => i.linkType), [1, 101, 228]);
  // Only EPBs of interface 0 can exceed its snaplen; SPBs are sized by it and never count.
  const epb0 = blocks.filter((b) => b.kind === 'epb' && (b.iface ?? 0) === 0) as Array<{ pkt: GenPacket }>;
  assert.equal(got.reader.stats.clampedToSnaplen, epb0.filter((b) => b.pkt.data.length > 128).length);
});

test('pcapng: an EPB longer than its interface snaplen is clamped and counted', () => {
  const iface: GenInterface = { snaplen: 64 };
  const some = pkts.slice(0, 40);
  const got = readAll(buildPcapng([{ interfaces: [iface], blocks: some.map((pkt) => ({ kind: 'epb', pkt }) as GenBlock) }]));
  checkNg(some.map((pkt) => ({ pkt, iface, global: 0 })), got);
  assert.equal(got.reader.stats.clampedToSnaplen, some.filter((p) => p.data.length > 64).length);
});

test('pcapng: several sections in alternating byte orders number interfaces across sections', () => {
  const sections = [0, 1, 2, 3].map((s) => ({
    bigEndian: s % 2 === 1,
    interfaces: [{ linkType: 1, tsresol: 9 }, { linkType: 105 + s, tsresol: 6 }] as GenInterface[],
    blocks: pkts.slice(s * 20, s * 20 + 20).map((pkt, i) => ({ kind: 'epb', pkt, iface: i % 2 }) as GenBlock),
  }));
  const got = readAll(buildPcapng(sections));
  const want = sections.flatMap((s, si) => s.blocks.map((b) => {
    const e = b as { pkt: GenPacket; iface: number };
    return { pkt: e.pkt, iface: s.interfaces[e.iface], global: si * 2 + e.iface };
  }));
  checkNg(want, got);
  assert.equal(got.reader.stats.sections, 4);
});

test('pcapng: a skippable block larger than the read buffer is streamed past, not buffered', () => {
  const big = new Uint8Array(3 << 20);
  const blocks: GenBlock[] = [{ kind: 'epb', pkt: pkts[0] }, { kind: 'raw', type: 0x77, body: big }, { kind: 'epb', pkt: pkts[1] }];
  const f = buildPcapng([{ interfaces: [{}], blocks }]);
  const got = readAll(f, { maxBlockLength: 4 << 20, bufferSize: 300 * 1024 });
  checkNg([{ pkt: pkts[0], iface: {}, global: 0 }, { pkt: pkts[1], iface: {}, global: 0 }], got);
});

test('pcapng: link type and interfaces are known right after open, before any packet is read', () => {
  const r = PcapReader.openSync(buildPcapng([{ interfaces: [{ linkType: 127, snaplen: 200 }], blocks: [{ kind: 'nrb' }, { kind: 'epb', pkt: pkts[0] }] }]));
  assert.equal(r.linkType, 127);
  assert.equal(r.snaplen, 200);
  assert.equal(r.stats.packets, 0);
  const rec = createPacketRecords(4);
  assert.equal(r.readBurst(new Uint8Array(4096), 4096, rec, 4), 1);
  assert.equal(r.readBurst(new Uint8Array(4096), 4096, rec, 4), 0);
  assert.ok(r.ended);
  r.close();
});
