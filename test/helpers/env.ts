// Why a test must skip on this machine (null when it can run). Tests pass the
// result to node:test's `skip` option so the reason is printed, never hidden.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';

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

/**
 * A region folder of the test's own (RINGZERO_SHM_DIR for the processes it
 * starts with `env`): cleanup and the private-region sweep remove dead owners'
 * regions, and /dev/shm holds other people's.
 */
export function privateShm(name: string): { dir: string; env: NodeJS.ProcessEnv; remove(): void } {
  const dir = mkdtempSync(`/dev/shm/rz-test-${name}-`);
  return { dir, env: { ...process.env, RINGZERO_SHM_DIR: dir }, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
