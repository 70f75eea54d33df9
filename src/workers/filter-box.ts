// A mailbox in shared memory for replacing the input devices' kernel filters
// of a running worker (balance -F FILE + SIGUSR1). A worker thread's loop
// never yields to its event loop, so a postMessage would not be seen; the
// loop checks the box's generation word now and then instead.
//
// Layout (bytes): [0] generation u32, [4] classic BPF length, [8] eBPF length,
// [16..16+MAX_CBPF) classic BPF (struct sock_filter), then the eBPF subprogram.
// The writer stores both programs, then bumps the generation (Atomics.add:
// a release that pairs with the reader's Atomics.load).

const MAX_CBPF = 4096 * 8;
const MAX_EBPF = 192 * 1024;
const HEAD = 16;

export function newFilterBox(): SharedArrayBuffer {
  return new SharedArrayBuffer(HEAD + MAX_CBPF + MAX_EBPF);
}

export function postFilter(box: SharedArrayBuffer, socketProgram: Uint8Array, xdpFunction: Uint8Array): void {
  if (socketProgram.length > MAX_CBPF || xdpFunction.length > MAX_EBPF) throw new RangeError('filter programs too large for the worker mailbox');
  const w = new Int32Array(box, 0, 4);
  const b = new Uint8Array(box);
  b.set(socketProgram, HEAD);
  b.set(xdpFunction, HEAD + MAX_CBPF);
  w[1] = socketProgram.length;
  w[2] = xdpFunction.length;
  Atomics.add(w, 0, 1);
}

export class FilterBoxReader {
  private seen = 0;
  private readonly w: Int32Array;
  constructor(private readonly box: SharedArrayBuffer) {
    this.w = new Int32Array(box, 0, 4);
  }

  /** The new programs when the generation changed since the last call, else null. */
  take(): { socketProgram: Uint8Array; xdpFunction: Uint8Array } | null {
    const g = Atomics.load(this.w, 0);
    if (g === this.seen) return null;
    this.seen = g;
    return {
      socketProgram: new Uint8Array(this.box, HEAD, this.w[1]).slice(),
      xdpFunction: new Uint8Array(this.box, HEAD + MAX_CBPF, this.w[2]).slice(),
    };
  }
}
