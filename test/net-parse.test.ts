// The header parser reads Ethernet, VLAN stacks, IPv4/IPv6 (options,
// extension headers, fragments), ports and tunnels into one reusable object,
// and never reads past the captured length.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketInfo, parsePacket, formatSummary, TUNNEL_GRE, TUNNEL_GTPU, TUNNEL_IPIP, formatIpv6 } from '../src/net/index.js';
import { eth, flowFrame, fragExt, gre, gtpu, ip4, ip6, ipv4, ipv6, sctp, tcp, u8, udp, type Bytes } from './fixtures/net-frames.js';

/** Places a frame at offset 100 of a buffer full of 0xee, as in cluster memory. */
function place(frame: Bytes): { bytes: Uint8Array; off: number } {
  const bytes = new Uint8Array(frame.length + 300).fill(0xee);
  bytes.set(frame, 100);
  return { bytes, off: 100 };
}

function parse(frame: Bytes, info = new PacketInfo()): { info: PacketInfo; bytes: Uint8Array; off: number } {
  const { bytes, off } = place(frame);
  assert.equal(parsePacket(bytes, off, frame.length, info), true);
  return { info, bytes, off };
}

const addrAt = (b: Uint8Array, o: number, n: number) => Array.from(b.subarray(o, o + n));

test('IPv4 TCP: addresses, ports, protocol and offsets', () => {
  const { info, bytes, off } = parse(flowFrame('10.0.0.1', '10.0.0.2', 1234, 80, 6));
  assert.equal(info.etherType, 0x0800);
  assert.equal(info.vlanCount, 0);
  assert.equal(info.ip.version, 4);
  assert.equal(info.ip.l3, off + 14);
  assert.deepEqual(addrAt(bytes, info.ip.src, 4), ip4('10.0.0.1'));
  assert.deepEqual(addrAt(bytes, info.ip.dst, 4), ip4('10.0.0.2'));
  assert.equal(info.ip.proto, 6);
  assert.equal(info.ip.l4, off + 34);
  assert.deepEqual([info.ip.hasPorts, info.ip.srcPort, info.ip.dstPort], [true, 1234, 80]);
  assert.equal(info.ip.fragment, false);
  assert.equal(info.truncated, false);
});

test('IPv4 header options (IHL > 5) move the transport header', () => {
  const { info, off } = parse(eth(0x0800, ipv4('1.1.1.1', '2.2.2.2', 17, udp(53, 5353), { ihlWords: 8 })));
  assert.equal(info.ip.l4, off + 14 + 32);
  assert.deepEqual([info.ip.srcPort, info.ip.dstPort], [53, 5353]);
});

test('IPv4 fragments: the first has ports and is marked a fragment, later ones have no transport header', () => {
  const first = parse(eth(0x0800, ipv4('1.1.1.1', '2.2.2.2', 17, udp(1, 2, [1, 2, 3]), { mf: true }))).info;
  assert.deepEqual([first.ip.fragment, first.ip.fragmentOffset, first.ip.hasPorts, first.ip.srcPort], [true, 0, true, 1]);
  const later = parse(eth(0x0800, ipv4('1.1.1.1', '2.2.2.2', 17, [9, 9, 9, 9, 9, 9, 9, 9], { fragOffset: 1480 }))).info;
  assert.deepEqual([later.ip.fragment, later.ip.fragmentOffset, later.ip.l4, later.ip.hasPorts, later.ip.proto], [true, 1480, 0, false, 17]);
});

test('stacked VLAN tags (802.1ad outer, 802.1Q inner) are skipped and their ids kept', () => {
  const frame = eth(0x0800, ipv4('1.1.1.1', '2.2.2.2', 6, tcp(10, 20)), [[0x88a8, 100], [0x8100, 200]]);
  const { info, off } = parse(frame);
  assert.deepEqual([info.vlanCount, info.vlanId, info.innerVlanId, info.etherType], [2, 100, 200, 0x0800]);
  assert.equal(info.ip.l3, off + 22);
  assert.deepEqual([info.ip.srcPort, info.ip.dstPort], [10, 20]);
  const single = parse(eth(0x86dd, ipv6('::1', '::2', 17, udp(1, 2)), [[0x8100, 4095]])).info;
  assert.deepEqual([single.vlanCount, single.vlanId, single.ip.version], [1, 4095, 6]);
});

