// Running `ringzero` commands from tests: as a child process whose output is
// collected, with helpers to wait for a line and to read the final JSON.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export const BIN = new URL('../../src/cli/main.js', import.meta.url).pathname;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The last line of `s` that is a JSON object. */
export const lastJson = (s: string) => JSON.parse(s.trim().split('\n').filter((l) => l.startsWith('{')).pop()!);

export interface Started {
  p: ReturnType<typeof spawn>;
  done: Promise<{ code: number | null; signal: string | null; out: string; err: string }>;
  out(): string;
  err(): string;
}

/** `ringzero ...args` in the background; `wrapper` runs it (e.g. ['unshare', '--pid', '--fork']). */
export function start(args: string[], wrapper: string[] = [], env?: NodeJS.ProcessEnv): Started {
  const argv = [...wrapper, process.execPath, BIN, ...args];
  const p = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  p.stdout!.on('data', (d) => { out += d; });
  p.stderr!.on('data', (d) => { err += d; });
  const done = new Promise<{ code: number | null; signal: string | null; out: string; err: string }>((r) => p.on('exit', (code, signal) => r({ code, signal, out, err })));
  return { p, done, out: () => out, err: () => err };
}

/** A TCP port on 127.0.0.1 that was free a moment ago (for --metrics). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Polls `cond` every 25 ms; throws naming `what` after `ms`. */
export async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}
