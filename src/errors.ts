// One error class per failure, each with a stable `code` (undici's style).
// Messages name the cause and the fix.

export class RingzeroError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A cluster id is already owned by a live process. */
export class ClusterExistsError extends RingzeroError {
  constructor(message: string) { super('ERR_RINGZERO_CLUSTER_EXISTS', message); }
}
/** No region for this cluster id. */
export class ClusterNotFoundError extends RingzeroError {
  constructor(message: string) { super('ERR_RINGZERO_CLUSTER_NOT_FOUND', message); }
}
/** The region's header does not match this version of ringzero or is corrupt. */
export class RegionMismatchError extends RingzeroError {
  constructor(message: string) { super('ERR_RINGZERO_REGION_MISMATCH', message); }
}
/** The region path is not a regular file we may trust (symlink, wrong owner, wrong mode). */
export class RegionUnsafeError extends RingzeroError {
  constructor(message: string, options?: { cause?: unknown }) { super('ERR_RINGZERO_REGION_UNSAFE', message, options); }
}
/** Hugepages were required but none are available. */
export class HugepagesUnavailableError extends RingzeroError {
  constructor(message: string) { super('ERR_RINGZERO_NO_HUGEPAGES', message); }
}
/** The owner of the cluster is gone or shut it down. */
export class ClusterClosedError extends RingzeroError {
  constructor(message: string) { super('ERR_RINGZERO_CLUSTER_CLOSED', message); }
}
/** A queue or pool is already attached by another live party. */
export class QueueBusyError extends RingzeroError {
  constructor(message: string) { super('ERR_RINGZERO_QUEUE_BUSY', message); }
}
/** This endpoint was reclaimed by the owner (its process was found dead or stalled). */
export class EvictedError extends RingzeroError {
  constructor(message: string) { super('ERR_RINGZERO_EVICTED', message); }
}
/** A pipeline stage (thread or process) that the owner started ended while the pipeline ran. */
export class StageDiedError extends RingzeroError {
  constructor(message: string, options?: { cause?: unknown }) { super('ERR_RINGZERO_STAGE_DIED', message, options); }
}
/** An argument is out of range or of the wrong kind. */
export class InvalidArgumentError extends RingzeroError {
  constructor(message: string) { super('ERR_RINGZERO_INVALID_ARGUMENT', message); }
}
/** A system call failed; `errno` and `syscall` carry the kernel's answer. */
export class SystemError extends RingzeroError {
  readonly errno: string;
  readonly syscall: string;
  constructor(code: string, message: string, errno: string, syscall: string, cause?: unknown) {
    super(code, message, { cause });
    this.errno = errno;
    this.syscall = syscall;
  }
}

/**
 * The file system that is to hold a cluster region has too little room for
 * it: a full tmpfs (/dev/shm) or too few free huge pages on hugetlbfs. Caught
 * when the region is created (its memory is reserved then, memory/reserve.ts),
 * not as a SIGBUS on first touch. `mount` is the mount point, `neededBytes`
 * and `freeBytes` what the region needed and what was free.
 */
export class NoSpaceError extends SystemError {
  readonly mount: string;
  readonly neededBytes: number;
  readonly freeBytes: number;
  constructor(message: string, o: { mount: string; neededBytes: number; freeBytes: number }, errno: string, syscall: string, cause?: unknown) {
    super('ERR_RINGZERO_NO_SPACE', message, errno, syscall, cause);
    this.mount = o.mount;
    this.neededBytes = o.neededBytes;
    this.freeBytes = o.freeBytes;
  }
}
/**
 * No file descriptor could be had: this process reached RLIMIT_NOFILE
 * (EMFILE; `limit` is its soft limit, -1 unlimited) or the system its
 * fs.file-max (ENFILE). `syscall` is the call that needed one.
 */
export class FdLimitError extends SystemError {
  readonly limit: number;
  constructor(message: string, errno: string, syscall: string, limit: number, cause?: unknown) {
    super('ERR_RINGZERO_FD_LIMIT', message, errno, syscall, cause);
    this.limit = limit;
  }
}

/** The errno name of an addon error ('' when it is not one). */
export function errnoOf(e: unknown): string {
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string'
    ? (e as { code: string }).code
    : '';
}

/** A capture file (pcap/pcapng) is malformed at `offset`: bad magic, impossible length, unsupported version. */
export class PcapFormatError extends RingzeroError {
  readonly offset: number;
  constructor(message: string, offset: number) { super('ERR_RINGZERO_PCAP_FORMAT', message); this.offset = offset; }
}
/** A capture file ends in the middle of a header or record that starts at `offset`. */
export class PcapTruncatedError extends RingzeroError {
  readonly offset: number;
  constructor(message: string, offset: number) { super('ERR_RINGZERO_PCAP_TRUNCATED', message); this.offset = offset; }
}

