// Flow hashes are symmetric (both directions of a flow hash the same), keep a
// flow's packets together (fragments included), and spread random flows
// evenly over queues.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketInfo, hash5Tuple, hashGeneral, hashIp, hashTunnel, hashVlan, FLOW_HASHES, type FlowHashName } from '../src/net/index.js';
import { prng } from './helpers/prng.js';
import { eth, flowFrame, fragExt, gre, gtpu, ipv4, ipv6, tcp, u8, udp, type Bytes } from './fixtures/net-frames.js';

const info = new PacketInfo();
const h = (name: FlowHashName, f: Bytes) => FLOW_HASHES[name](u8(f), 0, f.length, info);

test('IP and 5-tuple hashes are symmetric for IPv4 and IPv6, TCP, UDP and SCTP', () => {
  for (const [a, b] of [['10.0.0.1', '192.168.7.9'], ['2001:db8::1', '2001:db8:ffff::42']]) {
    for (const proto of [6, 17, 132] as const) {
      const fwd = flowFrame(a, b, 40001, 443, proto);
      const rev = flowFrame(b, a, 443, 40001, proto);
      assert.equal(h('five-tuple', fwd), h('five-tuple', rev), `${a} ${proto}`);
      assert.equal(h('ip', fwd), h('ip', rev));
      assert.notEqual(h('five-tuple', fwd), h('five-tuple', flowFrame(a, b, 40002, 443, proto)), 'another source port is another flow');
    }
  }
});

test('a flow keeps its hash whatever the payload, length and VLAN tag; the IP hash ignores ports', () => {
  const base = h('five-tuple', flowFrame('10.1.0.1', '10.1.0.2', 1000, 2000, 17));
  assert.equal(h('five-tuple', flowFrame('10.1.0.1', '10.1.0.2', 1000, 2000, 17, new Array(900).fill(7))), base);
  assert.equal(h('five-tuple', eth(0x0800, ipv4('10.1.0.1', '10.1.0.2', 17, udp(1000, 2000)), [[0x8100, 9]])), base);
  assert.equal(h('ip', flowFrame('10.1.0.1', '10.1.0.2', 1, 2, 6)), h('ip', flowFrame('10.1.0.2', '10.1.0.1', 3, 4, 17)));
});

test('all fragments of a datagram share the 5-tuple hash (ports are ignored for fragments)', () => {
  const first4 = eth(0x0800, ipv4('1.1.1.1', '2.2.2.2', 17, udp(5, 6, [0, 0, 0, 0]), { mf: true }));
  const later4 = eth(0x0800, ipv4('1.1.1.1', '2.2.2.2', 17, new Array(16).fill(3), { fragOffset: 1480 }));
  assert.equal(h('five-tuple', first4), h('five-tuple', later4));
  const rev4 = eth(0x0800, ipv4('2.2.2.2', '1.1.1.1', 17, new Array(16).fill(3), { fragOffset: 8 }));
  assert.equal(h('five-tuple', first4), h('five-tuple', rev4));
  const first6 = eth(0x86dd, ipv6('::1', '::2', 17, udp(5, 6, [0, 0, 0, 0]), [[44, fragExt(0, true)]]));
  const later6 = eth(0x86dd, ipv6('::1', '::2', 17, new Array(16).fill(3), [[44, fragExt(1232, false)]]));
  assert.equal(h('five-tuple', first6), h('five-tuple', later6));
});

