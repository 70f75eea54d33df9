// Classic BPF -> a JavaScript function, generated once with `new Function`.
//
// Run-time semantics are libpcap's bpf_filter (bpf_filter.c), so results are
// bit-identical to pcap_offline_filter:
// - A and X are u32 and start at 0; arithmetic wraps mod 2^32;
// - a packet load past `caplen` returns 0 (reject), `len` is the wire length;
// - division or modulo by an X of 0 returns 0; a shift by X >= 32 gives 0;
// - the return value is the u32 of the `ret` reached (0 = reject, else the
//   number of bytes to keep).
//
// Shape of the generated code: jumps in classic BPF only go forward, so each
// jump target t becomes a labelled block that encloses everything before t,
// and a jump is `break Lt`. That is straight-line code V8 compiles well, with
// no loop, no switch and no allocation per call; packet bytes are assembled
// big-endian by hand (no DataView). Programs with more than NESTING_LIMIT
// targets use a flat switch dispatcher instead (V8's parser recursion).
//
// Loops: libpcap compiles `protochain` with a backward `ja` (a loop over the
// extension headers), which its interpreter runs with no bound at all — on a
// packet whose headers point at each other it never returns. Programs with a
// backward jump use the dispatcher and a budget per packet: each backward jump
// charges the instructions it jumps back over, and a packet whose budget
// (LOOP_STEPS_BASE + LOOP_STEPS_PER_BYTE * caplen) runs out is rejected (0),
// as a load past the end would be. A program then executes at most its length
// plus the budget. libpcap's loop turns once per header of 8 bytes or more,
// about 2 steps per byte: no real packet comes near the budget.
//
// Performance note for callers: V8 inlines `match` only where a call site sees
// one filter function; call each filter from its own loop (one per device),
// not from a helper shared by many filters.
import { FilterUnsupportedError } from '../errors.js';
import { BPF, SKF_AD, SKF_AD_OFF, SKF_LL_OFF, cls, formatInsn, jaTarget, loadWidth, mode, op, size, src } from './cbpf.js';
import type { BpfInsn } from './cbpf.js';
import { checkUserProgram, firstBackwardJump, isConditionalJump, type UserProgram } from './check.js';

/** bytes[offset .. offset+caplen) is the captured packet, wirelen its original length; returns 0 to reject. */
export type FilterFunction = (bytes: Uint8Array, offset: number, caplen: number, wirelen: number) => number;

/**
 * Instructions reachable from the entry (unreachable ones are not translated).
 * `ends` says which instructions end every path through them (by default `ret`).
 */
export function reachable(p: readonly BpfInsn[], ends: (i: BpfInsn) => boolean = (i) => cls(i.code) === BPF.RET): Uint8Array {
  const r = new Uint8Array(p.length);
  const todo = [0];
  r[0] = 1;
  const visit = (t: number): void => { if (!r[t]) { r[t] = 1; todo.push(t); } };
  while (todo.length > 0) { // a work list, not one forward pass: a backward jump may reach what was passed over
    const pc = todo.pop()!;
    const i = p[pc]!;
    if (ends(i)) continue;
    if (i.code === (BPF.JMP | BPF.JA)) visit(jaTarget(pc, i.k));
    else if (isConditionalJump(i.code)) { visit(pc + 1 + i.jt); visit(pc + 1 + i.jf); } else visit(pc + 1);
  }
  return r;
}

/** Why a back-end has no kernel metadata, and what to do instead. */
const NO_METADATA: Record<'JavaScript' | 'XDP', string> = {
  // libpcap compiles these loads only for Ethernet and the like; tcpdump -r refuses them there
  // ("inbound/outbound not supported on Ethernet when reading savefiles"), and on a Linux cooked
  // capture reads the header instead, which needs no metadata and runs here
  JavaScript: 'the JavaScript back-end (capture files, queues) sees packets without it, and tcpdump -r refuses the ' +
    'primitive on such captures too. A Linux cooked capture keeps the direction in its header (LINUX_SLL, and the ' +
    'interface too in LINUX_SLL2, e.g. tcpdump -i any -y LINUX_SLL2 -w FILE), where the filter reads it — capture that ' +
    'way, filter live on the interface (the socket attach back-end of AF_PACKET devices), or drop that primitive',
  XDP: 'XDP runs before the kernel has such data — use the socket attach back-end (an AF_PACKET device), or drop that primitive',
};

