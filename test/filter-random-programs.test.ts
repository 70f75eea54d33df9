// Property test: thousands of random valid classic BPF programs give the same
// u32 result in the JS translation as in libpcap's interpreter, on random
// packets (including caplen < wirelen, out-of-bounds and indirect loads,
// division and shifts by X).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pcapFilter } from '../src/filter/pcap.js';
import { toJsFunction, toJsSource } from '../src/filter/js.js';
import { BPF, disassemble, type BpfInsn } from '../src/filter/cbpf.js';
import { checkProgram } from '../src/filter/check.js';
import { RandomPrograms } from './helpers/filter-random.js';

test('random valid programs: JS result equals libpcap bpf_filter on random packets (seeded)', () => {
  const gen = new RandomPrograms(0x5eed);
  const packets = Array.from({ length: 40 }, () => gen.packet(0, 120));
  let runs = 0, nonzero = 0;
  for (let n = 0; n < 4000; n++) {
    const prog = gen.program(n % 10 === 0 ? 120 : 40);
    // every third program also goes through the flat dispatcher used for very large programs
    const fn = toJsFunction(prog, undefined, { dispatcher: n % 3 === 0 });
    for (let j = 0; j < 12; j++) {
      const p = packets[(n * 7 + j) % packets.length]!;
      const want = pcapFilter(prog, p.bytes, p.wirelen);
      const got = fn(p.bytes, 0, p.bytes.length, p.wirelen);
      if (got !== want) {
        assert.fail(`program #${n}, packet caplen ${p.bytes.length} wirelen ${p.wirelen}: JS ${got}, libpcap ${want}\n` +
          `${disassemble(prog)}\n--- JS ---\n${toJsSource(prog, undefined, { dispatcher: n % 3 === 0 })}\n--- packet ---\n${Buffer.from(p.bytes).toString('hex')}`);
      }
      runs++;
      if (want) nonzero++;
    }
  }
  assert.ok(nonzero > runs / 10 && nonzero < runs * 0.9, `${nonzero} of ${runs} runs accepted: both outcomes are exercised`);
});

test('a 4096-instruction program with thousands of jump targets translates and agrees with libpcap', () => {
  const insns: BpfInsn[] = [{ code: BPF.LD | BPF.W | BPF.LEN, jt: 0, jf: 0, k: 0 }];
  for (let i = 1; i < 4094; i++) insns.push({ code: BPF.JMP | BPF.JEQ | BPF.K, jt: 1, jf: 0, k: i });
  insns.push({ code: BPF.RET | BPF.A, jt: 0, jf: 0, k: 0 }, { code: BPF.RET | BPF.K, jt: 0, jf: 0, k: 7 });
  const prog = checkProgram(insns);
  assert.equal(prog.length, 4096);
  const fn = toJsFunction(prog); // past NESTING_LIMIT targets: the flat dispatcher
  const pkt = new Uint8Array(64);
  for (const wirelen of [1, 64, 100, 4093, 4094, 5000]) {
    assert.equal(fn(pkt, 0, pkt.length, wirelen), pcapFilter(prog, pkt, wirelen), `wirelen ${wirelen}`);
  }
});
