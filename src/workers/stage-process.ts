// A pipeline stage as its own process: attaches to the cluster by id and runs
// the stage in a worker thread (so this thread stays free for signals and
// stats lines). argv[2]: { clusterId, options, statsMs }. Output lines:
// `ready`, `stats {json}`, `done {json}`, or `error {json}`.
import { Cluster } from '../zc/cluster.js';
import { startStage } from './start.js';
import type { StageOptions } from './types.js';

const { clusterId, options, statsMs } = JSON.parse(process.argv[2]) as { clusterId: number; options: StageOptions; statsMs: number };
const say = (s: string) => process.stdout.write(s + '\n');
const fail = (e: unknown) => {
  say(`error ${JSON.stringify({ error: String((e as Error)?.stack ?? e), code: (e as { code?: string }).code, message: (e as Error)?.message })}`);
  process.exitCode = 3;
};

try {
  const cluster = Cluster.attach(clusterId);
  const h = startStage(cluster, options);
  let timer: NodeJS.Timeout | null = null;
  const stop = () => {
    if (timer) clearInterval(timer);
    h.stop().then((s) => say(`done ${JSON.stringify(s)}`), fail).finally(() => cluster.close());
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  h.ready.then(() => {
    say('ready');
    timer = setInterval(() => say(`stats ${JSON.stringify(h.stats())}`), statsMs);
  }, (e) => { fail(e); cluster.close(); process.exit(); });
} catch (e) {
  fail(e);
}
