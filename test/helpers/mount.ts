/**
 * Real-mount harness: format a fresh volume (SQLite, Redis, PostgreSQL or MySQL metadata, file or s3rver
 * storage) in a unique temp dir, run `tjfs mount` as a foreground child daemon, wait until
 * the kernel lists the mount and the daemon reports it ready, and tear everything down.
 *
 * Invariants: `E2eEnv.cleanup()` never throws and always leaves nothing behind: each mount
 * is unmounted (`tjfs umount`, then `umount -l`), each daemon ends (SIGTERM, then SIGKILL),
 * servers stop and temp dirs are removed. `leftovers()` reports any mount or process that
 * still mentions the env's temp dir, for an afterAll assertion. The test process reads only
 * /proc, never the mount itself.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { startRedis, type RedisServer } from './redis-server.js';
import { startPg } from './pg-server.js';
import { startMariadb } from './mariadb-server.js';
import { startS3Server, type S3TestServer } from './s3-server.js';
import { ok, run, type ChildResult } from './proc.js';
import { packageRoot } from '../../src/native/package-root.js';

export const ROOT = packageRoot();
export const BIN = join(ROOT, 'dist/src/cli/bin.js');
export const RUN_CHILD = join(ROOT, 'dist/test/scenarios/run-child.js');

export type VolumeKind = 'sqlite-file' | 'redis-file' | 'redis-s3' | 'postgres-file' | 'mysql-file';

export interface Volume {
  kind: VolumeKind;
  name: string;
  metaUrl: string;
  dir: string;
  s3?: S3TestServer;
  redis?: RedisServer;
  /** postgres-file / mysql-file: the private server (callers check pgSkipReason / mariadbSkipReason). */
  sqlServer?: { stop(): Promise<void> };
}

export interface VolumeOptions {
  name?: string;
  /** Extra `tjfs format` flags, e.g. ['--trash-days', '0']. */
  formatArgs?: readonly string[];
  /** redis-s3 only: format with this secret key (s3rver then accepts any secret). */
  secretKey?: string;
}

