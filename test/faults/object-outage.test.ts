/**
 * Fault tests: a real s3rver stopped and started again (same port, same directory) under
 * an in-process volume. Reads and uploads retry with backoff and recover; past the bound a
 * read is EIO with a log line naming the key; a missing or truncated object is EIO with a
 * log line naming the key; retries, failures and missing objects are counted in metrics.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openVolume, type Volume } from '../../src/api/volume.js';
import type { Logger } from '../../src/util/logger.js';
import type { ObjectStore } from '../../src/object/object-store.js';
import { createObjectStore } from '../../src/object/registry.js';
import type { RetryingStore, RetryOptions } from '../../src/object/retrying.js';
import { formatTestVolume, type TestVolume } from '../helpers/api-volume.js';
import { pattern } from '../helpers/pattern.js';
import { startRestartableS3, type RestartableS3 } from './restartable-s3.js';

interface Line {
  level: string;
  msg: string;
  fields: Record<string, unknown> | undefined;
}
const lines: Line[] = [];
const push = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
  lines.push({ level, msg, fields });
const logger: Logger = { warn: push('warn'), error: push('error'), info: push('info') };

let s3: RestartableS3;
let tv: TestVolume;
const opened: Volume[] = [];

async function storeFor(retry: RetryOptions): Promise<RetryingStore> {
  const store = await createObjectStore({
    storage: 's3',
    bucket: s3.bucketUrl,
    accessKey: s3.accessKey,
    secretKey: s3.secretKey,
    prefix: `${tv.name}/`,
    retry: { ...retry, logger },
  });
  return store as RetryingStore; // createObjectStore wraps the store in RetryingStore when retry is set
}

/** A volume with fresh buffers and no block cache: every read goes to the store. */
async function volume(store: ObjectStore): Promise<Volume> {
  const v = await openVolume(tv.metaUrl, {
    uid: 0,
    gid: 0,
    store,
    cacheDir: 'memory',
    cacheSize: 0,
    logger,
    heartbeat: false,
  });
  opened.push(v);
  return v;
}

async function chunkKeys(store: ObjectStore): Promise<string[]> {
  return (await store.list({ prefix: 'chunks/' })).map((o) => o.key);
}

function settled(ps: Promise<unknown>[]): { n: number } {
  const s = { n: 0 };
  for (const p of ps)
    void p.then(
      () => s.n++,
      () => s.n++,
    );
  return s;
}

const patient: RetryOptions = { retries: 20, baseDelayMs: 50, maxDelayMs: 1000 };

beforeAll(async () => {
  s3 = await startRestartableS3();
  tv = await formatTestVolume({ meta: 'sqlite', storage: { s3 }, blockSizeKiB: 1024 });
});

afterEach(async () => {
  await s3.start(); // no-op when running
  for (const v of opened.splice(0)) await v.close().catch(() => undefined);
  lines.length = 0;
});

afterAll(async () => {
  await s3.destroy();
  await tv.cleanup();
});

async function until(cond: () => Promise<boolean> | boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m?.[1] === undefined ? NaN : Number(m[1]);
}

