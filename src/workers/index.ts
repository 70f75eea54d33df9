// Workers: balancer, fanout / multi-application, pipeline stages, each in its
// own worker_thread (or process, for a stage) over a cluster's memory.
//
// API
//   startBalancer(cluster, { inputs, outputs, mode?, fn?, pool?, cpu?, busy?, burst? }): WorkerHandle
//   startFanout(cluster, { inputs, outputs, groups?, mode?, fn?, pool, ... }): WorkerHandle
//   startStage(cluster, { input, output?, fn?, ... }): WorkerHandle
//   startStageProcess(clusterId, { input, output?, fn? }, statsMs?): WorkerHandle & { pid }
//   WorkerHandle: { ready: Promise<void>, done: Promise<WorkerStats>, stats(): WorkerStats, stop(): Promise<WorkerStats> }
//   prefillPool(cluster, pool, frames, port?) / poolRange(cluster, pool)
//
// Endpoints are plain data (types.ts), opened inside the worker:
//   inputs:  3 (= { kind: 'queue', queue: 3 }) | { kind: 'device', name: 'zc:eth0@0', port?: 1 }
//            | { kind: 'memory', count?: N, port? } (the owned pool's prefilled buffers, no kernel)
//   outputs: 5 (= { kind: 'queue', queue: 5 }) | { kind: 'device', name: 'eth1' } (egress / TX)
// Inputs are polled round-robin, bursts of 32 (option `burst`).
//
// Pools (every buffer must find its way home):
//   - queue inputs: the buffers belong to the input queues' pool (its owner is
//     upstream); every output queue must be bound to that same pool
//     (ClusterOptions.queuePools). Refused packets go back through the input's
//     return ring. Balancers and stages only.
//   - device / memory inputs, and every fanout: the worker owns `pool`
//     (default 0) and feeds devices from it; output queues must be bound to it.
//     A fanout over queue inputs copies each packet once into its own pool.
//
// Modes (HashMode): 'five-tuple' (default), 'ip', 'tunnel' (inner IP of
// GTP-U/GRE/IPIP), 'vlan', 'port' (META_PORT % outputs), 'round-robin'.
// Flow hashes are symmetric and stored in META_HASH (net/hash.ts).
//
// User functions (FunctionSpec): { source: '(p) => ...' } or { module, export }.
// They get a PacketView (packet-view.ts: bytes, offset, length, port, hash,
// index, parse(), flowHash(), u8/u16/u32) and return:
//   balancer: output index; negative drops (counted drops.fn); >= outputs: drops.invalid
//   fanout without groups: bitmask of outputs; 0 or negative drops
//   fanout with groups: the hash used in every group; negative drops
//   stage: negative drops, anything else passes
// A function that throws drops the packet (drops.error; stats().lastError).
//
// Fanout buffers are shared under holder masks kept by the owned pool
// (zc/pool.ts enableSharing); at most 32 outputs per fanout; outputs must be
// terminal (consumers release what they receive on the same queue). See
// fanout.ts for how a dead consumer's shared buffers are reclaimed.
//
// Counters (WorkerStats) live in a SharedArrayBuffer: received, sent, drops by
// reason (fn, full, invalid, error, noBuffer), per output sent/dropped, the
// owned pool's free count at stop (the worker waits `drainMs` for buffers to
// come back). The queues' own counters stay readable through the cluster.
export { startBalancer, startFanout, startStage, startStageProcess, type WorkerHandle } from './start.js';
export { PacketView, type PacketFunction } from './packet-view.js';
export { prefillPool, poolRange } from './prefill.js';
export { readStats, type WorkerStats, MAX_OUTPUTS } from './counters.js';
export type { BalancerOptions, FanoutOptions, StageOptions, InputSpec, OutputSpec, FunctionSpec, HashMode, CommonOptions } from './types.js';
