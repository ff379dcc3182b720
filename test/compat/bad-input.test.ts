/**
 * Bad input at the metadata boundary: malformed meta URLs, unformatted databases, an
 * unreachable Redis, transaction conflict storms (Redis WATCH aborts, SQLite write lock
 * held elsewhere), corrupt attr bytes written raw into Redis and SQLite, and volumes that
 * need a newer client. Every case must end in a clear FsError, never a hang or a crash.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { BaseMeta, metaCore, openMeta } from '../../src/meta/base-meta.js';
import type { Logger } from '../../src/util/logger.js';
import type { MetaEngine, MetaTx, TxOptions } from '../../src/meta/engine.js';
import { Errno, FsError } from '../../src/base/errno.js';
import { openEngine } from '../../src/meta/registry.js';
import { ROOT_INODE } from '../../src/base/types.js';
import { memTarget, redisTarget, sqliteTarget } from '../helpers/engine-targets.js';
import { makeVolume, n, root } from '../helpers/meta-fixture.js';
import { rawRedis, rawSqlite, sqlitePath } from '../helpers/raw-db.js';
import { freePort } from '../helpers/redis-server.js';

async function rejection(p: Promise<unknown>): Promise<FsError> {
  const e: unknown = await p.then(
    () => new Error('expected a rejection'),
    (err: unknown) => err,
  );
  if (!(e instanceof FsError)) throw new Error(`expected FsError, got ${String(e)}`);
  return e;
}

function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = (msg: string, fields?: Record<string, unknown>): void => {
    lines.push(`${msg} ${JSON.stringify(fields ?? {})}`);
  };
  return { logger: { warn: log, error: log }, lines };
}

/** An engine whose every transaction runs `hook` after the body, before the commit. */
function hooked(inner: MetaEngine, hook: () => Promise<void>, counter: { attempts: number }): MetaEngine {
  const txn = <T>(fn: (tx: MetaTx) => Promise<T>, opts: TxOptions): Promise<T> =>
    inner.txn(async (tx) => {
      const r = await fn(tx);
      if (!opts.readonly) {
        counter.attempts++;
        await hook();
      }
      return r;
    }, opts);
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === 'txn') return txn;
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

describe('malformed meta URLs', () => {
  it.each([
    ['myjfs.db', /invalid meta URL 'myjfs.db': expected scheme:\/\//],
    ['foo://host/x', /unsupported meta URL scheme 'foo:\/\/'/],
    ['redis://127.0.0.1:99999/1', /invalid redis URL .*bad port/],
    ['redis://127.0.0.1:abc/1', /invalid redis URL .*bad host/],
    ['redis://127.0.0.1:6379/x', /bad database number 'x'/],
    ['sqlite3://', /invalid SQLite meta URL/],
  ])('%s', async (url, message) => {
    const e = await rejection(openMeta(url));
    expect(e.errno).toBe(Errno.EINVAL);
    expect(e.message).toMatch(message);
  });

  it('never shows the password', async () => {
    const e = await rejection(openMeta('redis://user:s3cret@127.0.0.1:99999/1'));
    expect(e.message).not.toContain('s3cret');
    expect(e.message).toContain('****');
  });
});

describe('unformatted databases and unreachable servers', () => {
  const redis = redisTarget();
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('a SQLite file without tables is "not formatted"', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tjfs-bad-'));
    dirs.push(dir);
    const path = join(dir, 'empty.db');
    new Database(path).close();
    const e = await rejection(openMeta(`sqlite3://${path}`));
    expect(e.message).toMatch(/is not formatted/);
    const db = new Database(path);
    expect(db.prepare("SELECT count(*) AS c FROM sqlite_master WHERE type = 'table'").get()).toEqual({
      c: 0,
    });
    db.close();
  });

  it('an empty Redis database is "not formatted"', async () => {
    const e = await rejection(openMeta(await redis.freshUrl()));
    expect(e.message).toMatch(/redis:\/\/127\.0\.0\.1:\d+\/1 is not formatted/);
  });

  it('a closed Redis port fails fast with a clear message', async () => {
    const port = await freePort();
    const started = Date.now();
    const e = await rejection(openMeta(`redis://127.0.0.1:${port}/1`));
    expect(Date.now() - started).toBeLessThan(4000);
    expect(e.errno).toBe(Errno.EIO);
    expect(e.message).toMatch(new RegExp(`cannot connect to redis redis://127.0.0.1:${port}/1`));
  });

  it('a Redis conflict storm is retried, then fails naming the op', async () => {
    const v = await makeVolume({ name: 'redis', freshUrl: () => redis.freshUrl() });
    const raw = await rawRedis(v.url);
    const counter = { attempts: 0 };
    const touch = async (): Promise<void> => {
      // Rewriting the watched parent attr with its own bytes still aborts the WATCH.
      const b = await raw.getBuffer('i1');
      if (b) await raw.set('i1', b);
    };
    const engine = hooked(await openEngine(v.url, { maxRetries: 5 }), touch, counter);
    const { logger, lines } = capture();
    const m = new BaseMeta(engine, v.format, { clock: v.clock, logger });
    try {
      await metaCore(m).nextInode();
      const e = await rejection(m.mkdir(root, ROOT_INODE, n('d'), 0o755));
      expect(e.errno).toBe(Errno.EIO);
      expect(e.op).toBe('mkdir');
      expect(e.message).toMatch(/mkdir: transaction mkdir conflicted 5 times/);
      expect(counter.attempts).toBe(5);
      expect(lines.some((l) => l.includes('conflicted 5 times'))).toBe(true);
      await expect(m.lookup(root, ROOT_INODE, n('d'))).rejects.toMatchObject({ errno: Errno.ENOENT });
    } finally {
      raw.disconnect();
      await engine.close();
      await v.close();
    }
  });

  it('a SQLite write lock held by another process is retried, then fails naming the op', async () => {
    const target = sqliteTarget();
    const v = await makeVolume(target);
    const { logger } = capture();
    const m = await openMeta(v.url, { maxTxRetries: 3, clock: v.clock, logger });
    const other = new Database(sqlitePath(v.url));
    try {
      await metaCore(m).nextInode();
      other.exec('BEGIN IMMEDIATE');
      const e = await rejection(m.mkdir(root, ROOT_INODE, n('d'), 0o755));
      expect(e.errno).toBe(Errno.EIO);
      expect(e.op).toBe('mkdir');
      expect(e.message).toMatch(/SQLite database locked by another process: mkdir gave up after 3 attempts/);
      other.exec('ROLLBACK');
      await m.mkdir(root, ROOT_INODE, n('d'), 0o755);
    } finally {
      other.close();
      await m.stop();
      await v.close();
      await target.cleanup?.();
    }
  });
});

