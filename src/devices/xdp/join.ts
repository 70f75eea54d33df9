// Joining the XDP attachment another ringzero process (or thread) already has
// on an interface, so per-queue processes share it as PF_RING ZC's zc:eth0@0 /
// zc:eth0@1 applications do. An interface holds one XDP program; the first
// opener attaches it with a BPF link. A later opener finds that link by id,
// and when the program behind it is the one it would have loaded itself
// (same program tag: same instructions with map fds aside, so the same
// filter), it takes its own references to the link, the program and the
// XSKMAP, and puts its socket in the map at its queue. The link lives as long
// as any process holds it and goes away when the last one closes or dies:
// still nothing is left behind after SIGKILL (no bpffs pinning).
//
// The *_GET_FD_BY_ID commands need CAP_SYS_ADMIN; without it, or when the
// program is not ours, the opener gets the usual XdpProgramExistsError.
import { native } from '../../native/index.js';

// enum bpf_cmd
const BPF_PROG_GET_FD_BY_ID = 13;
const BPF_MAP_GET_FD_BY_ID = 14;
const BPF_OBJ_GET_INFO_BY_FD = 15;
const BPF_LINK_GET_FD_BY_ID = 30;
const BPF_LINK_GET_NEXT_ID = 31;
const BPF_LINK_TYPE_XDP = 6;
const BPF_MAP_TYPE_XSKMAP = 17;

/** fds this process now holds on the shared attachment (close them to let go). */
export interface JoinedXdp {
  linkFd: number;
  progFd: number;
  mapFd: number;
}

/**
 * `progFd` is the program this opener loaded; returns the shared attachment
 * when `ifindex` runs the same program from a ringzero link, 'other' when it
 * runs a ringzero program with other instructions (another filter), or null
 * (not ours, or we may not look).
 */
export function joinXdp(ifindex: number, progFd: number, programName: string): JoinedXdp | 'other' | null {
  let linkFd = -1, theirs = -1, mapFd = -1;
  try {
    linkFd = findXdpLink(ifindex);
    if (linkFd < 0) return null;
    const progId = infoOf(linkFd, 64).getUint32(8, true); // bpf_link_info.prog_id
    theirs = byId(BPF_PROG_GET_FD_BY_ID, progId);
    const them = progFacts(theirs);
    if (them.name !== programName) return null;
    if (them.tag !== progFacts(progFd).tag) return 'other';
    for (const id of them.mapIds) {
      const fd = byId(BPF_MAP_GET_FD_BY_ID, id);
      if (isXskMap(fd)) { mapFd = fd; break; }
    }
    if (mapFd < 0) return null;
    const joined = { linkFd, progFd: theirs, mapFd };
    linkFd = theirs = mapFd = -1; // handed over
    return joined;
  } catch {
    return null; // EPERM without CAP_SYS_ADMIN, or the attachment went away meanwhile
  } finally {
    for (const fd of [linkFd, theirs, mapFd]) if (fd >= 0) native.close(fd);
  }
}

/** The id of the BPF link behind `linkFd` (bpf_link_info.id). */
export function linkIdOf(linkFd: number): number {
  return infoOf(linkFd, 64).getUint32(4, true);
}

function byId(cmd: number, id: number): number {
  const attr = new Uint8Array(16);
  new DataView(attr.buffer).setUint32(0, id, true); // link_id / prog_id / map_id
  return native.bpf(cmd, attr);
}

/** BPF_OBJ_GET_INFO_BY_FD: the first `size` bytes of the object's info struct. */
function infoOf(fd: number, size: number, ptrs: Array<[number, Uint32Array]> = []): DataView {
  const info = new Uint8Array(size);
  const attr = new Uint8Array(16);
  const a = new DataView(attr.buffer);
  a.setUint32(0, fd, true); // info.bpf_fd
  a.setUint32(4, size, true); // info.info_len
  const v = new DataView(info.buffer);
  for (const [at, arr] of ptrs) v.setUint32(at - 4, arr.length, true); // the count right before each pointer
  native.bpf(BPF_OBJ_GET_INFO_BY_FD, attr, [[8, info], ...ptrs.map(([at, arr]): [number, Uint32Array, Uint8Array] => [at, arr, info])]);
  return v;
}

/** The fd of the XDP link attached to `ifindex`, or -1. */
function findXdpLink(ifindex: number): number {
  const attr = new Uint8Array(16);
  const v = new DataView(attr.buffer);
  for (let id = 0; ;) {
    v.setUint32(0, id, true); // start_id
    try {
      native.bpf(BPF_LINK_GET_NEXT_ID, attr);
    } catch {
      return -1; // ENOENT: no more links
    }
    id = v.getUint32(4, true); // next_id
    let fd: number;
    try {
      fd = byId(BPF_LINK_GET_FD_BY_ID, id);
    } catch {
      continue; // gone meanwhile
    }
    let ours = false;
    try {
      // struct bpf_link_info { u32 type; u32 id; u32 prog_id; (pad) union { struct { u32 ifindex; } xdp; ... } }
      const info = infoOf(fd, 64);
      ours = info.getUint32(0, true) === BPF_LINK_TYPE_XDP && info.getUint32(16, true) === ifindex;
    } finally {
      if (!ours) native.close(fd);
    }
    if (ours) return fd;
  }
}

/** Whether map `fd` is an XSKMAP; closes it when not (or when the question fails). */
function isXskMap(fd: number): boolean {
  let yes = false;
  try {
    yes = infoOf(fd, 80).getUint32(0, true) === BPF_MAP_TYPE_XSKMAP; // bpf_map_info.type
  } finally {
    if (!yes) native.close(fd);
  }
  return yes;
}

/** From struct bpf_prog_info: tag (hex), name, and the ids of the maps it uses. */
function progFacts(progFd: number): { tag: string; name: string; mapIds: number[] } {
  const ids = new Uint32Array(8);
  // tag[8] at 8, nr_map_ids at 52, map_ids (user pointer) at 56, name[16] at 64
  const v = infoOf(progFd, 96, [[56, ids]]);
  const bytes = new Uint8Array(v.buffer);
  const n = Math.min(v.getUint32(52, true), ids.length);
  const name = new TextDecoder().decode(bytes.subarray(64, 80)).replace(/\0[^]*$/, '');
  return { tag: Buffer.from(bytes.subarray(8, 16)).toString('hex'), name, mapIds: Array.from(ids.subarray(0, n)) };
}
