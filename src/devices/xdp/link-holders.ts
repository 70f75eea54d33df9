// Who else holds the BPF link of an interface's XDP program. The program, and
// the filter in it, is one for the whole interface: every process that joined
// it (join.ts) has its queues' frames judged by it. So a process may replace
// the filter only while no one else holds the link, and it cannot tell that
// from its own state: the first opener does not hear of later joiners, and a
// joiner does not hear of the others leaving. The kernel keeps no count it
// would tell (bpf_link_info has none), but it lists every open link fd in
// /proc/PID/fdinfo with its link_id: that is the truth this file reads.
//
// Limits: processes of a PID namespace outside ours (an ancestor's) are not
// in our /proc, and a hidepid=2 mount hides other users' processes (joining
// needs root anyway). Reading takes a few ms per thousand open fds, and runs
// only on a reload.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { linkIdOf } from './join.js';

/**
 * what readlink(/proc/PID/fd/N) says for a BPF link: 'anon_inode:bpf_link' for
 * the fd BPF_LINK_CREATE made, 'anon_inode:bpf-link' for one from
 * BPF_LINK_GET_FD_BY_ID (the kernel names the two anon inodes differently)
 */
const LINK_TARGET = /^anon_inode:bpf[-_]link$/;

function entries(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return []; // the process ended meanwhile, or we may not look
  }
}

/**
 * The pids (as our /proc numbers them) of the processes that hold link
 * `linkFd` through an fd other than `linkFd` of this process (another thread
 * of ours counts: it is another user of the program). Sorted, no repeats.
 */
export function otherLinkHolders(linkFd: number): number[] {
  const id = String(linkIdOf(linkFd));
  const self = readlinkSync('/proc/self'); // our pid in the namespace /proc belongs to, not necessarily process.pid's
  const found = new Set<number>();
  for (const pid of entries('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    for (const fd of entries(`/proc/${pid}/fd`)) {
      if (pid === self && fd === String(linkFd)) continue;
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue; // closed meanwhile
      }
      if (!LINK_TARGET.test(target)) continue;
      let info = '';
      try {
        info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
      } catch {
        continue;
      }
      if (/^link_id:\s*(\d+)$/m.exec(info)?.[1] === id) found.add(Number(pid));
    }
  }
  return [...found].sort((x, y) => x - y);
}
