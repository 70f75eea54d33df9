// The attach table: every thread or process that uses a cluster (owner,
// producers, consumers, pool owners) holds one slot with its task id, start
// time and a heartbeat. The owner scans it to find parties that died, so their
// queues and buffers can be reclaimed and handed to a newcomer without
// restarting anything (PF_RING ZC keeps such a queue locked).
//
// Slot life: FREE -CAS-> CLAIMING -store-> LIVE -CAS-> DEAD (by the liveness
// scan) -> FREE (by whoever reclaims what it held), or LIVE -> FREE on a clean
// detach. The CAS on STATE is the only synchronisation; fields are written
// while CLAIMING and published by the LIVE store.
//
// Guests (processes in a VM, src/vm/) have no host pid: they are alive while
// their heartbeat word keeps changing. Their beats carry the guest's clock,
// which need not agree with ours (a VM's clock starts from the RTC's whole
// seconds, or anywhere its admin set it), so the age of a guest's heartbeat is
// measured on our clock, from when this process saw the word change.
//
// Parties in another PID namespace than the checker's (containers) have pids
// that cannot be looked up here (proc.ts): they are alive while their
// process's beat (PROC_BEAT, written by a timer of that process for all its
// slots: beatProcess) is younger than the cluster's guest timeout. Host and
// containers share the real-time clock, so that age is read on our clock.
import { isAlive, pidsComparable, selfPidNs, selfStartTime, selfTid } from '../memory/proc.js';
import { A, ATTACH_FLAG_GUEST, ATTACH_SLOT_BYTES, ATTACH_STATE } from './layout.js';
import { QueueBusyError } from '../errors.js';

const SLOT_WORDS = ATTACH_SLOT_BYTES / 4;

/** ms clock as a wrapping u32, for heartbeats. */
export function beatNow(): number {
  return Date.now() >>> 0;
}

export interface AttachInfo {
  slot: number;
  state: number;
  tid: number;
  pid: number;
  role: number;
  target: number;
  guest: boolean;
  /** registered from another PID namespace: its pid is not ours to look up */
  foreignPidNs: boolean;
  heartbeatAgeMs: number;
}

export class AttachTable {
  private readonly base: number; // word index of slot 0
  private readonly baseF64: number;
  private readonly guestBeat: Uint32Array; // last heartbeat value seen, per slot
  private readonly guestSeenAt: Float64Array; // our Date.now() when it changed (0: never looked)

  constructor(
    private readonly u32: Uint32Array,
    private readonly f64: Float64Array,
    byteOffset: number,
    readonly slots: number,
  ) {
    this.base = byteOffset / 4;
    this.baseF64 = byteOffset / 8;
    this.guestBeat = new Uint32Array(slots);
    this.guestSeenAt = new Float64Array(slots);
  }

  /** ms since this process saw the heartbeat of guest `slot` change (0 on the first look). */
  private guestBeatAge(slot: number): number {
    const beat = this.u32[this.w(slot, A.HEARTBEAT)];
    const now = Date.now();
    if (this.guestSeenAt[slot] === 0 || this.guestBeat[slot] !== beat) {
      this.guestBeat[slot] = beat;
      this.guestSeenAt[slot] = now;
    }
    return now - this.guestSeenAt[slot];
  }

  private w(slot: number, field: number): number {
    return this.base + slot * SLOT_WORDS + field;
  }

  /** Claims a free slot for the calling thread; guests have no host pid and live by heartbeat only. */
  claim(role: number, target: number, guest = false): number {
    for (let s = 0; s < this.slots; s++) {
      if (Atomics.compareExchange(this.u32, this.w(s, A.STATE), ATTACH_STATE.FREE, ATTACH_STATE.CLAIMING) !== ATTACH_STATE.FREE) continue;
      this.u32[this.w(s, A.TID)] = guest ? 0 : selfTid();
      this.u32[this.w(s, A.PID)] = guest ? 0 : process.pid;
      this.u32[this.w(s, A.ROLE)] = role;
      this.u32[this.w(s, A.TARGET)] = target;
      this.u32[this.w(s, A.FLAGS)] = guest ? ATTACH_FLAG_GUEST : 0;
      this.u32[this.w(s, A.PIDNS)] = guest ? 0 : selfPidNs();
      this.u32[this.w(s, A.HEARTBEAT)] = beatNow();
      this.u32[this.w(s, A.PROC_BEAT)] = beatNow();
      this.f64[this.baseF64 + s * (SLOT_WORDS / 2) + A.START_F64] = guest ? 0 : selfStartTime();
      Atomics.store(this.u32, this.w(s, A.STATE), ATTACH_STATE.LIVE); // publishes the fields above
      return s;
    }
    throw new QueueBusyError(`all ${this.slots} attach slots of the cluster are in use: detach idle processes or create the cluster with more attachSlots`);
  }

