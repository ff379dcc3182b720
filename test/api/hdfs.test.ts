/**
 * What table formats and checkpoints rely on, tested explicitly through HdfsFileSystem:
 * write-temp-then-rename commits, renames that refuse existing destinations, exclusive
 * create, single-winner delete, listings while another client writes, hflush/hsync
 * visibility from a second client (a second openVolume of the same sqlite3 / redis
 * volume), stream contracts, paging, glob, concat, truncate, xattrs.
 */
import { setImmediate } from 'node:timers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HdfsError, HdfsFileSystem } from '../../src/api/hdfs.js';
import { UserDb } from '../../src/api/users.js';
import { formatTestVolume, type TestVolume, type TestVolumeSpec } from '../helpers/api-volume.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

const users = new UserDb({
  passwd: 'root:x:0:0::/root:/bin/sh\n',
  group: 'root:x:0:\n',
  mapping: 'alice:1000:1000\n@alice:1000\n',
});

async function write(
  fs: HdfsFileSystem,
  path: string,
  data: string | Buffer,
  overwrite = true,
): Promise<void> {
  const out = await fs.create(path, { overwrite });
  await out.write(data);
  await out.close();
}
async function read(fs: HdfsFileSystem, path: string): Promise<string> {
  const inp = await fs.open(path);
  const buf = Buffer.alloc(inp.length);
  await inp.readFully(0, buf);
  await inp.close();
  return buf.toString();
}
const exception = (name: string) => (e: unknown) => e instanceof HdfsError && e.exception === name;

function twoClientSuite(label: string, spec: () => TestVolumeSpec): void {
  describe(`two clients on ${label}`, () => {
    let tv: TestVolume;
    let a: HdfsFileSystem;
    let b: HdfsFileSystem;
    beforeAll(async () => {
      tv = await formatTestVolume(spec());
      a = await HdfsFileSystem.open(tv.metaUrl, { uid: 0, gid: 0, users });
      b = await HdfsFileSystem.open(tv.metaUrl, { uid: 0, gid: 0, users });
    });
    afterAll(async () => {
      await a?.close();
      await b?.close();
      await tv?.cleanup();
    });

    it('hflush makes data visible to new readers on another client; hsync and close too', async () => {
      const out = await a.create('/stream/part-0');
      await out.write('first ');
      expect((await b.getFileStatus('/stream/part-0')).length).toBe(0);
      await out.hflush();
      expect(await read(b, '/stream/part-0')).toBe('first ');
      await out.write('second');
      await out.hsync();
      expect(await read(b, '/stream/part-0')).toBe('first second');
      await out.write('!');
      await out.close();
      await out.close();
      expect(await read(b, '/stream/part-0')).toBe('first second!');
      await expect(out.write('late')).rejects.toSatisfy(exception('IOException'));
    });

    it('Iceberg-style commit: temp file then rename to v<N+1>; the loser gets false', async () => {
      await a.mkdirs('/tbl/metadata');
      await write(a, '/tbl/metadata/uuid-a.metadata.json', '{"v":2,"by":"a"}', false);
      await write(b, '/tbl/metadata/uuid-b.metadata.json', '{"v":2,"by":"b"}', false);
      const [ra, rb] = await Promise.all([
        a.rename('/tbl/metadata/uuid-a.metadata.json', '/tbl/metadata/v2.metadata.json'),
        b.rename('/tbl/metadata/uuid-b.metadata.json', '/tbl/metadata/v2.metadata.json'),
      ]);
      expect([ra, rb].filter(Boolean)).toHaveLength(1);
      const winner = ra ? 'a' : 'b';
      expect(JSON.parse(await read(b, '/tbl/metadata/v2.metadata.json'))).toEqual({ v: 2, by: winner });
      expect(await a.exists(`/tbl/metadata/uuid-${winner === 'a' ? 'b' : 'a'}.metadata.json`)).toBe(true);
      const listed = (await b.listStatus('/tbl/metadata')).map((s) => s.name);
      expect(listed).toContain('v2.metadata.json');
    });

    it('create(overwrite=false) and delete(file) each have exactly one winner', async () => {
      const results = await Promise.allSettled([
        a.create('/excl', { overwrite: false }),
        b.create('/excl', { overwrite: false }),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(lost.reason).toSatisfy(exception('FileAlreadyExistsException'));
      for (const r of results) if (r.status === 'fulfilled') await r.value.close();
      const dels = await Promise.all([a.delete('/excl', false), b.delete('/excl', false)]);
      expect(dels.filter(Boolean)).toHaveLength(1);
    });

    it('listing while another client writes: sorted, no duplicates, only real names, complete at the end', async () => {
      await a.mkdirs('/busy');
      const names = Array.from({ length: 60 }, (_, i) => `f${String(i).padStart(3, '0')}`);
      const writer = (async () => {
        for (const n of names)
          await write(b, `/busy/.${n}.tmp`, n).then(() => b.rename(`/busy/.${n}.tmp`, `/busy/${n}`));
      })();
      let listings = 0;
      let done = false;
      void writer.finally(() => (done = true));
      while (!done) {
        const got = (await a.listStatus('/busy')).map((s) => s.name);
        expect([...got].sort()).toEqual(got);
        expect(new Set(got).size).toBe(got.length);
        for (const g of got)
          expect(g.startsWith('.') ? names.includes(g.slice(1, -4)) : names.includes(g)).toBe(true);
        listings++;
        await new Promise((r) => setImmediate(r));
      }
      await writer;
      expect(listings).toBeGreaterThan(0);
      expect((await a.listStatus('/busy')).map((s) => s.name)).toEqual(names);
    });
  });
}

twoClientSuite('sqlite3 + file', () => ({ meta: 'sqlite', storage: 'file' }));

describe('redis', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => redis?.stop());
  twoClientSuite('redis + file', () => ({ meta: { redisUrl: redis.url }, storage: 'file' }));
});

