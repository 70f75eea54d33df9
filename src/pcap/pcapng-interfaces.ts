// The interfaces of the current pcapng section: what each Interface
// Description Block (pcapng section 4.2) says about its packets — link type,
// snaplen, timestamp resolution (if_tsresol, option 9) and offset
// (if_tsoffset, option 14). Kept as parallel number arrays so the packet
// path reads them without allocation; bounded by MAX_INTERFACES per section.
import { PcapLinkTypesError } from '../errors.js';
import { IF_TSOFFSET, IF_TSRESOL, MAX_INTERFACES, OPT_ENDOFOPT } from './constants.js';
import { DEFAULT_TSRESOL, decodeTsResol } from './timestamp.js';

export interface PcapngInterface {
  /** index as delivered in PacketRecords.ifIndex (counted across sections) */
  readonly index: number;
  readonly linkType: number;
  /** 0 = no limit */
  readonly snaplen: number;
  /** the if_tsresol byte (6 = microseconds when the option is absent) */
  readonly tsresol: number;
  /** if_tsoffset in seconds */
  readonly tsoffset: number;
}

/** Reports a malformed IDB: buffer position, what is wrong. */
export type IdbFault = (p: number, what: string) => Error;

export class InterfaceTable {
  readonly link: number[] = [];
  readonly snap: number[] = [];
  /** timestamp conversion per interface (see timestamp.ts ticksToTime) */
  readonly kind: number[] = [];
  readonly a: number[] = [];
  readonly b: number[] = [];
  readonly offset: number[] = [];
  readonly resolByte: number[] = [];
  /** global index of this section's interface 0 */
  base = 0;

  get count(): number { return this.link.length; }

  /** A new section: its interfaces are numbered after the previous section's. */
  newSection(): void {
    this.base += this.link.length;
    for (const a of [this.link, this.snap, this.kind, this.a, this.b, this.offset, this.resolByte]) a.length = 0;
  }

  list(): PcapngInterface[] {
    return this.link.map((linkType, i) => ({
      index: this.base + i, linkType, snaplen: this.snap[i], tsresol: this.resolByte[i], tsoffset: this.offset[i],
    }));
  }

  /**
   * Adds the IDB whose whole block (length len >= 20, trailer checked) is at
   * buffer position p. Options are walked within the block only.
   */
  add(v: DataView, p: number, len: number, le: boolean, fault: IdbFault): void {
    if (this.link.length >= MAX_INTERFACES) throw fault(p, `more than ${MAX_INTERFACES} interfaces in one section`);
    const linkType = v.getUint16(p + 8, le);
    const snaplen = v.getUint32(p + 12, le);
    let res = DEFAULT_TSRESOL;
    let resByte = 6;
    let offset = 0;
    const end = p + len - 4;
    let q = p + 16;
    while (q + 4 <= end) {
      const code = v.getUint16(q, le);
      const olen = v.getUint16(q + 2, le);
      if (code === OPT_ENDOFOPT) break;
      const valueEnd = q + 4 + olen;
      if (valueEnd > end) throw fault(q, `option ${code} of ${olen} bytes runs past the end of its block`);
      if (code === IF_TSRESOL) {
        if (olen !== 1) throw fault(q, `if_tsresol option is ${olen} bytes, not 1`);
        const byte = v.getUint8(q + 4);
        const r = decodeTsResol(byte);
        if (r === null) throw fault(q + 4, `if_tsresol 0x${byte.toString(16)} is finer than a 64-bit counter can use`);
        res = r;
        resByte = byte;
      } else if (code === IF_TSOFFSET) {
        if (olen !== 8) throw fault(q, `if_tsoffset option is ${olen} bytes, not 8`);
        // A signed 64-bit count of seconds, in the section's byte order.
        const hi = le ? v.getInt32(q + 8, true) : v.getInt32(q + 4, false);
        const lo = le ? v.getUint32(q + 4, true) : v.getUint32(q + 8, false);
        offset = hi * 4294967296 + lo;
      }
      q = valueEnd + ((4 - (olen & 3)) & 3);
    }
    this.link.push(linkType);
    this.snap.push(snaplen);
    this.kind.push(res.kind);
    this.a.push(res.a);
    this.b.push(res.b);
    this.offset.push(offset);
    this.resolByte.push(resByte);
  }
}

/** tcpdump's names (pcap_datalink_val_to_name) and editcap's -T names of common link types, for messages. */
const LINK_NAMES: Record<number, [string, string]> = {
  0: ['NULL', 'null'], 1: ['EN10MB', 'ether'], 101: ['RAW', 'rawip'], 105: ['IEEE802_11', 'ieee-802-11'],
  113: ['LINUX_SLL', 'linux-sll'], 127: ['IEEE802_11_RADIO', 'ieee-802-11-radiotap'], 228: ['IPV4', 'rawip4'],
  229: ['IPV6', 'rawip6'], 276: ['LINUX_SLL2', 'linux-sll2'],
};
const linkName = (t: number) => (LINK_NAMES[t] !== undefined ? `${LINK_NAMES[t][0]} (${t})` : String(t));

/**
 * Interface `index` of file `name` (its IDB at `offset`) has link type
 * `other` where the reader was asked for one link type, `first`'s. The fix
 * is a recipe that works with Wireshark 4.0's tools: tshark keeps every IDB
 * when it filters by interface, so editcap -T then labels the part with the
 * one link type its packets have.
 */
export function mixedLinkTypes(name: string, offset: number, first: number, other: number, index: number): PcapLinkTypesError {
  const encap = LINK_NAMES[other]?.[1] ?? 'ENCAP';
  return new PcapLinkTypesError(`${name}: interface ${index} has link type ${linkName(other)}, different from the first ` +
    `interface's ${linkName(first)} (offset ${offset}); here every packet must have one link type (the reader's oneLinkType ` +
    `option, which pcap: inputs use because their filter and output are for one), as in tcpdump. Split the file per ` +
    `interface and read each part on its own; for interface ${index}: tshark -r ${name} -Y 'frame.interface_id == ${index}' ` +
    `-w if${index}.pcapng && editcap -T ${encap} -F pcap if${index}.pcapng if${index}.pcap (likewise for the others; ` +
    `editcap -T help lists the link type names)`, [first, other], offset);
}