test('IPv6: hop-by-hop, routing, destination options and AH are walked to the transport header', () => {
  const frame = eth(0x86dd, ipv6('2001:db8::1', '2001:db8::2', 6, tcp(443, 50000), [[0, [1, 2, 3]], [43, new Array(14).fill(0)], [60, [1, 4, 0, 0, 0, 0]], [51, [0, 0, 0, 1, 0, 0, 0, 1]]]));
  const { info, bytes } = parse(frame);
  assert.equal(info.ip.version, 6);
  assert.equal(info.ip.proto, 6);
  assert.deepEqual([info.ip.srcPort, info.ip.dstPort], [443, 50000]);
  assert.deepEqual(addrAt(bytes, info.ip.src, 16), ip6('2001:db8::1'));
  assert.equal(formatIpv6(bytes, info.ip.dst), '2001:db8::2');
});

test('IPv6 fragment header: first fragment keeps ports, later fragments have none', () => {
  const first = parse(eth(0x86dd, ipv6('::1', '::2', 17, udp(7, 8, [0, 0, 0, 0]), [[44, fragExt(0, true)]]))).info;
  assert.deepEqual([first.ip.fragment, first.ip.hasPorts, first.ip.srcPort, first.ip.proto], [true, true, 7, 17]);
  const later = parse(eth(0x86dd, ipv6('::1', '::2', 17, new Array(16).fill(1), [[44, fragExt(1232, false)]]))).info;
  assert.deepEqual([later.ip.fragment, later.ip.fragmentOffset, later.ip.hasPorts, later.ip.l4], [true, 1232, false, 0]);
});

test('SCTP ports are read', () => {
  const info = parse(flowFrame('10.1.1.1', '10.1.1.2', 2905, 2906, 132)).info;
  assert.deepEqual([info.ip.proto, info.ip.srcPort, info.ip.dstPort], [132, 2905, 2906]);
  assert.equal(sctp(1, 2).length, 12);
});

test('GTP-U: TEID and inner IPv4 5-tuple, with sequence number and extension headers', () => {
  const inner = ipv4('172.16.0.5', '8.8.8.8', 17, udp(40000, 53));
  for (const opts of [{}, { seq: true }, { ext: [[0x10, 0x05]] }, { ext: [[1, 2], [3, 4, 5, 6, 7, 8]] }]) {
    const frame = eth(0x0800, ipv4('192.0.2.1', '192.0.2.2', 17, udp(2152, 2152, gtpu(0xdeadbeef, inner, opts))));
    const { info, bytes } = parse(frame);
    assert.equal(info.tunnel, TUNNEL_GTPU, JSON.stringify(opts));
    assert.equal(info.tunnelId, 0xdeadbeef);
    assert.equal(info.inner.version, 4);
    assert.deepEqual(addrAt(bytes, info.inner.src, 4), ip4('172.16.0.5'));
    assert.deepEqual([info.inner.proto, info.inner.srcPort, info.inner.dstPort], [17, 40000, 53], JSON.stringify(opts));
    assert.equal(info.innermost, info.inner);
  }
  const v6 = parse(eth(0x86dd, ipv6('2001:db8::a', '2001:db8::b', 17, udp(2152, 2152, gtpu(7, ipv6('fd00::1', 'fd00::2', 6, tcp(1, 2))))))).info;
  assert.deepEqual([v6.tunnel, v6.tunnelId, v6.inner.version, v6.inner.srcPort], [TUNNEL_GTPU, 7, 6, 1]);
});

test('GRE: checksum, key and sequence flags; inner IPv4, IPv6 and transparent Ethernet bridging', () => {
  const in4 = ipv4('10.9.0.1', '10.9.0.2', 6, tcp(5000, 22));
  for (const o of [{}, { key: 42 }, { key: 42, seq: 9 }, { csum: true, key: 7, seq: 1 }, { csum: true }]) {
    const { info, bytes } = parse(eth(0x0800, ipv4('1.0.0.1', '1.0.0.2', 47, gre(0x0800, in4, o))));
    assert.equal(info.tunnel, TUNNEL_GRE, JSON.stringify(o));
    assert.equal(info.hasTunnelId, o.key !== undefined);
    if (o.key !== undefined) assert.equal(info.tunnelId, o.key);
    assert.deepEqual(addrAt(bytes, info.inner.dst, 4), ip4('10.9.0.2'), JSON.stringify(o));
    assert.deepEqual([info.inner.srcPort, info.inner.dstPort], [5000, 22]);
  }
  const v6 = parse(eth(0x0800, ipv4('1.0.0.1', '1.0.0.2', 47, gre(0x86dd, ipv6('fd00::5', 'fd00::6', 17, udp(1, 2)))))).info;
  assert.deepEqual([v6.inner.version, v6.inner.dstPort], [6, 2]);
  const teb = parse(eth(0x0800, ipv4('1.0.0.1', '1.0.0.2', 47, gre(0x6558, eth(0x0800, in4, [[0x8100, 5]]), { key: 3 })))).info;
  assert.deepEqual([teb.tunnel, teb.innerEtherType, teb.inner.version, teb.inner.srcPort, teb.vlanCount], [TUNNEL_GRE, 0x0800, 4, 5000, 0]);
});

