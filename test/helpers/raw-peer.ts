// Glue for device tests: raw-socket peers in the namespace, draining a device
// into plain byte arrays, writing frames into cluster buffers.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { META_LEN, META_NSEC, META_OFF, META_PORT, META_SEC, META_WIRELEN, META_WORDS, type BufferMemory, type BufferSource } from '../../src/zc/meta.js';
import type { Device } from '../../src/devices/index.js';
import type { VethPair } from './netns.js';

export const HELPERS = dirname(fileURLToPath(import.meta.url));
export const helper = (name: string) => join(HELPERS, name);

/** Starts raw-recv.js on the peer end; resolves once it is bound. */
export async function startPeerCapture(pair: VethPair, count: number, timeoutMs = 10_000): Promise<() => Promise<string[]>> {
  const child = spawn('ip', ['netns', 'exec', pair.ns, process.execPath, helper('raw-recv.js'), pair.peer,
    '--count', String(count), '--timeout', String(timeoutMs)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (b) => { out += b; });
  const exited = new Promise<number>((r) => child.on('exit', (code) => r(code ?? -1)));
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (b) => {
      err += b;
      if (err.includes('ready')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`raw-recv exited (${code}) before it was ready: ${err}`)));
  });
  return async () => {
    const code = await exited;
    if (code !== 0) throw new Error(`raw-recv failed (${code}): ${err}`);
    return (JSON.parse(out) as { frames: string[] }).frames;
  };
}

/** Sends test frames from the peer end (raw-send.js) and waits until they are out. */
export function peerSend(pair: VethPair, args: string[]): { sent: number } {
  return JSON.parse(pair.exec(process.execPath, [helper('raw-send.js'), pair.peer, ...args]));
}

export interface Received {
  hex: string;
  len: number;
  wireLen: number;
  off: number;
  sec: number;
  nsec: number;
  port: number;
}

export function bufferBytes(m: BufferMemory, idx: number): Uint8Array {
  const mm = idx * META_WORDS;
  const start = m.bufferOffset + idx * m.bufferSize + m.meta[mm + META_OFF];
  return m.bytes.subarray(start, start + m.meta[mm + META_LEN]);
}

/** Receives until `want` frames arrived or timeoutMs passed; frees every buffer it got. */
export function drainDevice(dev: Device, m: BufferMemory, source: BufferSource, want: number, timeoutMs = 5000): Received[] {
  const got: Received[] = [];
  const burst = new Uint32Array(64);
  const end = Date.now() + timeoutMs;
  while (got.length < want && Date.now() < end) {
    const n = dev.recvBurst(burst, burst.length);
    if (n === 0) { dev.wait(20); continue; }
    for (let i = 0; i < n; i++) {
      const idx = burst[i];
      const mm = idx * META_WORDS;
      got.push({
        hex: Buffer.from(bufferBytes(m, idx)).toString('hex'),
        len: m.meta[mm + META_LEN], wireLen: m.meta[mm + META_WIRELEN], off: m.meta[mm + META_OFF],
        sec: m.meta[mm + META_SEC], nsec: m.meta[mm + META_NSEC], port: m.meta[mm + META_PORT],
      });
    }
    source.free(burst, n);
  }
  return got;
}

/** Copies `frame` into buffer idx at data offset `off` and sets its length. */
export function writeFrame(m: BufferMemory, idx: number, frame: Uint8Array, off: number): void {
  m.bytes.set(frame, m.bufferOffset + idx * m.bufferSize + off);
  m.meta[idx * META_WORDS + META_LEN] = frame.length;
  m.meta[idx * META_WORDS + META_OFF] = off;
}

/** Runs a child node script and collects its stdout (JSON) and exit code. */
export function runNode(args: string[], opts: { wrap?: string[]; timeoutMs?: number } = {}): Promise<{ code: number; out: string; err: string }> {
  const argv = [...(opts.wrap ?? []), process.execPath, ...args];
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (b) => { out += b; });
  child.stderr.on('data', (b) => { err += b; });
  const t = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
  return new Promise((resolve) => child.on('exit', (code) => { clearTimeout(t); resolve({ code: code ?? -1, out, err }); }));
}
