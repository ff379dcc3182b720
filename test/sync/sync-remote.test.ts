/**
 * `tjfs sync` end to end with an S3 server (s3rver on a free port) and a tjfs volume
 * (jfs://META-NAME/ on SQLite + file storage): local -> s3, s3 -> local, --delete-dst on s3,
 * local -> jfs, jfs -> local with --delete-src (archive, then delete the source), --dirs and
 * --perms through a volume.
 */
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openVolume } from '../../src/api/volume.js';
import { main } from '../../src/cli/main.js';
import { S3ObjectStore } from '../../src/object/s3/s3-store.js';
import { listAll } from '../../src/object/object-store.js';
import { formatTestVolume, type TestVolume } from '../helpers/api-volume.js';
import { captureIo } from '../helpers/cli-io.js';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'tjfs-sync-r-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function sync(
  env: Record<string, string>,
  ...args: string[]
): Promise<{ code: number; err: string; summary: string }> {
  const c = captureIo(env, root);
  const code = await main(['sync', ...args], c.io);
  return {
    code,
    err: c.err(),
    summary:
      c
        .err()
        .split('\n')
        .find((l) => l.startsWith('Found:')) ?? '',
  };
}

async function put(base: string, rel: string, data: string): Promise<void> {
  await mkdir(join(base, rel, '..'), { recursive: true });
  await writeFile(join(base, rel), data);
}

describe('tjfs sync with s3://', () => {
  let s3: S3TestServer;
  let store: S3ObjectStore;
  beforeAll(async () => {
    s3 = await startS3Server('sync-bucket');
    store = new S3ObjectStore({ bucket: s3.bucketUrl, accessKey: s3.accessKey, secretKey: s3.secretKey });
  });
  afterAll(async () => {
    store?.destroy();
    await s3?.stop();
  });
  const url = (prefix: string): string =>
    `s3://${s3.accessKey}:${s3.secretKey}@${s3.endpoint.slice('http://'.length)}/${s3.bucket}/${prefix}`;

  async function keys(prefix: string): Promise<string[]> {
    const out: string[] = [];
    for await (const o of listAll(store, { prefix })) out.push(o.key);
    return out;
  }

  it('local -> s3 -> local, with --dirs markers and --delete-dst on the bucket', async () => {
    const src = join(root, 'src');
    await put(src, 'a.txt', 'alpha');
    await put(src, 'd/b.bin', 'b'.repeat(70_000));
    await mkdir(join(src, 'empty'));
    let r = await sync({}, '--no-https', '--dirs', src + '/', url('up/'));
    expect(r.code, r.err).toBe(0);
    expect(await keys('up/')).toEqual(['up/a.txt', 'up/d/', 'up/d/b.bin', 'up/empty/']);
    expect((await store.get('up/d/b.bin')).toString()).toBe('b'.repeat(70_000));
    expect(r.summary).toMatch(/^Found: 4, .*copied: 4 /);

    // Back down, from the bucket, into a fresh directory.
    const back = join(root, 'back');
    r = await sync({}, '--no-https', '--dirs', url('up/'), back + '/');
    expect(r.code, r.err).toBe(0);
    expect(await readFile(join(back, 'd/b.bin'), 'utf8')).toBe('b'.repeat(70_000));
    expect(await readFile(join(back, 'a.txt'), 'utf8')).toBe('alpha');
    expect((await stat(join(back, 'empty'))).isDirectory()).toBe(true);

    // An extra object in the bucket goes with --delete-dst; credentials from the environment.
    await store.put('up/stale', Buffer.from('old'));
    const noCreds = `s3://${s3.endpoint.slice('http://'.length)}/${s3.bucket}/up/`;
    r = await sync(
      { AWS_ACCESS_KEY_ID: s3.accessKey, AWS_SECRET_ACCESS_KEY: s3.secretKey },
      '--no-https',
      '--delete-dst',
      src + '/',
      noCreds,
    );
    expect(r.code, r.err).toBe(0);
    expect(await keys('up/')).not.toContain('up/stale');
    expect(r.summary).toContain('deleted: 1');
  });

  it('s3 -> local by a key prefix without trailing slash', async () => {
    await store.put('logs-2023-01', Buffer.from('jan'));
    await store.put('logs-2023-02', Buffer.from('feb'));
    await store.put('other', Buffer.from('no'));
    const dst = join(root, 'out', 'L');
    const r = await sync({}, '--no-https', url('logs-'), dst);
    expect(r.code, r.err).toBe(0);
    expect(await readFile(join(root, 'out', 'L2023-01'), 'utf8')).toBe('jan');
    expect((await readdir(join(root, 'out'))).sort()).toEqual(['L2023-01', 'L2023-02']);
  });

  it('an unreachable endpoint fails with one line and exit 1', async () => {
    const r = await sync({}, '--no-https', `s3://k:s@127.0.0.1:1/b/`, join(root, 'x') + '/');
    expect(r.code).toBe(1);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/^tjfs: sync s3:\/\/127\.0\.0\.1:1\/b\/ -> /);
  });
});

