// Sends test frames (raw-frames.ts) on an interface through a plain AF_PACKET
// socket, one sendto per frame: the independent peer for device RX tests and
// benchmarks. Run inside a namespace:
//   ip netns exec NS node dist/test/helpers/raw-send.js IFACE --sizes 60,61,... [--first SEQ]
//   ip netns exec NS node dist/test/helpers/raw-send.js IFACE --count N --size S [--seconds T]
// --vlan ID inserts an 802.1Q tag (TPID 0x8100) after the MAC addresses.
// Prints one JSON line: { sent, seconds }.
import { native } from '../../src/native/index.js';
import { testFrame } from './raw-frames.js';

const AF_PACKET = 17, SOCK_RAW = 3;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

const ifname = process.argv[2];
const ifindex = native.ifNameToIndex(ifname);
if (!ifindex) throw new Error(`no interface ${ifname}`);
const fd = native.socket(AF_PACKET, SOCK_RAW, 0);
const sll = new Uint8Array(20);
new DataView(sll.buffer).setUint16(0, AF_PACKET, true);
new DataView(sll.buffer).setInt32(4, ifindex, true);
native.bind(fd, sll);

const first = Number(arg('--first') ?? 0);
let sizes: number[];
if (arg('--sizes')) sizes = arg('--sizes')!.split(',').map(Number);
else sizes = new Array(Number(arg('--count') ?? 1)).fill(Number(arg('--size') ?? 60));
const vlan = arg('--vlan');
const frames = sizes.map((s, i) => {
  const f = testFrame(first + i, s);
  if (vlan === undefined) return f;
  const t = new Uint8Array(f.length + 4);
  t.set(f.subarray(0, 12), 0);
  t.set([0x81, 0x00, (Number(vlan) >> 8) & 0x0f, Number(vlan) & 0xff], 12);
  t.set(f.subarray(12), 16);
  return t;
});

function sendOne(f: Uint8Array): void {
  for (;;) {
    const r = native.sendto(fd, f, 0, null);
    if (r >= 0) return;
    native.poll(fd, 4 /* POLLOUT */, 10); // ENOBUFS/EAGAIN: the device queue is full, retry
  }
}

const t0 = process.hrtime.bigint();
let sent = 0;
const seconds = Number(arg('--seconds') ?? 0);
if (seconds > 0) {
  // repeat the frame list until the time is up (benchmarks)
  const end = t0 + BigInt(Math.round(seconds * 1e9));
  while (process.hrtime.bigint() < end) for (const f of frames) { sendOne(f); sent++; }
} else {
  for (const f of frames) { sendOne(f); sent++; }
}
const dt = Number(process.hrtime.bigint() - t0) / 1e9;
native.close(fd);
process.stdout.write(JSON.stringify({ sent, seconds: dt }) + '\n');
