// AF_XDP pins the UMEM and charges it to RLIMIT_MEMLOCK unless the process has
// CAP_IPC_LOCK (net/xdp/xdp_umem.c, xdp_umem_account_pages). Node cannot call
// setrlimit, so the addon does: we raise the soft limit to the hard one (or to
// unlimited with CAP_SYS_RESOURCE) before registering, as libbpf users do.
import { native } from '../../native/index.js';
import { CAP, hasCap } from '../iface.js';

const RLIMIT_MEMLOCK = 8;

function fmt(v: number): string {
  return v < 0 ? 'unlimited' : `${v} bytes`;
}

/** Raises RLIMIT_MEMLOCK as far as this process may (before a UMEM registration). */
export function raiseMemlock(): void {
  if (hasCap(CAP.IPC_LOCK)) return; // not charged at all
  const [soft, hard] = native.getrlimit(RLIMIT_MEMLOCK);
  if (soft < 0) return;
  try {
    native.setrlimit(RLIMIT_MEMLOCK, -1, -1); // needs CAP_SYS_RESOURCE
    return;
  } catch { /* fall through: raise the soft limit as far as the hard one allows */ }
  if (hard < 0 || hard > soft) {
    try {
      native.setrlimit(RLIMIT_MEMLOCK, hard, hard);
    } catch { /* leave it; the registration will say what is missing */ }
  }
}

/** Words for error messages: the current limit and whether CAP_IPC_LOCK is held. */
export function memlockHint(): string {
  const [soft, hard] = native.getrlimit(RLIMIT_MEMLOCK);
  return `this process has RLIMIT_MEMLOCK ${fmt(soft)} (hard ${fmt(hard)}) and ` +
    `${hasCap(CAP.IPC_LOCK) ? 'CAP_IPC_LOCK' : 'no CAP_IPC_LOCK'}`;
}
