// The reader's one reusable buffer: bytes [pos, end) are unread input, and
// buf[0] sits at file offset `base`. Parsers ask for `ensure(n)` contiguous
// bytes; a refill moves the unread tail to the front and reads as much as
// fits in one call, so a file is read in bufferSize chunks no matter how
// small its records are.
import { mappingOfArray, type Mapping } from '../memory/copy.js';
import type { ByteSource } from './source.js';

export class ReadBuffer {
  readonly buf: Uint8Array;
  readonly view: DataView;
  /** word access for copies out of the buffer: buffer position p is map byte mapBase + p */
  readonly map: Mapping;
  readonly mapBase: number;
  pos = 0;
  end = 0;
  /** file offset of buf[0] */
  base = 0;
  /** the source said end of input */
  eof = false;
  /** an async source must be awaited (fill()) before more bytes can come */
  starved = false;

  constructor(readonly source: ByteSource, buf: Uint8Array) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.map = mappingOfArray(buf);
    this.mapBase = buf.byteOffset;
  }

  /** File offset of buffer position p. */
  offsetOf(p: number): number {
    return this.base + p;
  }

  /**
   * True when at least n (<= buffer size) unread bytes are buffered. Refills
   * from a sync source; false at end of input, or with `starved` set when an
   * async source has to be awaited first.
   */
  ensure(n: number): boolean {
    if (this.end - this.pos >= n) return true;
    if (this.eof) return false;
    this.compact();
    const read = this.source.readSync;
    if (read === null) { this.starved = true; return false; }
    while (this.end - this.pos < n) {
      const r = read(this.buf, this.end, this.buf.length - this.end);
      if (r === 0) { this.eof = true; return false; }
      this.end += r;
    }
    return true;
  }

  /** One asynchronous read into the free space (after moving the unread tail to the front). */
  async fill(): Promise<void> {
    this.starved = false;
    if (this.eof) return;
    this.compact();
    if (this.end === this.buf.length) return;
    const r = await this.source.read(this.buf, this.end, this.buf.length - this.end);
    if (r === 0) this.eof = true;
    else this.end += r;
  }

  private compact(): void {
    if (this.pos === 0) return;
    if (this.end > this.pos) this.buf.copyWithin(0, this.pos, this.end);
    this.base += this.pos;
    this.end -= this.pos;
    this.pos = 0;
  }
}
