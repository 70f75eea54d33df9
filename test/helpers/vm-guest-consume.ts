// Runs INSIDE the guest VM (see vm-qemu.ts): attaches to a host cluster by id
// (Cluster.attach finds it on the ivshmem device), consumes one queue and
// checks every packet byte for byte (vm-packets.ts). argv[2] is JSON
// { id, queue, packets (0: until the cluster closes), progressEvery }.
// Prints "attached ID PATH", "progress ID N" lines and a final
// "result ID JSON" line on the serial console.
import { Cluster } from '../../src/zc/cluster.js';
import { META_LEN, META_WORDS } from '../../src/zc/meta.js';
import { ClusterClosedError } from '../../src/errors.js';
import { packetIsExact, seqOf } from './vm-packets.js';

const o = JSON.parse(process.argv[2]) as { id: number; queue: number; packets: number; progressEvery: number };
const c = Cluster.attach(o.id);
const cons = c.consumer(o.queue);
process.stdout.write(`attached ${o.id} ${c.path}\n`);
const meta = c.memory.meta;
const bytes = c.memory.bytes;
const burst = new Uint32Array(64);
let packets = 0;
let total = 0;
let bad = 0;
let firstBad = -1;
let next = 0; // the host sends packets 0, 1, 2, ... losslessly
let lastProgress = 0;
let ended = '';
try {
  while (o.packets === 0 || packets < o.packets) {
    const n = cons.waitBurst(burst, 64, 200);
    for (let i = 0; i < n; i++) {
      const b = burst[i];
      const off = c.dataOffset(b);
      const len = meta[b * META_WORDS + META_LEN];
      if (!packetIsExact(bytes, off, len, next)) { bad++; if (firstBad < 0) firstBad = packets; }
      next = seqOf(bytes, off) + 1; // one bad packet is counted once, not as a shift of all that follow
      total += len;
      packets++;
    }
    if (n > 0) cons.release(burst, n);
    if (packets - lastProgress >= o.progressEvery) { lastProgress = packets; process.stdout.write(`progress ${o.id} ${packets}\n`); }
  }
} catch (e) {
  if (!(e instanceof ClusterClosedError)) throw e;
  ended = e.message;
}
process.stdout.write(`result ${o.id} ${JSON.stringify({ packets, bytes: total, bad, firstBad, ended })}\n`);
cons.close();
c.close();