test('the tunnel hash follows the inner IP pair of GTP-U and GRE, symmetric, whatever the outer headers', () => {
  const inner = (s: string, d: string) => ipv4(s, d, 6, tcp(1000, 80));
  const up = eth(0x0800, ipv4('192.0.2.1', '192.0.2.2', 17, udp(2152, 2152, gtpu(0x11, inner('10.0.0.1', '10.0.0.9')))));
  const down = eth(0x0800, ipv4('192.0.2.2', '192.0.2.1', 17, udp(2152, 2152, gtpu(0x22, inner('10.0.0.9', '10.0.0.1'), { seq: true }))));
  assert.equal(h('tunnel', up), h('tunnel', down));
  const otherGw = eth(0x86dd, ipv6('2001:db8::7', '2001:db8::8', 17, udp(2152, 2152, gtpu(0x33, inner('10.0.0.1', '10.0.0.9')))));
  assert.equal(h('tunnel', otherGw), h('tunnel', up), 'the outer tunnel endpoints do not matter');
  assert.notEqual(h('ip', otherGw), h('ip', up), 'while the plain IP hash sees the outer pair');
  const greFwd = eth(0x0800, ipv4('1.0.0.1', '1.0.0.2', 47, gre(0x86dd, ipv6('fd00::1', 'fd00::2', 17, udp(1, 2)), { key: 5 })));
  const greRev = eth(0x0800, ipv4('1.0.0.2', '1.0.0.1', 47, gre(0x6558, eth(0x86dd, ipv6('fd00::2', 'fd00::1', 17, udp(2, 1))), { key: 6, seq: 1 })));
  assert.equal(h('tunnel', greFwd), h('tunnel', greRev));
  const plain = flowFrame('10.5.5.5', '10.6.6.6', 1, 2, 6);
  assert.equal(h('tunnel', plain), h('ip', plain), 'untunnelled packets fall back to the IP pair');
});

test('the VLAN hash depends on the outer VLAN id only; untagged frames hash to 0', () => {
  const t = (vid: number, s: string) => eth(0x0800, ipv4(s, '9.9.9.9', 17, udp(1, 2)), [[0x8100, vid]]);
  assert.equal(h('vlan', t(10, '1.1.1.1')), h('vlan', t(10, '2.2.2.2')));
  assert.notEqual(h('vlan', t(10, '1.1.1.1')), h('vlan', t(11, '1.1.1.1')));
  assert.equal(h('vlan', flowFrame('1.1.1.1', '2.2.2.2', 1, 2)), 0);
  assert.equal(hashVlan(u8(t(10, '1.1.1.1')), 0, 60, info), h('vlan', t(10, '3.3.3.3')));
});

test('non-IP frames hash on the MAC pair, symmetric', () => {
  const a = eth(0x0806, new Array(28).fill(0), [], '02:00:00:00:00:01', '02:00:00:00:00:02');
  const b = eth(0x0806, new Array(28).fill(1), [], '02:00:00:00:00:02', '02:00:00:00:00:01');
  assert.equal(hashIp(u8(a), 0, a.length, info), hashIp(u8(b), 0, b.length, info));
  assert.equal(hash5Tuple(u8(a), 0, a.length, info), hash5Tuple(u8(b), 0, b.length, info));
});


function spread(name: FlowHashName, make: (r: () => number) => Bytes, queues = 4, flows = 10_000): number[] {
  const r = prng(0xc0ffee ^ name.length);
  const counts = new Array(queues).fill(0);
  for (let i = 0; i < flows; i++) counts[h(name, make(r)) % queues]++;
  return counts;
}

const rndIp4 = (r: () => number) => `10.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}`;
const rndIp6 = (r: () => number) => `2001:db8::${Math.floor(r() * 65536).toString(16)}:${Math.floor(r() * 65536).toString(16)}`;
const rndPort = (r: () => number) => 1024 + Math.floor(r() * 60000);