describe('HdfsFileSystem contract details', () => {
  let tv: TestVolume;
  let fs: HdfsFileSystem;
  beforeAll(async () => {
    tv = await formatTestVolume({ meta: 'mem', storage: 'mem', blockSizeKiB: 1024 });
    fs = await HdfsFileSystem.open(tv.metaUrl, { uid: 0, gid: 0, users });
  });
  afterAll(async () => {
    await fs?.close();
    await tv?.cleanup();
  });

  it('boolean rename follows HDFS rules', async () => {
    await fs.mkdirs('/r/dir');
    await write(fs, '/r/a', 'A');
    await write(fs, '/r/b', 'B');
    expect(await fs.rename('/r/missing', '/r/x')).toBe(false);
    expect(await fs.rename('/', '/r/x')).toBe(false);
    expect(await fs.rename('/r/a', '/r/b')).toBe(false);
    expect(await read(fs, '/r/b')).toBe('B');
    expect(await fs.rename('/r/a', '/r/no/parent')).toBe(false);
    expect(await fs.rename('/r/a', '/r/b/under-file')).toBe(false);
    expect(await fs.rename('/r/a', '/r/a')).toBe(true);
    expect(await fs.rename('/r/dir', '/r/dir/inside')).toBe(false);
    expect(await fs.rename('/r/a', '/r/dir')).toBe(true);
    expect(await read(fs, '/r/dir/a')).toBe('A');
    await write(fs, '/r/a', 'A2');
    expect(await fs.rename('/r/a', '/r/dir')).toBe(false);
    expect(await fs.rename('/r/dir', '/r/dir2')).toBe(true);
    expect(await fs.exists('/r/dir2/a')).toBe(true);
  });

  it('renameWithOptions throws typed exceptions and never moves into directories', async () => {
    await fs.mkdirs('/o/d1/sub');
    await fs.mkdirs('/o/empty');
    await write(fs, '/o/f', 'F');
    await write(fs, '/o/g', 'G');
    await expect(fs.renameWithOptions('/o/nope', '/o/x')).rejects.toSatisfy(
      exception('FileNotFoundException'),
    );
    await expect(fs.renameWithOptions('/o/f', '/o/missing/x')).rejects.toSatisfy(
      exception('FileNotFoundException'),
    );
    await expect(fs.renameWithOptions('/o/f', '/o/g/x')).rejects.toSatisfy(
      exception('ParentNotDirectoryException'),
    );
    await expect(fs.renameWithOptions('/o/f', '/o/f')).rejects.toSatisfy(
      exception('FileAlreadyExistsException'),
    );
    await expect(fs.renameWithOptions('/o/f', '/o/g')).rejects.toSatisfy(
      exception('FileAlreadyExistsException'),
    );
    await expect(fs.renameWithOptions('/o/f', '/o/empty', { overwrite: true })).rejects.toSatisfy(
      exception('IOException'),
    );
    await expect(fs.renameWithOptions('/o/d1', '/o/d1/sub/x')).rejects.toSatisfy(exception('IOException'));
    await fs.mkdirs('/o/full/x');
    await expect(fs.renameWithOptions('/o/d1', '/o/full', { overwrite: true })).rejects.toSatisfy(
      exception('PathIsNotEmptyDirectoryException'),
    );
    await fs.renameWithOptions('/o/f', '/o/g', { overwrite: true });
    expect(await read(fs, '/o/g')).toBe('F');
    await fs.renameWithOptions('/o/d1', '/o/empty', { overwrite: true });
    expect(await fs.exists('/o/empty/sub')).toBe(true);
  });

  it('delete rules: missing false, non-empty needs recursive, root never', async () => {
    await fs.mkdirs('/del/a/b');
    await write(fs, '/del/a/b/f', 'x');
    expect(await fs.delete('/del/none')).toBe(false);
    await expect(fs.delete('/del/a', false)).rejects.toSatisfy(exception('PathIsNotEmptyDirectoryException'));
    expect(await fs.delete('/del/a/b/f')).toBe(true);
    expect(await fs.delete('/del/a/b')).toBe(true);
    expect(await fs.delete('/del', true)).toBe(true);
    expect(await fs.delete('/', true)).toBe(false);
  });

  it('create rules and statuses', async () => {
    await fs.mkdirs('/c');
    await write(fs, '/c/file', '1');
    await expect(fs.create('/c/file', { overwrite: false })).rejects.toSatisfy(
      exception('FileAlreadyExistsException'),
    );
    await expect(fs.create('/c', { overwrite: true })).rejects.toSatisfy(
      exception('FileAlreadyExistsException'),
    );
    await expect(fs.create('/c/file/child')).rejects.toSatisfy(exception('ParentNotDirectoryException'));
    await expect(fs.create('/c/new/deep', { createParent: false })).rejects.toSatisfy(
      exception('FileNotFoundException'),
    );
    await expect(fs.mkdirs('/c/file')).rejects.toSatisfy(exception('FileAlreadyExistsException'));
    await expect(fs.mkdirs('/c/file/sub')).rejects.toSatisfy(exception('ParentNotDirectoryException'));
    await expect(fs.append('/c/missing')).rejects.toSatisfy(exception('FileNotFoundException'));
    await write(fs, '/c/deep/er/file', 'x');
    const st = await fs.getFileStatus('/c/deep/er/file');
    expect(st).toMatchObject({
      isFile: true,
      length: 1,
      blockSize: 1024 * 1024,
      replication: 1,
      permission: 0o644,
      owner: 'root',
      group: 'root',
    });
    expect((await fs.getFileStatus('/c/deep')).permission).toBe(0o755);
    const listed = (await fs.listStatus('/c/deep/er'))[0]!;
    expect({ ...listed }).toEqual({ ...st });
    await expect(fs.getFileStatus('/c/none')).rejects.toSatisfy(exception('FileNotFoundException'));
    expect(fs.getHomeDirectory()).toBe('/user/root');
    expect(fs.qualify('rel/x')).toBe('/user/root/rel/x');
    expect(fs.qualify('webhdfs://host:9870/a/../b/')).toBe('/b');
  });

  it('input streams: seek, getPos, read, pread, readFully', async () => {
    await write(fs, '/s/data', '0123456789');
    const inp = await fs.open('/s/data');
    expect(inp.length).toBe(10);
    const buf = Buffer.alloc(4);
    expect(await inp.read(buf)).toBe(4);
    expect([buf.toString(), inp.getPos()]).toEqual(['0123', 4]);
    expect(await inp.pread(8, buf)).toBe(2);
    expect(inp.getPos()).toBe(4);
    inp.seek(9);
    expect(await inp.read(buf)).toBe(1);
    expect(await inp.read(buf)).toBe(-1);
    expect(await inp.read(buf, 0, 0)).toBe(0);
    expect(() => inp.seek(-1)).toThrow(HdfsError);
    inp.seek(100);
    expect(await inp.read(buf)).toBe(-1);
    await inp.readFully(6, buf);
    expect(buf.toString()).toBe('6789');
    await expect(inp.readFully(8, buf)).rejects.toSatisfy(exception('EOFException'));
    await inp.close();
    await expect(fs.open('/s')).rejects.toSatisfy(exception('FileNotFoundException'));
    await expect(fs.open('/s/none')).rejects.toSatisfy(exception('FileNotFoundException'));
  });

  it('append continues at the end; concurrent writes to one stream keep their order', async () => {
    await write(fs, '/ap', 'head-');
    const out = await fs.append('/ap');
    expect(out.getPos()).toBe(5);
    await Promise.all(['a', 'b', 'c', 'd'].map((x) => out.write(x.repeat(3))));
    await out.close();
    expect(await read(fs, '/ap')).toBe('head-aaabbbcccddd');
  });

  it('listStatusIterator pages in name order; globStatus', async () => {
    await fs.mkdirs('/pg');
    for (let i = 29; i >= 0; i--) await write(fs, `/pg/p${String(i).padStart(2, '0')}.parquet`, 'x');
    await fs.mkdirs('/pg/_temporary');
    const seen: string[] = [];
    for await (const st of fs.listStatusIterator('/pg', 7)) seen.push(st.name);
    expect(seen).toHaveLength(31);
    expect([...seen].sort()).toEqual(seen);
    const page = await fs.listStatusBatch('/pg', 'p05.parquet', 5);
    expect(page.entries.map((e) => e.name)).toEqual([
      'p06.parquet',
      'p07.parquet',
      'p08.parquet',
      'p09.parquet',
      'p10.parquet',
    ]);
    expect(page.remaining).toBe(31 - 12);
    expect((await fs.globStatus('/pg/p0[0-2].parquet')).map((s) => s.name)).toEqual([
      'p00.parquet',
      'p01.parquet',
      'p02.parquet',
    ]);
    expect((await fs.globStatus('/p?/{p1,p2}9.*')).map((s) => s.path)).toEqual([
      '/pg/p19.parquet',
      '/pg/p29.parquet',
    ]);
    expect(await fs.globStatus('/pg/none*')).toEqual([]);
    expect((await fs.globStatus('/pg/_*')).map((s) => s.name)).toEqual(['_temporary']);
  });

  it('concat shares slices and removes sources; truncate; content summary; owners; times; xattrs', async () => {
    await fs.mkdirs('/cc');
    await write(fs, '/cc/t', 'T0-');
    const big = Buffer.alloc(3 * 1024 * 1024 + 5, 9);
    await write(fs, '/cc/s1', big);
    await write(fs, '/cc/s2', 'tail');
    await fs.concat('/cc/t', ['/cc/s1', '/cc/s2']);
    const t = await read(fs, '/cc/t');
    expect(t.length).toBe(3 + big.length + 4);
    expect(t.endsWith('tail') && t.startsWith('T0-')).toBe(true);
    expect(await fs.exists('/cc/s1')).toBe(false);
    await expect(fs.concat('/cc/t', ['/other/s'])).rejects.toSatisfy(
      exception('HadoopIllegalArgumentException'),
    );
    expect(await fs.truncate('/cc/t', 3)).toBe(true);
    expect(await read(fs, '/cc/t')).toBe('T0-');
    await expect(fs.truncate('/cc/t', 99)).rejects.toSatisfy(exception('HadoopIllegalArgumentException'));
    const cs = await fs.getContentSummary('/cc');
    expect(cs).toMatchObject({ directoryCount: 1, fileCount: 1, length: 3 });
    await fs.setOwner('/cc/t', 'alice', 'alice');
    expect(await fs.getFileStatus('/cc/t')).toMatchObject({ owner: 'alice', group: 'alice' });
    await expect(fs.setOwner('/cc/t', 'nobody-known')).rejects.toSatisfy(
      exception('IllegalArgumentException'),
    );
    await fs.setTimes('/cc/t', 1_600_000_000_123, -1);
    expect((await fs.getFileStatus('/cc/t')).modificationTime).toBe(1_600_000_000_123);
    await fs.setXAttr('/cc/t', 'user.k', Buffer.from('v'));
    await expect(fs.setXAttr('/cc/t', 'user.k', Buffer.from('w'), { create: true })).rejects.toSatisfy(
      exception('IOException'),
    );
    expect((await fs.getXAttr('/cc/t', 'user.k')).toString()).toBe('v');
    expect(await fs.listXAttrs('/cc/t')).toEqual(['user.k']);
    await expect(fs.setXAttr('/cc/t', 'bad', Buffer.from('v'))).rejects.toSatisfy(
      exception('HadoopIllegalArgumentException'),
    );
    await fs.removeXAttr('/cc/t', 'user.k');
    await expect(fs.getXAttrs('/cc/t', ['user.k'])).rejects.toSatisfy(exception('IOException'));
  });

  it('permissions apply per user', async () => {
    await fs.mkdirs('/locked', 0o700);
    const alice = fs.asUser('alice', { uid: 1000, gid: 1000, gids: [1000] });
    await expect(alice.listStatus('/locked')).rejects.toSatisfy(exception('AccessControlException'));
    await expect(alice.create('/locked/x')).rejects.toSatisfy(exception('AccessControlException'));
    expect(alice.getHomeDirectory()).toBe('/user/alice');
    await fs.mkdirs('/user/alice');
    await fs.setOwner('/user/alice', 'alice', 'alice');
    await write(alice, 'mine.txt', 'm');
    expect(await fs.getFileStatus('/user/alice/mine.txt')).toMatchObject({
      owner: 'alice',
      permission: 0o644,
    });
  });
});
