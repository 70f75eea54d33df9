// The XDP back-end attached for real (BPF_LINK_CREATE on the host end of a
// veth pair): frames the filter rejects are dropped by XDP_DROP — counted in
// the driver's xdp_drops — and never reach an AF_PACKET socket; accepted ones
// arrive unchanged (but for the VLAN tag the stack moves to metadata).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { native } from '../src/native/index.js';
import { pcapCompile, pcapFilter } from '../src/filter/pcap.js';
import { buildXdpFilterProgram, XDP } from '../src/filter/xdp.js';
import { attachXdpLink, loadXdpProgram } from '../src/filter/xdp-load.js';
import { withVethPair } from './helpers/netns.js';
import { firstOf, needNetns, needTool } from './helpers/env.js';
import { buildPacketCorpus } from './helpers/filter-packets.js';
import { bindAll, drain, hex, packetSocket, sendFromPeer } from './helpers/filter-wire.js';

const skip = firstOf(needNetns(), needTool('/usr/sbin/ethtool', 'ethtool'));
const SUBSET = ['tcp port 80', 'vlan 100 and tcp', 'ip6 and udp', 'arp or icmp', 'not (port 22 or port 53)'];
const frames = buildPacketCorpus().filter((p) => p.bytes.length >= 14).map((p) => p.bytes);

/**
 * What a packet socket shows for a frame XDP passed: the stack moves the outer
 * 802.1Q/802.1ad tag to metadata (skb_vlan_untag), and drops a tagged frame
 * shorter than 20 bytes (it pulls VLAN_HLEN + 2 bytes past the Ethernet
 * header) — after XDP, so that is not a filter decision nor an XDP drop (null).
 */
function asDelivered(f: Uint8Array): Uint8Array | null {
  const tpid = (f[12]! << 8) | f[13]!;
  if (tpid !== 0x8100 && tpid !== 0x88a8) return f;
  return f.length < 20 ? null : Uint8Array.from([...f.subarray(0, 12), ...f.subarray(16)]);
}

function xdpDrops(ifname: string): number {
  const m = /rx_queue_0_xdp_drops: (\d+)/.exec(execFileSync('ethtool', ['-S', ifname], { encoding: 'utf8' }));
  if (!m) throw new Error(`ethtool -S ${ifname} has no rx_queue_0_xdp_drops`);
  return Number(m[1]);
}

test('XDP filter attached on a veth drops exactly the frames libpcap rejects; the rest reach AF_PACKET', { skip }, async () => {
  await withVethPair(async (pair) => {
    const ifindex = native.ifNameToIndex(pair.host);
    const sock = packetSocket();
    bindAll(sock, ifindex);
    try {
      for (const expr of SUBSET) {
        const prog = pcapCompile(expr);
        const fd = loadXdpProgram(buildXdpFilterProgram(prog, { onAccept: XDP.PASS, onReject: XDP.DROP }), { name: 'rz_filter_test' });
        const link = attachXdpLink(fd, ifindex);
        try {
          const accepted = frames.filter((f) => pcapFilter(prog, f) !== 0);
          assert.ok(accepted.length > 0 && accepted.length < frames.length, `"${expr}" splits the corpus`);
          const before = xdpDrops(pair.host);
          sendFromPeer(pair, frames);
          const delivered = accepted.map(asDelivered).filter((f): f is Uint8Array => f !== null);
          const got = drain(sock, delivered.length);
          assert.deepEqual(got.map(hex), delivered.map(hex), `"${expr}": frames reaching AF_PACKET`);
          assert.equal(xdpDrops(pair.host) - before, frames.length - accepted.length, `"${expr}": XDP_DROP count`);
        } finally {
          native.close(link);
          native.close(fd);
        }
      }
      // detached: everything arrives again
      sendFromPeer(pair, frames.slice(0, 25));
      assert.equal(drain(sock, 25).length, 25);
    } finally {
      native.close(sock);
    }
  });
});