  /** Clean detach (or the end of a reclaim). */
  release(slot: number): void {
    Atomics.store(this.u32, this.w(slot, A.STATE), ATTACH_STATE.FREE);
  }

  /** Leaves the slot for reclaim, as if its party had died (a consumer closing with buffers in hand). */
  markDead(slot: number): void {
    Atomics.store(this.u32, this.w(slot, A.STATE), ATTACH_STATE.DEAD);
  }

  beat(slot: number): void {
    this.u32[this.w(slot, A.HEARTBEAT)] = beatNow();
  }

  /**
   * Refreshes PROC_BEAT of every slot this process holds (any thread: same
   * pid and PID namespace), for checkers in other PID namespaces. Called from
   * a timer of the process's main thread, so worker threads busy in their
   * loops are covered too.
   */
  beatProcess(): void {
    const u = this.u32;
    const pid = process.pid;
    const ns = selfPidNs();
    const now = beatNow();
    for (let s = 0; s < this.slots; s++) {
      const st = Atomics.load(u, this.w(s, A.STATE));
      if (st !== ATTACH_STATE.LIVE && st !== ATTACH_STATE.CLAIMING) continue;
      if (u[this.w(s, A.PID)] === pid && u[this.w(s, A.PIDNS)] === ns && (u[this.w(s, A.FLAGS)] & ATTACH_FLAG_GUEST) === 0) {
        u[this.w(s, A.PROC_BEAT)] = now;
      }
    }
  }

  state(slot: number): number {
    return Atomics.load(this.u32, this.w(slot, A.STATE));
  }

  /**
   * Is the party in `slot` still there? Tasks in our PID namespace: same tid
   * and start time. Other PID namespaces: a recent process beat. Guests: a
   * recent heartbeat.
   */
  alive(slot: number, guestTimeoutMs: number, stallTimeoutMs = 0): boolean {
    const u = this.u32;
    if (Atomics.load(u, this.w(slot, A.STATE)) !== ATTACH_STATE.LIVE) return false;
    if ((u[this.w(slot, A.FLAGS)] & ATTACH_FLAG_GUEST) !== 0) return this.guestBeatAge(slot) < guestTimeoutMs;
    const age = (beatNow() - u[this.w(slot, A.HEARTBEAT)]) >>> 0;
    if (stallTimeoutMs > 0 && age > stallTimeoutMs) return false;
    if (!pidsComparable(u[this.w(slot, A.PIDNS)])) return ((beatNow() - u[this.w(slot, A.PROC_BEAT)]) >>> 0) < guestTimeoutMs;
    return isAlive(u[this.w(slot, A.TID)], this.f64[this.baseF64 + slot * (SLOT_WORDS / 2) + A.START_F64]);
  }

  /**
   * Marks every LIVE slot whose party is gone as DEAD and returns those slots.
   * Safe from any thread: the CAS makes each death reported once.
   */
  scan(guestTimeoutMs: number, stallTimeoutMs = 0): number[] {
    const dead: number[] = [];
    for (let s = 0; s < this.slots; s++) {
      if (this.state(s) !== ATTACH_STATE.LIVE) continue;
      if (this.alive(s, guestTimeoutMs, stallTimeoutMs)) continue;
      if (Atomics.compareExchange(this.u32, this.w(s, A.STATE), ATTACH_STATE.LIVE, ATTACH_STATE.DEAD) === ATTACH_STATE.LIVE) dead.push(s);
    }
    return dead;
  }

  info(slot: number): AttachInfo {
    const u = this.u32;
    const guest = (u[this.w(slot, A.FLAGS)] & ATTACH_FLAG_GUEST) !== 0;
    return {
      slot,
      state: this.state(slot),
      tid: u[this.w(slot, A.TID)],
      pid: u[this.w(slot, A.PID)],
      role: u[this.w(slot, A.ROLE)],
      target: u[this.w(slot, A.TARGET)],
      guest,
      foreignPidNs: !guest && !pidsComparable(u[this.w(slot, A.PIDNS)]),
      heartbeatAgeMs: guest ? this.guestBeatAge(slot) : (beatNow() - u[this.w(slot, A.HEARTBEAT)]) >>> 0,
    };
  }

  /** Slots not FREE. */
  list(): AttachInfo[] {
    const out: AttachInfo[] = [];
    for (let s = 0; s < this.slots; s++) if (this.state(s) !== ATTACH_STATE.FREE) out.push(this.info(s));
    return out;
  }
}
