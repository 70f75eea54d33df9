// As with tcpdump, the words after the options are the filter expression of
// count and dump; a filter given both ways, or stray words for a command
// that takes no filter, are usage errors instead of being dropped (an
// unquoted `-f udp port 9999` used to filter on 'udp' alone). Short flags
// combine as with getopt (-qi X), and a switch given a value is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN } from './helpers/cli.js';
import { writeCapture } from './helpers/capture-cli.js';

const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });

function withCapture(fn: (file: string, dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'rz-words-'));
  try {
    const file = join(dir, 'in.pcap');
    writeCapture(file, 400, 1000, 4); // 100 frames from each of 10.0.0.1 .. 10.0.0.4
    fn(file, dir);
  } finally {
    rmSync(dir, { recursive: true });
  }
}

test('count: the words after the options filter like a quoted -f', () => withCapture((file) => {
  const words = run('count', '-i', `pcap:${file}`, '--json', 'src', 'host', '10.0.0.2', 'or', 'src', 'host', '10.0.0.3');
  assert.equal(words.status, 0, words.stderr);
  const quoted = run('count', '-i', `pcap:${file}`, '--json', '-f', 'src host 10.0.0.2 or src host 10.0.0.3');
  assert.equal(quoted.status, 0, quoted.stderr);
  assert.equal(JSON.parse(words.stdout).packets, 200);
  assert.equal(JSON.parse(quoted.stdout).packets, 200);
}));

test('dump: the words after the options are the filter of what is written', () => withCapture((file, dir) => {
  const out = join(dir, 'out.pcap');
  const d = run('dump', '-i', `pcap:${file}`, '-w', out, '-q', 'src', 'host', '10.0.0.4');
  assert.equal(d.status, 0, d.stderr);
  const back = run('count', '-i', `pcap:${out}`, '--json');
  assert.equal(JSON.parse(back.stdout).packets, 100);
}));

test('an unquoted -f EXPR (or -F FILE with words) is refused, naming both parts and the fix', () => withCapture((file, dir) => {
  const r = run('count', '-i', `pcap:${file}`, '-f', 'udp', 'port', '9999');
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /two filters: -f 'udp' and the words after the options 'port 9999'; quote the whole expression in one -f \(-f 'udp port 9999'\)/);
  assert.match(r.stderr, /ERR_RINGZERO_USAGE/);
  const ffile = join(dir, 'filter');
  writeFileSync(ffile, 'udp\n');
  const f = run('dump', '-i', `pcap:${file}`, '-w', join(dir, 'x.pcap'), '-F', ffile, 'tcp');
  assert.equal(f.status, 2, f.stderr);
  assert.match(f.stderr, new RegExp(`two filters: -F ${ffile} and the words after the options 'tcp'`));
}));

test('stray words for a command that takes no filter are a usage error', () => {
  const r = run('stats', 'everything');
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /stats: unexpected argument 'everything': every argument is an option \(ringzero stats --help lists them\)/);
  const b = run('fanout', '-i', 'lo', '-c', '1', 'udp', 'port', '53');
  assert.equal(b.status, 2, b.stderr);
  assert.match(b.stderr, /unexpected arguments 'udp port 53'.*a filter expression goes in one quoted -f: -f 'udp port 53'/);
});

test('short flags combine as with getopt (-qi X, -qnN), and --json=no is refused instead of turning JSON on', () => withCapture((file) => {
  const r = run('count', '-qi', `pcap:${file}`, '--json');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).packets, 400);
  const n = run('count', `-qn7`, '-i', `pcap:${file}`, '--json');
  assert.equal(n.status, 0, n.stderr);
  assert.equal(JSON.parse(n.stdout).packets, 7);
  const j = run('count', '-i', `pcap:${file}`, '--json=no');
  assert.equal(j.status, 2);
  assert.match(j.stderr, /option --json takes no value \(given 'no'\)/);
  const u = run('count', '-qz', '-i', `pcap:${file}`);
  assert.equal(u.status, 2);
  assert.match(u.stderr, /unknown option -z \(in -qz\)/);
}));