/** A capture file cannot be opened for reading (missing, a directory, no permission); `path` names it, `errno` says why. */
export class PcapOpenError extends SystemError {
  readonly path: string;
  constructor(message: string, path: string, errno: string, cause?: unknown) {
    super('ERR_RINGZERO_PCAP_OPEN', message, errno, 'open', cause);
    this.path = path;
  }
}
/**
 * Writing a capture file failed (disk full, quota, file too large, closed
 * pipe, I/O error). A regular file was cut back to its last complete record
 * first. `path` is the file that failed (with rotation, not necessarily the
 * first), `packetsInFile` the packets it holds, `packetsInFiles` the packets
 * in every file of the writer, `lost` the accepted packets that reached none.
 */
export class PcapWriteError extends SystemError {
  readonly path: string;
  readonly packetsInFile: number;
  readonly packetsInFiles: number;
  readonly lost: number;
  constructor(message: string, errno: string, syscall: string,
    o: { path: string; packetsInFile: number; packetsInFiles: number; lost: number }, cause?: unknown) {
    super('ERR_RINGZERO_PCAP_WRITE_FAILED', message, errno, syscall, cause);
    this.path = o.path;
    this.packetsInFile = o.packetsInFile;
    this.packetsInFiles = o.packetsInFiles;
    this.lost = o.lost;
  }
}
/**
 * A pcapng file's interfaces have different link types (e.g. Ethernet and
 * RAW), read where every packet must have one link type (a `pcap:` device,
 * whose filter and output assume one). `linkTypes` is [the first interface's, the odd one's].
 */
export class PcapLinkTypesError extends RingzeroError {
  readonly linkTypes: number[];
  readonly offset: number;
  constructor(message: string, linkTypes: number[], offset: number) {
    super('ERR_RINGZERO_PCAP_MIXED_LINK_TYPES', message);
    this.linkTypes = linkTypes;
    this.offset = offset;
  }
}
/**
 * A capture output file cannot be opened or created (missing directory,
 * read-only file system, no permission, a directory, the input file itself);
 * `path` is the file, `errno` the kernel's answer ('' when there was none).
 */
export class OutputFileError extends RingzeroError {
  readonly path: string;
  readonly errno: string;
  constructor(message: string, path: string, errno: string, cause?: unknown) {
    super('ERR_RINGZERO_OUTPUT', message, { cause });
    this.path = path;
    this.errno = errno;
  }
}

// --- devices ---------------------------------------------------------------
/** The named network interface does not exist (the message lists those that do). */
export class InterfaceNotFoundError extends RingzeroError {
  constructor(message: string) { super('ERR_RINGZERO_NO_SUCH_INTERFACE', message); }
}
/** A capability is missing (CAP_NET_RAW, CAP_BPF, CAP_NET_ADMIN); `capability` names it. */
export class PermissionDeniedError extends RingzeroError {
  readonly capability: string;
  constructor(message: string, capability: string, cause?: unknown) {
    super('ERR_RINGZERO_PERMISSION_DENIED', message, { cause });
    this.capability = capability;
  }
}
/** The AF_XDP UMEM cannot be locked in memory: RLIMIT_MEMLOCK too low and no CAP_IPC_LOCK. */
export class MemlockLimitError extends RingzeroError {
  constructor(message: string, cause?: unknown) { super('ERR_RINGZERO_MEMLOCK', message, { cause }); }
}
/** The interface already runs an XDP program that is not ours. */
export class XdpProgramExistsError extends RingzeroError {
  constructor(message: string, cause?: unknown) { super('ERR_RINGZERO_XDP_PROGRAM_EXISTS', message, { cause }); }
}
/**
 * The filter of an XDP program that other processes (or threads) joined cannot
 * be replaced: it would change what their queues receive too. `pids` hold it.
 */
export class XdpProgramSharedError extends RingzeroError {
  readonly pids: readonly number[];
  constructor(message: string, pids: readonly number[]) { super('ERR_RINGZERO_XDP_PROGRAM_SHARED', message); this.pids = pids; }
}
/** Native XDP refuses the interface's (or its veth peer's) MTU. */
export class XdpMtuTooLargeError extends RingzeroError {
  constructor(message: string, cause?: unknown) { super('ERR_RINGZERO_XDP_MTU_TOO_LARGE', message, { cause }); }
}
/** The kernel verifier rejected an eBPF program; `log` holds its explanation. */
export class BpfRejectedError extends RingzeroError {
  readonly log: string;
  constructor(message: string, log: string, cause?: unknown) { super('ERR_RINGZERO_BPF_REJECTED', message, { cause }); this.log = log; }
}
/** The queue id is not one the interface has. */
export class QueueOutOfRangeError extends RingzeroError {
  constructor(message: string) { super('ERR_RINGZERO_QUEUE_OUT_OF_RANGE', message); }
}
/** Another socket (this or another process) is already bound to this interface queue. */
export class DeviceBusyError extends RingzeroError {
  constructor(message: string, cause?: unknown) { super('ERR_RINGZERO_DEVICE_BUSY', message, { cause }); }
}
/** Zero-copy was required but the driver only offers copy mode. */
export class ZeroCopyUnsupportedError extends RingzeroError {
  constructor(message: string, cause?: unknown) { super('ERR_RINGZERO_ZEROCOPY_UNSUPPORTED', message, { cause }); }
}
/**
 * The interface went away while the device was open: deleted, moved to
 * another network namespace, or its driver unloaded. Packets received before
 * were delivered; the device can only be closed.
 */
