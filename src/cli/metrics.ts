// --metrics PORT: Prometheus text exposition on 127.0.0.1 only.
import { createServer, type Server } from 'node:http';

export type Sample = { name: string; help: string; value: number; labels?: Record<string, string | number> };

export function renderMetrics(samples: Sample[]): string {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const s of samples) {
    if (!seen.has(s.name)) {
      seen.add(s.name);
      lines.push(`# HELP ${s.name} ${s.help}`, `# TYPE ${s.name} ${s.name.endsWith('_total') ? 'counter' : 'gauge'}`);
    }
    const l = s.labels ? '{' + Object.entries(s.labels).map(([k, v]) => `${k}="${String(v).replace(/["\\\n]/g, '_')}"`).join(',') + '}' : '';
    lines.push(`${s.name}${l} ${Number.isFinite(s.value) ? s.value : 0}`);
  }
  return lines.join('\n') + '\n';
}

export async function serveMetrics(port: number, collect: () => Sample[]): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url !== '/metrics' && req.url !== '/') { res.writeHead(404).end('see /metrics\n'); return; }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(renderMetrics(collect()));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(Object.assign(new Error(`--metrics ${port}: cannot listen on 127.0.0.1:${port}: ${(e as Error).message}`), { code: 'ERR_RINGZERO_METRICS' })));
    server.listen(port, '127.0.0.1', () => resolve());
  });
  server.unref();
  return server;
}

/**
 * --metrics of the capture commands (count, dump): packets, bytes and drops
 * as ringzero_COMMAND_*_total; `what` says what a packet is ("received", "written").
 */
export function serveTotals(port: number, command: string, what: string, totals: () => { packets: number; bytes: number; drops: number }): Promise<Server> {
  return serveMetrics(port, () => {
    const t = totals();
    return [
      { name: `ringzero_${command}_packets_total`, help: `packets ${what}`, value: t.packets },
      { name: `ringzero_${command}_bytes_total`, help: `bytes ${what} (wire length)`, value: t.bytes },
      { name: `ringzero_${command}_drops_total`, help: 'packets dropped before reaching ringzero', value: t.drops },
    ];
  });
}
