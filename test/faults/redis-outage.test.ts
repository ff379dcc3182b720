/**
 * Fault tests: a real redis-server stopped and started again under a metadata client.
 * Operations issued during the outage wait and then succeed exactly once; past the retry
 * bound they fail with EIO and a log line naming the operation; a Redis that comes back
 * empty is detected and never written into.
 */
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openMeta, type BaseMeta } from '../../src/meta/base-meta.js';
import type { Logger } from '../../src/util/logger.js';
import { Errno } from '../../src/base/errno.js';
import { openEngine } from '../../src/meta/registry.js';
import type { MetaRetryOptions } from '../../src/meta/retry-policy.js';
import { formatEmptyVolume, n, root } from '../helpers/meta-fixture.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { startRestartableRedis, type RestartableRedis } from './restartable-redis.js';

interface Line {
  level: string;
  msg: string;
  fields: Record<string, unknown> | undefined;
}

function captureLogger(lines: Line[]): Logger {
  const push = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
    lines.push({ level, msg, fields });
  return { warn: push('warn'), error: push('error'), info: push('info') };
}

let redis: RestartableRedis;
let meta: BaseMeta | undefined;
let lines: Line[];

async function open(retry: MetaRetryOptions): Promise<BaseMeta> {
  meta = await openMeta(redis.url, { logger: captureLogger(lines), retry, skipDirMtimeMs: 0 });
  await meta.start({ MountPoint: '/outage' }, { heartbeat: false });
  return meta;
}

async function rawKeys(): Promise<number> {
  const c = new Redis({
    port: redis.port,
    host: '127.0.0.1',
    db: 1,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
  });
  try {
    await c.connect();
    return await c.dbsize();
  } finally {
    c.disconnect();
  }
}

function settledFlags(ps: Promise<unknown>[]): { settled: number } {
  const s = { settled: 0 };
  for (const p of ps)
    void p.then(
      () => s.settled++,
      () => s.settled++,
    );
  return s;
}

beforeEach(async () => {
  lines = [];
  redis = await startRestartableRedis();
  await formatEmptyVolume(redis.url, 'outage');
});

afterEach(async () => {
  await meta?.stop().catch(() => undefined);
  meta = undefined;
  await redis.destroy();
});