export class InterfaceGoneError extends RingzeroError {
  constructor(message: string) { super('ERR_RINGZERO_INTERFACE_GONE', message); }
}
/** The interface is administratively down: frames cannot be sent (`ip link set IFACE up`). */
export class LinkDownError extends RingzeroError {
  constructor(message: string) { super('ERR_RINGZERO_LINK_DOWN', message); }
}
/** The device was used after close(). */
export class DeviceClosedError extends RingzeroError {
  constructor(message: string) { super('ERR_RINGZERO_DEVICE_CLOSED', message); }
}
/** A frame longer than the device (or queue) sends whole; the message names the longest it can, and why. */
export class FrameTooLongError extends RingzeroError {
  constructor(message: string) { super('ERR_RINGZERO_FRAME_TOO_LONG', message); }
}
/** A capture file to send holds records of a link type other than Ethernet; the message names it and a conversion. */
export class LinkTypeUnsupportedError extends RingzeroError {
  constructor(message: string) { super('ERR_RINGZERO_LINKTYPE_UNSUPPORTED', message); }
}
/**
 * A capture file replayed at its recorded pace has a record more than a day
 * after the one before it (typically a corrupt timestamp, e.g. year 2106):
 * the replay would wait that long. `packet` is its 1-based number in the file.
 */
export class ReplayGapError extends RingzeroError {
  readonly packet: number;
  readonly gapSeconds: number;
  constructor(message: string, packet: number, gapSeconds: number) {
    super('ERR_RINGZERO_REPLAY_GAP', message);
    this.packet = packet;
    this.gapSeconds = gapSeconds;
  }
}

// --- filters -----------------------------------------------------------------
/** libpcap's compiler rejected a filter expression; `pcapMessage` is libpcap's own text. */
export class FilterSyntaxError extends RingzeroError {
  readonly expression: string;
  readonly pcapMessage: string;
  constructor(message: string, expression: string, pcapMessage: string) {
    super('ERR_RINGZERO_FILTER_SYNTAX', message);
    this.expression = expression;
    this.pcapMessage = pcapMessage;
  }
}
/** libpcap (needed only to compile filter expressions) could not be loaded. */
export class LibpcapMissingError extends RingzeroError {
  constructor(message: string, cause?: unknown) { super('ERR_RINGZERO_LIBPCAP_MISSING', message, { cause }); }
}
/** A classic BPF program breaks one of the kernel's rules; `index` is the instruction, `rule` names the rule. */
export class BpfCheckError extends RingzeroError {
  readonly index: number;
  readonly rule: string;
  constructor(message: string, index: number, rule: string) {
    super('ERR_RINGZERO_BPF_CHECK', message);
    this.index = index;
    this.rule = rule;
  }
}
/** A filter back-end (JS, XDP) cannot express an instruction, e.g. a Linux ancillary load (SKF_AD_*). */
export class FilterUnsupportedError extends RingzeroError {
  readonly index: number;
  constructor(message: string, index: number) { super('ERR_RINGZERO_FILTER_UNSUPPORTED', message); this.index = index; }
}
/** SO_ATTACH_FILTER / SO_DETACH_FILTER failed; `errno` is the kernel's answer. */
export class FilterAttachError extends RingzeroError {
  readonly errno: string;
  constructor(message: string, errno: string, cause?: unknown) {
    super('ERR_RINGZERO_FILTER_ATTACH', message, { cause });
    this.errno = errno;
  }
}

// --- virtual machines (ivshmem, src/vm/) -------------------------------------
/** The QMP socket of a QEMU VM cannot be reached (missing, refused, not QMP). */
export class QmpConnectError extends RingzeroError {
  readonly socketPath: string;
  constructor(message: string, socketPath: string, cause?: unknown) { super('ERR_RINGZERO_QMP_CONNECT', message, { cause }); this.socketPath = socketPath; }
}
/** QEMU refused a QMP command; `qmpClass` and `command` are QEMU's error class and the command sent. */
export class QmpCommandError extends RingzeroError {
  readonly qmpClass: string;
  readonly command: string;
  constructor(message: string, qmpClass: string, command: string) { super('ERR_RINGZERO_QMP_COMMAND', message); this.qmpClass = qmpClass; this.command = command; }
}
/** QEMU (or the guest, for a hot-unplug) did not answer in time. */
export class QmpTimeoutError extends RingzeroError {
  constructor(message: string) { super('ERR_RINGZERO_QMP_TIMEOUT', message); }
}
/** A region cannot back an ivshmem device: a PCI BAR's size must be a power of two. */
export class IvshmemSizeError extends RingzeroError {
  constructor(message: string) { super('ERR_RINGZERO_IVSHMEM_SIZE', message); }
}
