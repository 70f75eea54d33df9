// PcapReader's matchAlignment (what the pcap: device uses): each packet lands
// 0..3 bytes past its slot offset, agreeing mod 4 with its place in the file,
// the offset used is written back, the bytes are exact, and the room left in
// the slot is respected: a packet the shift would cut is not shifted, so a slot
// keeps every packet that fits it; a longer one is cut and counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PcapReader, createPacketRecords } from '../src/pcap/index.js';
import { buildPcap, buildPcapng, makePackets } from './helpers/pcap-gen.js';

const SLOT = 2048;
const HEADROOM = 256;

/** File offset of each packet's first data byte in a classic pcap file of `lens`. */
function classicDataOffsets(lens: number[]): number[] {
  const out: number[] = [];
  let at = 24;
  for (const l of lens) { out.push(at + 16); at += 16 + l; }
  return out;
}

test('classic pcap: packets keep their file alignment mod 4, byte-exact, offsets written back', () => {
  const pkts = makePackets(300, 11, 54, 1514);
  const file = buildPcap(pkts, { nanosecond: true });
  const want = classicDataOffsets(pkts.map((p) => p.data.length));
  const r = PcapReader.openSync(file, { matchAlignment: true });
  const mem = new Uint8Array(new SharedArrayBuffer(64 * SLOT));
  const rec = createPacketRecords(64);
  let seen = 0;
  for (;;) {
    for (let i = 0; i < 64; i++) rec.offset[i] = i * SLOT + HEADROOM;
    const n = r.readBurst(mem, SLOT - HEADROOM, rec, 64);
    if (n === 0) break;
    for (let i = 0; i < n; i++, seen++) {
      const shift = rec.offset[i] - (i * SLOT + HEADROOM);
      assert.ok(shift >= 0 && shift <= 3, `packet ${seen}: shift ${shift}`);
      assert.equal(rec.offset[i] & 3, want[seen] & 3, `packet ${seen}: alignment differs from the file`);
      const p = pkts[seen];
      assert.equal(rec.caplen[i], p.data.length);
      assert.deepEqual(mem.subarray(rec.offset[i], rec.offset[i] + rec.caplen[i]), p.data, `packet ${seen} bytes`);
      assert.equal(rec.nsec[i], p.nsec);
    }
  }
  assert.equal(seen, pkts.length);
  assert.equal(r.stats.cutToCapacity, 0);
});

test('pcapng: the same for enhanced packet blocks (always 4-aligned in the file)', () => {
  const pkts = makePackets(100, 12, 54, 300);
  const file = buildPcapng([{ interfaces: [{ tsresol: 9 }], blocks: pkts.map((pkt) => ({ kind: 'epb' as const, pkt })) }]);
  const r = PcapReader.openSync(file, { matchAlignment: true });
  const mem = new Uint8Array(new SharedArrayBuffer(128 * SLOT));
  const rec = createPacketRecords(128);
  for (let i = 0; i < 128; i++) rec.offset[i] = i * SLOT + 2; // a misaligned slot start moves every packet by 2
  const n = r.readBurst(mem, SLOT - 8, rec, 128);
  assert.equal(n, pkts.length);
  for (let i = 0; i < n; i++) {
    assert.equal(rec.offset[i], i * SLOT + 4);
    assert.deepEqual(mem.subarray(rec.offset[i], rec.offset[i] + rec.caplen[i]), pkts[i].data);
  }
});

test('a packet the shift would cut stays unshifted and whole; only one longer than its slot is cut and counted', () => {
  // 101-byte packets: data at file offset 40 (0 mod 4), then 157 (1 mod 4); the slots start at 1 mod 4
  const pkts = makePackets(3, 13, 101, 101);
  pkts[2].data = Uint8Array.from({ length: 103 }, (_, k) => k);
  const r = PcapReader.openSync(buildPcap(pkts), { matchAlignment: true });
  const mem = new Uint8Array(new SharedArrayBuffer(1024));
  const rec = createPacketRecords(3);
  rec.offset[0] = 1; rec.offset[1] = 257; rec.offset[2] = 513;
  assert.equal(r.readBurst(mem, 101, rec, 3), 3);
  // a shift by 3 (packet 0) or 0 (packet 1) would leave 98 or 101 bytes of room
  assert.equal(rec.offset[0], 1, 'no shift: it would cut the packet');
  assert.equal(rec.offset[1], 257, 'already aligned');
  assert.equal(rec.offset[2], 513, 'too long anyway: cut where the whole slot is kept');
  assert.deepEqual(rec.caplen.slice(0, 3), Uint32Array.of(101, 101, 101));
  assert.equal(r.stats.cutToCapacity, 1);
  assert.deepEqual(mem.subarray(1, 102), pkts[0].data);
  assert.deepEqual(mem.subarray(257, 358), pkts[1].data);
  assert.deepEqual(mem.subarray(513, 614), pkts[2].data.subarray(0, 101));
  assert.equal(mem[102] + mem[358] + mem[614], 0, 'nothing written past a slot');
});
