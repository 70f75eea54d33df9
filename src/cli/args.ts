// A small getopt for PF_RING-style flags: short options with a value (-i eth0,
// -c 99), boolean short flags (-v), clusters of them (-qi eth0), long options
// (--json, --duration 5, --metrics=9100), `--` before words that start with
// '-'. Unknown flags are errors that list the known ones; so are words no
// command asked for (count and dump take them as a filter, as tcpdump does).
import { readFileSync } from 'node:fs';
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

export interface ParseOptions {
  /**
   * Words after the options: 'filter' keeps them in `_` (count and dump take
   * them as the filter expression, as tcpdump does); by default they are a
   * usage error, never silently dropped.
   */
  positional?: 'filter';
}

const flagName = (n: string) => (n.length === 1 ? '-' : '--') + n;

export function parseArgs(argv: string[], specs: FlagSpec[], command: string, opts: ParseOptions = {}): Parsed {
  const byName = new Map<string, FlagSpec>();
  for (const s of specs) for (const n of s.names) byName.set(n, s);
  const out: Parsed = { _: [] };
  const key = (s: FlagSpec) => s.names[s.names.length - 1];
  const set = (spec: FlagSpec, value: string | boolean) => {
    const k = key(spec);
    if (spec.repeat) out[k] = [...((out[k] as string[] | undefined) ?? []), String(value)];
    else out[k] = value;
  };
  const spec = (name: string, a: string): FlagSpec => {
    const s = byName.get(name);
    if (!s) throw new UsageError(`${command}: unknown option ${a}; known: ${specs.map((x) => x.names.map(flagName).join('/')).join(' ')}`);
    return s;
  };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') { i++; break; } // getopt: the rest are words, even if they start with '-'
    if (a.startsWith('--') && a.length > 2) {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      const s = spec(name, eq > 0 ? a.slice(0, eq) : a);
      if (!s.value) {
        // --json=no would otherwise turn JSON on
        if (eq > 0) throw new UsageError(`${command}: option --${name} takes no value (given '${a.slice(eq + 1)}'); leave it out to turn it off`);
        set(s, true);
      } else if (eq > 0) set(s, a.slice(eq + 1));
      else if (i + 1 < argv.length) set(s, argv[++i]);
      else throw new UsageError(`${command}: option ${a} needs a value (${s.help})`);
    } else if (a.startsWith('-') && a.length > 1 && !/^-\d/.test(a)) {
      // getopt's clusters: -qv is -q -v, -qi eth0 is -q -i eth0; a letter that takes a value takes the rest (-ieth0).
      for (let j = 1; j < a.length; j++) {
        const s = spec(a[j], `-${a[j]}${j > 1 ? ` (in ${a})` : ''}`);
        if (!s.value) { set(s, true); continue; }
        if (j + 1 < a.length) set(s, a.slice(j + 1));
        else if (i + 1 < argv.length) set(s, argv[++i]);
        else throw new UsageError(`${command}: option -${a[j]} needs a value (${s.help})`);
        break;
      }
    } else {
      out._.push(a);
    }
  }
  out._.push(...argv.slice(i));
  if (out._.length > 0 && opts.positional !== 'filter') {
    const words = out._.join(' ');
    const hint = byName.has('filter') ? `; a filter expression goes in one quoted -f: -f '${words}'` : '';
    throw new UsageError(`${command}: unexpected argument${out._.length > 1 ? 's' : ''} '${words}': every argument is an option (ringzero ${command} --help lists them)${hint}`);
  }
  return out;
}

export function usage(command: string, summary: string, specs: FlagSpec[]): string {
  const heads = specs.map((s) => `  ${s.names.map(flagName).join(', ')}${s.value ? ' VALUE' : ''}`);
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

/** "0-3,6" -> [0, 1, 2, 3, 6] (the kernel's CPU list format) */
export function parseCpuList(s: string): number[] {
  const out: number[] = [];
  for (const part of s.trim().split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) continue;
    for (let c = Number(m[1]); c <= Number(m[2] ?? m[1]); c++) out.push(c);
  }
  return out;
}

/** The CPUs this process may be pinned to (its cpuset), or null when /proc does not say. */
function allowedCpus(): number[] | null {
  try {
    const m = /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    const l = m ? parseCpuList(m[1]) : [];
    return l.length > 0 ? l : null;
  } catch {
    return null;
  }
}

/**
 * -g CPU, checked before anything is opened (-1 when not given): a CPU outside
 * the process's cpuset would only fail later, in sched_setaffinity, as EINVAL.
 */
export function coreFlag(a: Parsed, command: string): number {
  if (a.core === undefined) return -1;
  const core = intFlag(a, 'core', 0);
  const allowed = allowedCpus();
  if (allowed !== null && !allowed.includes(core)) {
    throw new UsageError(`${command}: -g ${core}: CPU ${core} is offline or outside this process's CPU set; use one of ${allowed.join(', ')}`);
  }
  return core;
}