test('10k random flows spread over 4 queues within ±10% of the mean, for every flow hash and both IP versions', () => {
  const cases: Array<[FlowHashName, string, (r: () => number) => Bytes]> = [
    ['five-tuple', 'IPv4 UDP', (r) => flowFrame(rndIp4(r), rndIp4(r), rndPort(r), rndPort(r), 17)],
    ['five-tuple', 'IPv6 TCP', (r) => flowFrame(rndIp6(r), rndIp6(r), rndPort(r), rndPort(r), 6)],
    // Only the ports vary: the 5-tuple hash must still spread.
    ['five-tuple', 'IPv4, one host pair', (r) => flowFrame('10.0.0.1', '10.0.0.2', rndPort(r), 80, 6)],
    ['ip', 'IPv4', (r) => flowFrame(rndIp4(r), rndIp4(r), 1, 2, 17)],
    ['ip', 'IPv6', (r) => flowFrame(rndIp6(r), rndIp6(r), 1, 2, 17)],
    ['ip', 'IPv4, sequential addresses', (() => { let i = 0; return () => { i++; return flowFrame(`10.0.${(i >> 8) & 255}.${i & 255}`, '192.168.0.1', 1, 2); }; })()],
    ['tunnel', 'GTP-U', (r) => eth(0x0800, ipv4('192.0.2.1', '192.0.2.2', 17, udp(2152, 2152, gtpu(1, ipv4(rndIp4(r), rndIp4(r), 17, udp(1, 2))))))],
    ['tunnel', 'GRE', (r) => eth(0x0800, ipv4('1.0.0.1', '1.0.0.2', 47, gre(0x86dd, ipv6(rndIp6(r), rndIp6(r), 17, udp(1, 2)), { key: 1 })))],
    ['vlan', '802.1Q ids', (r) => eth(0x0800, ipv4('1.1.1.1', '2.2.2.2', 17, udp(1, 2)), [[0x8100, Math.floor(r() * 4096)]])],
  ];
  for (const [name, what, make] of cases) {
    const flows = name === 'vlan' ? 4096 : 10_000;
    const counts = name === 'vlan'
      ? (() => { const c = [0, 0, 0, 0]; for (let v = 0; v < 4096; v++) c[h('vlan', eth(0x0800, ipv4('1.1.1.1', '2.2.2.2', 17, udp(1, 2)), [[0x8100, v]])) % 4]++; return c; })()
      : spread(name, make);
    const mean = flows / 4;
    for (const c of counts) assert.ok(Math.abs(c - mean) <= mean * 0.1, `${name} (${what}): ${counts} not within ±10% of ${mean}`);
  }
});

test('hashing reuses one PacketInfo and gives the same value as a fresh one', () => {
  const f = u8(flowFrame('10.0.0.1', '10.0.0.2', 5, 6, 6));
  assert.equal(hash5Tuple(f, 0, f.length, info), hash5Tuple(f, 0, f.length, new PacketInfo()));
  assert.equal(hashTunnel(f, 0, f.length, info), hashIp(f, 0, f.length, new PacketInfo()));
});

test('the fast path of the IP and 5-tuple hashes equals the general parser on every frame kind, truncation and random byte flip', () => {
  const r = prng(7);
  const kinds: Bytes[] = [
    flowFrame('10.0.0.1', '10.0.0.2', 1, 2, 6), flowFrame('2001:db8::1', '2001:db8::2', 3, 4, 17), flowFrame('10.0.0.1', '10.0.0.2', 5, 6, 132),
    eth(0x0800, ipv4('1.1.1.1', '2.2.2.2', 17, udp(5, 6), { mf: true })), eth(0x0800, ipv4('1.1.1.1', '2.2.2.2', 17, [1, 2, 3, 4], { fragOffset: 8 })),
    eth(0x0800, ipv4('1.1.1.1', '2.2.2.2', 6, tcp(9, 10), { ihlWords: 7 })), eth(0x86dd, ipv6('::1', '::2', 6, tcp(1, 2), [[0, [1]]])),
    eth(0x0800, ipv4('1.1.1.1', '2.2.2.2', 1, [8, 0, 0, 0])), eth(0x0806, new Array(28).fill(0)),
  ];
  const a = new PacketInfo();
  let checked = 0;
  for (const k of kinds) {
    for (let len = 0; len <= k.length; len++) {
      const f = u8(k.slice(0, len));
      assert.equal(hash5Tuple(f, 0, len, a), hashGeneral(f, 0, len, a, true), `5-tuple, len ${len}`);
      assert.equal(hashIp(f, 0, len, a), hashGeneral(f, 0, len, a, false), `ip, len ${len}`);
      checked++;
    }
    for (let i = 0; i < 300; i++) {
      const f = u8(k);
      f[14 + Math.floor(r() * (f.length - 14))] = Math.floor(r() * 256);
      assert.equal(hash5Tuple(f, 0, f.length, a), hashGeneral(f, 0, f.length, a, true));
      assert.equal(hashIp(f, 0, f.length, a), hashGeneral(f, 0, f.length, a, false));
      checked++;
    }
  }
  assert.ok(checked > 2000);
});
