/**
 * Many clients on one volume (`npm run bench -- multi`): per metadata engine (SQLite, Redis,
 * PostgreSQL, MySQL/MariaDB, Redis Cluster; each a private server started here), `clients`
 * API clients (separate processes using src/api) and then `clients` FUSE mount daemons
 * (separate `tjfs mount` processes, one mount point each, a client process on each) run
 * create, stat, rename and unlink of empty files, one at a time per client (as mdtest ranks),
 * in one shared directory and in a private directory per client, after a warm-up of 50 of each
 * op per client (not timed). Reported: ops/s per client
 * (its own ops over its own time) and in total (all ops over the wall time from the start
 * to the last client's end), errors, and transaction restarts / outage retries.
 * Growth: N files (default 1,000,000) written through the meta layer's batched load path
 * (a generated JuiceFS dump of 1,000-file directories; 500 writes per transaction) into
 * Redis (INFO used_memory before and after, per inode) and PostgreSQL (pg_total_relation_size
 * and rows of the jfs_* tables, per inode).
 * Options (`--name value` after the suite): --clients 4, --ops 1000 (per client, per phase),
 * --files 1000000, --engines a,b (sqlite3,redis,postgres,mysql,redis-cluster), --modes api,fuse,
 * --growth-engines redis,postgres (or none). JSON to bench-results/multi.json, stamped.
 * Invariants: servers, daemons and mounts are stopped in finally blocks; mounts run holding
 * `flock /tmp/tjfs-mount.lock` (one mounting process at a time on a shared machine).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../src/cli/main.js';
import { captureIo } from '../test/helpers/cli-io.js';
import { startDaemon, type Daemon } from './fuse-daemon.js';
import { runGrowth, type GrowthEngine, type GrowthResult } from './multi-growth.js';
import type { MultiPhase, MultiScope, PhaseReply, WorkerConfig } from './multi-worker.js';
import { startEngineServer, type EngineName } from './multi-servers.js';
import { stamp, type Stamp } from './stamp.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const WORKER = join(HERE, 'multi-worker.js');
const PHASES: readonly MultiPhase[] = ['create', 'stat', 'rename', 'unlink'];
const SCOPES: readonly MultiScope[] = ['shared', 'private'];
const ALL_ENGINES: readonly EngineName[] = ['sqlite3', 'redis', 'postgres', 'mysql', 'redis-cluster'];

/** JuiceFS's published mdtest (ops/s), docs/en/benchmark/metadata_engines_benchmark.md: 3 clients x 4 ranks, empty files. */
export const JUICEFS_MDTEST = {
  note: 'JuiceFS 1.1 mdtest -b 3 -z 1 -I 100 -u, 12 ranks on 3 c5.xlarge clients, metadata on a c5d.xlarge (JuiceFS docs/en/benchmark/metadata_engines_benchmark.md)',
  redisAlways: { create: 5473, stat: 288951, removal: 6085 },
  redisEverysec: { create: 9985, stat: 253219, removal: 12221 },
  mysql: { create: 1327, stat: 9136, removal: 1073 },
  postgres: { create: 4727, stat: 233148, removal: 3962 },
  singleClientRedis: {
    note: 'mdtest -b 6 -I 8 -z 4 on one c5.large client, Redis 4.0.9 (JuiceFS docs/en/benchmark/mdtest.md)',
    create: 1410.29,
    stat: 5023.23,
    removal: 1163.37,
  },
} as const;

export interface MultiBenchOptions {
  clients?: number;
  ops?: number;
  files?: number;
  engines?: EngineName[];
  modes?: Array<'api' | 'fuse'>;
  growthEngines?: GrowthEngine[];
  outFile?: string;
  log?: (line: string) => void;
  /** `--name value` pairs from the command line (bench runner). */
  args?: Record<string, string>;
}

export interface PhaseResult {
  phase: MultiPhase;
  scope: MultiScope;
  totalOpsPerSec: number;
  perClientOpsPerSec: number[];
  wallMs: number;
  errors: number;
  firstError?: string;
  /** Transaction restarts / outage retries during the phase, summed over clients (null: not reported). */
  restarts: number | null;
  retries: number | null;
}