describe('corrupt attrs and refused volumes', () => {
  const redis = redisTarget();

  it('corrupt attr bytes in Redis i{ino} give EIO naming the inode', async () => {
    const v = await makeVolume({ name: 'redis', freshUrl: () => redis.freshUrl() });
    const { logger, lines } = capture();
    const m = await v.client({ logger });
    const raw = await rawRedis(v.url);
    try {
      const f = await m.create(root, ROOT_INODE, n('f'), 0o644);
      await m.close(f.ino);
      await raw.set(`i${f.ino}`, Buffer.alloc(72)); // type 0
      let e = await rejection(m.getattr(root, f.ino));
      expect(e.errno).toBe(Errno.EIO);
      expect(e.message).toBe(`EIO: corrupt attr of inode ${f.ino}: type 0`);
      expect(lines.some((l) => l.includes(`inode ${f.ino}`))).toBe(true);
      await raw.set(`i${f.ino}`, Buffer.from('garbage'));
      e = await rejection(m.lookup(root, ROOT_INODE, n('f')));
      expect(e.errno).toBe(Errno.EIO);
      expect(e.message).toMatch(new RegExp(`corrupt attr of inode ${f.ino}: 7 bytes`));
      e = await rejection(m.unlink(root, ROOT_INODE, n('f')));
      expect(e.errno).toBe(Errno.EIO);
    } finally {
      raw.disconnect();
      await v.close();
    }
  });

  it('a bad type column in jfs_node gives EIO naming the inode', async () => {
    const target = sqliteTarget();
    const v = await makeVolume(target);
    const { logger, lines } = capture();
    const m = await v.client({ logger });
    try {
      const f = await m.create(root, ROOT_INODE, n('f'), 0o644);
      await m.close(f.ino);
      const db = rawSqlite(v.url);
      db.prepare('UPDATE jfs_node SET type = 9 WHERE inode = ?').run(f.ino);
      db.close();
      const e = await rejection(m.getattr(root, f.ino));
      expect(e.errno).toBe(Errno.EIO);
      expect(e.message).toBe(`EIO: corrupt node row of inode ${f.ino}: type 9`);
      expect(lines.some((l) => l.includes(`inode ${f.ino}`))).toBe(true);
      expect((await rejection(m.readdir(root, ROOT_INODE, { plus: true }))).errno).toBe(Errno.EIO);
    } finally {
      await v.close();
      await target.cleanup?.();
    }
  });

  it.each([
    [{ MetaVersion: 2 }, /incompatible metadata version 2: tjfs supports up to 1/],
    [{ MinClientVersion: '9.9.9' }, /volume requires client version >= 9.9.9, tjfs speaks 1\.4\.1/],
    [{ MaxClientVersion: '1.0.0' }, /volume allows client versions <= 1.0.0/],
  ])('refuses a volume with %o', async (overrides, message) => {
    const v = await makeVolume(memTarget(), overrides);
    try {
      const e = await rejection(openMeta(v.url));
      expect(e.errno).toBe(Errno.EINVAL);
      expect(e.message).toMatch(message);
    } finally {
      await v.close();
    }
  });
});
