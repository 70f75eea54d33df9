// XDP programs for differential tests, run in the kernel with BPF_PROG_TEST_RUN.
import { toXdpFunction } from '../../src/filter/xdp.js';
import type { CheckedProgram } from '../../src/filter/check.js';

/**
 * The filter as a whole XDP program that returns exactly the classic
 * program's u32 result (0 on reject, the `ret` value on accept): the
 * subprogram form (toXdpFunction) run as the main program, so test runs
 * compare values, not just verdicts. The verifier does not restrict XDP
 * return values.
 */
export function valueProgram(program: CheckedProgram): Uint8Array {
  return toXdpFunction(program);
}

/** Smallest and largest packet BPF_PROG_TEST_RUN takes for XDP (ETH_HLEN; a page minus head/tailroom, rounded down). */
export const TEST_RUN_MIN = 14;
export const TEST_RUN_MAX = 3000;
