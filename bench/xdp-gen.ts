// A traffic generator that hands frames to a veth the way a NIC driver with
// XDP does: as page-pool XDP frames, not as socket buffers. It is the method
// of xdp-trafficgen (xdp-tools): the kernel runs a one-instruction XDP
// program (`return XDP_TX`) over a frame again and again in
// BPF_PROG_TEST_RUN's live-frames mode (BPF_F_TEST_XDP_LIVE_FRAMES, Linux
// 5.18+, kernel/bpf/test_run.c), and each XDP_TX becomes a redirect out of
// the "ingress" interface, so the frames leave through the interface's
// ndo_xdp_xmit. On a veth that hands them to the other end's NAPI (which
// exists when that end has an XDP program or GRO on).
//
// Why not xdp-trafficgen itself: the Debian 12 build (xdp-tools 1.3.1) fails
// to start on Linux 6.x (it probes a tracepoint that no longer exists).
//
// Why at all: trafgen, tcpreplay and every socket-based sender hand veth
// socket buffers whose data sits in page fragments with little headroom, and
// veth's XDP path first copies each into a page of its own
// (skb_pp_cow_data) before any XDP program sees it: a copy a real NIC never
// makes. Frames from this generator reach the far end's XDP program as a NIC
// would deliver them, and the network stack (AF_PACKET) after veth has built
// a socket buffer around them, as a NIC driver does.
//
//   ip netns exec NS taskset -c 0 node dist/bench/xdp-gen.js IFACE
// Sends bench/rx.ts benchFrame() out of IFACE until SIGINT or SIGTERM.
import { readFileSync } from 'node:fs';
import { native } from '../src/native/index.js';
import { EbpfAssembler } from '../src/devices/xdp/program.js';
import { loadXdpProgram } from '../src/devices/xdp/bpf.js';
import { ifindexOf } from '../src/devices/iface.js';
import { benchFrame } from './harness.js';

const BPF_PROG_TEST_RUN = 10;
const BPF_F_TEST_XDP_LIVE_FRAMES = 1 << 1;
const XDP_TX = 3;
/** frames per syscall: the kernel checks for signals between its batches of 64 */
const REPEAT = 1 << 20;

function testRunAttr(progFd: number, frame: Uint8Array, ctx: Uint8Array): [Uint8Array, Array<[number, Uint8Array]>] {
  const attr = new Uint8Array(128);
  const v = new DataView(attr.buffer);
  // union bpf_attr, BPF_PROG_TEST_RUN part (include/uapi/linux/bpf.h)
  v.setUint32(0, progFd, true); // prog_fd
  v.setUint32(8, frame.length, true); // data_size_in
  v.setUint32(32, REPEAT, true); // repeat
  v.setUint32(40, ctx.length, true); // ctx_size_in
  v.setUint32(64, BPF_F_TEST_XDP_LIVE_FRAMES, true); // flags
  return [attr, [[16, frame], [48, ctx]]]; // data_in, ctx_in
}

function main(): void {
  const ifname = process.argv[2];
  if (!ifname) throw new Error('usage: xdp-gen IFACE');
  const prog = loadXdpProgram(new EbpfAssembler().movImm(0, XDP_TX).exit().bytes());
  const frame = benchFrame();
  // struct xdp_md: data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex
  const ctx = new Uint8Array(24);
  const cv = new DataView(ctx.buffer);
  cv.setUint32(4, frame.length, true);
  cv.setUint32(12, ifindexOf(ifname), true);
  let stop = false;
  const end = () => { stop = true; };
  process.on('SIGINT', end);
  process.on('SIGTERM', end);
  const [attr, patches] = testRunAttr(prog, frame, ctx);
  // A probe of 64 frames first, so a kernel without live frames (< 5.18) or
  // a veth end that takes no XDP frames fails here, by name, before the bench
  // counts anything. The kernel drops frames the driver refuses without
  // failing the call, so the interface's tx_packets counter says whether any left.
  const [probe, probePatches] = testRunAttr(prog, frame, ctx);
  new DataView(probe.buffer).setUint32(32, 64, true);
  const txPackets = () => Number(readFileSync(`/sys/class/net/${ifname}/statistics/tx_packets`, 'utf8'));
  const before = txPackets();
  try {
    native.bpf(BPF_PROG_TEST_RUN, probe, probePatches);
  } catch (e) {
    throw new Error(`xdp-gen: BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES on ${ifname} failed (${(e as Error).message}); ` +
      'it needs Linux 5.18 or later, CAP_BPF + CAP_NET_ADMIN, and an interface whose driver sends XDP frames (ndo_xdp_xmit)');
  }
  if (txPackets() === before) {
    throw new Error(`xdp-gen: ${ifname} sent none of 64 probe frames: on a veth, the other end takes XDP frames only ` +
      'with GRO on (ethtool -K PEER gro on) or an XDP program attached');
  }
  process.stdout.write('running\n');
  // Each call sends up to REPEAT frames; a signal cuts it short (EINTR), and
  // the handler runs once control is back in JS.
  const loop = () => {
    const until = Date.now() + 200;
    while (!stop && Date.now() < until) {
      try {
        native.bpf(BPF_PROG_TEST_RUN, attr, patches);
      } catch (e) {
        if ((e as { code?: string }).code !== 'EINTR') throw e;
      }
    }
    if (stop) process.exit(0);
    setImmediate(loop);
  };
  loop();
}

try {
  main();
} catch (e) {
  console.error((e as Error).message);
  process.exit(1);
}
