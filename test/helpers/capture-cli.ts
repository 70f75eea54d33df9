// For tests of the capture commands (count, dump) as processes: the region of
// a command's private cluster (named after its pid), and small capture files.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { regionDirs, removeRegion } from '../../src/memory/region.js';
import { regionName } from '../../src/zc/cluster.js';
import { privateClusterIdOf } from '../../src/cli/endpoint.js';
import { PcapWriter } from '../../src/pcap/index.js';
import { buildFrames } from '../../src/cli/frames.js';

/** The region file of the private cluster of process `pid` (privateClusterId in endpoint.ts), or null. */
export function privateRegionLeft(pid: number): string | null {
  const name = regionName(privateClusterIdOf(pid));
  for (const d of regionDirs()) if (existsSync(join(d, name))) return join(d, name);
  return null;
}

/** Removes what `privateRegionLeft` found (after a failed assertion: the region is this test's child's, nobody else's). */
export function removePrivateRegion(pid: number | undefined): void {
  const p = pid === undefined ? null : privateRegionLeft(pid);
  if (p) removeRegion(p);
}

/** `n` UDP frames from `sources` source addresses (10.0.0.1, .2, ...) in turn, `gapNs` apart. */
export function writeCapture(path: string, n: number, gapNs: number, sources = 4): void {
  const f = buildFrames({ length: 80, sources });
  const w = PcapWriter.open(path, {});
  let t = 1_700_000_000 * 1e9;
  for (let i = 0; i < n; i++, t += gapNs) w.writePacket(f.bytes, (i % sources) * 80, 80, 80, Math.floor(t / 1e9), t % 1e9);
  w.close();
}
