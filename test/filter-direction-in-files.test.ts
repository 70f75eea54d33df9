// inbound / outbound / ifindex on capture files, as tcpdump -r has them:
// an Ethernet capture carries no direction, and libpcap refuses the
// primitive there; a Linux cooked capture (SLL, SLL2) has it in its header,
// where libpcap's filter reads it. count -i pcap:FILE refuses and matches
// exactly where tcpdump -r does, and its refusal says why and what to do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eth, ipv4, udp } from './helpers/filter-packets.js';
import { buildPcap } from './helpers/pcap-gen.js';
import { BIN } from './helpers/cli.js';
import { needTool } from './helpers/env.js';

const IP = ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17 }, udp(53, 53, [1, 2, 3, 4]));
const be16 = (v: number): number[] => [v >> 8, v & 255];
const be32 = (v: number): number[] => [...be16(v >>> 16), ...be16(v & 0xffff)];
const MAC = [2, 0, 0, 0, 0, 1, 0, 0];
/** (packet type, interface index) per packet: to us, sent by us, broadcast, sent, another host's */
const PACKETS: Array<[number, number]> = [[0, 1], [4, 2], [1, 2], [4, 3], [3, 2]];

const FILES: Record<string, { linkType: number; frame: (pkttype: number, ifindex: number) => number[] }> = {
  ethernet: { linkType: 1, frame: () => eth('66:77:88:99:aa:bb', '00:11:22:33:44:55', 0x0800, IP) },
  // LINUX_SLL: packet type, ARPHRD type, address length, address (8), protocol
  sll: { linkType: 113, frame: (t) => [...be16(t), ...be16(1), ...be16(6), ...MAC, ...be16(0x0800), ...IP] },
  // LINUX_SLL2: protocol, reserved, interface index, ARPHRD type, packet type, address length, address (8)
  sll2: { linkType: 276, frame: (t, i) => [...be16(0x0800), 0, 0, ...be32(i), ...be16(1), t, 6, ...MAC, ...IP] },
};
const EXPRS = ['inbound', 'outbound', 'ifindex 2', 'udp and inbound', 'not outbound'];

test('count -i pcap:FILE refuses inbound/outbound/ifindex where tcpdump -r does, and matches what it matches elsewhere', { skip: needTool('/usr/bin/tcpdump', 'tcpdump') || false }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'rz-direction-'));
  let refused = 0, matched = 0;
  try {
    for (const [kind, f] of Object.entries(FILES)) {
      const file = join(dir, `${kind}.pcap`);
      writeFileSync(file, buildPcap(PACKETS.map(([t, i], n) => ({ data: Uint8Array.from(f.frame(t, i)), sec: 1_700_000_000 + n, nsec: 0 })), { linkType: f.linkType }));
      for (const expr of EXPRS) {
        const theirs = spawnSync('tcpdump', ['-r', file, '-n', expr], { encoding: 'utf8', timeout: 30_000 });
        const ours = spawnSync(process.execPath, [BIN, 'count', '-i', `pcap:${file}`, '--json', '-q', expr], { encoding: 'utf8', timeout: 30_000 });
        const what = `${kind} file, "${expr}": tcpdump -r says ${theirs.status === 0 ? 'ok' : theirs.stderr.trim().split('\n').pop()}`;
        if (theirs.status === 0) {
          assert.equal(ours.status, 0, `${what}; ringzero: ${ours.stderr}`);
          assert.equal(JSON.parse(ours.stdout).packets, theirs.stdout.split('\n').filter((l) => l !== '').length, what);
          matched++;
        } else {
          assert.equal(ours.status, 1, what);
          assert.match(ours.stderr, /\[ERR_RINGZERO_FILTER_UNSUPPORTED\]/, what);
          assert.match(ours.stderr, /tcpdump -r refuses the primitive on such captures too/, what);
          assert.match(ours.stderr, /LINUX_SLL2, e\.g\. tcpdump -i any -y LINUX_SLL2 -w FILE/, what);
          refused++;
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // both outcomes were met (on this libpcap: Ethernet refused, cooked captures matched)
  assert.ok(refused > 0 && matched > 0, `${refused} refused, ${matched} matched`);
});
