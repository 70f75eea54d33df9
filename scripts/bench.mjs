#!/usr/bin/env node
// npm run bench -- <name> [args]: runs dist/bench/<name>.js (queue, rx, tx, balancer, filter, files).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const [name, ...rest] = process.argv.slice(2);
const available = existsSync('dist/bench') ? readdirSync('dist/bench').filter((f) => f.endsWith('.js') && !f.includes('-') && f !== 'report.js').map((f) => f.slice(0, -3)) : [];
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <${available.join('|')}> [options]`);
  process.exit(2);
}
spawnSync(process.execPath, ['scripts/setup-deps.mjs', 'bench'], { stdio: 'inherit' });
const r = spawnSync(process.execPath, [`dist/bench/${name}.js`, ...rest], { stdio: 'inherit' });
process.exit(r.status ?? 1);
