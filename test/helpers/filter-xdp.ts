// XDP programs for differential tests, run in the kernel with BPF_PROG_TEST_RUN.
import { EbpfAssembler } from '../../src/filter/ebpf.js';
import { toXdpEbpf } from '../../src/filter/xdp.js';
import type { CheckedProgram } from '../../src/filter/check.js';

/**
 * The filter prefix followed by a bare `exit`: with onReject = 0 the program
 * returns exactly the classic program's u32 result (0 on reject, R0 = the
 * `ret` value on accept), so test runs compare values, not just verdicts.
 */
export function valueProgram(program: CheckedProgram): Uint8Array {
  const prefix = toXdpEbpf(program, { onReject: 0 });
  const asm = new EbpfAssembler();
  asm.exit();
  const tail = asm.finish();
  const out = new Uint8Array(prefix.length + tail.length);
  out.set(prefix);
  out.set(tail, prefix.length);
  return out;
}

/** Smallest and largest packet BPF_PROG_TEST_RUN takes for XDP (ETH_HLEN; a page minus head/tailroom, rounded down). */
export const TEST_RUN_MIN = 14;
export const TEST_RUN_MAX = 3000;
