// A minimal QEMU Machine Protocol client over a unix socket (QEMU's
// docs/interop/qmp-spec.rst): the server greets with {"QMP": {...}}, the client
// leaves capabilities negotiation with `qmp_capabilities`, then sends
// {"execute", "arguments", "id"} and gets {"return"} or {"error": {class, desc}}
// with the same id. Asynchronous {"event"} messages may come at any time; they
// are kept so a caller can wait for one that arrived before it asked.
//
// QEMU serves one QMP client per monitor at a time: connect, do the work, close.
import { createConnection, type Socket } from 'node:net';
import { QmpCommandError, QmpConnectError, QmpTimeoutError } from '../errors.js';

export interface QmpEvent {
  event: string;
  data: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

interface Pending {
  command: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class QmpClient {
  private buf = '';
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private readonly events: QmpEvent[] = [];
  private readonly eventWaiters = new Set<(e: QmpEvent) => boolean>();
  private closedError: Error | null = null;

  private constructor(private readonly socket: Socket, readonly socketPath: string) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => this.onData(d));
    socket.on('close', () => this.fail(new QmpConnectError(`QMP connection to ${socketPath} closed by QEMU (did the VM exit?)`, socketPath)));
    socket.on('error', (e) => this.fail(new QmpConnectError(`QMP connection to ${socketPath} failed: ${e.message}`, socketPath, e)));
  }

  /** Connects, reads the greeting and enters command mode. */
  static connect(socketPath: string, timeoutMs = 5000): Promise<QmpClient> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(socketPath);
      let settled = false;
      const done = (e: Error | null, c?: QmpClient) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (e) { socket.destroy(); reject(e); } else resolve(c!);
      };
      const timer = setTimeout(() => done(new QmpTimeoutError(`no QMP greeting on ${socketPath} within ${timeoutMs} ms: is another client connected (QEMU serves one at a time), or is this not a QMP socket?`)), timeoutMs);
      socket.once('error', (e: NodeJS.ErrnoException) => done(new QmpConnectError(
        `cannot connect to the QMP socket ${socketPath} (${e.code ?? e.message}): start QEMU with -qmp unix:${socketPath},server=on,wait=off`, socketPath, e)));
      let greeting = '';
      const onGreeting = (d: Buffer) => {
        greeting += d.toString('utf8');
        const nl = greeting.indexOf('\n');
        if (nl < 0) return;
        socket.off('data', onGreeting);
        let msg: { QMP?: unknown };
        try { msg = JSON.parse(greeting.slice(0, nl)); } catch { msg = {}; }
        if (!msg.QMP) return done(new QmpConnectError(`${socketPath} is not a QMP socket (first line: ${greeting.slice(0, 80).trim()})`, socketPath));
        socket.removeAllListeners('error');
        const c = new QmpClient(socket, socketPath);
        c.buf = greeting.slice(nl + 1);
        c.execute('qmp_capabilities', undefined, timeoutMs).then(() => done(null, c), (e: Error) => done(e));
      };
      socket.on('data', onGreeting);
    });
  }

  private onData(d: string): void {
    this.buf += d;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (line) this.onMessage(line);
    }
  }

  private onMessage(line: string): void {
    let msg: { id?: string; return?: unknown; error?: { class: string; desc: string }; event?: string; data?: Record<string, unknown> };
    try { msg = JSON.parse(line); } catch { return; } // QEMU only sends JSON; ignore noise
    if (msg.event !== undefined) {
      const e = msg as QmpEvent;
      e.data ??= {};
      for (const w of this.eventWaiters) if (w(e)) return;
      this.events.push(e);
      return;
    }
    const p = msg.id === undefined ? undefined : this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id!);
    clearTimeout(p.timer);
    if (msg.error) p.reject(new QmpCommandError(`QEMU refused ${p.command}: ${msg.error.desc} (${msg.error.class})`, msg.error.class, p.command));
    else p.resolve(msg.return);
  }

  private fail(e: Error): void {
    if (this.closedError) return;
    this.closedError = e;
    for (const p of this.pending.values()) { clearTimeout(p.timer); p.reject(e); }
    this.pending.clear();
  }

  /** Runs one command; resolves with its `return` value, rejects with QmpCommandError. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, timeoutMs = 10_000): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = `rz-${this.nextId++}`;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new QmpTimeoutError(`QEMU did not answer ${command} within ${timeoutMs} ms on ${this.socketPath}`));
      }, timeoutMs);
      this.pending.set(id, { command, resolve: resolve as (v: unknown) => void, reject, timer });
      this.socket.write(JSON.stringify(args === undefined ? { execute: command, id } : { execute: command, arguments: args, id }) + '\n');
    });
  }

  /** Resolves with the first event named `name` (and matching `match`), including ones already received. */
  waitEvent(name: string, match: (data: Record<string, unknown>) => boolean = () => true, timeoutMs = 10_000): Promise<QmpEvent> {
    const i = this.events.findIndex((e) => e.event === name && match(e.data));
    if (i >= 0) return Promise.resolve(this.events.splice(i, 1)[0]);
    return new Promise((resolve, reject) => {
      const waiter = (e: QmpEvent) => {
        if (e.event !== name || !match(e.data)) return false;
        this.eventWaiters.delete(waiter);
        clearTimeout(timer);
        resolve(e);
        return true;
      };
      const timer = setTimeout(() => {
        this.eventWaiters.delete(waiter);
        reject(new QmpTimeoutError(`no ${name} event from QEMU within ${timeoutMs} ms`));
      }, timeoutMs);
      this.eventWaiters.add(waiter);
    });
  }

  close(): void {
    this.fail(new QmpConnectError(`QMP connection to ${this.socketPath} closed`, this.socketPath));
    this.socket.destroy();
  }
}

/** Connects, runs `fn`, always closes. */
export async function withQmp<T>(socketPath: string, fn: (q: QmpClient) => Promise<T>, timeoutMs = 5000): Promise<T> {
  const q = await QmpClient.connect(socketPath, timeoutMs);
  try {
    return await fn(q);
  } finally {
    q.close();
  }
}
