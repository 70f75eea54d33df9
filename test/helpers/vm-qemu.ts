// Booting throw-away QEMU guests for the ivshmem tests. The guest image comes
// from scripts/vm-image.mjs (Debian cloud kernel, busybox, node, dist/); its
// /init runs one shell command (in /rz, the package root) and powers off,
// and everything the guest prints arrives on the serial console, which is
// QEMU's stdout here.
//
// TCG only (this machine has /dev/kvm but no usable virtualisation). MTTCG
// with max_cpus > 1 makes QEMU translate guest atomic instructions into host
// atomics (accel/tcg/tcg-accel-ops-mttcg.c: tcg_cpu_init_cflags(cpu,
// max_cpus > 1) sets CF_PARALLEL); with one possible vCPU a guest `lock
// cmpxchg` is not atomic against host processes sharing the memory.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const QEMU = '/usr/bin/qemu-system-x86_64';
/** the package root (dist/test/helpers -> ../../..) */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export interface GuestImage { kernel: string; initrd: string }

/** Why VMs cannot run here (null when they can). */
export function qemuUnavailable(): string | null {
  if (process.arch !== 'x64') return `the VM tests boot an x86-64 guest; this is ${process.arch}`;
  if (!existsSync(QEMU)) return `needs ${QEMU}: apt-get install qemu-system-x86`;
  return null;
}

/** Builds (or reuses) the guest image; returns it, or the reason it cannot be had. */
export async function guestImage(): Promise<GuestImage | string> {
  const mod = await import(join(ROOT, 'scripts', 'vm-image.mjs')) as {
    buildVmImage(o: { root: string }): GuestImage;
    VmImageUnavailable: new (...a: unknown[]) => Error;
  };
  try {
    return mod.buildVmImage({ root: ROOT });
  } catch (e) {
    if (e instanceof mod.VmImageUnavailable) return `cannot build the guest image: ${(e as Error).message}`;
    throw e;
  }
}

export interface Guest {
  proc: ChildProcess;
  /** every line printed on the serial console so far */
  lines: string[];
  /** resolves with the first line (present or future) matching `re` */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** resolves when QEMU has exited */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL QEMU (by its pid) and wait for it */
  kill(): Promise<void>;
  /** the console so far, for failure messages */
  console(): string;
}

export interface BootOptions {
  /** shell command run by the guest's /init, in /rz */
  command: string;
  /** extra QEMU arguments (e.g. coldplugArgs(cluster)) */
  args?: string[];
  /** serve QMP on this unix socket */
  qmpSocket?: string;
  memoryMb?: number;
}

export function bootGuest(image: GuestImage, o: BootOptions): Guest {
  const cmd = Buffer.from(o.command).toString('base64');
  const args = [
    '-accel', 'tcg,thread=multi', '-smp', '1,maxcpus=2', '-cpu', 'max', // max: RDRAND, so the guest's RNG is ready at once
    '-m', `${o.memoryMb ?? 512}M`, '-M', 'pc', '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-serial', 'stdio',
    '-kernel', image.kernel, '-initrd', image.initrd,
    '-append', `console=ttyS0 quiet panic=-1 rdinit=/init rzcmd=${cmd}`,
    ...(o.qmpSocket ? ['-qmp', `unix:${o.qmpSocket},server=on,wait=off`] : []),
    ...(o.args ?? []),
  ];
  const proc = spawn(QEMU, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: Array<{ re: RegExp; resolve: (m: RegExpMatchArray) => void }> = [];
  let buf = '';
  const onText = (d: Buffer) => {
    buf += d.toString('utf8').replace(/\r/g, '');
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(line);
      for (const w of waiters.slice()) {
        const m = w.re.exec(line);
        if (m) { waiters.splice(waiters.indexOf(w), 1); w.resolve(m); }
      }
    }
  };
  proc.stdout!.on('data', onText);
  proc.stderr!.on('data', onText);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    proc.once('exit', (code, signal) => res({ code, signal }));
  });
  const console = () => lines.slice(-60).join('\n');
  let gone = false;
  void exited.then(() => { gone = true; });
  return {
    proc, lines, exited, console,
    waitFor(re, timeoutMs = 60_000) {
      for (const l of lines) { const m = re.exec(l); if (m) return Promise.resolve(m); }
      return new Promise((res, rej) => {
        const w = { re, resolve: (m: RegExpMatchArray) => { clearTimeout(t); res(m); } };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          rej(new Error(`no console line matching ${re} within ${timeoutMs} ms${gone ? ' (QEMU exited)' : ''}; console:\n${console()}`));
        }, timeoutMs);
        waiters.push(w);
        void exited.then(() => setTimeout(() => {
          if (!waiters.includes(w)) return;
          waiters.splice(waiters.indexOf(w), 1);
          clearTimeout(t);
          rej(new Error(`QEMU exited before printing a line matching ${re}; console:\n${console()}`));
        }, 50));
      });
    },
    async kill() {
      if (!gone && proc.pid !== undefined) {
        try { process.kill(proc.pid, 'SIGKILL'); } catch { /* already gone */ }
      }
      await exited;
    },
  };
}

/** A private folder for QMP sockets; remove it with rmSync(dir, { recursive: true }). */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'ringzero-vm-'));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Resolves once `cond()` is true (polled every 20 ms, event loop kept free). */
export async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
