// Packet headers: zero-allocation parsing into a reusable PacketInfo, flow
// hashes over it, and a one-line formatter for verbose output. A leaf: no
// imports from the rest of ringzero.
export * from './constants.js';
export { PacketInfo, IpInfo } from './packet-info.js';
export { parsePacket } from './parse.js';
export { mix32, ipLayerHash, l2Hash, hashIp, hash5Tuple, hashGeneral, hashTunnel, hashVlan, FLOW_HASHES, type FlowHashName, type FlowHashFn } from './hash.js';
export { formatSummary, formatMac, formatIpv4, formatIpv6, formatTime, protoName, type SummaryOptions } from './summary.js';
