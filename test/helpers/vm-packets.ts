// The packets the VM tests send: packet `seq` has a length and every byte
// derived from seq, so the receiver (in the guest or on the host) can check
// order, length and content without being told anything else.

/** 60..1514 bytes, varying from packet to packet. */
export function packetLength(seq: number): number {
  return 60 + ((seq * 97) % 1455);
}

/** Writes packet `seq` at bytes[off..]; returns its length. */
export function fillPacket(bytes: Uint8Array, off: number, seq: number): number {
  const len = packetLength(seq);
  bytes[off] = seq & 0xff;
  bytes[off + 1] = (seq >>> 8) & 0xff;
  bytes[off + 2] = (seq >>> 16) & 0xff;
  bytes[off + 3] = (seq >>> 24) & 0xff;
  for (let j = 4; j < len; j++) bytes[off + j] = (seq * 13 + j * 7) & 0xff;
  return len;
}

/** The sequence number stored in a packet. */
export function seqOf(bytes: Uint8Array, off: number): number {
  return (bytes[off] | (bytes[off + 1] << 8) | (bytes[off + 2] << 16) | (bytes[off + 3] << 24)) >>> 0;
}

/** True when the packet at bytes[off..off+len) is exactly packet `seq`. */
export function packetIsExact(bytes: Uint8Array, off: number, len: number, seq: number): boolean {
  if (len !== packetLength(seq) || seqOf(bytes, off) !== seq) return false;
  for (let j = 4; j < len; j++) if (bytes[off + j] !== ((seq * 13 + j * 7) & 0xff)) return false;
  return true;
}

/** Total bytes of packets first..first+n-1. */
export function bytesOf(first: number, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += packetLength(first + i);
  return s;
}
