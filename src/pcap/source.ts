// Where the reader's bytes come from. A source is read in large chunks into
// the reader's own buffer; sync sources (files, fds, memory) let the parser
// refill in the middle of a burst, async ones (streams, stdin pipes) make the
// burst end early so the caller can await `fill()`.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { PcapOpenError, errnoOf } from '../errors.js';
import { openFailure } from './file-errors.js';
import type { Readable } from 'node:stream';
import { sleepSync } from '../sleep.js';

export interface ByteSource {
  /** for error messages: a path, `fd N`, `stdin`, `memory` */
  readonly name: string;
  /** reads up to `len` bytes at `off`; 0 means end of input. Null for sources that can only be read asynchronously. */
  readonly readSync: ((buf: Uint8Array, off: number, len: number) => number) | null;
  /** the same, asynchronously (always available) */
  read(buf: Uint8Array, off: number, len: number): Promise<number>;
  close(): void;
}

/** A file descriptor read with read(2). Non-blocking fds (EAGAIN) are retried after 1 ms. */
export class FdSource implements ByteSource {
  readonly name: string;
  readonly readSync: (buf: Uint8Array, off: number, len: number) => number;
  private closed = false;

  constructor(readonly fd: number, name: string, private readonly ownsFd: boolean) {
    this.name = name;
    this.readSync = (buf, off, len) => {
      for (;;) {
        try {
          return readSync(this.fd, buf, off, len, null);
        } catch (e) {
          const code = (e as { code?: string }).code;
          if (code === 'EAGAIN' || code === 'EWOULDBLOCK') { sleepSync(1); continue; }
          throw e;
        }
      }
    };
  }

  /** Opens a capture file for reading; failures are PcapOpenErrors that name the path, the cause and the fix. */
  static open(path: string): FdSource {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      throw openFailure(path, errnoOf(e) || 'EIO', e);
    }
    try {
      // open(2) succeeds on a directory; the first read would fail with a bare EISDIR.
      if (fstatSync(fd).isDirectory()) throw openFailure(path, 'EISDIR', null);
    } catch (e) {
      closeSync(fd);
      throw e instanceof PcapOpenError ? e : openFailure(path, errnoOf(e) || 'EIO', e);
    }
    return new FdSource(fd, path, true);
  }

  read(buf: Uint8Array, off: number, len: number): Promise<number> {
    return Promise.resolve(this.readSync(buf, off, len));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsFd) closeSync(this.fd);
  }
}

/** Bytes already in memory (tests, fuzzing, embedded captures). */
export class BytesSource implements ByteSource {
  readonly name: string;
  readonly readSync: (buf: Uint8Array, off: number, len: number) => number;
  private pos = 0;

  constructor(private readonly bytes: Uint8Array, name = 'memory') {
    this.name = name;
    this.readSync = (buf, off, len) => {
      const n = Math.min(len, this.bytes.length - this.pos);
      if (n <= 0) return 0;
      buf.set(this.bytes.subarray(this.pos, this.pos + n), off);
      this.pos += n;
      return n;
    };
  }

  read(buf: Uint8Array, off: number, len: number): Promise<number> {
    return Promise.resolve(this.readSync(buf, off, len));
  }

  close(): void { /* nothing to release */ }
}

/**
 * A Readable (e.g. process.stdin on a pipe). Memory stays bounded: the stream
 * is pulled one chunk at a time (its own highWaterMark applies) and at most
 * one chunk is held here until the reader's buffer has room for it.
 */
export class StreamSource implements ByteSource {
  readonly readSync = null;
  private readonly it: AsyncIterator<unknown>;
  private pending: Uint8Array | null = null;
  private pendingPos = 0;
  private ended = false;

  constructor(private readonly stream: Readable, readonly name: string) {
    this.it = stream[Symbol.asyncIterator]();
  }

  async read(buf: Uint8Array, off: number, len: number): Promise<number> {
    if (len <= 0) return 0;
    while (this.pending === null) {
      if (this.ended) return 0;
      const r = await this.it.next();
      if (r.done) { this.ended = true; return 0; }
      const v = r.value;
      const chunk = typeof v === 'string' ? Buffer.from(v, 'latin1') : v as Uint8Array;
      if (chunk.length > 0) { this.pending = chunk; this.pendingPos = 0; }
    }
    const p = this.pending;
    const n = Math.min(len, p.length - this.pendingPos);
    buf.set(p.subarray(this.pendingPos, this.pendingPos + n), off);
    this.pendingPos += n;
    if (this.pendingPos === p.length) this.pending = null;
    return n;
  }

  close(): void {
    this.pending = null;
    if (!this.ended) {
      this.ended = true;
      void this.it.return?.();
      if (this.stream !== process.stdin) this.stream.destroy();
    }
  }
}