describe('tjfs sync with jfs://', () => {
  let vol: TestVolume;
  beforeAll(async () => {
    vol = await formatTestVolume({ meta: 'sqlite', storage: 'file' });
  });
  afterAll(async () => {
    await vol?.cleanup();
  });

  it('local -> jfs, then jfs -> local with --delete-src archives and deletes the source', async () => {
    const env = { MYVOL: vol.metaUrl };
    const src = join(root, 'src');
    await put(src, '2023/01/a.csv', 'x,y\n1,2\n');
    await put(src, '2023/02/b.csv', 'b'.repeat(5 << 20)); // more than one block
    await put(src, '2024/c.csv', 'keep');
    await chmod(join(src, '2023/01/a.csv'), 0o640);
    let r = await sync(env, '--perms', '--dirs', src + '/', 'jfs://MYVOL/data/');
    expect(r.code, r.err).toBe(0);
    const v = await openVolume(vol.metaUrl);
    try {
      expect(await v.readFile('/data/2023/02/b.csv', 'utf8')).toBe('b'.repeat(5 << 20));
      expect((await v.stat('/data/2023/01/a.csv')).mode & 0o777).toBe(0o640);
      expect((await v.readdir('/data')).sort()).toEqual(['2023', '2024']);
    } finally {
      await v.close();
    }

    // Archive 2023 out of the volume: the first run copies, the source stays.
    const arch = join(root, 'archive');
    r = await sync(env, '--delete-src', '--dirs', 'jfs://MYVOL/data/2023/', arch + '/');
    expect(r.code, r.err).toBe(0);
    expect(await readFile(join(arch, '02/b.csv'), 'utf8')).toBe('b'.repeat(5 << 20));
    // The second run finds everything in the archive and deletes it from the volume, dirs last.
    r = await sync(env, '--delete-src', '--dirs', 'jfs://MYVOL/data/2023/', arch + '/');
    expect(r.code, r.err).toBe(0);
    expect(r.summary).toContain('deleted: 4');
    const v2 = await openVolume(vol.metaUrl);
    try {
      expect(await v2.readdir('/data/2023')).toEqual([]);
      expect(await v2.readFile('/data/2024/c.csv', 'utf8')).toBe('keep');
    } finally {
      await v2.close();
    }

    // --delete-src-after does it in one run.
    r = await sync(env, '--delete-src-after', 'jfs://MYVOL/data/2024/', join(root, 'a2') + '/');
    expect(r.code, r.err).toBe(0);
    expect(await readFile(join(root, 'a2', 'c.csv'), 'utf8')).toBe('keep');
    const v3 = await openVolume(vol.metaUrl);
    try {
      expect(await v3.readdir('/data/2024')).toEqual([]);
    } finally {
      await v3.close();
    }
  });

  it('a missing path in the volume is a one-line error', async () => {
    const r = await sync({ MYVOL: vol.metaUrl }, 'jfs://MYVOL/nope/', join(root, 'x') + '/');
    expect(r.code).toBe(1);
    expect(r.err.trim()).toBe('tjfs: source jfs://MYVOL/nope/ does not exist');
  });

  it('a meta URL that names no volume is a one-line error', async () => {
    const r = await sync({ BAD: `sqlite3://${join(root, 'none.db')}` }, 'jfs://BAD/', join(root, 'x') + '/');
    expect(r.code).toBe(1);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/does not exist/);
  });
});