/** Throws FilterUnsupportedError for loads from the kernel's special offsets (SKF_AD_*, SKF_NET_OFF, SKF_LL_OFF). */
export function assertNoKernelOffsets(p: readonly BpfInsn[], backend: 'JavaScript' | 'XDP', expression?: string): void {
  const live = reachable(p);
  p.forEach((i, pc) => {
    if (!live[pc] || cls(i.code) !== BPF.LD || mode(i.code) !== BPF.ABS || i.k < SKF_LL_OFF) return;
    const what = i.k >= SKF_AD_OFF ? `the Linux ancillary field ${SKF_AD[i.k - SKF_AD_OFF] ?? `SKF_AD_OFF+${i.k - SKF_AD_OFF}`}`
      : 'a Linux-only negative offset (SKF_NET_OFF/SKF_LL_OFF)';
    throw new FilterUnsupportedError(
      `${expression ? `filter "${expression}"` : 'the program'} reads ${what} at instruction ${pc} (${formatInsn(i, pc)}); ` +
      `that exists only for kernel socket filters: ${NO_METADATA[backend]} (e.g. inbound/outbound, ifindex) from the expression`, pc);
  });
}

/** Most jump targets translated as nested labelled blocks (see toJsSource). */
export const NESTING_LIMIT = 1000;
/**
 * A program that loops may take LOOP_STEPS_BASE + LOOP_STEPS_PER_BYTE * caplen
 * steps per packet (see the header); a packet that needs more is rejected.
 */
export const LOOP_STEPS_BASE = 4096;
export const LOOP_STEPS_PER_BYTE = 8;

const byteAt = (at: string): string => `b[o + ${at}]`;

function loadExpr(width: number, at: (d: number) => string): string {
  if (width === 1) return byteAt(at(0));
  if (width === 2) return `((${byteAt(at(0))} << 8) | ${byteAt(at(1))})`;
  return `(((${byteAt(at(0))} << 24) | (${byteAt(at(1))} << 16) | (${byteAt(at(2))} << 8) | ${byteAt(at(3))}) >>> 0)`;
}

function aluExpr(i: BpfInsn): string {
  const rhs = src(i.code) === BPF.X ? 'X' : String(i.k);
  switch (op(i.code)) {
    case BPF.ADD: return `A = (A + ${rhs}) >>> 0;`;
    case BPF.SUB: return `A = (A - ${rhs}) >>> 0;`;
    case BPF.MUL: return `A = Math.imul(A, ${rhs}) >>> 0;`;
    case BPF.DIV: return src(i.code) === BPF.X ? 'if (X === 0) return 0; A = (A / X) >>> 0;' : `A = (A / ${rhs}) >>> 0;`;
    case BPF.MOD: return src(i.code) === BPF.X ? 'if (X === 0) return 0; A = A % X;' : `A = A % ${rhs};`;
    case BPF.OR: return `A = (A | ${rhs}) >>> 0;`;
    case BPF.AND: return `A = (A & ${rhs}) >>> 0;`;
    case BPF.XOR: return `A = (A ^ ${rhs}) >>> 0;`;
    case BPF.LSH: return src(i.code) === BPF.X ? 'A = X < 32 ? (A << X) >>> 0 : 0;' : `A = (A << ${rhs}) >>> 0;`;
    case BPF.RSH: return src(i.code) === BPF.X ? 'A = X < 32 ? A >>> X : 0;' : `A = A >>> ${rhs};`;
    case BPF.NEG: return 'A = (0 - A) >>> 0;';
  }
  throw new Error(`unreachable: alu op 0x${op(i.code).toString(16)}`);
}

function condExpr(i: BpfInsn): string {
  const rhs = src(i.code) === BPF.X ? 'X' : String(i.k);
  switch (op(i.code)) {
    case BPF.JEQ: return `A === ${rhs}`;
    case BPF.JGT: return `A > ${rhs}`;
    case BPF.JGE: return `A >= ${rhs}`;
    case BPF.JSET: return `(A & ${rhs}) !== 0`;
  }
  throw new Error(`unreachable: jmp op 0x${op(i.code).toString(16)}`);
}

function translate(i: BpfInsn, pc: number): string {
  const c = i.code;
  switch (cls(c)) {
    case BPF.LD:
    case BPF.LDX: {
      const reg = cls(c) === BPF.LDX ? 'X' : 'A';
      switch (mode(c)) {
        case BPF.IMM: return `${reg} = ${i.k};`;
        case BPF.LEN: return `${reg} = wirelen >>> 0;`;
        case BPF.MEM: return `${reg} = m${i.k};`;
        case BPF.ABS: {
          const w = loadWidth(c);
          return `if (caplen < ${i.k + w}) return 0; A = ${loadExpr(w, (d) => String(i.k + d))};`;
        }
        case BPF.IND: {
          const w = loadWidth(c);
          return `t = X + ${i.k}; if (caplen < t + ${w}) return 0; A = ${loadExpr(w, (d) => (d ? `t + ${d}` : 't'))};`;
        }
        case BPF.MSH: return `if (caplen <= ${i.k}) return 0; X = (b[o + ${i.k}] & 15) << 2;`;
      }
      break;
    }
    case BPF.ST: return `m${i.k} = A;`;
    case BPF.STX: return `m${i.k} = X;`;
    case BPF.ALU: return aluExpr(i);
    case BPF.RET: return (c & 0x18) === BPF.A ? 'return A;' : `return ${i.k};`;
    case BPF.MISC: return op(c) === BPF.TAX ? 'X = A;' : 'A = X;';
  }
  throw new Error(`unreachable: instruction ${pc} code 0x${c.toString(16)} size 0x${size(c).toString(16)}`);
}

