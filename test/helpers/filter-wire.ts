// Glue for filter tests over a real veth pair: send frames from inside the
// namespace, receive them with AF_PACKET sockets on the host end.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { native } from '../../src/native/index.js';
import type { VethPair } from './netns.js';
import { writeFrameFile } from './filter-send-frames.js';

const AF_PACKET = 17, SOCK_RAW = 3, ETH_P_ALL = 0x0003, SOL_SOCKET = 1, SO_RCVBUFFORCE = 33, MSG_DONTWAIT = 0x40;

/** socket(AF_PACKET, SOCK_RAW, 0): receives nothing until bindAll(). */
export function packetSocket(): number {
  const fd = native.socket(AF_PACKET, SOCK_RAW, 0);
  native.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, new Int32Array([16 << 20]));
  return fd;
}

/** bind to every protocol (ETH_P_ALL) on `ifindex`. */
export function bindAll(fd: number, ifindex: number): void {
  const sll = new Uint8Array(20);
  const dv = new DataView(sll.buffer);
  dv.setUint16(0, AF_PACKET, true);
  dv.setUint16(2, ETH_P_ALL, false); // sll_protocol is big-endian
  dv.setInt32(4, ifindex, true);
  native.bind(fd, sll);
}

/** Sends `frames` in order from the namespace end of `pair`. */
export function sendFromPeer(pair: VethPair, frames: readonly Uint8Array[]): void {
  const dir = mkdtempSync(join(tmpdir(), 'rz-frames-'));
  try {
    const file = join(dir, 'frames.bin');
    writeFrameFile(file, frames);
    const script = join(dirname(fileURLToPath(import.meta.url)), 'filter-send-frames.js');
    const out = execFileSync('ip', ['netns', 'exec', pair.ns, process.execPath, script, pair.peer, file], { encoding: 'utf8' });
    const { sent } = JSON.parse(out) as { sent: number };
    if (sent !== frames.length) throw new Error(`sent ${sent} of ${frames.length} frames`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A sender kept running in the namespace: `send()` sends the frames once more. */
export class PeerSender {
  private readonly child: ChildProcess;
  private readonly dir: string;
  private out = '';
  private waiters: Array<(n: number) => void> = [];

  constructor(pair: VethPair, frames: readonly Uint8Array[]) {
    this.dir = mkdtempSync(join(tmpdir(), 'rz-frames-'));
    const file = join(this.dir, 'frames.bin');
    writeFrameFile(file, frames);
    const script = join(dirname(fileURLToPath(import.meta.url)), 'filter-send-frames.js');
    this.child = spawn('ip', ['netns', 'exec', pair.ns, process.execPath, script, pair.peer, file, 'serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.child.stdout!.on('data', (d) => {
      this.out += d;
      let i;
      while ((i = this.out.indexOf('\n')) >= 0) {
        const line = this.out.slice(0, i);
        this.out = this.out.slice(i + 1);
        this.waiters.shift()?.((JSON.parse(line) as { sent: number }).sent);
      }
    });
  }

  send(): Promise<number> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.child.stdin!.write('send\n');
    });
  }

  close(): void {
    this.child.stdin!.end();
    this.child.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Receives until `want` frames arrived or nothing more came for `quietMs`. */
export function drain(fd: number, want: number, quietMs = 300): Uint8Array[] {
  const out: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  let idleSince = Date.now();
  while (Date.now() - idleSince < quietMs) {
    const n = native.recv(fd, buf, MSG_DONTWAIT);
    if (n >= 0) {
      out.push(buf.slice(0, n));
      idleSince = Date.now();
      continue;
    }
    if (out.length >= want) {
      // everything expected is here; linger briefly to catch extras
      if (Date.now() - idleSince >= Math.min(quietMs, 100)) break;
    }
    native.poll(fd, 1 /* POLLIN */, 20);
  }
  return out;
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