describe('object store outage', () => {
  it('writeback keeps retrying while the store is down, logs it and counts the backlog, then uploads everything', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'tjfs-wb-outage-'));
    try {
      await s3.stop();
      const store = await storeFor({ retries: 0 });
      const v = await openVolume(tv.metaUrl, {
        uid: 0,
        gid: 0,
        store,
        cacheDir,
        cacheSize: 64 << 20,
        writeback: true,
        logger,
        heartbeat: false,
      });
      opened.push(v);
      const data = pattern(2 << 20, 5);
      await v.writeFile('/wb', data); // staged on disk: the write succeeds during the outage
      await until(() => lines.some((l) => /writeback: upload of chunks\/\S+ failed/.test(l.msg)), 10_000);
      const during = await v.vfs.obs.metrics();
      expect(metric(during, 'juicefs_staging_blocks')).toBe(2);
      expect(metric(during, 'juicefs_staging_block_bytes')).toBe(2 << 20);
      expect(metric(during, 'tjfs_staging_upload_failures')).toBeGreaterThan(0);
      await s3.start();
      await until(async () => metric(await v.vfs.obs.metrics(), 'juicefs_staging_blocks') === 0, 20_000);
      const check = await volume(await storeFor(patient));
      expect(Buffer.compare(await check.readFile('/wb'), data)).toBe(0);
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('reads and uploads issued while the store is down wait, then succeed once it is back', async () => {
    const writerStore = await storeFor(patient);
    const writer = await volume(writerStore);
    const a = pattern(3 << 20, 7);
    await writer.writeFile('/a', a);
    await s3.stop();
    const readerStore = await storeFor(patient);
    const reader = await volume(readerStore);
    const b = pattern(2 << 20, 9);
    const read = reader.readFile('/a');
    const write = writer.writeFile('/b', b);
    const s = settled([read, write]);
    await new Promise((r) => setTimeout(r, 3000));
    expect(s.n).toBe(0);
    await s3.start();
    expect(Buffer.compare(await read, a)).toBe(0);
    await write;
    const check = await volume(await storeFor(patient));
    expect(Buffer.compare(await check.readFile('/b'), b)).toBe(0);
    expect(writerStore.stats.retries).toBeGreaterThan(0);
    expect(readerStore.stats.retries).toBeGreaterThan(0);
    const putLines = lines.filter((l) => /object store: put chunks\/\S+ failed, retrying/.test(l.msg));
    const getLines = lines.filter((l) => /object store: get chunks\/\S+ failed, retrying/.test(l.msg));
    expect(putLines.length).toBeGreaterThan(0);
    expect(getLines.length).toBeGreaterThan(0);
    // Rate-limited: one line per operation kind and 10 s, however many retries.
    expect(putLines.length + getLines.length).toBeLessThan(
      writerStore.stats.retries + readerStore.stats.retries,
    );
    const metrics = await writer.vfs.obs.metrics();
    expect(metrics).toMatch(/tjfs_object_request_retries\{[^}]*\} [1-9]/);
    expect(metrics).toMatch(/tjfs_meta_retries\{[^}]*\} 0/); // the metadata engine (SQLite) was fine
  }, 60_000);

  it('past the retry bound a read fails with EIO and a log line naming the key, and works once the store is back', async () => {
    const writer = await volume(await storeFor(patient));
    const c = pattern(1 << 20, 3);
    await writer.writeFile('/c', c);
    await s3.stop();
    const store = await storeFor({ retries: 2, baseDelayMs: 20, maxDelayMs: 50 });
    const reader = await volume(store);
    await expect(reader.readFile('/c')).rejects.toMatchObject({ code: 'EIO' });
    expect(store.stats.failures).toBeGreaterThan(0);
    expect(
      lines.some(
        (l) => l.level === 'error' && /object store: get chunks\/\S+ failed after 2 retries/.test(l.msg),
      ),
    ).toBe(true);
    expect(await reader.vfs.obs.metrics()).toMatch(/juicefs_object_request_errors\{[^}]*\} [1-9]/);
    await s3.start();
    expect(Buffer.compare(await reader.readFile('/c'), c)).toBe(0);
  }, 30_000);

  it('a missing or truncated object gives EIO with a log line naming the key', async () => {
    const store = await storeFor(patient);
    const writer = await volume(store);
    const before = new Set(await chunkKeys(store));
    await writer.writeFile('/m', pattern(1 << 20, 1));
    const mKey = (await chunkKeys(store)).find((k) => !before.has(k));
    await writer.writeFile('/t', pattern(1 << 20, 2));
    const tKey = (await chunkKeys(store)).find((k) => !before.has(k) && k !== mKey);
    expect(mKey).toBeDefined();
    expect(tKey).toBeDefined();
    await store.delete(mKey ?? '');
    await store.put(tKey ?? '', pattern(1000, 2));
    const readerStore = await storeFor(patient);
    const reader = await volume(readerStore);
    await expect(reader.readFile('/m')).rejects.toMatchObject({ code: 'EIO' });
    expect(readerStore.stats.missing).toBeGreaterThan(0);
    expect(lines.some((l) => l.level === 'error' && l.msg.includes(mKey ?? '?'))).toBe(true);
    // A fresh volume: its failure log is not rate-limited by the read above.
    await expect((await volume(readerStore)).readFile('/t')).rejects.toMatchObject({ code: 'EIO' });
    const named = (l: Line): boolean => `${l.msg} ${JSON.stringify(l.fields ?? {})}`.includes(tKey ?? '?');
    expect(
      lines.some((l) => l.level === 'error' && named(l)),
      JSON.stringify(lines),
    ).toBe(true);
    expect(await reader.vfs.obs.metrics()).toMatch(/tjfs_object_missing\{[^}]*\} [1-9]/);
  }, 30_000);
});
