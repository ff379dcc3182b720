/**
 * The Node counterpart of Go's `net/http/pprof` that JuiceFS serves beside its metrics, for
 * `tjfs debug` (and curl): profiles of the process that serves the endpoint, taken in
 * process through `node:inspector` (no `--inspect` port is opened):
 *   GET /debug/pprof/profile?seconds=N  V8 CPU profile of N seconds (default 30), `.cpuprofile`
 *                                       JSON (Chrome DevTools, speedscope, VS Code)
 *   GET /debug/pprof/heap?seconds=N     V8 sampling heap profile of N seconds (default 10):
 *                                       the sampled allocations made during the window that
 *                                       are still alive at its end, `.heapprofile` JSON
 *   GET /debug/pprof/memstats           process.memoryUsage(), v8.getHeapStatistics() and
 *                                       v8.getHeapSpaceStatistics() now, JSON
 *   GET /debug/pprof/                   a plain-text index of the above
 * N is a whole number of seconds from 1 to 300 (else 400). One CPU profile and one heap
 * profile at a time (another one asked meanwhile gets 409). Waiting is a timer, never a busy
 * loop; the inspector calls are asynchronous. A profile whose client goes away, or whose
 * server closes, ends at once (the server's close never waits for a profile to run out).
 * Only the main JavaScript thread is profiled: FUSE's kernel I/O and libuv's pool threads
 * show up as their JavaScript callbacks (and `(idle)` / `(program)` time).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Session } from 'node:inspector/promises';
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';

export const PPROF_PREFIX = '/debug/pprof';
export const MAX_PROFILE_SECONDS = 300;
export const DEFAULT_CPU_SECONDS = 30;
export const DEFAULT_HEAP_SECONDS = 10;
/** Bytes between heap samples (V8's default, 32 KiB). */
const HEAP_SAMPLING_INTERVAL = 32 * 1024;

/** `seconds` of a query: undefined → `dflt`; a string → an error message for a 400. */
export function profileSeconds(raw: string | null, dflt: number): number | string {
  if (raw === null || raw === '') return dflt;
  const n = /^\d{1,6}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= MAX_PROFILE_SECONDS))
    return `seconds must be a whole number from 1 to ${MAX_PROFILE_SECONDS}, not '${raw}'`;
  return n;
}

/** Resolves after `ms` or as soon as `signal` aborts; the timer keeps no process alive. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((done) => {
    if (signal.aborted) return done();
    const t = setTimeout(finish, ms);
    t.unref();
    function finish(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', finish);
      done();
    }
    signal.addEventListener('abort', finish, { once: true });
  });
}

/**
 * Runs one inspector profiler for `seconds` (or until `signal` aborts) and returns what its
 * stop command gives: `Profiler` for a CPU profile (`.cpuprofile`), `HeapProfiler`'s sampling
 * for a heap profile (`.heapprofile`).
 */
async function sample(kind: ProfileKind, seconds: number, signal: AbortSignal): Promise<object> {
  const session = new Session();
  session.connect();
  try {
    if (kind === 'cpu') {
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
    } else {
      await session.post('HeapProfiler.enable');
      await session.post('HeapProfiler.startSampling', { samplingInterval: HEAP_SAMPLING_INTERVAL });
    }
    await sleep(seconds * 1000, signal);
    const { profile } =
      kind === 'cpu' ? await session.post('Profiler.stop') : await session.post('HeapProfiler.stopSampling');
    return profile;
  } finally {
    session.disconnect();
  }
}

/** A cheap memory summary of this process: no profiler, no pause. */
export function memStats(): object {
  return {
    pid: process.pid,
    time: new Date().toISOString(),
    uptimeSeconds: process.uptime(),
    memoryUsage: process.memoryUsage(),
    heapStatistics: getHeapStatistics(),
    heapSpaceStatistics: getHeapSpaceStatistics(),
  };
}

export type ProfileKind = 'cpu' | 'heap';

/** What differs between the two profiles a listener takes: route under the prefix, default seconds, name, file. */
export const PROFILE_KINDS: Record<
  ProfileKind,
  { route: string; defaultSeconds: number; label: string; file: string }
> = {
  cpu: { route: 'profile', defaultSeconds: DEFAULT_CPU_SECONDS, label: 'CPU', file: 'cpu.cpuprofile' },
  heap: { route: 'heap', defaultSeconds: DEFAULT_HEAP_SECONDS, label: 'heap', file: 'heap.heapprofile' },
};

const INDEX =
  `${PPROF_PREFIX}/profile?seconds=N  V8 CPU profile (.cpuprofile JSON), N 1..${MAX_PROFILE_SECONDS}, default ${DEFAULT_CPU_SECONDS}\n` +
  `${PPROF_PREFIX}/heap?seconds=N     V8 sampling heap profile (.heapprofile JSON), N 1..${MAX_PROFILE_SECONDS}, default ${DEFAULT_HEAP_SECONDS}\n` +
  `${PPROF_PREFIX}/memstats           process.memoryUsage() and V8 heap statistics (JSON)\n`;

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
}

/**
 * The `/debug/pprof/*` routes of one HTTP server. `handle` answers a request under the
 * prefix (true) or leaves it to the caller (false); `close` ends running profiles early.
 */
export class PprofRoutes {
  /** The kinds of profile running now (one of each at a time). */
  private readonly busy = new Set<ProfileKind>();
  private readonly closing = new AbortController();

  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/\/+$/, '');
    if (path !== PPROF_PREFIX && !path.startsWith(`${PPROF_PREFIX}/`)) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'only GET\n');
      return true;
    }
    switch (path) {
      case PPROF_PREFIX:
        send(res, 200, INDEX);
        return true;
      case `${PPROF_PREFIX}/memstats`:
        send(res, 200, JSON.stringify(memStats()) + '\n', 'application/json');
        return true;
      case `${PPROF_PREFIX}/profile`:
        this.profile(res, url, 'cpu');
        return true;
      case `${PPROF_PREFIX}/heap`:
        this.profile(res, url, 'heap');
        return true;
      default:
        send(res, 404, `unknown profile; see ${PPROF_PREFIX}/\n`);
        return true;
    }
  }

  /** Ends every running profile now (each still answers, with what it has so far). */
  close(): void {
    this.closing.abort();
  }

  private profile(res: ServerResponse, url: URL, kind: ProfileKind): void {
    const { defaultSeconds, label, file } = PROFILE_KINDS[kind];
    const secs = profileSeconds(url.searchParams.get('seconds'), defaultSeconds);
    if (typeof secs === 'string') {
      send(res, 400, secs + '\n');
      return;
    }
    if (this.busy.has(kind)) {
      send(res, 409, `a ${label} profile is already running; try again when it ends\n`);
      return;
    }
    this.busy.add(kind);
    // The client leaving (or the server closing) ends the profile at once.
    const left = new AbortController();
    const onClose = (): void => left.abort();
    res.once('close', onClose);
    sample(kind, secs, AbortSignal.any([left.signal, this.closing.signal]))
      .then(
        (p) => {
          if (res.headersSent || res.destroyed) return;
          res
            .writeHead(200, {
              'content-type': 'application/json',
              'content-disposition': `attachment; filename="${file}"`,
              'cache-control': 'no-store',
              // A profile is a long request: keeping its connection would only hold a closing server.
              connection: 'close',
            })
            .end(JSON.stringify(p));
        },
        (e: unknown) => send(res, 500, `profile failed: ${e instanceof Error ? e.message : String(e)}\n`),
      )
      .finally(() => {
        res.off('close', onClose);
        this.busy.delete(kind);
      });
  }
}