export interface Mount {
  mp: string;
  volume: Volume;
  child: ChildProcess;
  pid: number;
  /** Daemon stdout+stderr so far. */
  log(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Mount points (field 5) of /proc/self/mountinfo lines. */
export function mountPoints(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ')[4] ?? '');
}

export function isMounted(mp: string): boolean {
  return mountPoints().includes(mp);
}

function alive(c: ChildProcess): boolean {
  return c.exitCode === null && c.signalCode === null;
}

/** Pids whose command line mentions `needle` (daemons, watchdogs), excluding ourselves. */
export function processesMentioning(needle: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(needle)) out.push(Number(e));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** Runs the tjfs CLI (compiled) in a child. */
export function tjfs(args: readonly string[], timeoutMs = 30_000): Promise<ChildResult> {
  return run(process.execPath, [BIN, ...args], { timeoutMs });
}

/** Polls `cond` until it holds or `timeoutMs` passed; returns its last value. */
export async function waitFor(cond: () => boolean, timeoutMs: number, stepMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return cond();
}

/** One test file's world: a temp dir, its volumes, mounts and servers. */
export class E2eEnv {
  readonly base: string;
  private readonly volumes: Volume[] = [];
  private readonly mounts: Mount[] = [];
  private seq = 0;

  constructor(label: string) {
    this.base = mkdtempSync(join(tmpdir(), `tjfs-e2e-${label}-`));
    chmodSync(this.base, 0o755); // other users (sticky/permission tests) must reach the mounts
  }

  async createVolume(kind: VolumeKind, opts: VolumeOptions = {}): Promise<Volume> {
    const dir = join(this.base, `vol${this.seq++}`);
    const name = opts.name ?? `e2e${this.seq}`;
    mkdirSync(dir, { recursive: true });
    const vol: Volume = { kind, name, metaUrl: '', dir };
    this.volumes.push(vol);
    let storage = ['--storage', 'file', '--bucket', join(dir, 'bucket') + '/'];
    if (kind === 'sqlite-file') vol.metaUrl = `sqlite3://${join(dir, 'meta.db')}`;
    else if (kind === 'postgres-file') {
      const pg = await startPg();
      vol.sqlServer = pg;
      await pg.sql('CREATE DATABASE tjfs');
      vol.metaUrl = `${pg.baseUrl}tjfs`;
    } else if (kind === 'mysql-file') {
      const my = await startMariadb();
      vol.sqlServer = my;
      await my.sql('CREATE DATABASE tjfs');
      vol.metaUrl = `${my.baseUrl}tjfs`;
    } else {
      vol.redis = await startRedis();
      vol.metaUrl = vol.redis.url;
    }
    if (kind === 'redis-s3') {
      vol.s3 = await startS3Server('tjfs-test', { anySecret: opts.secretKey !== undefined });
      const secret = opts.secretKey ?? vol.s3.secretKey;
      storage = [
        '--storage',
        's3',
        '--bucket',
        vol.s3.bucketUrl,
        '--access-key',
        vol.s3.accessKey,
        '--secret-key',
        secret,
      ];
    }
    ok(
      await tjfs(['format', vol.metaUrl, name, ...storage, ...(opts.formatArgs ?? [])]),
      `tjfs format ${kind}`,
    );
    return vol;
  }

  /** Starts a foreground `tjfs mount` daemon; resolves once the mount is ready. */
  async mount(vol: Volume, args: readonly string[] = [], mpName?: string): Promise<Mount> {
    const mp = join(this.base, mpName ?? `mnt${this.seq++}`);
    const cache = join(this.base, `cache${this.seq++}`);
    const child = spawn(process.execPath, [BIN, 'mount', vol.metaUrl, mp, '--cache-dir', cache, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    const append = (d: Buffer): void => {
      if (log.length < 1_000_000) log += d.toString();
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const m: Mount = { mp, volume: vol, child, pid: child.pid ?? -1, log: () => log, exited };
    this.mounts.push(m);
    const ready = await waitFor(() => !alive(child) || (log.includes('mounted at') && isMounted(mp)), 20_000);
    if (!ready || !alive(child)) {
      await this.unmount(m);
      throw new Error(
        `tjfs mount ${mp} did not become ready (exit ${child.exitCode ?? child.signalCode})\n${log}`,
      );
    }
    return m;
  }

  /** Unmounts and ends the daemon; never throws. Returns what it had to do. */
  async unmount(m: Mount): Promise<string[]> {
    const steps: string[] = [];
    try {
      if (isMounted(m.mp)) {
        const r = await tjfs(['umount', m.mp], 10_000);
        steps.push(`tjfs umount: ${r.code}`);
        if (r.code !== 0) steps.push(r.stderr.trim());
      }
      if (alive(m.child)) await Promise.race([m.exited, new Promise((r) => setTimeout(r, 5000))]);
      if (isMounted(m.mp)) {
        steps.push('umount -l');
        await run('umount', ['-l', m.mp], { timeoutMs: 10_000 });
      }
      if (alive(m.child)) {
        steps.push('SIGTERM');
        m.child.kill('SIGTERM');
        await Promise.race([m.exited, new Promise((r) => setTimeout(r, 3000))]);
      }
      if (alive(m.child)) {
        steps.push('SIGKILL');
        m.child.kill('SIGKILL');
        await m.exited;
      }
      await waitFor(() => !isMounted(m.mp), 3000);
    } catch (e) {
      steps.push(`error: ${String(e)}`);
    }
    return steps;
  }

  /** Tears everything down; returns the leftovers found afterwards (expected: none). */
  async cleanup(): Promise<string[]> {
    for (const m of this.mounts) await this.unmount(m);
    for (const v of this.volumes) {
      await v.s3?.stop().catch(() => undefined);
      await v.redis?.stop().catch(() => undefined);
      await v.sqlServer?.stop().catch(() => undefined);
    }
    // Watchdogs of killed daemons lazily unmount on their own; give them a moment.
    await waitFor(() => this.leftovers().length === 0, 3000);
    const left = this.leftovers();
    if (left.length === 0) rmSync(this.base, { recursive: true, force: true, maxRetries: 3 });
    return left;
  }

  /** Mounts and processes that still refer to this env's temp dir. */
  leftovers(): string[] {
    const mounts = mountPoints().filter((p) => p.startsWith(this.base));
    const procs = processesMentioning(this.base).map((p) => `pid ${p}: ${readCmdline(p)}`);
    return [...mounts.map((p) => `mount ${p}`), ...procs];
  }
}

/**
 * An E2eEnv for the enclosing describe: made in beforeAll, cleaned up in afterAll, which
 * asserts that nothing is left mounted or running. Returns its accessor.
 */
export function useE2eEnv(label: string): () => E2eEnv {
  let env: E2eEnv | undefined;
  beforeAll(() => {
    env = new E2eEnv(label);
  });
  afterAll(async () => {
    expect((await env?.cleanup()) ?? []).toEqual([]);
  }, 60_000);
  return () => {
    if (!env) throw new Error('beforeAll failed');
    return env;
  };
}

/** Number of block objects a file-store volume holds (reads the bucket dir, not the mount). */
export function blockCount(vol: Volume): number {
  let n = 0;
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else n++;
    }
  };
  const dir = join(vol.dir, 'bucket', vol.name, 'chunks');
  if (existsSync(dir)) walk(dir);
  return n;
}

function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '(gone)';
  }
}
