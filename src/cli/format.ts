// PF_RING tools' number style: apostrophe thousands separators (1'234'567).
import { thousands } from '../number-format.js';
import type { Totals } from './loop.js';

export { thousands };

export function fixed(n: number, digits: number): string {
  const [i, f] = n.toFixed(digits).split('.');
  return f === undefined ? thousands(Number(i)) : `${thousands(Number(i))}.${f}`;
}

/** "Absolute Stats: N pkts (D drops) - B bytes" */
export function absoluteLine(pkts: number, drops: number, bytes: number): string {
  return `Absolute Stats: ${thousands(pkts)} pkts (${thousands(drops)} drops) - ${thousands(bytes)} bytes`;
}

/** "Actual Stats: X pps (Y drops) - Z Gbps" over `seconds` */
export function actualLine(dPkts: number, dDrops: number, dBytes: number, seconds: number): string {
  const s = seconds > 0 ? seconds : 1;
  // Gbps on the wire counts the 24 bytes of preamble, SFD and inter-frame gap per packet, as PF_RING's tools do.
  const gbps = ((dBytes + dPkts * 24) * 8) / s / 1e9;
  return `Actual Stats: ${fixed(dPkts / s, 2)} pps (${fixed(dDrops / s, 2)} drops) - ${gbps.toFixed(2)} Gbps`;
}

/** The per-second report of the capture commands: the Absolute and Actual lines, each through `print`. */
export function statsReport(print: (line: string) => void): (now: Totals, last: Totals, seconds: number) => void {
  return (now, last, s) => {
    print(absoluteLine(now.packets, now.drops, now.bytes));
    print(actualLine(now.packets - last.packets, now.drops - last.drops, now.bytes - last.bytes, s));
  };
}
