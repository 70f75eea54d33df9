// Captures test frames (raw-frames.ts) arriving on an interface through a plain
// AF_PACKET socket (incoming only): the independent peer for device TX tests.
//   ip netns exec NS node dist/test/helpers/raw-recv.js IFACE --count N [--timeout MS]
// Writes "ready\n" to stderr once bound, then one JSON line on stdout:
// { frames: [hex, ...] } in arrival order (only frames with the test ethertype).
import { native } from '../../src/native/index.js';
import { testSeq } from './raw-frames.js';

const AF_PACKET = 17, SOCK_RAW = 3, SOL_PACKET = 263, PACKET_IGNORE_OUTGOING = 23;
const ETH_P_ALL_BE = 0x0300; // htons(ETH_P_ALL) as the protocol argument

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

const ifname = process.argv[2];
const want = Number(arg('--count') ?? 1);
const timeout = Number(arg('--timeout') ?? 10000);
const ifindex = native.ifNameToIndex(ifname);
if (!ifindex) throw new Error(`no interface ${ifname}`);
const fd = native.socket(AF_PACKET, SOCK_RAW, ETH_P_ALL_BE);
native.setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, new Uint8Array(Int32Array.of(1).buffer));
// a burst of full-size frames must not overflow the socket while this script is busy
const SOL_SOCKET = 1, SO_RCVBUFFORCE = 33;
native.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, new Uint8Array(Int32Array.of(64 << 20).buffer));
const sll = new Uint8Array(20);
const v = new DataView(sll.buffer);
v.setUint16(0, AF_PACKET, true);
v.setUint16(2, 0x0003, false);
v.setInt32(4, ifindex, true);
native.bind(fd, sll);
process.stderr.write('ready\n');

const buf = new Uint8Array(65536);
const frames: string[] = [];
const end = Date.now() + timeout;
while (frames.length < want && Date.now() < end) {
  if (native.poll(fd, 1, Math.max(1, Math.min(100, end - Date.now()))) === 0) continue;
  const n = native.recv(fd, buf, 0x40 /* MSG_DONTWAIT */);
  if (n <= 0) continue;
  const f = buf.subarray(0, n);
  if (testSeq(f) >= 0) frames.push(Buffer.from(f).toString('hex'));
}
native.close(fd);
process.stdout.write(JSON.stringify({ frames }) + '\n');
