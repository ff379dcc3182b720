/**
 * One client of the many-clients benchmark (multi.ts), run as its own process with an IPC
 * channel: either an API client (src/api openVolume on the meta URL, no FUSE) or a client of
 * one mount point (node:fs on the directory a `tjfs mount` daemon serves).
 * Protocol: the parent forks it with a JSON config in argv[2]; it prepares its directories and
 * sends {ready}; then for each {phase, scope} message it runs `ops` operations one at a time
 * (as one mdtest rank) and answers {ms, ops, errors, restarts, retries}; {quit} closes it.
 * Names: scope 'shared' puts every client's files in /shared (c<id>-<i>), 'private' in
 * /p<id> (f<i>); rename moves each file to the same name with '.r' in the same directory,
 * unlink removes the renamed files, so the phases must run create, stat, rename, unlink.
 * Retry counters: API clients read Meta.txRestarts / outageStats of their own session;
 * mount clients read the daemon's `.stats` (juicefs_transaction_restart, tjfs_meta_retries).
 */
import {
  open as fsOpen,
  mkdir as fsMkdir,
  readFile,
  rename as fsRename,
  stat as fsStat,
  unlink as fsUnlink,
} from 'node:fs/promises';
import { join } from 'node:path';
import { openVolume, type Volume } from '../src/api/volume.js';

export type MultiPhase = 'create' | 'stat' | 'rename' | 'unlink';
export type MultiScope = 'shared' | 'private';

export interface WorkerConfig {
  id: number;
  /** 'api': metaUrl; 'fuse': mountpoint. */
  mode: 'api' | 'fuse';
  metaUrl?: string;
  mountpoint?: string;
  ops: number;
}

export type ToWorker = { phase: MultiPhase; scope: MultiScope } | { quit: true };

export interface PhaseReply {
  ms: number;
  ops: number;
  errors: number;
  firstError?: string;
  /** Transaction restarts and outage retries so far (cumulative; undefined when unknown). */
  restarts: number | undefined;
  retries: number | undefined;
}

/** The file operations a client needs, over the API or over a mount. */
interface Ops {
  mkdirp(p: string): Promise<void>;
  create(p: string): Promise<void>;
  stat(p: string): Promise<void>;
  rename(a: string, b: string): Promise<void>;
  unlink(p: string): Promise<void>;
  counters(): Promise<{ restarts: number | undefined; retries: number | undefined }>;
  close(): Promise<void>;
}

function apiOps(v: Volume): Ops {
  return {
    async mkdirp(p) {
      await v.mkdir(p, { recursive: true });
    },
    async create(p) {
      const h = await v.open(p, 'wx', 0o644);
      await h.close();
    },
    async stat(p) {
      await v.stat(p);
    },
    rename: (a, b) => v.rename(a, b),
    unlink: (p) => v.unlink(p),
    counters: async () => ({
      restarts: v.runtime.meta.txRestarts(),
      retries: v.runtime.meta.outageStats()?.retries,
    }),
    close: () => v.close(),
  };
}

/** A Prometheus text sample's value (its labels, such as vol_name, ignored), undefined when absent. */
export function metricValue(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(text);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

function fuseOps(mp: string): Ops {
  const at = (p: string): string => join(mp, p);
  return {
    async mkdirp(p) {
      await fsMkdir(at(p), { recursive: true });
    },
    async create(p) {
      const h = await fsOpen(at(p), 'wx', 0o644);
      await h.close();
    },
    async stat(p) {
      await fsStat(at(p));
    },
    rename: (a, b) => fsRename(at(a), at(b)),
    unlink: (p) => fsUnlink(at(p)),
    async counters() {
      const text = await readFile(join(mp, '.stats'), 'utf8').catch(() => '');
      return {
        restarts: metricValue(text, 'juicefs_transaction_restart'),
        retries: metricValue(text, 'tjfs_meta_retries'),
      };
    },
    close: async () => undefined,
  };
}

function nameOf(cfg: WorkerConfig, scope: MultiScope, i: number, renamed: boolean): string {
  const base = scope === 'shared' ? `/shared/c${cfg.id}-${i}` : `/p${cfg.id}/f${i}`;
  return renamed ? `${base}.r` : base;
}

async function runPhase(
  cfg: WorkerConfig,
  ops: Ops,
  phase: MultiPhase,
  scope: MultiScope,
): Promise<PhaseReply> {
  let errors = 0;
  let firstError: string | undefined;
  const t0 = performance.now();
  for (let i = 0; i < cfg.ops; i++) {
    const p = nameOf(cfg, scope, i, phase === 'unlink');
    try {
      if (phase === 'create') await ops.create(p);
      else if (phase === 'stat') await ops.stat(p);
      else if (phase === 'rename') await ops.rename(p, nameOf(cfg, scope, i, true));
      else await ops.unlink(p);
    } catch (e) {
      errors++;
      firstError ??= e instanceof Error ? e.message : String(e);
    }
  }
  const ms = performance.now() - t0;
  const c = await ops.counters();
  return { ms, ops: cfg.ops, errors, ...(firstError === undefined ? {} : { firstError }), ...c };
}

/** A few ops of each kind first (connections, JIT, caches), so the first timed phase is not a warm-up. */
async function warmUp(cfg: WorkerConfig, ops: Ops): Promise<void> {
  for (let i = 0; i < Math.min(cfg.ops, 50); i++) {
    const p = `/p${cfg.id}/warm${i}`;
    await ops.create(p);
    await ops.stat(p);
    await ops.rename(p, `${p}.r`);
    await ops.unlink(`${p}.r`);
  }
}

async function workerMain(): Promise<void> {
  const cfg = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig;
  const send = (m: unknown): void => {
    process.send?.(m);
  };
  const ops =
    cfg.mode === 'api'
      ? apiOps(await openVolume(cfg.metaUrl ?? '', { uid: 0, gid: 0, attrCache: 1 }))
      : fuseOps(cfg.mountpoint ?? '');
  await ops.mkdirp('/shared');
  await ops.mkdirp(`/p${cfg.id}`);
  await warmUp(cfg, ops);
  process.on('message', (m: ToWorker) => {
    if ('quit' in m) {
      void ops.close().finally(() => process.disconnect());
      return;
    }
    runPhase(cfg, ops, m.phase, m.scope).then(send, (e: unknown) => send({ fatal: String(e) }));
  });
  send({ ready: true, counters: await ops.counters() });
}

if (process.argv[1]?.endsWith('benchmarks/multi-worker.js') === true) await workerMain();
