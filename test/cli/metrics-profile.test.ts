/**
 * The profiles beside /metrics (src/cli/profiler.ts), on a metrics listener started in this
 * process: a CPU profile is a `.cpuprofile` that saw the work done while it ran, a heap
 * profile a `.heapprofile` that saw the memory allocated meanwhile, memstats is this
 * process's; a bad `seconds` is a 400, a second CPU or heap profile while one runs is a 409,
 * and closing the listener ends a running profile at once instead of waiting for it. What
 * `tjfs debug` uses to fetch them (src/cli/debug-collect.ts) says in one line why it could not.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { dialAddress, fetchProfile } from '../../src/cli/debug-collect.js';
import { serveMetrics, type MetricsEndpoint } from '../../src/cli/metrics-server.js';

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string }; hitCount?: number; children?: number[] }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

interface HeapNode {
  callFrame: { functionName: string };
  selfSize: number;
  children: HeapNode[];
}

let ep: MetricsEndpoint | undefined;
afterEach(async () => {
  await ep?.close();
  ep = undefined;
});

async function start(): Promise<string> {
  const warnings: string[] = [];
  // Port 0: never the shared default, so tests and real mounts on this host do not collide.
  ep = await serveMetrics(
    '127.0.0.1:0',
    () => ({ contentType: 'text/plain', render: () => Promise.resolve('m 1\n') }),
    (w) => warnings.push(w),
  );
  expect(ep, warnings.join('\n')).toBeDefined();
  return `http://${ep?.address ?? ''}`;
}

/** A named function that burns CPU in slices, so the event loop (and the profiler's stop) runs between them. */
async function burnCpuForProfiler(ms: number): Promise<number> {
  const end = Date.now() + ms;
  let x = 0;
  while (Date.now() < end) {
    const slice = Date.now() + 20;
    while (Date.now() < slice) x += Math.sqrt(x + 1);
    await new Promise((r) => setImmediate(r));
  }
  return x;
}

const retained: unknown[] = [];
/** Allocates memory that is still alive when the heap profile ends. */
async function allocateForHeapProfile(ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    for (let i = 0; i < 2000; i++)
      retained.push({ i, s: `x${i}`.repeat(8), a: new Array<number>(16).fill(i) });
    await new Promise((r) => setTimeout(r, 10));
  }
}

function heapNames(n: HeapNode, out = new Map<string, number>()): Map<string, number> {
  out.set(n.callFrame.functionName, (out.get(n.callFrame.functionName) ?? 0) + n.selfSize);
  for (const c of n.children) heapNames(c, out);
  return out;
}