describe('redis outage', () => {
  it('operations issued while redis is down wait, then succeed once it is back', async () => {
    const m = await open({ retries: 20, minBackoffMs: 20, maxBackoffMs: 1000 });
    await m.mkdir(root, 1n, n('before'), 0o755);
    await redis.stop();
    const mk = m.mkdir(root, 1n, n('during'), 0o755);
    const cr = m.create(root, 1n, n('file'), 0o644);
    const ops = [mk, cr, m.getattr(root, 1n), m.rename(root, 1n, n('before'), 1n, n('renamed'))];
    const state = settledFlags(ops);
    await new Promise((r) => setTimeout(r, 8000));
    expect(state.settled).toBe(0); // all of them still waiting
    await redis.start();
    await Promise.all(ops);
    const [dir, file] = [await mk, await cr];
    // Each applied exactly once: the tree and the root's link count agree.
    expect((await m.lookup(root, 1n, n('during'))).ino).toBe(dir.ino);
    expect((await m.lookup(root, 1n, n('file'))).ino).toBe(file.ino);
    await expect(m.lookup(root, 1n, n('before'))).rejects.toMatchObject({ errno: Errno.ENOENT });
    expect((await m.getattr(root, 1n)).nlink).toBe(4); // ., .., during, renamed
    await expect(m.mkdir(root, 1n, n('during'), 0o755)).rejects.toMatchObject({ errno: Errno.EEXIST });
    expect(lines.some((l) => l.level === 'warn' && /unavailable, retrying mkdir/.test(l.msg))).toBe(true);
    expect(m.outageStats()?.retries).toBeGreaterThan(0);
    expect(m.outageStats()?.failures).toBe(0);
  }, 40_000);

  // The default policy (10 retries, 20 ms x4 up to 10 s) over a 30 s restart; ~40 s, so opt-in.
  it.runIf(process.env['TJFS_FAULT_LONG'] === '1')(
    'a 30 s restart is waited out with the default retry settings',
    async () => {
      const m = await open({});
      await redis.stop();
      const t0 = Date.now();
      const ops = [
        m.mkdir(root, 1n, n('d30'), 0o755),
        m.create(root, 1n, n('f30'), 0o644),
        m.getattr(root, 1n),
      ];
      const state = settledFlags(ops);
      await new Promise((r) => setTimeout(r, 30_000));
      expect(state.settled).toBe(0);
      await redis.start();
      await Promise.all(ops);
      process.stdout.write(
        `30 s redis outage: operations done ${((Date.now() - t0) / 1000).toFixed(1)} s after it began\n`,
      );
      expect((await m.getattr(root, 1n)).nlink).toBe(3);
    },
    90_000,
  );

  it('past the retry bound an operation fails with EIO and a log line naming it; it works again later', async () => {
    const m = await open({ retries: 3, minBackoffMs: 20, maxBackoffMs: 100 });
    await redis.stop();
    const t0 = Date.now();
    await expect(m.mkdir(root, 1n, n('late'), 0o755)).rejects.toMatchObject({ errno: Errno.EIO });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(
      lines.some(
        (l) => l.level === 'error' && /mkdir|INCRBY/.test(l.msg) && /gave up after 3 retries/.test(l.msg),
      ),
    ).toBe(true);
    expect(m.outageStats()?.failures).toBeGreaterThan(0);
    await redis.start();
    await m.mkdir(root, 1n, n('late'), 0o755);
    expect((await m.lookup(root, 1n, n('late'))).attr.nlink).toBe(2);
  }, 30_000);

  it('a redis that stops answering (SIGSTOP) fails commands after read-timeout; the bound holds', async () => {
    const url = `${redis.url}?read-timeout=300ms`;
    const engine = await openEngine(url, {
      connectTimeoutMs: 500,
      retry: { retries: 2, minBackoffMs: 20, maxBackoffMs: 100 },
    });
    meta = await openMeta(url, { engine, logger: captureLogger(lines), skipDirMtimeMs: 0 });
    await meta.start({ MountPoint: '/hung' }, { heartbeat: false });
    await meta.mkdir(root, 1n, n('a'), 0o755);
    redis.pause();
    try {
      const t0 = Date.now();
      await expect(meta.mkdir(root, 1n, n('b'), 0o755)).rejects.toMatchObject({ errno: Errno.EIO });
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      redis.resume();
    }
    await meta.mkdir(root, 1n, n('c'), 0o755);
    await expect(meta.lookup(root, 1n, n('b'))).rejects.toMatchObject({ errno: Errno.ENOENT });
  }, 30_000);

  it('heartbeats do not pile up while an outage is waited out', async () => {
    const engine = await openEngine(redis.url, {
      retry: { retries: 20, minBackoffMs: 20, maxBackoffMs: 500 },
    });
    let loads = 0;
    const counting = new Proxy(engine, {
      get(target, prop, receiver) {
        if (prop === 'getFormatText') {
          return () => {
            loads++;
            return target.getFormatText();
          };
        }
        const v: unknown = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    meta = await openMeta(redis.url, { engine: counting, logger: captureLogger(lines), heartbeatSec: 0.1 });
    await meta.start({ MountPoint: '/hb' }, { heartbeat: true });
    await redis.stop();
    const before = loads;
    await new Promise((r) => setTimeout(r, 2000)); // ~20 heartbeat periods
    expect(loads - before).toBeLessThanOrEqual(1);
    await redis.start();
  }, 30_000);

  it('a commit whose reply is lost and that was not applied runs again, once', async () => {
    const m = await open({ retries: 20, minBackoffMs: 20, maxBackoffMs: 500 });
    await m.mkdir(root, 1n, n('first'), 0o755); // reserves a batch of inode numbers
    const admin = new Redis({
      port: redis.port,
      host: '127.0.0.1',
      lazyConnect: true,
      maxRetriesPerRequest: 0,
    });
    await admin.connect();
    await admin.call('CLIENT', 'PAUSE', '10000', 'WRITE'); // reads go on, EXEC waits
    admin.disconnect();
    const mk = m.mkdir(root, 1n, n('second'), 0o755);
    await new Promise((r) => setTimeout(r, 500)); // the EXEC is now sent and held by the server
    await redis.stop({ kill: true }); // the reply never comes, and the held EXEC never ran
    await redis.start();
    await mk; // the marker says "not applied": the mkdir ran again on the restarted server
    expect((await m.lookup(root, 1n, n('second'))).attr.type).toBe(2);
    expect((await m.getattr(root, 1n)).nlink).toBe(4);
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
  }, 30_000);

  it('a commit whose reply is lost after it was applied succeeds once, not twice', async () => {
    const proxy = await startTcpProxy(redis.port);
    try {
      meta = await openMeta(redis.url.replace(`:${redis.port}/`, `:${proxy.port}/`), {
        logger: captureLogger(lines),
        retry: { retries: 20, minBackoffMs: 20, maxBackoffMs: 500 },
        skipDirMtimeMs: 0,
      });
      await meta.start({ MountPoint: '/outage' }, { heartbeat: false });
      const m = meta;
      await m.mkdir(root, 1n, n('first'), 0o755);
      // The server receives the EXEC that creates 'second' and applies it; the reply is lost.
      const lost = proxy.loseReplyTo({ containing: 'second', end: 'EXEC' });
      const mk = await m.mkdir(root, 1n, n('second'), 0o755);
      await lost;
      expect(mk.attr.type).toBe(2);
      // Applied exactly once: one entry, one more link on the parent, no EEXIST.
      expect((await m.lookup(root, 1n, n('second'))).ino).toBe(mk.ino);
      expect((await m.getattr(root, 1n)).nlink).toBe(4);
      const names = (await m.readdir(root, 1n)).map((e) => e.name.toString()).sort();
      expect(names.filter((x) => x === 'second')).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  }, 30_000);

  it('closing the engine during an outage ends the waits at once', async () => {
    const engine = await openEngine(redis.url, {
      retry: { retries: 20, minBackoffMs: 20, maxBackoffMs: 500 },
    });
    await engine.getFormatText();
    await redis.stop();
    const waiting = engine.getCounter('nextInode');
    const failed = waiting.then(
      () => false,
      () => true,
    );
    await new Promise((r) => setTimeout(r, 1000));
    const t0 = Date.now();
    await engine.close();
    expect(await failed).toBe(true);
    expect(Date.now() - t0).toBeLessThan(2000);
  }, 30_000);

  it('a redis that comes back holding another volume is not written into either', async () => {
    const m = await open({ retries: 20, minBackoffMs: 20, maxBackoffMs: 500 });
    await m.mkdir(root, 1n, n('kept'), 0o755);
    await redis.stop();
    await redis.start({ wipe: true });
    await formatEmptyVolume(redis.url, 'other');
    const keys = await rawKeys();
    await expect(m.mkdir(root, 1n, n('new'), 0o755)).rejects.toMatchObject({ errno: Errno.EIO });
    await expect(m.lookup(root, 1n, n('kept'))).rejects.toMatchObject({ errno: Errno.EIO });
    expect(await rawKeys()).toBe(keys);
    expect(
      lines.some((l) => l.level === 'error' && /'setting' key belongs to another volume/.test(l.msg)),
    ).toBe(true);
  }, 30_000);

  it('a redis that comes back empty is reported and never written into', async () => {
    const m = await open({ retries: 20, minBackoffMs: 20, maxBackoffMs: 500 });
    await m.mkdir(root, 1n, n('kept'), 0o755);
    await redis.stop();
    await redis.start({ wipe: true });
    await expect(m.mkdir(root, 1n, n('new'), 0o755)).rejects.toMatchObject({ errno: Errno.EIO });
    await expect(m.create(root, 1n, n('f'), 0o644)).rejects.toMatchObject({ errno: Errno.EIO });
    await expect(m.lookup(root, 1n, n('kept'))).rejects.toMatchObject({ errno: Errno.EIO });
    await expect(m.getattr(root, 1n)).rejects.toMatchObject({ errno: Errno.EIO });
    expect(await rawKeys()).toBe(0); // no counter, inode or session recreated
    const loud = lines.filter((l) => l.level === 'error' && /'setting' key is missing/.test(l.msg));
    expect(loud.length).toBeGreaterThan(0);
    await m.stop().catch(() => undefined); // cleanup must not write either
    meta = undefined;
    expect(await rawKeys()).toBe(0);
  }, 30_000);
});
