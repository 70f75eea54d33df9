// The common header at byte 0 of every ringzero region. An attaching process
// checks magic, version, kind and size before trusting anything else, and
// never trusts an index or length from shared memory without a bounds check.
//
// Words are u32 (little-endian host order); 64-bit values are float64 at
// 8-byte aligned offsets (exact below 2^53; no BigInt on any path).

export const REGION_MAGIC = 0x305a5a52; // "RZZ0" read as little-endian bytes 'R','Z','Z','0'
// 2: OWNER_PIDNS in the header, PIDNS and PROC_BEAT in attach slots (liveness across PID namespaces)
export const REGION_VERSION = 2;
export const HEADER_BYTES = 4096;

/** u32 word indices */
export const H = {
  MAGIC: 0,
  VERSION: 1,
  KIND: 2,
  HEADER_BYTES: 3,
  /** 0 initialising, 1 ready, 2 closed by the owner */
  STATE: 4,
  OWNER_PID: 5,
  /** u32 written by the owner now and then (ms clock, wraps): shows it makes progress */
  OWNER_HEARTBEAT: 6,
  /** the owner's PID namespace (proc.ts selfPidNs): a checker elsewhere judges it by OWNER_HEARTBEAT, not by pid */
  OWNER_PIDNS: 7,
  /** first word of the layout-specific part (words 16.. ; the f64 fields sit at words 8..15) */
  LAYOUT: 16,
} as const;

/** float64 indices (x8 bytes) */
export const HF = {
  TOTAL_BYTES: 4, // bytes 32..39
  OWNER_START: 5, // owner start time (clock ticks since boot)
  CREATED_MS: 6, // Date.now() at creation
} as const;

export const REGION_STATE = { INIT: 0, READY: 1, CLOSED: 2 } as const;

export const REGION_KIND = { CLUSTER: 1 } as const;

export interface HeaderProblem {
  field: string;
  found: number | string;
  expected: number | string;
}

/** Checks the common header; returns the first problem or null. */
export function checkHeader(words: Uint32Array, f64: Float64Array, kind: number, fileBytes: number): HeaderProblem | null {
  if (words[H.MAGIC] !== REGION_MAGIC) return { field: 'magic', found: hex(words[H.MAGIC]), expected: hex(REGION_MAGIC) };
  if (words[H.VERSION] !== REGION_VERSION) return { field: 'layout version', found: words[H.VERSION], expected: REGION_VERSION };
  if (words[H.KIND] !== kind) return { field: 'kind', found: words[H.KIND], expected: kind };
  if (words[H.HEADER_BYTES] !== HEADER_BYTES) return { field: 'header size', found: words[H.HEADER_BYTES], expected: HEADER_BYTES };
  if (f64[HF.TOTAL_BYTES] !== fileBytes) return { field: 'total size', found: f64[HF.TOTAL_BYTES], expected: fileBytes };
  return null;
}

function hex(n: number): string {
  return '0x' + (n >>> 0).toString(16).padStart(8, '0');
}
