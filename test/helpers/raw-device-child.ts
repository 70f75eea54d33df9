// A separate process that opens one device on its own cluster — for tests of
// privilege errors (run under setpriv/prlimit) and of what a killed holder
// leaves behind.
//   node raw-device-child.js DEVICE [--hold] [--buffers N] [--options JSON]
// Prints one JSON line: { ok: true, mode } or { error: code, message, capability? }.
// With --hold it keeps the device open until killed.
import { Cluster } from '../../src/zc/index.js';
import { openDevice } from '../../src/devices/index.js';
import { testClusterId } from './zc-procs.js';

const name = process.argv[2];
const i = process.argv.indexOf('--options');
const extra = i > 0 ? JSON.parse(process.argv[i + 1]) : {};
const hold = process.argv.includes('--hold');
const b = process.argv.indexOf('--buffers');
const buffers = b > 0 ? Number(process.argv[b + 1]) : 4096;
const cluster = Cluster.create({ id: testClusterId(), buffers, hugepages: 'never' });
const source = cluster.pool();
try {
  const dev = openDevice(name, { memory: cluster.memory, source, ...extra });
  process.stdout.write(JSON.stringify({ ok: true, mode: dev.mode }) + '\n');
  if (hold) {
    setInterval(() => dev.recvBurst(new Uint32Array(64), 64), 10);
  } else {
    dev.close();
    cluster.close();
  }
} catch (e) {
  const err = e as { code?: string; message: string; capability?: string };
  process.stdout.write(JSON.stringify({ error: err.code, message: err.message, capability: err.capability }) + '\n');
  cluster.close();
}
