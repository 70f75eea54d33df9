// Every way opening a device can fail has its own stable code and a message
// that names the cause and the fix; a failed open leaves nothing behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Cluster } from '../src/zc/index.js';
import { EbpfAssembler, openDevice, parseDeviceName } from '../src/devices/index.js';
import { PcapDevice } from '../src/devices/pcap.js';
import { firstOf, needNetns, needTool } from './helpers/env.js';
import { withVethPair } from './helpers/netns.js';
import { drainDevice, helper, peerSend, runNode } from './helpers/raw-peer.js';
import { removeRegionsOf, testClusterId } from './helpers/zc-procs.js';

const skip = firstOf(needNetns());
const XDP_OBJ = '/usr/lib/x86_64-linux-gnu/bpf/xdpfilt_alw_all.o';
const hasXdp = (ifname: string) => /prog\/xdp/.test(execFileSync('ip', ['-d', 'link', 'show', ifname], { encoding: 'utf8' }));

function withCluster<T>(fn: (c: Cluster, pool: ReturnType<Cluster['pool']>) => T): T {
  const c = Cluster.create({ id: testClusterId(), buffers: 4096, hugepages: 'never' });
  try {
    return fn(c, c.pool());
  } finally {
    c.close();
  }
}

function rejects(fn: () => unknown, code: string, ...words: Array<string | RegExp>): void {
  assert.throws(fn, (e: any) => {
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    for (const w of words) assert.match(e.message, typeof w === 'string' ? new RegExp(w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : w);
    return true;
  });
}

test('device names parse to AF_XDP (zc:IFACE[@Q]) or AF_PACKET (IFACE); malformed names are refused', () => {
  assert.deepEqual(parseDeviceName('eth0'), { kind: 'packet', ifname: 'eth0' });
  assert.deepEqual(parseDeviceName('zc:eth0'), { kind: 'xdp', ifname: 'eth0', queue: undefined });
  assert.deepEqual(parseDeviceName('zc:eth0@3'), { kind: 'xdp', ifname: 'eth0', queue: 3 });
  rejects(() => parseDeviceName('eth0@1'), 'ERR_RINGZERO_INVALID_ARGUMENT', 'zc:eth0@1');
  rejects(() => parseDeviceName('zc:'), 'ERR_RINGZERO_INVALID_ARGUMENT', 'zc:IFACE');
  rejects(() => parseDeviceName('zc:a-very-long-interface-name'), 'ERR_RINGZERO_INVALID_ARGUMENT');
  withCluster((c, pool) => {
    rejects(() => new PcapDevice('pcap:', '', { memory: c.memory, source: pool }), 'ERR_RINGZERO_INVALID_ARGUMENT', 'pcap:FILE', 'pcap:-');
  });
});

test('an unknown interface is refused with the list of interfaces that exist', () => {
  withCluster((c, pool) => {
    for (const name of ['rznosuch0', 'zc:rznosuch0', 'zc:rznosuch0@1']) {
      rejects(() => openDevice(name, { memory: c.memory, source: pool }), 'ERR_RINGZERO_NO_SUCH_INTERFACE', "'rznosuch0'", /interfaces here: .*\blo\b/);
    }
    assert.equal(pool.available, 4096);
  });
});

test('a queue the interface does not have is refused with the valid range', { skip }, async () => {
  await withVethPair((pair) => withCluster((c, pool) => {
    rejects(() => openDevice(`zc:${pair.host}@3`, { memory: c.memory, source: pool }), 'ERR_RINGZERO_QUEUE_OUT_OF_RANGE', 'has 1 RX queue', `zc:${pair.host}@0`);
    assert.equal(hasXdp(pair.host), false);
  }));
});

test('the queue hint says how this interface gets more queues: veth has no combined channels, its maximum is set at creation', { skip: firstOf(needNetns(), needTool('/usr/sbin/ethtool', 'ethtool')) }, async () => {
  await withVethPair((pair) => withCluster((c, pool) => {
    const open = (q: number) => () => openDevice(`zc:${pair.host}@${q}`, { memory: c.memory, source: pool });
    rejects(open(4), 'ERR_RINGZERO_QUEUE_OUT_OF_RANGE', 'has 4 RX queues', `${pair.host}'s driver allows at most 4 RX queues`, 'numrxqueues N');
    execFileSync('ethtool', ['-L', pair.host, 'rx', '2']);
    rejects(open(3), 'ERR_RINGZERO_QUEUE_OUT_OF_RANGE', 'has 2 RX queues', `'ethtool -L ${pair.host} rx 4' adds it (up to 4`);
    assert.throws(open(3), (e: Error) => !/combined/.test(e.message));
    assert.equal(hasXdp(pair.host), false);
  }), { queues: 4 });
});

test('an interface that already runs a foreign XDP program is refused, naming how to remove it', { skip: firstOf(needNetns(), needTool(XDP_OBJ, 'xdp-tools')) }, async () => {
  await withVethPair((pair) => withCluster((c, pool) => {
    execFileSync('ip', ['link', 'set', 'dev', pair.host, 'xdpgeneric', 'obj', XDP_OBJ, 'sec', 'xdp']);
    for (const xdpAttach of ['auto', 'generic'] as const) {
      rejects(() => openDevice(`zc:${pair.host}`, { memory: c.memory, source: pool, xdpAttach }),
        'ERR_RINGZERO_XDP_PROGRAM_EXISTS', 'already has an XDP program', 'xdp off', `'${pair.host}' (AF_PACKET)`);
    }
    assert.equal(pool.available, 4096, 'no buffer stuck in a half-open device');
    execFileSync('ip', ['link', 'set', 'dev', pair.host, 'xdpgeneric', 'off']);
    openDevice(`zc:${pair.host}`, { memory: c.memory, source: pool }).close();
  }));
});

test('a queue whose zc: device another process holds is refused as busy, and the holder keeps its program', { skip }, async () => {
  await withVethPair(async (pair) => {
    const child = spawn(process.execPath, [helper('raw-device-child.js'), `zc:${pair.host}`, '--hold'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise((r) => child.stdout.once('data', r));
      withCluster((c, pool) => {
        // The other process's program is ringzero's own: joined (device-shared-xdp.test.ts), then the bind finds queue 0 taken.
        rejects(() => openDevice(`zc:${pair.host}`, { memory: c.memory, source: pool }), 'ERR_RINGZERO_DEVICE_BUSY', `${pair.host} queue 0`, 'another queue');
        assert.equal(pool.available, 4096);
      });
      assert.ok(hasXdp(pair.host), "the failed open left the holder's program attached");
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
      removeRegionsOf(child.pid!);
    }
  });
});

test('native XDP on a veth with MTU 9000 is refused with ERR_RINGZERO_XDP_MTU_TOO_LARGE; generic XDP works', { skip }, async () => {
  await withVethPair((pair) => withCluster((c, pool) => {
    rejects(() => openDevice(`zc:${pair.host}`, { memory: c.memory, source: pool }), 'ERR_RINGZERO_XDP_MTU_TOO_LARGE', 'mtu 1500', "xdpAttach: 'generic'");
    assert.equal(hasXdp(pair.host), false);
    assert.equal(pool.available, 4096);
    const dev = openDevice(`zc:${pair.host}`, { memory: c.memory, source: pool, xdpAttach: 'generic' });
    try {
      assert.equal((dev as any).xdpAttach, 'generic');
      peerSend(pair, ['--sizes', '60,9000']);
      const got = drainDevice(dev, c.memory, pool, 1, 2000);
      assert.equal(got.length, 1, 'the 60-byte frame arrives; 9000 bytes do not fit a 2048-byte buffer');
    } finally {
      dev.close();
    }
  }), { mtu: 9000 });
});

test('requiring zero-copy on a driver without it fails with ERR_RINGZERO_ZEROCOPY_UNSUPPORTED', { skip }, async () => {
  await withVethPair((pair) => withCluster((c, pool) => {
    rejects(() => openDevice(`zc:${pair.host}`, { memory: c.memory, source: pool, xdpBind: 'zero-copy' }), 'ERR_RINGZERO_ZEROCOPY_UNSUPPORTED', "'copy'");
    assert.equal(hasXdp(pair.host), false, 'the program attached before the bind was detached again');
    assert.equal(pool.available, 4096);
  }));
});

test('a filter the verifier rejects fails with ERR_RINGZERO_BPF_REJECTED carrying the verifier log', { skip }, async () => {
  await withVethPair((pair) => withCluster((c, pool) => {
    // reads far past struct xdp_md: the verifier refuses the context access
    const bad = new EbpfAssembler().loadWord(0, 1, 4000).exit().bytes();
    assert.throws(() => openDevice(`zc:${pair.host}`, { memory: c.memory, source: pool, xdpFilter: bad }), (e: any) => {
      assert.equal(e.code, 'ERR_RINGZERO_BPF_REJECTED');
      assert.match(e.log, /invalid bpf_context access|invalid/);
      assert.match(e.message, /verifier log/);
      return true;
    });
    assert.equal(hasXdp(pair.host), false);
  }));
});

test('a queue already bound in this process is busy; the failed open leaves the first device working', { skip }, async () => {
  await withVethPair((pair) => withCluster((c, pool) => {
    const first = openDevice(`zc:${pair.host}@0`, { memory: c.memory, source: pool });
    try {
      rejects(() => openDevice(`zc:${pair.host}@0`, { memory: c.memory, source: pool }), 'ERR_RINGZERO_DEVICE_BUSY', 'queue 0');
      peerSend(pair, ['--count', '3', '--size', '60']);
      assert.equal(drainDevice(first, c.memory, pool, 3).length, 3, 'the first device still receives');
    } finally {
      first.close();
    }
    assert.equal(hasXdp(pair.host), false, 'the shared program went away with its last user');
    assert.equal(pool.available, 4096);
  }));
});

test('a closed device refuses to be used with ERR_RINGZERO_DEVICE_CLOSED and closes twice harmlessly', { skip }, async () => {
  await withVethPair((pair) => withCluster((c, pool) => {
    for (const name of [`zc:${pair.host}`, pair.host]) {
      const dev = openDevice(name, { memory: c.memory, source: pool });
      dev.close();
      dev.close();
      rejects(() => dev.recvBurst(new Uint32Array(8), 8), 'ERR_RINGZERO_DEVICE_CLOSED');
      rejects(() => dev.sendBurst(new Uint32Array(8), 0), 'ERR_RINGZERO_DEVICE_CLOSED');
      assert.equal(dev.stats().received, 0);
    }
  }));
});

// --- privileges: a child process with capabilities dropped -----------------
const SETPRIV = existsSync('/usr/bin/setpriv') ? '/usr/bin/setpriv' : '/bin/setpriv';
const PRLIMIT = existsSync('/usr/bin/prlimit') ? '/usr/bin/prlimit' : '/bin/prlimit';
const privSkip = firstOf(needNetns(), needTool(SETPRIV, 'util-linux'), needTool(PRLIMIT, 'util-linux'));

async function openInChild(device: string, wrap: string[], args: string[] = []): Promise<any> {
  const r = await runNode([helper('raw-device-child.js'), device, ...args], { wrap });
  assert.ok(r.out.trim(), `child printed nothing (exit ${r.code}): ${r.err}`);
  return JSON.parse(r.out.trim().split('\n').pop()!);
}
const drop = (caps: string) => [SETPRIV, '--inh-caps=-all', '--ambient-caps=-all', `--bounding-set=${caps}`];

test('without CAP_NET_RAW both device kinds fail with ERR_RINGZERO_PERMISSION_DENIED naming CAP_NET_RAW', { skip: privSkip }, async () => {
  await withVethPair(async (pair) => {
    for (const dev of [pair.host, `zc:${pair.host}`]) {
      const r = await openInChild(dev, drop('-net_raw'));
      assert.equal(r.error, 'ERR_RINGZERO_PERMISSION_DENIED', JSON.stringify(r));
      assert.equal(r.capability, 'CAP_NET_RAW');
      assert.match(r.message, /setcap/);
    }
    assert.equal(hasXdp(pair.host), false);
  });
});

test('without CAP_BPF and CAP_SYS_ADMIN a zc: device fails with ERR_RINGZERO_PERMISSION_DENIED naming CAP_BPF', { skip: privSkip }, async () => {
  await withVethPair(async (pair) => {
    const r = await openInChild(`zc:${pair.host}`, drop('-bpf,-sys_admin'));
    assert.equal(r.error, 'ERR_RINGZERO_PERMISSION_DENIED', JSON.stringify(r));
    assert.match(r.capability, /CAP_BPF/);
    // the standard device needs no BPF privilege
    assert.deepEqual(await openInChild(pair.host, drop('-bpf,-sys_admin')), { ok: true, mode: 'standard' });
  });
});

test('without CAP_IPC_LOCK and with a hard memlock limit below the UMEM, zc: fails with ERR_RINGZERO_MEMLOCK', { skip: privSkip }, async () => {
  await withVethPair(async (pair) => {
    const caps = drop('-ipc_lock,-sys_resource');
    // prlimit first (with full capabilities it may set any limit), then drop the capabilities
    const r = await openInChild(`zc:${pair.host}`, [PRLIMIT, '--memlock=65536:65536', ...caps]);
    assert.equal(r.error, 'ERR_RINGZERO_MEMLOCK', JSON.stringify(r));
    assert.match(r.message, /RLIMIT_MEMLOCK 65536 bytes/);
    assert.match(r.message, /CAP_IPC_LOCK/);
    assert.equal(hasXdp(pair.host), false, 'the program attached before the UMEM was detached again');
    // a low soft limit under a hard one that fits the UMEM (2 MiB here) is raised by the device itself
    assert.deepEqual(await openInChild(`zc:${pair.host}`, [PRLIMIT, '--memlock=65536:8388608', ...caps], ['--buffers', '1024']),
      { ok: true, mode: 'copy' });
  });
});

test('without CAP_SYS_ADMIN a process cannot join another one\'s XDP program: ERR_RINGZERO_XDP_PROGRAM_EXISTS says what would allow it', { skip: privSkip }, async () => {
  await withVethPair(async (pair) => {
    const holder = spawn(process.execPath, [helper('raw-device-child.js'), `zc:${pair.host}@0`, '--hold'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise((r) => holder.stdout.once('data', r));
      const r = await openInChild(`zc:${pair.host}@1`, drop('-sys_admin'));
      assert.equal(r.error, 'ERR_RINGZERO_XDP_PROGRAM_EXISTS', JSON.stringify(r));
      assert.match(r.message, /CAP_SYS_ADMIN: it then joins that program/);
      // with it, the same open joins (device-shared-xdp.test.ts covers what flows)
      assert.deepEqual(await openInChild(`zc:${pair.host}@1`, []), { ok: true, mode: 'copy' });
    } finally {
      const exited = new Promise((r) => holder.once('exit', r));
      holder.kill('SIGKILL');
      await exited;
      removeRegionsOf(holder.pid!);
    }
    assert.equal(hasXdp(pair.host), false, 'nothing left once the holder is gone');
  }, { queues: 2 });
});
