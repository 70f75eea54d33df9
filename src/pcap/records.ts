// The burst shape shared by the reader and the writer: one typed array per
// field, slot i describing packet i of the burst. The caller allocates these
// once (createPacketRecords) and reuses them for every burst, so reading and
// writing allocate nothing per packet. The packet bytes themselves live in
// the caller's memory (e.g. a cluster's buffers) at `offset[i]`.

export interface PacketRecords {
  /**
   * Byte offset of packet i inside the caller's `data` array. The reader READS
   * it (where to copy packet i to); the writer reads it (where packet i is).
   * Float64Array allows memory beyond 4 GiB; a Uint32Array works as well.
   */
  readonly offset: Float64Array | Uint32Array;
  /** bytes present in memory / in the file (captured length) */
  readonly caplen: Uint32Array;
  /** length on the wire; the writer treats 0 as "same as caplen" (like META_WIRELEN) */
  readonly wirelen: Uint32Array;
  /** timestamp: seconds since the Unix epoch */
  readonly sec: Uint32Array;
  /** timestamp: nanoseconds within the second (0..999999999) */
  readonly nsec: Uint32Array;
  /** reader: interface index (pcapng: counted across sections; classic pcap: 0). Writer: ignored. */
  readonly ifIndex: Uint32Array;
  /** reader: LINKTYPE_ value of packet i's interface. Writer: ignored (one link type per file). */
  readonly linkType: Uint32Array;
}

/** Allocates the per-burst arrays once; `max` is the largest burst they can describe. */
export function createPacketRecords(max: number): PacketRecords {
  return {
    offset: new Float64Array(max),
    caplen: new Uint32Array(max),
    wirelen: new Uint32Array(max),
    sec: new Uint32Array(max),
    nsec: new Uint32Array(max),
    ifIndex: new Uint32Array(max),
    linkType: new Uint32Array(max),
  };
}

/** The smallest array length of `rec`: a burst may not be longer. */
export function recordsCapacity(rec: PacketRecords): number {
  return Math.min(rec.offset.length, rec.caplen.length, rec.wirelen.length, rec.sec.length,
    rec.nsec.length, rec.ifIndex.length, rec.linkType.length);
}
