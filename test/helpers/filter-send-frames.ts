// Sends arbitrary frames from a file on an interface through a plain AF_PACKET
// socket, one sendto each, in order. Run inside the test namespace:
//   ip netns exec NS node dist/test/helpers/filter-send-frames.js IFACE FILE
// FILE holds the frames as [u32 little-endian length][bytes] records
// (writeFrameFile). Prints one JSON line: { sent }.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { native } from '../../src/native/index.js';

const AF_PACKET = 17, SOCK_RAW = 3;

export function writeFrameFile(path: string, frames: readonly Uint8Array[]): void {
  const total = frames.reduce((n, f) => n + 4 + f.length, 0);
  const buf = Buffer.alloc(total);
  let o = 0;
  for (const f of frames) {
    buf.writeUInt32LE(f.length, o);
    buf.set(f, o + 4);
    o += 4 + f.length;
  }
  writeFileSync(path, buf);
}

function openSender(ifname: string): number {
  const ifindex = native.ifNameToIndex(ifname);
  if (!ifindex) throw new Error(`no interface ${ifname}`);
  const fd = native.socket(AF_PACKET, SOCK_RAW, 0); // protocol 0: this socket receives nothing
  const sll = new Uint8Array(20); // struct sockaddr_ll
  new DataView(sll.buffer).setUint16(0, AF_PACKET, true);
  new DataView(sll.buffer).setInt32(4, ifindex, true);
  native.bind(fd, sll);
  return fd;
}

function sendAll(fd: number, buf: Buffer): number {
  let sent = 0;
  for (let o = 0; o < buf.length;) {
    const len = buf.readUInt32LE(o);
    const frame = buf.subarray(o + 4, o + 4 + len);
    o += 4 + len;
    for (;;) {
      const r = native.sendto(fd, frame, 0, null);
      if (r >= 0) break;
      if (r !== -11 && r !== -105) throw new Error(`sendto: errno ${-r}`); // EAGAIN / ENOBUFS: retry
    }
    sent++;
  }
  return sent;
}

function main(ifname: string, file: string, serve: boolean): void {
  const fd = openSender(ifname);
  const buf = readFileSync(file);
  if (!serve) {
    console.log(JSON.stringify({ sent: sendAll(fd, buf) }));
    native.close(fd);
    return;
  }
  // Serve mode: one pass over the frames per "send" line on stdin (no process start per pass).
  let pending = '';
  process.stdin.on('data', (d) => {
    pending += d;
    let i;
    while ((i = pending.indexOf('\n')) >= 0) {
      pending = pending.slice(i + 1);
      console.log(JSON.stringify({ sent: sendAll(fd, buf) }));
    }
  });
  process.stdin.on('end', () => native.close(fd));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main(process.argv[2]!, process.argv[3]!, process.argv[4] === 'serve');
