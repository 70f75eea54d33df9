// Old variants of classic pcap whose record headers carry more than the
// standard 16 bytes (ts_sec, ts_frac, incl_len, orig_len): Linux tcpdump
// builds of 1999 added the capturing interface, protocol and packet type.
//
//   variant                 magic        record header  libpcap            here
//   "modified" (Kuznetzov)  a1 b2 cd 34  24 bytes       reads it           reads it
//   SuSE 6.3                a1 b2 cd 34  28 bytes       misreads, fails    reads it
//   RedHat 6.1              a1 b2 c3 d4  24 bytes       misreads, fails    refuses, naming it
//   Nokia                   a1 b2 c3 d4  20 bytes       misreads silently  refuses, naming it
//
// (editcap -F modpcap / suse6_3pcap / rh6_1pcap / nokiapcap writes each.)
// The extra fields are dropped, as libpcap drops them. Two variants share
// each magic, so the layout is told from the file: the header after the first
// record must make sense where each layout puts it (see `next`). Wireshark
// guesses the same way; libpcap assumes 24 bytes for the modified magic and
// 16 for the standard one. A layout other than libpcap's is chosen only when
// libpcap's cannot be right.
import { MAX_CAPLEN } from './constants.js';
import type { ReadBuffer } from './read-buffer.js';

/** A second record header this far in recorded time from the first is not taken as evidence. */
const MAX_GAP_S = 86_400;

/** What follows the first record if its header is `len` bytes long. */
const enum Next {
  /** the input ends right there */
  Ends,
  /** a header that makes sense (fraction below a second, captured length at most MAX_CAPLEN and the wire length), within a day of the first */
  Near,
  /** a header that makes sense, but stamped more than a day away */
  Possible,
  /** no header could look like that, or the input ends inside it */
  Impossible,
  /** not buffered yet */
  Unseen,
}

function next(rb: ReadBuffer, first: number, len: number, le: boolean, fracPerSec: number): Next {
  const v = rb.view;
  const p = first + len + v.getUint32(first + 8, le);
  if (rb.eof && rb.end === p) return Next.Ends;
  if (rb.end - p < 16) return rb.eof ? Next.Impossible : Next.Unseen;
  const incl = v.getUint32(p + 8, le);
  if (v.getUint32(p + 4, le) >= fracPerSec || incl > MAX_CAPLEN || incl > v.getUint32(p + 12, le)) return Next.Impossible;
  return Math.abs(v.getUint32(p, le) - v.getUint32(first, le)) <= MAX_GAP_S ? Next.Near : Next.Possible;
}

/**
 * Buffers what the layout is told from: the first record, which starts
 * `skip` bytes past rb.pos, and up to the furthest place a variant puts the
 * second record's header (or the end of input). False: an async source must
 * deliver more first. On a pipe this waits for the second record, so that
 * the answer does not depend on how the input comes in.
 */
export function bufferFirstRecord(rb: ReadBuffer, le: boolean, skip: number): boolean {
  if (!rb.ensure(skip + 16)) return rb.eof;
  const incl = rb.view.getUint32(rb.pos + skip + 8, le);
  if (incl > MAX_CAPLEN) return true; // corrupt in every layout: the parser says so
  return rb.ensure(skip + 28 + incl + 16) || rb.eof;
}

/**
 * Record header length of a file with the modified magic whose first record
 * is `skip` bytes past rb.pos (buffered by bufferFirstRecord): 24
 * ("modified", what libpcap assumes) unless 24 cannot be right and SuSE
 * 6.3's 28 can.
 */
export function modifiedHeaderLength(rb: ReadBuffer, le: boolean, skip: number): 24 | 28 {
  const first = rb.pos + skip;
  if (rb.end - first < 16 || next(rb, first, 24, le, 1e6) !== Next.Impossible) return 24;
  const suse = next(rb, first, 28, le, 1e6);
  return suse === Next.Impossible || suse === Next.Unseen ? 24 : 28;
}

/**
 * For a file with the standard magic whose first record is `skip` bytes past
 * rb.pos (buffered by bufferFirstRecord): the name of the variant it is when
 * 16-byte record headers cannot be right and RedHat 6.1's or Nokia's longer
 * ones put a sensible header next, else null.
 */
export function longerHeaderVariant(rb: ReadBuffer, le: boolean, fracPerSec: number, skip: number): string | null {
  const first = rb.pos + skip;
  if (rb.end - first < 16 || next(rb, first, 16, le, fracPerSec) !== Next.Impossible) return null;
  // only a header that makes sense convicts the file: a standard one cut after its first record stays a cut file
  if (next(rb, first, 24, le, fracPerSec) === Next.Near) return 'the RedHat 6.1 tcpdump variant (24-byte record headers)';
  if (next(rb, first, 20, le, fracPerSec) === Next.Near) return 'the Nokia tcpdump variant (20-byte record headers)';
  return null;
}
