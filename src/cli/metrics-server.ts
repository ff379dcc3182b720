/**
 * The Prometheus endpoint of a mount or gateway: `http://ADDR/metrics`, on by default at
 * 127.0.0.1:9567 as JuiceFS (cmd/mount.go exposeMetrics). When the default port is taken
 * (another client on this host), the listener takes any free port the kernel gives and the
 * client reports where it went (log line, `.config` → Mount.MetricsAddress); an address the
 * user set with `--metrics` is used as given or not at all (a log line, the client runs on),
 * also as JuiceFS. JuiceFS has no switch to turn metrics off; neither has tjfs.
 *
 * Beside /metrics, as JuiceFS serves Go's pprof there, the same listener serves profiles of
 * this process under `/debug/pprof/` (profiler.ts: a V8 CPU profile, a sampling heap profile
 * and memory statistics), which `tjfs debug` puts into its archive. The listener is in the
 * process that runs the Vfs: the mount's worker under a supervisor (`mount -d`), the mount
 * itself in the foreground, the gateway process.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CliError } from './io.js';
import { PprofRoutes } from './profiler.js';

export const DEFAULT_METRICS_ADDRESS = '127.0.0.1:9567';

export interface MetricsSource {
  contentType: string;
  render(): Promise<string>;
}

export interface MetricsEndpoint {
  server: Server;
  /** host:port actually listened on. */
  address: string;
  close(): Promise<void>;
}

/** Splits `host:port` (IPv6 in brackets); a bad address is a usage error. */
export function parseMetricsAddress(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(addr.trim());
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!m || host === undefined || !(port >= 0 && port <= 65535))
    throw new CliError(
      `invalid --metrics address '${addr}' (want host:port, e.g. ${DEFAULT_METRICS_ADDRESS})`,
    );
  return { host: host === '' ? '0.0.0.0' : host, port };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise<void>((ok, fail) => {
    const onError = (e: Error): void => fail(e);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      ok();
    });
  });
}

/**
 * Starts the endpoint. `explicit`: the user chose `addr` (no fallback). Resolves to undefined
 * when no listener could be opened; `warn` then says why (the client works without metrics).
 */
export async function serveMetrics(
  addr: string | undefined,
  source: () => MetricsSource | undefined,
  warn: (msg: string) => void,
): Promise<MetricsEndpoint | undefined> {
  const explicit = addr !== undefined;
  const { host, port } = parseMetricsAddress(addr ?? DEFAULT_METRICS_ADDRESS);
  const pprof = new PprofRoutes();
  const server = createServer((req, res) => {
    if (pprof.handle(req, res)) return;
    const src = source();
    if ((req.url ?? '').split('?')[0] !== '/metrics' || src === undefined) {
      res.writeHead(404).end();
      return;
    }
    src.render().then(
      (text) => res.writeHead(200, { 'content-type': src.contentType }).end(text),
      (e: unknown) => res.writeHead(500).end(String(e)),
    );
  });
  try {
    await listen(server, host, port);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    if (explicit) {
      warn(`metrics: cannot listen on ${addr}: ${why}; serving no metrics`);
      return undefined;
    }
    try {
      await listen(server, host, 0);
    } catch (e2) {
      warn(`metrics: cannot listen on ${host}: ${e2 instanceof Error ? e2.message : String(e2)}`);
      return undefined;
    }
  }
  // Metrics must never keep a stopping process alive.
  server.unref();
  const a = server.address() as AddressInfo; // a TCP listener always has an AddressInfo
  const shown = a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  return {
    server,
    address: shown,
    close: () => {
      // A running profile answers at once with what it has, so closing waits for no timer.
      pprof.close();
      return new Promise<void>((done) => server.close(() => done()));
    },
  };
}
