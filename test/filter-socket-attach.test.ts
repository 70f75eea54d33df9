// The kernel back-end over a real veth pair: AF_PACKET sockets on the host end,
// each with a filter attached (SO_ATTACH_FILTER) before bind, receive exactly
// the frames libpcap accepts, in order, when the namespace end sends the
// packet corpus.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native } from '../src/native/index.js';
import { pcapCompile, pcapFilter } from '../src/filter/pcap.js';
import { attachToSocket, detachFromSocket, REJECT_ALL } from '../src/filter/socket.js';
import { FilterAttachError } from '../src/errors.js';
import { withVethPair } from './helpers/netns.js';
import { needNetns } from './helpers/env.js';
import { buildPacketCorpus } from './helpers/filter-packets.js';
import { bindAll, drain, hex, packetSocket, sendFromPeer } from './helpers/filter-wire.js';

const skip = needNetns() ?? false;

// A subset keeps the run short: one socket per expression, one pass of the corpus.
const SUBSET = [
  'tcp port 80', 'host 10.0.0.1 and (port 80 or port 443)', 'udp', 'arp', 'ip6 and tcp', 'icmp or icmp6',
  'tcp[tcpflags] & tcp-syn != 0', 'len > 100', 'ether multicast', 'not ip', 'ip[6:2] & 0x1fff != 0',
  'tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420', 'net 192.168.1.0/24 or dst portrange 1-1023', 'ether[len - 1] = 0',
];

// The kernel moves 802.1Q tags into skb metadata before packet sockets see a
// frame (so their filters see the untagged frame; see src/filter/socket.ts),
// and a veth cannot carry a frame shorter than an Ethernet header.
const frames = buildPacketCorpus()
  .filter((p) => p.bytes.length >= 14 && !p.name.startsWith('vlan') && !(p.bytes[12] === 0x81 && p.bytes[13] === 0x00)
    && !(p.bytes[12] === 0x88 && p.bytes[13] === 0xa8))
  .map((p) => p.bytes);

test('AF_PACKET sockets with SO_ATTACH_FILTER receive exactly the frames libpcap accepts (veth)', { skip }, async () => {
  await withVethPair(async (pair) => {
    const ifindex = native.ifNameToIndex(pair.host);
    const programs = SUBSET.map((e) => pcapCompile(e));
    const fds = programs.map((p) => {
      const fd = packetSocket();
      attachToSocket(fd, p); // before bind: no unfiltered frame can slip in
      bindAll(fd, ifindex);
      return fd;
    });
    const control = packetSocket(); // no filter: proves every frame crossed the wire
    bindAll(control, ifindex);
    try {
      sendFromPeer(pair, frames);
      const all = drain(control, frames.length);
      assert.deepEqual(all.map(hex), frames.map(hex), 'the unfiltered socket saw every frame unchanged');
      programs.forEach((p, k) => {
        const want = frames.filter((f) => pcapFilter(p, f) !== 0).map(hex);
        const got = drain(fds[k]!, want.length).map(hex);
        assert.ok(want.length > 0 && want.length < frames.length, `"${SUBSET[k]}" splits the corpus (${want.length}/${frames.length})`);
        assert.deepEqual(got, want, `"${SUBSET[k]}"`);
      });
    } finally {
      for (const fd of [...fds, control]) native.close(fd);
    }
  });
});

test('replacing and detaching a socket filter take effect on the next frames (veth)', { skip }, async () => {
  await withVethPair(async (pair) => {
    const fd = packetSocket();
    try {
      attachToSocket(fd, REJECT_ALL);
      bindAll(fd, native.ifNameToIndex(pair.host));
      sendFromPeer(pair, frames.slice(0, 20));
      assert.equal(drain(fd, 0, 150).length, 0, 'reject-all lets nothing through');
      const udp = pcapCompile('udp');
      attachToSocket(fd, udp); // reload
      sendFromPeer(pair, frames);
      const want = frames.filter((f) => pcapFilter(udp, f) !== 0).map(hex);
      assert.deepEqual(drain(fd, want.length).map(hex), want);
      detachFromSocket(fd);
      sendFromPeer(pair, frames.slice(0, 30));
      assert.equal(drain(fd, 30).length, 30, 'without a filter everything arrives');
      assert.throws(() => detachFromSocket(fd), (e: unknown) => e instanceof FilterAttachError && e.errno === 'ENOENT');
    } finally {
      native.close(fd);
    }
  });
});

test('a locked filter cannot be replaced (SO_LOCK_FILTER)', { skip: needNetns() ?? false }, () => {
  const fd = packetSocket();
  try {
    attachToSocket(fd, pcapCompile('tcp'), { lock: true });
    assert.throws(() => attachToSocket(fd, pcapCompile('udp')), (e: unknown) => e instanceof FilterAttachError && e.errno === 'EPERM' && /locked/.test(e.message));
  } finally {
    native.close(fd);
  }
});

test('packet-socket filters see 802.1Q frames untagged, as documented (veth)', { skip }, async () => {
  const tagged = buildPacketCorpus().filter((p) => p.name.startsWith('vlan1-') && !p.name.includes('cut')).map((p) => p.bytes);
  await withVethPair(async (pair) => {
    const ifindex = native.ifNameToIndex(pair.host);
    const vlan = packetSocket(), notVlan = packetSocket();
    try {
      attachToSocket(vlan, pcapCompile('vlan'));
      attachToSocket(notVlan, pcapCompile('not vlan'));
      bindAll(vlan, ifindex);
      bindAll(notVlan, ifindex);
      sendFromPeer(pair, tagged);
      assert.ok(tagged.every((f) => pcapFilter(pcapCompile('vlan'), f) !== 0), 'libpcap matches the tagged frames');
      assert.equal(drain(vlan, 0, 150).length, 0, 'the kernel filter never sees the tag');
      const got = drain(notVlan, tagged.length);
      const untag = (f: Uint8Array): Uint8Array => Uint8Array.from([...f.subarray(0, 12), ...f.subarray(16)]);
      assert.deepEqual(got.map(hex), tagged.map((f) => hex(untag(f))));
    } finally {
      native.close(vlan);
      native.close(notVlan);
    }
  });
});
