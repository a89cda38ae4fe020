// `aya-node exporter`: the bundled tools' metrics over HTTP for Prometheus (/metrics, in the
// Prometheus text format or OpenMetrics when the scraper asks) and a /healthz for probes.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { EbpfError } from '../errors';
import { OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE, negotiateFormat, render, type ExpositionFormat } from './exposition';
import { counter, gauge, type Metric } from './metric';
import { openToolMetrics, TOOL_NAMES, type ToolName } from './tools';

export interface ExporterOptions {
  /** TCP port (default 9435; 0 picks a free one). */
  port?: number;
  /** Address to listen on (default `0.0.0.0`, every interface: Prometheus scrapes from elsewhere). */
  host?: string;
  /** Tools to run (default all of `TOOL_NAMES`). */
  tools?: readonly ToolName[];
  /** More metrics to serve beside the tools'. */
  metrics?: readonly Metric[];
  /** syscount: also time every syscall (`aya_syscall_seconds_total`), at about twice its cost. */
  syscallTime?: boolean;
}

export interface Exporter {
  /** `http://host:port` the server listens on. */
  readonly url: string;
  readonly port: number;
  readonly metrics: readonly Metric[];
  /** Stops serving and detaches every program. */
  close(): Promise<void>;
}

/** The exporter's own metrics: scrapes served (per format) and this process's CPU time and memory. */
function selfMetrics(scrapes: Record<ExpositionFormat, number>): Metric[] {
  return [
    counter({
      name: 'aya_exporter_scrapes_total',
      help: 'Scrapes of /metrics served, by the format the scraper asked for',
      labelNames: ['format'],
      observe: () => Object.entries(scrapes).map(([format, value]) => ({ labels: { format }, value })),
    }),
    counter({
      name: 'process_cpu_seconds_total',
      help: 'User and system CPU time of the exporter process, in seconds',
      observe: () => {
        const { user, system } = process.cpuUsage();
        return [{ labels: {}, value: (user + system) / 1e6 }];
      },
    }),
    gauge({ name: 'process_resident_memory_bytes', help: 'Resident memory of the exporter process, in bytes', observe: () => [{ labels: {}, value: process.memoryUsage.rss() }] }),
  ];
}

/** Opens the tools and serves their metrics until `close()`. */
export async function startExporter(options: ExporterOptions = {}): Promise<Exporter> {
  const { port = 9435, host = '0.0.0.0', tools = TOOL_NAMES, metrics: extra = [], syscallTime = false } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`port must be an integer in [0, 65535], got ${port}`);
  if (typeof host !== 'string') throw new TypeError('host must be a string');
  const running = openToolMetrics(tools, {
    syscallTime,
    onError: (err) => process.stderr.write(`aya-node exporter: ${err instanceof Error ? err.message : String(err)}\n`),
  });
  const scrapes: Record<ExpositionFormat, number> = { prometheus: 0, openmetrics: 0 };
  const metrics = [...running.metrics, ...extra, ...selfMetrics(scrapes)];
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      const format = negotiateFormat(req.headers.accept);
      scrapes[format]++;
      let body: string;
      try {
        body = render(metrics, format, (m, err) => process.stderr.write(`aya-node exporter: reading ${m.name} failed: ${err instanceof Error ? err.message : String(err)}\n`));
      } catch (err) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err instanceof Error ? err.message : String(err)}\n`);
        return;
      }
      res.writeHead(200, { 'content-type': format === 'openmetrics' ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE });
      res.end(req.method === 'HEAD' ? undefined : body);
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(req.method === 'HEAD' ? undefined : 'ok\n');
    } else if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<a href="/metrics">/metrics</a> <a href="/healthz">/healthz</a>\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    running.close();
    throw err;
  }
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    port: address.port,
    metrics,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      running.close();
    },
  };
}

export const exporterUsage = `usage: aya-node exporter [--port 9435] [--host 0.0.0.0] [--tools ${TOOL_NAMES.join(',')}] [--syscall-time]

Serves the bundled tools as Prometheus metrics on /metrics (OpenMetrics when the scraper's
Accept header asks for it) and a liveness check on /healthz, until SIGINT or SIGTERM, which
detach every program before exiting. --syscall-time adds the time spent in syscalls
(aya_syscall_seconds_total), at about twice syscount's cost per syscall. Needs root, or
CAP_BPF and CAP_PERFMON (see docs/metrics.md).
`;

/** The CLI entry point: `aya-node exporter ...`; resolves with the exit code once stopped. */
export async function exporterMain(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string', default: '9435' },
      host: { type: 'string', default: '0.0.0.0' },
      tools: { type: 'string', default: TOOL_NAMES.join(',') },
      'syscall-time': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(exporterUsage);
    return 0;
  }
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port ?? '') || port > 65535) throw new EbpfError('INVALID_ARGUMENT', `--port takes a port number, got "${values.port}"`);
  const tools = (values.tools ?? '').split(',').map((t) => t.trim()).filter(Boolean);
  for (const t of tools) {
    if (!(TOOL_NAMES as readonly string[]).includes(t)) throw new EbpfError('INVALID_ARGUMENT', `--tools: unknown tool "${t}" (known: ${TOOL_NAMES.join(', ')})`);
  }
  const exporter = await startExporter({ port, host: values.host, tools: tools as ToolName[], syscallTime: values['syscall-time'] });
  process.stderr.write(`aya-node exporter: serving ${tools.join(', ') || 'no tools'} on ${exporter.url}/metrics\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await exporter.close();
  process.stderr.write('aya-node exporter: stopped, programs detached\n');
  return 0;
}
