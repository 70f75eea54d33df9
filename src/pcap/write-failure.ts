// What a failed write of the writer's batch leaves behind, and the error that
// reports it. A write that fails part-way (ENOSPC after a short write, most
// often) leaves the file ending inside a record, which every reader then
// reports as truncated. So the file is cut back (ftruncate) to the end of the
// last header or record that reached it in full, and the error says how many
// packets the file(s) hold. Runs only on failure: the data path never walks
// the batch.
import { fstatSync, ftruncateSync } from 'node:fs';
import { PcapWriteError, errnoOf } from '../errors.js';
import { WRITE_FIX, explain } from './file-errors.js';
import { BT_EPB, PCAP_FILE_HEADER_LEN, PCAP_RECORD_HEADER_LEN } from './constants.js';

/** The batch as the writer holds it when a write fails. */
export interface FailedBatch {
  readonly view: DataView;
  /** bytes [0, pos) were to be written */
  readonly pos: number;
  /** bytes [0, written) reached the file */
  readonly written: number;
  readonly format: 'pcap' | 'pcapng';
  /** classic pcap: the batch starts with the 24-byte file header (a new file) */
  readonly headerFirst: boolean;
}

/**
 * End (batch offset) of the last header or record within [0, written), the
 * packets that end there, and the wire lengths of the packets after it (they
 * reach no file). The batch always starts on a record boundary: the writer
 * flushes only between records, and a new file's header goes at the start of
 * an empty batch. The writer encodes little-endian (encode.ts).
 */
export function completePart(b: FailedBatch): { end: number; packets: number; lostWireBytes: number } {
  const v = b.view;
  const ng = b.format === 'pcapng';
  const header = b.format === 'pcap' && b.headerFirst ? PCAP_FILE_HEADER_LEN : 0;
  let q = header;
  let end = b.written >= header ? header : 0;
  let packets = 0;
  let lostWireBytes = 0;
  while (q < b.pos) {
    const len = ng ? v.getUint32(q + 4, true) : PCAP_RECORD_HEADER_LEN + v.getUint32(q + 8, true);
    if (len <= 0) break;
    const packet = !ng || v.getUint32(q, true) === BT_EPB;
    if (end === q && q + len <= b.written) {
      if (packet) packets++;
      end = q + len;
    } else if (packet) {
      lostWireBytes += v.getUint32(q + (ng ? EPB_ORIGINAL_LENGTH : PCAP_ORIGINAL_LENGTH), true);
    }
    q += len;
  }
  return { end, packets, lostWireBytes };
}

/** Where a record keeps the packet's length on the wire: pcap's orig_len, an enhanced packet block's original length. */
const PCAP_ORIGINAL_LENGTH = 12;
const EPB_ORIGINAL_LENGTH = 24;

/** The writer's counts when a write failed, packets of the failed batch excluded. */
export interface WriteCounts {
  /** the file or stream that failed: a path, `standard output` or `fd N` */
  readonly name: string;
  /** packets of earlier batches in this file / in all files of the writer */
  readonly filePackets: number;
  readonly allPackets: number;
  /** files the writer opened */
  readonly files: number;
  /** packets in the failed batch */
  readonly batchPackets: number;
}

/**
 * Cuts a regular file back to its last complete record and returns the
 * error to throw, with every count a caller reports, and the wire bytes of
 * the packets lost (for the writer's stats). `fd` is still open.
 */
export function writeFailure(fd: number, batch: FailedBatch, c: WriteCounts, cause: unknown): { error: PcapWriteError; lostWireBytes: number } {
  const errno = errnoOf(cause) || 'EIO';
  const { end, packets, lostWireBytes } = completePart(batch);
  let cutNote = '';
  let regular = false;
  try {
    const st = fstatSync(fd);
    regular = st.isFile();
    // The batch's first byte is at size - written (the file ends where this write stopped).
    if (regular && batch.written > end) ftruncateSync(fd, st.size - (batch.written - end));
  } catch (e) {
    cutNote = ` (cutting off the partial record failed too: ${(e as Error).message}; readers will report the file as truncated)`;
    regular = false;
  }
  const inFile = c.filePackets + packets;
  const inFiles = c.allPackets + packets;
  const lost = c.batchPackets - packets;
  const held = regular && cutNote === ''
    ? `it was cut back to its last complete record and holds ${inFile} packets`
    : `${inFile} packets were written to it in full${cutNote}`;
  const all = c.files > 1 ? `, ${inFiles} in all ${c.files} files` : '';
  const gone = lost > 0 ? `; the ${lost} packets after them were lost` : '';
  const [why, fix] = explain(errno, cause, WRITE_FIX, 'check the output path and write elsewhere');
  const error = new PcapWriteError(`cannot write the capture to ${c.name}: ${why}; ${held}${all}${gone}; ${fix}`,
    errno, 'write', { path: c.name, packetsInFile: inFile, packetsInFiles: inFiles, lost }, cause);
  return { error, lostWireBytes };
}
