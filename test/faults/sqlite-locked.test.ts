/**
 * Fault tests: a SQLite metadata database locked by another process (`BEGIN EXCLUSIVE`
 * held by a child process). Writes wait with backoff and succeed once the lock is gone;
 * past the bound they fail with EIO and a log line naming the operation.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openMeta, type BaseMeta } from '../../src/meta/base-meta.js';
import type { Logger } from '../../src/util/logger.js';
import { Errno } from '../../src/base/errno.js';
import type { MetaRetryOptions } from '../../src/meta/retry-policy.js';
import { formatEmptyVolume, n, root } from '../helpers/meta-fixture.js';

let dir: string;
let url: string;
let meta: BaseMeta | undefined;
let holder: ChildProcess | undefined;
const lines: { level: string; msg: string }[] = [];
const logger: Logger = {
  warn: (msg) => lines.push({ level: 'warn', msg }),
  error: (msg) => lines.push({ level: 'error', msg }),
};

/** Another process takes the write lock (BEGIN EXCLUSIVE) and keeps it for `ms`. */
async function lockFor(ms: number): Promise<ChildProcess> {
  const script = `
    const Database = require('better-sqlite3');
    const db = new Database(process.argv[1]);
    db.exec('BEGIN EXCLUSIVE');
    process.stdout.write('locked\\n');
    setTimeout(() => { db.exec('COMMIT'); db.close(); }, Number(process.argv[2]));`;
  const child = spawn(process.execPath, ['-e', script, join(dir, 'meta.db'), String(ms)], {
    cwd: process.cwd(),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  holder = child;
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`lock holder exited early (${code})`)));
  });
  return child;
}

async function open(retry: MetaRetryOptions): Promise<BaseMeta> {
  meta = await openMeta(url, { logger, retry, skipDirMtimeMs: 0 });
  await meta.start({ MountPoint: '/locked' }, { heartbeat: false });
  return meta;
}

beforeEach(async () => {
  lines.length = 0;
  dir = mkdtempSync(join(tmpdir(), 'tjfs-sqlite-locked-'));
  url = `sqlite3://${join(dir, 'meta.db')}`;
  await formatEmptyVolume(url, 'locked');
});

afterEach(async () => {
  holder?.kill('SIGKILL');
  holder = undefined;
  await meta?.stop().catch(() => undefined);
  meta = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe('sqlite locked by another process', () => {
  it('writes wait while another process holds the lock, then succeed', async () => {
    const m = await open({});
    await m.mkdir(root, 1n, n('before'), 0o755);
    const child = await lockFor(12_000); // longer than the old bound of 50 attempts (~10 s)
    const t0 = Date.now();
    const ops = [m.mkdir(root, 1n, n('during'), 0o755), m.create(root, 1n, n('f'), 0o644)];
    await new Promise((r) => setTimeout(r, 200)); // the writes are now waiting for the lock
    const r0 = Date.now();
    expect((await m.lookup(root, 1n, n('before'))).attr.nlink).toBe(2);
    expect(Date.now() - r0).toBeLessThan(1000); // readers are not queued behind the waiting writes
    await Promise.all(ops);
    expect(Date.now() - t0).toBeGreaterThan(11_000); // they did wait for the lock
    await new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r(undefined)));
    expect(child.exitCode).toBe(0);
    expect((await m.lookup(root, 1n, n('during'))).attr.nlink).toBe(2);
    expect((await m.getattr(root, 1n)).nlink).toBe(4);
    expect(
      lines.some((l) => l.level === 'warn' && /locked by another process; (mkdir|create)/.test(l.msg)),
    ).toBe(true);
  }, 30_000);

  it('past the bound a write fails with EIO and a log line naming it', async () => {
    const m = await open({ retries: 3, minBackoffMs: 20, maxBackoffMs: 200 }); // ~0.5 s
    await lockFor(20_000);
    const t0 = Date.now();
    await expect(m.mkdir(root, 1n, n('late'), 0o755)).rejects.toMatchObject({ errno: Errno.EIO });
    expect(m.outageStats()).toMatchObject({ failures: 1 });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(
      lines.some(
        (l) =>
          l.level === 'error' &&
          /mkdir|allocate inodes/.test(l.msg) &&
          /locked by another process/.test(l.msg),
      ),
      JSON.stringify(lines),
    ).toBe(true);
    holder?.kill('SIGKILL'); // the lock goes with the process
    await new Promise((r) => holder?.once('exit', r));
    await m.mkdir(root, 1n, n('late'), 0o755);
  }, 30_000);
});
