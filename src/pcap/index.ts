// ringzero/pcap — capture files (classic pcap and pcapng), read and written
// burst by burst over caller-owned memory. A leaf library: it imports only
// node:fs/node:stream, ../errors.js, ../sleep.js and ../memory/copy.js (itself a leaf),
// never zc/, devices/ or cli/.
//
// THE BURST SHAPE (records.ts)
//   const rec = createPacketRecords(32);      // once; typed arrays, one slot per packet
//   rec.offset[i]   byte offset of packet i in the caller's Uint8Array `data`
//   rec.caplen[i], rec.wirelen[i], rec.sec[i], rec.nsec[i] (u32 each, exact ns),
//   rec.ifIndex[i], rec.linkType[i]
//
// READING (reader.ts)
//   const r = PcapReader.openSync(path | fd | bytes, opts?)   // sync: files, fds, '-' = fd 0 (blocking)
//   const r = await PcapReader.open(path | '-' | fd | Readable | bytes, opts?)  // '-' = process.stdin stream
//   r.format ('pcap'|'pcapng'), r.linkType, r.snaplen, r.interfaces()  — known after open
//   n = r.readBurst(data, capacity, rec, max)   // sync; fills slots 0..n-1
//   n = await r.read(data, capacity, rec, max)  // same, awaiting input for stream sources; 0 = end
//   r.ended, r.needsInput (stream source: `await r.fill()` then call readBurst again), r.stats, r.close()
//   options: bufferSize (1 MiB), buffer (reuse one Uint8Array across readers), onTruncated, maxBlockLength, name,
//            matchAlignment (packet i lands 0..3 bytes past rec.offset[i], at its alignment in the
//            file, and rec.offset[i] is updated: whole-word copies; the pcap: device uses it; a
//            packet the shift would cut stays at rec.offset[i], so `capacity` bytes always fit)
//            oneLinkType (refuse a pcapng file whose interfaces mix link types, as tcpdump does:
//            PcapLinkTypesError ERR_RINGZERO_PCAP_MIXED_LINK_TYPES; the pcap: device uses it)
// The caller sets rec.offset[0..max) BEFORE the call (where each packet may go, `capacity`
// bytes each; every slot is bounds-checked against data.length once per burst, an
// InvalidArgumentError that leaves the reader usable); the reader copies each packet once,
// straight from its 1 MiB read buffer into data[offset..]. Packets longer than `capacity`
// are cut (stats.cutToCapacity), longer than the interface snaplen are clamped
// (stats.clampedToSnaplen). One read(2) per buffer size of input; memory is the buffer plus
// the interface tables; no allocation per packet, except that packets above 256 bytes whose
// offsets disagree mod 4 are copied with TypedArray#set over a short-lived subarray view
// (faster than any allocation-free JS copy there; see ../memory/copy.ts).
// Classic pcap: both byte orders, micro- and nanosecond magics, and the old "modified" magic
// a1b2cd34 with its 24- or 28-byte record headers (variants.ts; RedHat 6.1 and Nokia files,
// which libpcap misreads, are refused naming the variant). openSync/open read a classic file
// up to its second record header to tell them apart.
// pcapng: ifIndex counts interfaces across sections (section 2's interface 0 follows the last
// of section 1); SPB packets have timestamp 0.0 and interface 0; NRB, ISB and unknown blocks
// are skipped (stats.blocksSkipped), streamed past if larger than the buffer.
// Errors (from ../errors.js): a burst that meets one returns the good packets before it and
// the NEXT call throws, so every good record is delivered first; later calls throw it again:
//   PcapFormatError    ERR_RINGZERO_PCAP_FORMAT     bad magic, version, block length (0, not a
//                      multiple of 4, below the minimum, above maxBlockLength or the buffer),
//                      caplen above 262144, option overrun, unknown interface; `.offset`
//   PcapTruncatedError ERR_RINGZERO_PCAP_TRUNCATED  input ends inside a header or record; `.offset`
//                      is where that record starts. With { onTruncated: 'end' } the reader ends
//                      there instead and reports the offset in `r.truncatedAt`.
//   PcapOpenError      ERR_RINGZERO_PCAP_OPEN       the path cannot be opened (missing, a directory, no
//                      permission); `.path`, `.errno`
//   InvalidArgumentError for bad options or a slot outside `data`.
//
// WRITING (writer.ts)
//   const w = PcapWriter.open(pathOrPattern | fd | '-', { format: 'pcap'|'pcapng', nanosecond: true,
//     linkType: 1, snaplen: 262144, maxFileBytes (-C N -> N*1e6), rotateSeconds (-G), maxFiles (-W),
//     packetBuffered (-U), utc, onFileClosed })
//   accepted = w.writeBurst(data, rec, n)   // uses offset, caplen, wirelen (0 = caplen), sec, nsec
//   w.writePacket(data, off, caplen, wirelen, sec, nsec); w.flush(); w.close(); w.stats; w.path
// Records are gathered in one 1 MiB buffer written with a single write(2) when full, so a
// live dump must call flush() when it goes idle (or use packetBuffered). Rotation follows
// tcpdump: -C starts a new file once the current one holds more than maxFileBytes (names
// out, out1, out2...; with -W: out0..out{W-1} reused in a ring) — checked against tcpdump -C
// in the tests; -G starts a new window when a PACKET timestamp is rotateSeconds past the
// window's first packet (tcpdump uses the wall clock; for live capture they agree, for
// re-writing a file this is deterministic) and expands strftime conversions
// (%Y %m %d %H %M %S %s %j ...) with the window's start time (-C splits inside a window keep
// that time and add a counter); -G with -W stops after W files (writeBurst then returns
// fewer than n, `w.limitReached`). A -G pattern with no time conversion gets numbered
// suffixes rather than being overwritten. nsec >= 1e9 carries into sec.
// A failed write or file creation throws PcapWriteError (ERR_RINGZERO_PCAP_WRITE_FAILED; `.errno`,
// `.path` = the file that failed, `.packetsInFile`, `.packetsInFiles`, `.lost`): a regular file is
// first cut back (ftruncate) to its last complete record, so every reader reads it cleanly. Later
// writes and flushes throw the same error; close() then only closes the fd (write-failure.ts).
//
// WIRING A DEVICE (`pcap:PATH`): allocate cluster buffers, set rec.offset[i] = byte offset
// of buffer i's data (bufferOffset + index * bufferSize + headroom) in the cluster's `bytes`,
// call readBurst(bytes, bufferSize - headroom, rec, k), then copy caplen/wirelen/sec/nsec into
// the buffers' META_* words. For `ringzero dump`, pass the same arrays to writeBurst with
// offsets of the received buffers.
export * from './records.js';
export { PcapReader, type PcapReaderOptions, type PcapInput } from './reader.js';
export { PcapReadStats, type TruncationPolicy } from './parser.js';
export type { PcapngInterface } from './pcapng-interfaces.js';
export { PcapWriter, PcapWriteStats, type PcapWriterOptions } from './writer.js';
export { makeFileName, strftime } from './file-names.js';
export {
  LINKTYPE_ETHERNET, MAX_CAPLEN, DEFAULT_BUFFER_SIZE, PCAP_MAGIC_NS, PCAP_MAGIC_US,
} from './constants.js';
export { PcapFormatError, PcapTruncatedError, PcapOpenError, PcapWriteError, PcapLinkTypesError } from '../errors.js';
