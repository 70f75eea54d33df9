// Shared output helpers for the benchmarks: a fixed-width table and a line
// naming the machine and date, so a table pasted into BENCHMARKS.md says where it came from.
import { cpus, release, totalmem } from 'node:os';

export function machineLine(): string {
  const c = cpus();
  return `# ${new Date().toISOString().slice(0, 10)} · ${c.length} x ${c[0]?.model ?? 'cpu'} · ${(totalmem() / 2 ** 30).toFixed(0)} GiB · Linux ${release()} · Node ${process.version}`;
}

export function printTable(rows: Array<Record<string, unknown>>): void {
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0]);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (vals: string[]) => '| ' + vals.map((v, i) => v.padEnd(width[i])).join(' | ') + ' |';
  console.log(line(cols));
  console.log('|' + width.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of rows) console.log(line(cols.map((c) => String(r[c] ?? ''))));
}
