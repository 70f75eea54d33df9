// balance -f 'EXPR'@q1,q2: per-output filters. The balancer picks the output
// by the hash as usual; a packet whose output has a filter that rejects it is
// dropped (counted as a function drop). Functions cannot be posted to a
// worker thread, so the filters travel as source text: the classic BPF
// program translated to JS (filter/js.ts) inside one function expression.
import { compileFilter } from '../filter/index.js';
import { toJsSource } from '../filter/js.js';
import type { FunctionSpec, HashMode } from '../workers/index.js';
import { UsageError } from './args.js';

export interface OutputFilter { expression: string; queues: number[] }

/** Splits `EXPR@1,2` (per-output) from a plain `EXPR` (input filter). */
export function parseFilterArg(v: string, nq: number): { input?: string; output?: OutputFilter } {
  const m = /^(.*)@(\d+(?:,\d+)*)$/.exec(v);
  if (!m) return { input: v };
  const queues = m[2].split(',').map(Number);
  for (const q of queues) if (q >= nq) throw new UsageError(`balance: -f ...@${m[2]}: queue ${q} does not exist (0..${nq - 1})`);
  return { output: { expression: m[1], queues } };
}

/** One function expression: pick by hash (or round robin), then apply the output's filter. */
export function composeOutputFilters(filters: OutputFilter[], mode: HashMode, outputs: number): FunctionSpec {
  const bodies: string[] = [];
  const table = new Array<number>(outputs).fill(-1);
  filters.forEach((f, i) => {
    const c = compileFilter(f.expression); // syntax errors surface here, in the command
    bodies.push(`new Function('b', 'o', 'caplen', 'wirelen', ${JSON.stringify(toJsSource(c.program, f.expression))})`);
    for (const q of f.queues) {
      if (table[q] !== -1) throw new UsageError(`balance: queue ${q} has two output filters`);
      table[q] = i;
    }
  });
  const pick = mode === 'round-robin' ? '(rr = (rr + 1) % N)' : mode === 'port' ? '(p.port % N)' : `(p.flowHash(${JSON.stringify(mode)}) % N)`;
  const source = `(() => {
  const N = ${outputs};
  const filters = [${bodies.join(',\n')}];
  const byOutput = ${JSON.stringify(table)};
  let rr = -1;
  return (p) => {
    const q = ${pick};
    const f = byOutput[q];
    return f < 0 || filters[f](p.bytes, p.offset, p.length, p.wireLength) !== 0 ? q : -1;
  };
})()`;
  return { source };
}
