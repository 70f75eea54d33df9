// The zero-copy core: clusters, pools, queues. No I/O here (devices/ does that).
export { Cluster, regionName, inspectRegion, type ClusterOptions, type AttachOptions, type ClusterHandle } from './cluster.js';
export { BufferPool } from './pool.js';
export { QueueProducer, type QueueCounters } from './queue.js';
export { QueueConsumer } from './consumer.js';
export { SpscRing, createLocalRing } from './ring.js';
export * from './meta.js';
export { listClusters, cleanupStale, cleanupAction, clusterSnapshot, type RegionStatus, type CleanupResult } from './admin.js';
