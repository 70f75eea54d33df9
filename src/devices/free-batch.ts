// Gives buffers back to a BufferSource in bursts: devices drop, complete and
// release buffers one at a time in their loops, and the source wants arrays.
import type { BufferSource } from '../zc/meta.js';

export class FreeBatch {
  private readonly buf: Uint32Array;
  private n = 0;

  constructor(private readonly source: BufferSource, size = 256) {
    this.buf = new Uint32Array(size);
  }

  add(index: number): void {
    this.buf[this.n++] = index;
    if (this.n === this.buf.length) this.flush();
  }

  flush(): void {
    if (this.n === 0) return;
    this.source.free(this.buf, this.n);
    this.n = 0;
  }
}