export interface RunResult {
  engine: EngineName;
  mode: 'api' | 'fuse';
  clients: number;
  opsPerClient: number;
  phases: PhaseResult[];
}

export interface MultiBenchResult extends Stamp {
  config: { clients: number; ops: number; files: number; engines: EngineName[]; modes: string[] };
  runs: RunResult[];
  skipped: Array<{ engine: string; mode?: string; reason: string }>;
  growth: GrowthResult[];
  juicefs: typeof JUICEFS_MDTEST;
}

const round = (x: number): number => Math.round(x * 10) / 10;

function list<T extends string>(v: string | undefined, all: readonly T[], what: string): T[] | undefined {
  if (v === undefined) return undefined;
  if (v === 'none' || v === '') return [];
  const out = v.split(',').map((s) => s.trim());
  for (const s of out)
    if (!all.includes(s as T)) throw new Error(`unknown ${what} '${s}' (${all.join(', ')})`);
  return out as T[];
}

function config(o: MultiBenchOptions): Required<Omit<MultiBenchOptions, 'outFile' | 'log' | 'args'>> {
  const a = o.args ?? {};
  const num = (k: string, d: number | undefined, dflt: number): number => {
    const v = a[k] !== undefined ? Number(a[k]) : (d ?? dflt);
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${k} must be a positive integer`);
    return v;
  };
  return {
    clients: num('clients', o.clients, 4),
    ops: num('ops', o.ops, 1000),
    files: num('files', o.files, 1_000_000),
    engines: list(a['engines'], ALL_ENGINES, 'engine') ?? o.engines ?? [...ALL_ENGINES],
    modes: list(a['modes'], ['api', 'fuse'] as const, 'mode') ?? o.modes ?? ['api', 'fuse'],
    growthEngines: list(a['growth-engines'], ['redis', 'postgres'] as const, 'growth engine') ??
      o.growthEngines ?? ['redis', 'postgres'],
  };
}

async function format(metaUrl: string, bucket: string): Promise<void> {
  const c = captureIo();
  const code = await main(
    ['format', metaUrl, 'multivol', '--storage', 'file', '--bucket', bucket + '/', '--trash-days', '0'],
    c.io,
  );
  if (code !== 0) throw new Error(`format failed: ${c.err().trim()}`);
}

/** Holds `flock /tmp/tjfs-mount.lock` while `fn` runs (the lock is the flock child's). */
async function withMountLock<T>(log: (l: string) => void, fn: () => Promise<T>): Promise<T> {
  const child = spawn('flock', ['-x', '/tmp/tjfs-mount.lock', '-c', 'echo locked; exec cat >/dev/null'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const t0 = Date.now();
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`flock exited (${code})`)));
  });
  if (Date.now() - t0 > 1000) log(`  (waited ${((Date.now() - t0) / 1000).toFixed(0)} s for the mount lock)`);
  try {
    return await fn();
  } finally {
    child.stdin.end();
    await new Promise((r) => child.once('exit', r));
  }
}

interface Client {
  child: ChildProcess;
  next(): Promise<unknown>;
}

function forkClient(cfg: WorkerConfig): Client {
  const child = fork(WORKER, [JSON.stringify(cfg)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const queue: unknown[] = [];
  const waiters: Array<{ ok: (m: unknown) => void; fail: (e: Error) => void }> = [];
  child.on('message', (m) => {
    const w = waiters.shift();
    if (w) w.ok(m);
    else queue.push(m);
  });
  child.once('exit', (code, sig) => {
    for (const w of waiters.splice(0)) w.fail(new Error(`client ${cfg.id} exited (${code ?? sig})`));
  });
  return {
    child,
    next: () =>
      queue.length > 0
        ? Promise.resolve(queue.shift())
        : new Promise((ok, fail) => {
            if (child.exitCode !== null) fail(new Error(`client ${cfg.id} has exited`));
            else waiters.push({ ok, fail });
          }),
  };
}

async function answer<T>(c: Client): Promise<T> {
  const m = (await c.next()) as { fatal?: string };
  if (m.fatal !== undefined) throw new Error(`client failed: ${m.fatal}`);
  return m as T;
}

/** Runs every phase with `cfgs.length` client processes in step; stops them all at the end. */
async function drive(cfgs: WorkerConfig[], log: (l: string) => void): Promise<PhaseResult[]> {
  const clients = cfgs.map(forkClient);
  try {
    const ready = await Promise.all(
      clients.map((c) => answer<{ counters: { restarts?: number; retries?: number } }>(c)),
    );
    let prev = ready.map((r) => r.counters);
    const out: PhaseResult[] = [];
    for (const scope of SCOPES)
      for (const phase of PHASES) {
        const t0 = performance.now();
        for (const c of clients) c.child.send({ phase, scope });
        const replies = await Promise.all(clients.map((c) => answer<PhaseReply>(c)));
        const wallMs = performance.now() - t0;
        const delta = (k: 'restarts' | 'retries'): number | null =>
          replies.every((r, i) => r[k] !== undefined && prev[i]?.[k] !== undefined)
            ? replies.reduce((s, r, i) => s + (r[k] ?? 0) - (prev[i]?.[k] ?? 0), 0)
            : null;
        const ops = replies.reduce((s, r) => s + r.ops, 0);
        const firstError = replies.find((r) => r.firstError !== undefined)?.firstError;
        const r: PhaseResult = {
          phase,
          scope,
          totalOpsPerSec: round((ops * 1000) / wallMs),
          perClientOpsPerSec: replies.map((x) => round((x.ops * 1000) / x.ms)),
          wallMs: Math.round(wallMs),
          errors: replies.reduce((s, x) => s + x.errors, 0),
          ...(firstError === undefined ? {} : { firstError }),
          restarts: delta('restarts'),
          retries: delta('retries'),
        };
        prev = replies.map((x) => ({
          ...(x.restarts === undefined ? {} : { restarts: x.restarts }),
          ...(x.retries === undefined ? {} : { retries: x.retries }),
        }));
        out.push(r);
        log(
          `    ${scope.padEnd(7)} ${phase.padEnd(6)} total ${String(r.totalOpsPerSec).padStart(8)}/s  per client [${r.perClientOpsPerSec.join(' ')}]  restarts ${r.restarts ?? '-'} retries ${r.retries ?? '-'}${r.errors ? `  ERRORS ${r.errors}: ${r.firstError}` : ''}`,
        );
      }
    return out;
  } finally {
    for (const c of clients) if (c.child.connected) c.child.send({ quit: true });
    await Promise.all(
      clients.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.child.exitCode !== null || c.child.signalCode !== null) return resolve();
            const t = setTimeout(() => c.child.kill('SIGKILL'), 30_000);
            c.child.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
          }),
      ),
    );
  }
}

async function runFuse(
  metaUrl: string,
  dir: string,
  n: number,
  ops: number,
  log: (l: string) => void,
): Promise<PhaseResult[]> {
  return withMountLock(log, async () => {
    const daemons: Daemon[] = [];
    try {
      for (let i = 0; i < n; i++) {
        const mp = join(dir, `mnt${i}`);
        await mkdir(mp, { recursive: true });
        daemons.push(
          await startDaemon({
            metaUrl,
            mountpoint: mp,
            cacheDir: join(dir, `cache${i}`),
            logFile: join(dir, `mount${i}.log`),
            extraArgs: ['--no-bgjob'],
            readyTimeoutMs: 60_000,
          }),
        );
      }
      return await drive(
        daemons.map((d, id) => ({ id, mode: 'fuse', mountpoint: d.mountpoint, ops })),
        log,
      );
    } finally {
      for (const d of daemons) await d.stop();
    }
  });
}

export async function runMultiBench(o: MultiBenchOptions = {}): Promise<MultiBenchResult> {
  const log = o.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const c = config(o);
  log(
    `multi: ${c.clients} clients x ${c.ops} ops per phase; engines ${c.engines.join(',')}; modes ${c.modes.join(',')}; growth ${c.files} files on ${c.growthEngines.join(',') || 'none'}`,
  );
  const work = await mkdtemp(join(tmpdir(), 'tjfs-bench-multi-'));
  const runs: RunResult[] = [];
  const skipped: MultiBenchResult['skipped'] = [];
  try {
    for (const engine of c.engines) {
      const dir = join(work, engine);
      await mkdir(dir, { recursive: true });
      const server = await startEngineServer(engine, dir).catch((e: unknown) => String(e));
      if (typeof server === 'string') {
        skipped.push({ engine, reason: server });
        log(`  ${engine}: skipped (${server})`);
        continue;
      }
      try {
        await format(server.url, join(dir, 'bucket'));
        for (const mode of c.modes) {
          log(`  ${engine} / ${mode}`);
          try {
            const phases =
              mode === 'api'
                ? await drive(
                    Array.from({ length: c.clients }, (_, id) => ({
                      id,
                      mode,
                      metaUrl: server.url,
                      ops: c.ops,
                    })),
                    log,
                  )
                : await runFuse(server.url, join(dir, 'fuse'), c.clients, c.ops, log);
            runs.push({ engine, mode, clients: c.clients, opsPerClient: c.ops, phases });
          } catch (e) {
            skipped.push({ engine, mode, reason: `failed: ${String(e)}` });
            log(`  ${engine} / ${mode}: FAILED ${String(e)}`);
          }
        }
      } finally {
        await server.stop();
      }
    }
    const growth = await runGrowth(c.growthEngines, c.files, join(work, 'growth'), log);
    const result: MultiBenchResult = {
      ...stamp(),
      config: { clients: c.clients, ops: c.ops, files: c.files, engines: c.engines, modes: c.modes },
      runs,
      skipped,
      growth,
      juicefs: JUICEFS_MDTEST,
    };
    const outFile = o.outFile ?? join(process.cwd(), 'bench-results', 'multi.json');
    await mkdir(dirname(outFile), { recursive: true });
    await writeFile(outFile, JSON.stringify(result, null, 2) + '\n');
    log(formatTable(result));
    log(`(written to ${outFile})`);
    return result;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The results as a Markdown table: total ops/s per engine, mode and scope, with JuiceFS's mdtest beside. */
export function formatTable(r: MultiBenchResult): string {
  const lines = [
    `| engine | clients | dir | create | stat | rename | unlink | restarts (c/s/r/u) |`,
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const run of r.runs)
    for (const scope of SCOPES) {
      const ps = PHASES.map((p) => run.phases.find((x) => x.phase === p && x.scope === scope));
      lines.push(
        `| ${run.engine} | ${run.clients} ${run.mode} | ${scope} | ${ps.map((p) => (p ? `${Math.round(p.totalOpsPerSec)} (${Math.round(Math.min(...p.perClientOpsPerSec))}-${Math.round(Math.max(...p.perClientOpsPerSec))})` : '-')).join(' | ')} | ${ps.map((p) => p?.restarts ?? '-').join('/')} |`,
      );
    }
  const j = r.juicefs;
  lines.push(
    `| JuiceFS Redis-always (mdtest) | 12 ranks | - | ${j.redisAlways.create} | ${j.redisAlways.stat} | - | ${j.redisAlways.removal} | - |`,
    `| JuiceFS PostgreSQL (mdtest) | 12 ranks | - | ${j.postgres.create} | ${j.postgres.stat} | - | ${j.postgres.removal} | - |`,
    `| JuiceFS MySQL (mdtest) | 12 ranks | - | ${j.mysql.create} | ${j.mysql.stat} | - | ${j.mysql.removal} | - |`,
  );
  for (const g of r.growth)
    lines.push(
      '',
      `growth ${g.engine}: ${g.files} files + ${g.dirs} dirs loaded in ${g.loadSeconds} s (${g.inodesPerSec} inodes/s): ${g.bytesPerInode} bytes per inode${g.rowsPerInode !== undefined ? `, ${g.rowsPerInode} rows per inode` : ''} (${g.what})`,
    );
  return lines.join('\n');
}
