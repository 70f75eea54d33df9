// Magic numbers and limits of the capture file formats.
// Classic pcap: draft-ietf-opsawg-pcap (and libpcap's pcap-common.c / sf-pcap.c).
// pcapng: draft-ietf-opsawg-pcapng (section 4 blocks, section 3.5 options).

/** Classic pcap file header magic, microsecond timestamps (as read in the writer's byte order). */
export const PCAP_MAGIC_US = 0xa1b2c3d4;
/** Classic pcap file header magic, nanosecond timestamps. */
export const PCAP_MAGIC_NS = 0xa1b23c4d;
/** Kuznetzov's "modified" pcap (24-byte record headers): recognised only to name it in the error. */
export const PCAP_MAGIC_MODIFIED = 0xa1b2cd34;
export const PCAP_VERSION_MAJOR = 2;
export const PCAP_VERSION_MINOR = 4;
export const PCAP_FILE_HEADER_LEN = 24;
export const PCAP_RECORD_HEADER_LEN = 16;
/**
 * The link type field's low 28 bits hold the LINKTYPE_ value; the high bits
 * carry FCS information (draft-ietf-opsawg-pcap section 4, LinkType and
 * additional information). libpcap masks with 0x03FFFFFF (LT_LINKTYPE).
 */
export const PCAP_LINKTYPE_MASK = 0x03ffffff;

/** Section Header Block type: a palindrome, so it reads the same in both byte orders. */
export const BT_SHB = 0x0a0d0d0a;
export const BT_IDB = 0x00000001;
/** Obsolete Packet Block (pcapng draft appendix): still written by old tools. */
export const BT_OPB = 0x00000002;
export const BT_SPB = 0x00000003;
export const BT_NRB = 0x00000004;
export const BT_ISB = 0x00000005;
export const BT_EPB = 0x00000006;
/** Byte-order magic inside the SHB, as the writer's native order stores it. */
export const PCAPNG_BOM = 0x1a2b3c4d;
export const PCAPNG_BOM_SWAPPED = 0x4d3c2b1a;

/** Minimum block sizes: type + length + trailing length, plus each block's fixed body. */
export const MIN_BLOCK_LEN = 12;
export const MIN_SHB_LEN = 28;
export const MIN_IDB_LEN = 20;
export const MIN_EPB_LEN = 32;
export const MIN_OPB_LEN = 32;
export const MIN_SPB_LEN = 16;

/** Option codes (pcapng section 3.5 and 4.2). */
export const OPT_ENDOFOPT = 0;
export const OPT_COMMENT = 1;
export const SHB_USERAPPL = 4;
export const IF_NAME = 2;
export const IF_TSRESOL = 9;
export const IF_TSOFFSET = 14;

/**
 * Largest captured length accepted from a file: libpcap's MAXIMUM_SNAPLEN
 * (262144). Anything above is treated as corruption, not as a packet.
 */
export const MAX_CAPLEN = 262144;
/** Default I/O chunk for reading and writing: 1 MiB, one syscall per chunk. */
export const DEFAULT_BUFFER_SIZE = 1 << 20;
/** The buffer must hold at least one maximal record and its header with room to spare. */
export const MIN_BUFFER_SIZE = MAX_CAPLEN + 4096;
/** Blocks longer than this are rejected as corrupt (skippable blocks are streamed, never buffered). */
export const DEFAULT_MAX_BLOCK_LEN = 16 << 20;
/** Interfaces per section: bounds the per-interface tables an untrusted file can make us grow. */
export const MAX_INTERFACES = 65536;

export const LINKTYPE_ETHERNET = 1;
