// A full garbage collection on demand, for the moment before timed work:
// a fresh Node process collects its start-up garbage (module loading) in
// scavenges of 0.5-1 ms during its first ~200 ms, which is exactly when a
// `send -f` replay at the recorded pace begins, and a pause there shifts a
// departure by as much (measured here with --trace-gc). One collection
// before the clock starts leaves the young generation empty, and the replay
// loop allocates next to nothing afterwards.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | null = null;

/** Collects garbage now (a few ms for a small heap). */
export function collectGarbageNow(): void {
  if (gc === null) {
    // --expose-gc at run time: contexts created afterwards get a `gc` global.
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}