export interface JsOptions {
  /** force (true) or forbid (false) the flat switch dispatcher; default: only past NESTING_LIMIT targets (a program that loops always uses it) */
  dispatcher?: boolean;
}

/** The generated source of the function body (for debugging and tests). */
export function toJsSource(program: UserProgram | readonly BpfInsn[], expression?: string, opts: JsOptions = {}): string {
  const p = checkUserProgram(program);
  assertNoKernelOffsets(p, 'JavaScript', expression);
  const live = reachable(p);
  const labels = new Set<number>();
  const mems = new Set<number>();
  p.forEach((i, pc) => {
    if (!live[pc]) return;
    if (i.code === (BPF.JMP | BPF.JA) && i.k !== 0) labels.add(jaTarget(pc, i.k));
    if (isConditionalJump(i.code)) {
      if (i.jt !== 0) labels.add(pc + 1 + i.jt);
      if (i.jf !== 0) labels.add(pc + 1 + i.jf);
    }
    if (i.code === BPF.ST || i.code === BPF.STX || i.code === (BPF.LD | BPF.MEM) || i.code === (BPF.LDX | BPF.MEM)) mems.add(i.k);
  });
  // Nested labelled blocks are the fast shape, but each target nests one level
  // deeper and V8's parser recurses per level: past NESTING_LIMIT targets use a
  // flat `for (;;) switch (pc)` dispatcher instead (slower, no depth limit).
  const loops = firstBackwardJump(p) >= 0;
  const flat = loops || (opts.dispatcher ?? labels.size > NESTING_LIMIT);
  const jump = (target: number): string => (flat ? `{ pc = ${target}; continue; }` : `break L${target};`);
  const out: string[] = ['"use strict";', 'let A = 0, X = 0, t = 0;'];
  if (loops) out.push(`let steps = ${LOOP_STEPS_BASE} + ${LOOP_STEPS_PER_BYTE} * caplen;`);
  if (mems.size) out.push(`let ${[...mems].sort((a, b) => a - b).map((m) => `m${m} = 0`).join(', ')};`);
  const sorted = [...labels].sort((a, b) => b - a);
  if (flat) out.push('let pc = 0;', 'for (;;) switch (pc) {', 'case 0:');
  else if (sorted.length) out.push(sorted.map((t) => `L${t}: {`).join(' '));
  p.forEach((i, pc) => {
    if (labels.has(pc) && !(flat && pc === 0)) out.push(flat ? `case ${pc}:` : `} // L${pc}`);
    if (!live[pc]) return;
    let line: string;
    if (i.code === (BPF.JMP | BPF.JA)) {
      const to = jaTarget(pc, i.k);
      // a backward jump pays for the stretch it runs again (see the header)
      line = to <= pc ? `{ if ((steps -= ${pc + 1 - to}) < 0) return 0; pc = ${to}; continue; }` : i.k === 0 ? '' : jump(to);
    } else if (isConditionalJump(i.code)) {
      const cond = condExpr(i);
      if (i.jt === i.jf) line = i.jt === 0 ? '' : jump(pc + 1 + i.jt);
      else if (i.jt === 0) line = `if (!(${cond})) ${jump(pc + 1 + i.jf)}`;
      else if (i.jf === 0) line = `if (${cond}) ${jump(pc + 1 + i.jt)}`;
      else line = `if (${cond}) ${jump(pc + 1 + i.jt)} ${jump(pc + 1 + i.jf)}`;
    } else {
      line = translate(i, pc);
    }
    out.push(`${line} // (${pc}) ${formatInsn(i, pc)}`);
  });
  if (flat) out.push('}');
  return out.join('\n');
}

/**
 * Translates a checked classic BPF program into `(bytes, offset, caplen,
 * wirelen) => u32` with libpcap's semantics (see the header of this file).
 * The caller guarantees offset + caplen <= bytes.length. Throws
 * FilterUnsupportedError for Linux ancillary loads (SKF_AD_*): user space
 * has no skb metadata to answer them. `expression` only improves messages.
 */
export function toJsFunction(program: UserProgram | readonly BpfInsn[], expression?: string, opts: JsOptions = {}): FilterFunction {
  return new Function('b', 'o', 'caplen', 'wirelen', toJsSource(program, expression, opts)) as FilterFunction;
}
