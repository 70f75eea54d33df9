// Why a test must skip on this machine (null when it can run). Tests pass the
// result to node:test's `skip` option so the reason is printed, never hidden.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export function needRoot(): string | null {
  return process.getuid?.() === 0 ? null : 'needs root (CAP_NET_ADMIN, CAP_NET_RAW, CAP_BPF): run the tests as root';
}

export function needTool(path: string, pkg: string): string | null {
  return existsSync(path) ? null : `needs ${path}: apt-get install ${pkg}`;
}

export function needNetns(): string | null {
  const r = needRoot();
  if (r) return r;
  if (!existsSync('/usr/sbin/ip') && !existsSync('/sbin/ip')) return 'needs ip(8): apt-get install iproute2';
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
    return null;
  } catch {
    return 'ip netns does not work here (no network namespace support)';
  }
}

export function firstOf(...reasons: Array<string | null>): string | false {
  for (const r of reasons) if (r) return r;
  return false;
}
