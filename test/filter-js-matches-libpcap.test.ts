// The JS back-end returns exactly what libpcap's bpf_filter returns, for the
// expression corpus over the packet corpus (whole frames and frames captured
// with a snap length below their wire length).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pcapCompile, pcapFilter } from '../src/filter/pcap.js';
import { toJsFunction } from '../src/filter/js.js';
import { disassemble } from '../src/filter/cbpf.js';
import { EXPRESSIONS } from './helpers/filter-exprs.js';
import { buildPacketCorpus, snapped } from './helpers/filter-packets.js';

const whole = buildPacketCorpus();
const packets = [...whole, ...snapped(whole)];

test('the corpora are large enough to mean something (>= 200 expressions, every packet kind)', () => {
  assert.ok(EXPRESSIONS.length >= 200, `${EXPRESSIONS.length} expressions`);
  assert.equal(new Set(EXPRESSIONS).size, EXPRESSIONS.length, 'no duplicate expressions');
  for (const kind of ['ipv4-6', 'ipv4-17', 'ipv4-1', 'ipv6-6', 'ipv6-58', 'ext0.60', 'vlan1', 'vlan2', 'arp', 'stp', 'cut', 'junk', 'snap']) {
    assert.ok(packets.some((p) => p.name.includes(kind)), `corpus has ${kind} packets`);
  }
});

test('JS filter returns libpcap bpf_filter result for every expression x packet pair', () => {
  let pairs = 0, accepted = 0;
  const everAccepted = new Set<string>();
  for (const expr of EXPRESSIONS) {
    const prog = pcapCompile(expr);
    const fn = toJsFunction(prog);
    for (const p of packets) {
      // place the packet at an offset inside a bigger buffer, as a ring would
      const buf = new Uint8Array(p.bytes.length + 7);
      buf.set(p.bytes, 5);
      const want = pcapFilter(prog, p.bytes, p.wirelen);
      const got = fn(buf, 5, p.bytes.length, p.wirelen);
      if (got !== want) {
        assert.fail(`"${expr}" on ${p.name} (caplen ${p.bytes.length}, wirelen ${p.wirelen}): JS ${got}, libpcap ${want}\n${disassemble(prog)}`);
      }
      pairs++;
      if (want) { accepted++; everAccepted.add(expr); }
    }
  }
  // the corpus must exercise both outcomes broadly, not agree on "reject everything"
  assert.ok(accepted > pairs / 20, `${accepted} of ${pairs} pairs accepted`);
  assert.ok(everAccepted.size > EXPRESSIONS.length * 0.9, `${everAccepted.size} of ${EXPRESSIONS.length} expressions accept some packet`);
});
