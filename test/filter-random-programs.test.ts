// Property test: thousands of random valid classic BPF programs give the same
// u32 result in the JS translation as in libpcap's interpreter, on random
// packets (including caplen < wirelen, out-of-bounds and indirect loads,
// division and shifts by X).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pcapFilter } from '../src/filter/pcap.js';
import { toJsFunction, toJsSource } from '../src/filter/js.js';
import { disassemble } from '../src/filter/cbpf.js';
import { RandomPrograms } from './helpers/filter-random.js';

test('random valid programs: JS result equals libpcap bpf_filter on random packets (seeded)', () => {
  const gen = new RandomPrograms(0x5eed);
  const packets = Array.from({ length: 40 }, () => gen.packet(0, 120));
  let runs = 0, nonzero = 0;
  for (let n = 0; n < 4000; n++) {
    const prog = gen.program(n % 10 === 0 ? 120 : 40);
    const fn = toJsFunction(prog);
    for (let j = 0; j < 12; j++) {
      const p = packets[(n * 7 + j) % packets.length]!;
      const want = pcapFilter(prog, p.bytes, p.wirelen);
      const got = fn(p.bytes, 0, p.bytes.length, p.wirelen);
      if (got !== want) {
        assert.fail(`program #${n}, packet caplen ${p.bytes.length} wirelen ${p.wirelen}: JS ${got}, libpcap ${want}\n` +
          `${disassemble(prog)}\n--- JS ---\n${toJsSource(prog)}\n--- packet ---\n${Buffer.from(p.bytes).toString('hex')}`);
      }
      runs++;
      if (want) nonzero++;
    }
  }
  assert.ok(nonzero > runs / 10 && nonzero < runs * 0.9, `${nonzero} of ${runs} runs accepted: both outcomes are exercised`);
});
