#!/usr/bin/env node
// Installs the Debian packages that the tests, the demo or the benchmarks use,
// when they are missing. Idempotent: it only calls apt-get for what is absent.
// As root it installs; otherwise it prints the exact command and carries on
// (tests that need a missing tool skip with a visible reason).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const NEEDS = {
  // package -> a file that proves it is installed
  test: {
    iproute2: '/usr/sbin/ip', 'libpcap0.8': ['/usr/lib/x86_64-linux-gnu/libpcap.so.0.8', '/usr/lib/aarch64-linux-gnu/libpcap.so.0.8'],
    tcpdump: '/usr/bin/tcpdump', tshark: '/usr/bin/tshark', 'util-linux': '/usr/bin/setpriv', procps: '/usr/bin/ps',
    // ethtool: XDP drop counters; xdp-tools: a foreign XDP program for the "interface already has one" case
    ethtool: '/usr/sbin/ethtool', 'xdp-tools': '/usr/sbin/xdp-loader',
    // the ivshmem VM tests; the guest kernel and busybox-static are fetched by scripts/vm-image.mjs (apt-get download)
    'qemu-system-x86': '/usr/bin/qemu-system-x86_64',
  },
  demo: { iproute2: '/usr/sbin/ip' },
  bench: {
    iproute2: '/usr/sbin/ip', tcpdump: '/usr/bin/tcpdump', 'netsniff-ng': '/usr/sbin/netsniff-ng',
    tcpreplay: '/usr/bin/tcpreplay', 'dpdk-dev': '/usr/bin/dpdk-testpmd', 'xdp-tools': '/usr/sbin/xdp-bench',
    // ethtool: GRO on the receiving veth for the RX bench's XDP generator
    ethtool: '/usr/sbin/ethtool',
    'libpcap0.8': ['/usr/lib/x86_64-linux-gnu/libpcap.so.0.8', '/usr/lib/aarch64-linux-gnu/libpcap.so.0.8'],
  },
};

const which = process.argv[2] ?? 'test';
const wanted = NEEDS[which];
if (!wanted) {
  console.error(`setup-deps: unknown set '${which}' (use one of ${Object.keys(NEEDS).join(', ')})`);
  process.exit(2);
}
const missing = Object.entries(wanted)
  .filter(([, files]) => ![files].flat().some((f) => existsSync(f)))
  .map(([pkg]) => pkg);

if (missing.length === 0) process.exit(0);
const cmd = `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${missing.join(' ')}`;
if (process.getuid?.() !== 0) {
  console.warn(`setup-deps: missing Debian packages for ${which}: ${missing.join(', ')}\n  install them as root with: ${cmd}\n  (tests that need them will be skipped with a reason)`);
  process.exit(0);
}
console.log(`setup-deps: installing ${missing.join(', ')} ...`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
// tshark asks whether non-root users may capture; answer no, without a prompt.
spawnSync('sh', ['-c', 'echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections'], { stdio: 'ignore' });
try {
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
} catch (e) {
  console.warn(`setup-deps: apt-get failed (${e.message}); install by hand: ${cmd}`);
}
