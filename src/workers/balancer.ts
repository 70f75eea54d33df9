// The balancer loop: N inputs (polled round-robin) -> M outputs, one output
// per packet, chosen by a flow hash, the input port, round-robin or a user
// function. Also runs pipeline stages (one output, or none: a last stage).
// Per burst: classify every packet into per-output bursts, send each, count.
// No allocation, parse state in one reused PacketInfo.
import { META_HASH, META_LEN, META_OFF, META_PORT, META_WORDS } from '../zc/meta.js';
import { PacketInfo } from '../net/packet-info.js';
import { FLOW_HASHES } from '../net/hash.js';
import { C, burstBytes } from './counters.js';
import { finish, Idler, stopped, type LoopEnv } from './loop.js';
import type { Endpoints, Input } from './endpoints.js';
import { PacketView, type PacketFunction } from './packet-view.js';
import type { HashMode } from './types.js';
import type { Cluster } from '../zc/cluster.js';

/**
 * h % m for a u32 h without V8's float modulo (a libc fmod call, ~20 ns):
 * the float division is exact enough for h < 2^32 and m < 2^21.
 */
export function modU32(h: number, m: number): number {
  return h - Math.floor(h / m) * m;
}

/** Results of a picker below 0: why the packet is dropped. */
const DROP_FN = -1;
const DROP_INVALID = -2;
const DROP_ERROR = -3;

export interface Picker {
  /** output index for buffer b, or DROP_* */
  pick(b: number): number;
  lastError: string;
}

/**
 * Builds the per-packet choice. `outputs` 0 means a last stage: the result
 * only says keep (>= 0) or drop. `stage` maps every non-negative function
 * result to output 0. `raw` returns the hash itself (u32), for fanout groups.
 */
export function makePicker(cluster: Cluster, mode: HashMode, fn: PacketFunction | null, outputs: number, stage: boolean, raw = false): Picker {
  const mem = cluster.memory;
  const meta = mem.meta;
  const bytes = mem.bytes;
  const base = mem.bufferOffset;
  const size = mem.bufferSize;
  const M = outputs > 0 ? outputs : 1;
  const res: Picker = { pick: () => 0, lastError: '' };
  if (fn) {
    const view = new PacketView(mem);
    res.pick = (b) => {
      let r: number;
      try {
        r = fn(view.load(b));
      } catch (e) {
        res.lastError = String((e as Error)?.stack ?? e);
        return DROP_ERROR;
      }
      meta[b * META_WORDS + META_HASH] = view.hash;
      if (!(r >= 0)) return DROP_FN; // negative, NaN, undefined
      if (stage || outputs === 0) return 0;
      r = Math.floor(r);
      if (raw) return r >>> 0;
      return r < M ? r : DROP_INVALID;
    };
  } else if (mode === 'round-robin') {
    let next = 0;
    res.pick = raw
      ? () => (next = (next + 1) >>> 0)
      : () => {
        const o = next;
        next = o + 1 === M ? 0 : o + 1;
        return o;
      };
  } else if (mode === 'port') {
    res.pick = (b) => {
      const port = meta[b * META_WORDS + META_PORT];
      meta[b * META_WORDS + META_HASH] = port;
      return raw ? port : modU32(port, M);
    };
  } else {
    const hash = FLOW_HASHES[mode];
    const info = new PacketInfo();
    const pow2 = (M & (M - 1)) === 0 ? M - 1 : -1;
    res.pick = (b) => {
      const m = b * META_WORDS;
      const h = hash(bytes, base + b * size + meta[m + META_OFF], meta[m + META_LEN], info);
      meta[m + META_HASH] = h;
      if (raw) return h;
      return pow2 >= 0 ? h & pow2 : modU32(h, M);
    };
  }
  return res;
}

export function runBalancer(env: LoopEnv, ep: Endpoints, picker: Picker, setError: (e: string) => void): void {
  const c = env.counters;
  const meta = env.meta;
  const B = env.burst;
  const inputs = ep.inputs;
  const outputs = ep.outputs;
  const nIn = inputs.length;
  const M = outputs.length;
  const burst = new Uint32Array(B);
  const drops = new Uint32Array(B);
  const flat = new Uint32Array(Math.max(M, 1) * B);
  const views = outputs.map((_, o) => flat.subarray(o * B, (o + 1) * B));
  const fill = new Int32Array(Math.max(M, 1));
  // Device outputs give back refused and completed buffers alike through their sink (giveBackLater), so
  // everything offered to them has left the input's hands; queue outputs give back refused ones at once.
  const isDevice = outputs.map((o) => o.queue < 0);
  const idler = new Idler(env, ep);
  const pick = picker.pick;
  let ii = 0;
  c[C.STATE] = 1;
  while (!stopped(env)) {
    const input: Input = inputs[ii];
    ii = ii + 1 === nIn ? 0 : ii + 1;
    const n = input.recvBurst(burst, B);
    if (n === 0) {
      idler.idle();
      continue;
    }
    idler.busyAgain();
    const inBytes = burstBytes(meta, burst, n);
    current.input = input;
    let nd = 0;
    let dFn = 0;
    let dInvalid = 0;
    let dError = 0;
    for (let i = 0; i < n; i++) {
      const b = burst[i];
      const o = pick(b);
      if (o >= 0) {
        if (M === 0) drops[nd++] = b; // last stage: done with it
        else flat[o * B + fill[o]++] = b;
      } else {
        drops[nd++] = b;
        if (o === DROP_FN) dFn++;
        else if (o === DROP_INVALID) dInvalid++;
        else dError++;
      }
    }
    if (nd > 0) input.giveBack(drops, nd);
    let sent = 0;
    let forwarded = 0;
    let full = 0;
    for (let o = 0; o < M; o++) {
      const k = fill[o];
      if (k === 0) continue;
      fill[o] = 0;
      if (isDevice[o]) input.forwarded(k);
      const acc = outputs[o].sendBurst(views[o], k);
      if (!isDevice[o]) forwarded += acc;
      sent += acc;
      full += k - acc;
      c[C.PER_OUT_SENT + o] += acc;
      c[C.PER_OUT_DROPPED + o] += k - acc;
    }
    if (forwarded > 0) input.forwarded(forwarded);
    c[C.SENT] += sent;
    c[C.BURSTS]++;
    if (M === 0) c[C.CONSUMED] += n - dFn - dInvalid - dError;
    if (full !== 0) c[C.DROP_FULL] += full;
    if (dFn !== 0) c[C.DROP_FN] += dFn;
    if (dInvalid !== 0) c[C.DROP_INVALID] += dInvalid;
    if (dError !== 0) {
      c[C.DROP_ERROR] += dError;
      setError(picker.lastError);
    }
    c[C.RECEIVED_BYTES] += inBytes;
    c[C.RECEIVED] += n; // last: a reader that sees it sees the whole burst counted
  }
  finish(env, ep);
}

/** The input whose burst is being sent: queue outputs give refused buffers back to it. */
export const current: { input: Input | null } = { input: null };

/** Sink for output i of a balancer: refused buffers go back to the current input (devices: as completions). */
export function balancerSink(_i: number, _ep: Endpoints, device: boolean): { free(indices: ArrayLike<number>, n: number): void } {
  return device
    ? { free: (idx, n) => current.input!.giveBackLater(idx, n) }
    : { free: (idx, n) => current.input!.giveBack(idx as Uint32Array, n) };
}