test('IP in IP is a tunnel with an inner layer', () => {
  const info = parse(eth(0x0800, ipv4('1.0.0.1', '1.0.0.2', 4, ipv4('10.0.0.1', '10.0.0.2', 17, udp(3, 4))))).info;
  assert.deepEqual([info.tunnel, info.inner.version, info.inner.dstPort], [TUNNEL_IPIP, 4, 4]);
});

test('every truncation of every frame kind parses without reading past the captured length', () => {
  const frames: Bytes[] = [
    flowFrame('10.0.0.1', '10.0.0.2', 1, 2, 6),
    eth(0x86dd, ipv6('::1', '::2', 17, udp(1, 2), [[0, [1]], [44, fragExt(0, true)]]), [[0x88a8, 1], [0x8100, 2]]),
    eth(0x0800, ipv4('1.0.0.1', '1.0.0.2', 17, udp(2152, 2152, gtpu(1, ipv4('9.9.9.9', '8.8.8.8', 6, tcp(7, 8)), { ext: [[1, 2, 3, 4, 5]] })))),
    eth(0x0800, ipv4('1.0.0.1', '1.0.0.2', 47, gre(0x6558, eth(0x86dd, ipv6('::5', '::6', 6, tcp(1, 2))), { csum: true, key: 1, seq: 2 }))),
  ];
  const info = new PacketInfo();
  for (const f of frames) {
    for (let len = 0; len <= f.length; len++) {
      // Garbage right after the cut: a parser that reads past it would find 0xee.
      const { bytes, off } = place(f.slice(0, len));
      parsePacket(bytes, off, len, info);
      const limit = off + len;
      for (const ip of [info.ip, info.inner]) {
        if (ip.version === 4) assert.ok(ip.dst + 4 <= limit, `len ${len}: IPv4 address past the end`);
        if (ip.version === 6) assert.ok(ip.dst + 16 <= limit, `len ${len}: IPv6 address past the end`);
        if (ip.hasPorts) assert.ok(ip.l4 + 4 <= limit, `len ${len}: ports past the end`);
        if (ip.hasPorts) assert.notEqual(ip.srcPort, 0xeeee);
      }
    }
    parsePacket(u8(f), 0, f.length, info);
    assert.equal(info.truncated, false, 'the whole frame is not truncated');
  }
  assert.equal(parsePacket(new Uint8Array(10), 0, 10, info), false);
  // Cut inside the TCP ports: IP is known, ports are not, and the cut is reported.
  const tcpFrame = flowFrame('10.0.0.1', '10.0.0.2', 1, 2, 6);
  parsePacket(u8(tcpFrame), 0, 14 + 20 + 3, info);
  assert.deepEqual([info.ip.version, info.ip.hasPorts, info.truncated], [4, false, true]);
});

test('the summary line names time, MACs, VLAN, addresses, ports, protocol, tunnel and lengths', () => {
  const frame = u8(eth(0x0800, ipv4('192.0.2.1', '192.0.2.2', 17, udp(2152, 2152, gtpu(0xab, ipv4('10.0.0.1', '10.0.0.2', 6, tcp(1234, 80))))), [[0x8100, 10]]));
  const line = formatSummary(frame, 0, frame.length, { sec: 1_700_000_000, nsec: 123, utc: true, port: 'eth0', wireLength: 200 });
  assert.equal(line, `22:13:20.000000123 [eth0] [02:00:00:00:00:0a -> 02:00:00:00:00:0b] [vlan 10] [IPv4] [192.0.2.1:2152 -> 192.0.2.2:2152] [UDP] [GTP-U teid=0xab inner [10.0.0.1:1234 -> 10.0.0.2:80] [TCP]] [caplen=${frame.length} len=200]`);
  const v6 = u8(flowFrame('2001:db8::1', '2001:db8:0:0:1::2', 5, 6, 6));
  assert.match(formatSummary(v6, 0, v6.length), /\[IPv6\] \[\[2001:db8::1\]:5 -> \[2001:db8::1:0:0:2\]:6\] \[TCP\]/);
  const arp = u8(eth(0x0806, new Array(28).fill(0)));
  assert.match(formatSummary(arp, 0, arp.length), /\[ARP\] \[caplen=42 len=42\]$/);
});