describe('metrics listener: /debug/pprof', () => {
  it('a CPU profile of N seconds is a .cpuprofile that saw the work done meanwhile', async () => {
    const base = await start();
    const t0 = Date.now();
    const [res] = await Promise.all([
      fetch(`${base}/debug/pprof/profile?seconds=1`),
      burnCpuForProfiler(1200),
    ]);
    const took = Date.now() - t0;
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const p = (await res.json()) as CpuProfile;
    expect(Array.isArray(p.nodes) && p.nodes.length > 0).toBe(true);
    expect(typeof p.startTime).toBe('number');
    expect(p.endTime - p.startTime).toBeGreaterThanOrEqual(900_000); // µs
    expect(p.samples.length).toBeGreaterThan(10);
    expect(p.timeDeltas).toHaveLength(p.samples.length);
    const names = new Set(p.nodes.map((n) => n.callFrame.functionName));
    expect(names).toContain('(root)');
    expect(names).toContain('burnCpuForProfiler');
    expect(took).toBeGreaterThanOrEqual(950);
  });

  it('a heap profile is a .heapprofile whose samples include what was allocated meanwhile', async () => {
    const base = await start();
    const [res] = await Promise.all([
      fetch(`${base}/debug/pprof/heap?seconds=1`),
      allocateForHeapProfile(900),
    ]);
    expect(res.status).toBe(200);
    const p = (await res.json()) as { head: HeapNode; samples: unknown[] };
    expect(p.head.callFrame.functionName).toBe('(root)');
    expect(Array.isArray(p.samples)).toBe(true);
    const bytes = heapNames(p.head).get('allocateForHeapProfile') ?? 0;
    expect(bytes).toBeGreaterThan(100_000);
    retained.length = 0;
  });

  it('memstats is this process memory now; the index lists the endpoints; /metrics still served', async () => {
    const base = await start();
    const m = (await (await fetch(`${base}/debug/pprof/memstats`)).json()) as {
      pid: number;
      memoryUsage: { rss: number; heapUsed: number };
      heapStatistics: { total_heap_size: number };
      heapSpaceStatistics: { space_name: string }[];
    };
    expect(m.pid).toBe(process.pid);
    expect(m.memoryUsage.rss).toBeGreaterThan(0);
    expect(m.heapStatistics.total_heap_size).toBeGreaterThan(0);
    expect(m.heapSpaceStatistics.map((s) => s.space_name)).toContain('old_space');
    const index = await (await fetch(`${base}/debug/pprof/`)).text();
    for (const p of ['/profile', '/heap', '/memstats']) expect(index).toContain(`/debug/pprof${p}`);
    expect((await fetch(`${base}/debug/pprof/goroutine`)).status).toBe(404);
    expect(await (await fetch(`${base}/metrics`)).text()).toBe('m 1\n');
    expect((await fetch(`${base}/other`)).status).toBe(404);
  });

  it('a bad seconds is a 400 with the reason, and starts no profile', async () => {
    const base = await start();
    for (const s of ['0', '301', '-1', '1.5', 'abc', '1e2', '99999999']) {
      for (const kind of ['profile', 'heap']) {
        const res = await fetch(`${base}/debug/pprof/${kind}?seconds=${s}`);
        expect(res.status, `${kind} ${s}`).toBe(400);
        expect(await res.text()).toContain('seconds must be a whole number from 1 to 300');
      }
    }
    // Nothing was left running: a valid profile starts.
    const ok = await fetch(`${base}/debug/pprof/profile?seconds=1`);
    expect(ok.status).toBe(200);
    await ok.json();
  });

  it('one CPU and one heap profile at a time: the second of a kind is refused with 409', async () => {
    const base = await start();
    const first = fetch(`${base}/debug/pprof/profile?seconds=2`);
    const heap = fetch(`${base}/debug/pprof/heap?seconds=2`);
    await new Promise((r) => setTimeout(r, 300));
    const second = await fetch(`${base}/debug/pprof/profile?seconds=1`);
    expect(second.status).toBe(409);
    expect(await second.text()).toContain('a CPU profile is already running');
    const heap2 = await fetch(`${base}/debug/pprof/heap?seconds=1`);
    expect(heap2.status).toBe(409);
    expect(await heap2.text()).toContain('a heap profile is already running');
    // A CPU profile and a heap profile run together; both end well.
    const [a, h] = await Promise.all([first, heap]);
    expect(a.status).toBe(200);
    expect(((await a.json()) as CpuProfile).samples.length).toBeGreaterThan(0);
    expect(h.status).toBe(200);
    expect(((await h.json()) as { head: unknown }).head).toBeDefined();
    // Once the first ended, the next one runs.
    const third = await fetch(`${base}/debug/pprof/profile?seconds=1`);
    expect(third.status).toBe(200);
    await third.json();
  });

  it('a client that leaves ends its profile, so the next one is not refused', async () => {
    const base = await start();
    const gone = new AbortController();
    const first = fetch(`${base}/debug/pprof/profile?seconds=60`, { signal: gone.signal }).catch(
      () => 'aborted',
    );
    await new Promise((r) => setTimeout(r, 300));
    gone.abort();
    expect(await first).toBe('aborted');
    await new Promise((r) => setTimeout(r, 300));
    const next = await fetch(`${base}/debug/pprof/profile?seconds=1`);
    expect(next.status).toBe(200);
    await next.json();
  });

  it('closing the listener ends a running profile at once (it still answers)', async () => {
    const base = await start();
    const long = fetch(`${base}/debug/pprof/profile?seconds=120`);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    const closed = ep?.close();
    ep = undefined;
    const res = await long;
    expect(res.status).toBe(200);
    expect(((await res.json()) as CpuProfile).nodes.length).toBeGreaterThan(0);
    await closed;
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});

describe('tjfs debug: fetching the profiles', () => {
  it('dials a wildcard listener on loopback; no address means no metrics', () => {
    expect(dialAddress('127.0.0.1:9567')).toBe('127.0.0.1:9567');
    expect(dialAddress('0.0.0.0:9568')).toBe('127.0.0.1:9568');
    expect(dialAddress('[::]:9569')).toBe('[::1]:9569');
    expect(dialAddress('[::1]:9569')).toBe('[::1]:9569');
    expect(dialAddress('')).toBeUndefined();
    expect(dialAddress(undefined)).toBeUndefined();
  });

  it('fetches a profile; a refused port, a 404, a 409 and a silent listener are one-line errors', async () => {
    const base = await start();
    const addr = base.slice('http://'.length);
    const mem = JSON.parse((await fetchProfile(addr, 'memstats', 5000)).toString('utf8')) as { pid: number };
    expect(mem.pid).toBe(process.pid);
    await expect(fetchProfile(addr, 'goroutine', 5000)).rejects.toThrow(/goroutine: not served \(HTTP 404/);
    await expect(fetchProfile(addr, 'heap?seconds=0', 5000)).rejects.toThrow(
      /HTTP 400: seconds must be a whole number/,
    );
    const running = fetchProfile(addr, 'profile?seconds=1', 5000);
    await new Promise((r) => setTimeout(r, 200));
    await expect(fetchProfile(addr, 'profile?seconds=1', 5000)).rejects.toThrow(
      /HTTP 409: a CPU profile is already running/,
    );
    expect((JSON.parse((await running).toString('utf8')) as CpuProfile).samples.length).toBeGreaterThan(0);
    // A port nobody listens on (taken, then freed).
    const free = createServer();
    await new Promise<void>((r) => free.listen(0, '127.0.0.1', () => r()));
    const port = (free.address() as { port: number }).port;
    await new Promise((r) => free.close(r));
    await expect(fetchProfile(`127.0.0.1:${port}`, 'memstats', 5000)).rejects.toThrow(
      `http://127.0.0.1:${port}/debug/pprof/memstats: ECONNREFUSED`,
    );
    // A listener that accepts and never answers.
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    try {
      const sp = (silent.address() as { port: number }).port;
      await expect(fetchProfile(`127.0.0.1:${sp}`, 'memstats', 300)).rejects.toThrow(
        /memstats: no answer in 0 s/,
      );
    } finally {
      silent.close();
    }
  });
});
