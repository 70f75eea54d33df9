// A small getopt for PF_RING-style flags: short options with a value (-i eth0,
// -c 99), boolean short flags (-v), long options (--json, --duration 5,
// --metrics=9100). Unknown flags are errors that list the known ones.
import { RingzeroError } from '../errors.js';

export class UsageError extends RingzeroError {
  constructor(message: string) { super('ERR_RINGZERO_USAGE', message); }
}

export interface FlagSpec {
  /** short letter without '-' or long name without '--' */
  names: string[];
  /** true: takes a value */
  value: boolean;
  /** may be given several times (values collected) */
  repeat?: boolean;
  help: string;
}

export type Parsed = Record<string, string | boolean | string[] | undefined> & { _: string[] };

export function parseArgs(argv: string[], specs: FlagSpec[], command: string): Parsed {
  const byName = new Map<string, FlagSpec>();
  for (const s of specs) for (const n of s.names) byName.set(n, s);
  const out: Parsed = { _: [] };
  const key = (s: FlagSpec) => s.names[s.names.length - 1];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    let name: string;
    let inline: string | undefined;
    if (a.startsWith('--') && a.length > 2) {
      const eq = a.indexOf('=');
      name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      inline = eq > 0 ? a.slice(eq + 1) : undefined;
    } else if (a.startsWith('-') && a.length > 1 && !/^-\d/.test(a)) {
      name = a.slice(1, 2);
      inline = a.length > 2 ? a.slice(2) : undefined;
    } else {
      out._.push(a);
      continue;
    }
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`${command}: unknown option ${a}; known: ${specs.map((s) => s.names.map((n) => (n.length === 1 ? '-' : '--') + n).join('/')).join(' ')}`);
    let value: string | boolean = true;
    if (spec.value) {
      if (inline !== undefined) value = inline;
      else if (i + 1 < argv.length) value = argv[++i];
      else throw new UsageError(`${command}: option ${a} needs a value (${spec.help})`);
    }
    const k = key(spec);
    if (spec.repeat) out[k] = [...((out[k] as string[] | undefined) ?? []), String(value)];
    else out[k] = value;
  }
  return out;
}

export function usage(command: string, summary: string, specs: FlagSpec[]): string {
  const heads = specs.map((s) => `  ${s.names.map((n) => (n.length === 1 ? '-' : '--') + n).join(', ')}${s.value ? ' VALUE' : ''}`);
  // one column for the help texts, at least two spaces after the longest flag
  const width = Math.max(28, ...heads.map((h) => h.length + 2));
  const lines = specs.map((s, i) => heads[i].padEnd(width) + s.help);
  return `usage: ringzero ${command} [options]\n${summary}\n\n${lines.join('\n')}\n`;
}

export function intFlag(p: Parsed, name: string, dflt: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const v = p[name];
  if (v === undefined || v === false) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name}: expected an integer ${min}..${max}, got '${v}'`);
  return n;
}

export function numFlag(p: Parsed, name: string, dflt: number, min = 0): number {
  const v = p[name];
  if (v === undefined || v === false) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new UsageError(`--${name}: expected a number >= ${min}, got '${v}'`);
  return n;
}
