/**
 * `tjfs mdtest` in-process on SQLite and on a private redis-server: the tree JuiceFS's mdtest
 * builds (test-dir.0-0/mdtest_tree.0, `depth` levels of `dirs` subdirectories, `files` files
 * per directory per thread), counted by walking it through the meta layer; `--write` slice
 * records, the access log, the rate lines and clear errors.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileType, ROOT_INODE, type Context, type Ino } from '../../src/base/types.js';
import { main } from '../../src/cli/main.js';
import { openCliMeta } from '../../src/cli/meta-open.js';
import type { Meta } from '../../src/meta/meta.js';
import { captureIo } from '../helpers/cli-io.js';
import { redisTarget, sqliteTarget } from '../helpers/engine-targets.js';

const ctx: Context = { uid: 0, gid: 0, gids: [0], pid: 1 };

interface Count {
  dirs: number;
  files: number;
  bytes: number;
  names: Set<string>;
}

async function walk(meta: Meta, ino: Ino, c: Count): Promise<void> {
  for (const e of await meta.readdir(ctx, ino, { plus: true })) {
    const name = e.name.toString();
    if (name === '.' || name === '..') continue;
    if (e.attr?.type === FileType.Directory) {
      c.dirs++;
      await walk(meta, e.ino, c);
    } else {
      c.files++;
      c.bytes += e.attr?.length ?? 0;
      c.names.add(name);
    }
  }
}

async function lookupPath(meta: Meta, path: string): Promise<Ino> {
  let ino = ROOT_INODE;
  for (const p of path.split('/').filter(Boolean)) ino = (await meta.lookup(ctx, ino, Buffer.from(p))).ino;
  return ino;
}

async function count(url: string, path: string): Promise<Count> {
  const meta = await openCliMeta(url, captureIo().io);
  try {
    const c: Count = { dirs: 0, files: 0, bytes: 0, names: new Set() };
    await walk(meta, await lookupPath(meta, path), c);
    return c;
  } finally {
    await meta.stop();
  }
}

let tmp = '';
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'tjfs-mdtest-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const hasRedis = existsSync('/usr/bin/redis-server');
if (!hasRedis) console.warn('mdtest: /usr/bin/redis-server missing, the Redis cases are skipped');

for (const target of [sqliteTarget(), ...(hasRedis ? [redisTarget()] : [])]) {
  describe(`tjfs mdtest on ${target.name}`, () => {
    afterAll(async () => target.cleanup?.());

    async function volume(): Promise<string> {
      const url = await target.freshUrl();
      const h = captureIo();
      const bucket = join(tmp, `data-${target.name}-${Date.now()}`);
      expect(await main(['format', url, 'mdvol', '--bucket', bucket], h.io), h.err()).toBe(0);
      return url;
    }

    it('builds JuiceFS tree with the expected counts and reports rates', async () => {
      const url = await volume();
      const h = captureIo();
      const args = [
        'mdtest',
        url,
        '/bench/a',
        '--dirs',
        '3',
        '--depth',
        '2',
        '--files',
        '4',
        '--threads',
        '2',
      ];
      expect(await main(args, h.io), h.err()).toBe(0);
      // 1 + 3 + 9 = 13 directories, each with 4 files from each of 2 threads.
      expect(h.out()).toContain('Create 104 files in 13 dirs');
      expect(h.out()).toMatch(/Created 13 dirs in \d+\.\d{3}s \(\d+ dirs\/s\)/);
      expect(h.out()).toMatch(/Created 104 files in \d+\.\d{3}s \(\d+ files\/s\)/);
      const c = await count(url, '/bench/a');
      expect(c.dirs).toBe(1 + 13); // test-dir.0-0 + the mdtest_tree dirs
      expect(c.files).toBe(104);
      expect(c.bytes).toBe(0);
      expect([...c.names].sort()).toEqual(
        [0, 1].flatMap((t) => [0, 1, 2, 3].map((i) => `file.mdtest.${t}.${i}`)).sort(),
      );
      const meta = await openCliMeta(url, captureIo().io);
      try {
        const leaf = await lookupPath(
          meta,
          '/bench/a/test-dir.0-0/mdtest_tree.0/mdtest_tree.2/mdtest_tree.1',
        );
        const names = (await meta.readdir(ctx, leaf))
          .map((e) => e.name.toString())
          .filter((n) => !n.startsWith('.'));
        expect(names.sort()).toEqual(
          [0, 1].flatMap((t) => [0, 1, 2, 3].map((i) => `file.mdtest.${t}.${i}`)).sort(),
        );
      } finally {
        await meta.stop();
      }
      // A second run on the same PATH is refused: test-dir.0-0 exists.
      const again = captureIo();
      expect(await main(['mdtest', url, '/bench/a'], again.io)).toBe(1);
      expect(again.err()).toContain('mkdir /bench/a/test-dir.0-0: already exists');
    }, 60_000);

    it('--write commits slice records without data and --access-log logs each call', async () => {
      const url = await volume();
      const h = captureIo();
      const log = join(tmp, `access-${target.name}.log`);
      const args = ['mdtest', url, 'w', '--dirs', '2', '--depth', '1', '--files', '3', '--write', '70000000'];
      expect(await main([...args, '--access-log', log], h.io), h.err()).toBe(0);
      const c = await count(url, '/w');
      expect(c.dirs).toBe(1 + 3);
      expect(c.files).toBe(9);
      expect(c.bytes).toBe(9 * 70_000_000);
      const meta = await openCliMeta(url, captureIo().io);
      try {
        const f = await lookupPath(meta, '/w/test-dir.0-0/mdtest_tree.0/file.mdtest.0.0');
        // 70 MB spans two 64 MiB chunks: one slice each.
        expect((await meta.readChunk(f, 0)).map((s) => s.len)).toEqual([64 << 20]);
        expect((await meta.readChunk(f, 1)).map((s) => s.len)).toEqual([70_000_000 - (64 << 20)]);
      } finally {
        await meta.stop();
      }
      const lines = readFileSync(log, 'utf8').trim().split('\n');
      expect(lines.filter((l) => / mkdir \(/.test(l))).toHaveLength(1 + 1 + 3); // w, test-dir.0-0, tree
      expect(lines.filter((l) => / create \(/.test(l))).toHaveLength(9);
      expect(lines[0]).toMatch(
        /^\d{4}\.\d\d\.\d\d \d\d:\d\d:\d\d\.\d{6} \[uid:\d+,gid:\d+,pid:1\] mkdir \(1,w,-rwxrwxrwx\): OK \(\d+\) <\d+\.\d{6}>$/,
      );
    }, 60_000);

    it('refuses bad flags and an unformatted volume', async () => {
      const url = await volume();
      let h = captureIo();
      expect(await main(['mdtest', url, '/x', '--threads', '0'], h.io)).toBe(1);
      expect(h.err()).toContain('--threads should be at least 1');
      h = captureIo();
      expect(await main(['mdtest', url, '/x', '--files', 'many'], h.io)).toBe(1);
      expect(h.err()).toContain("invalid --files 'many'");
      if (target.name === 'sqlite3') {
        h = captureIo();
        expect(await main(['mdtest', `sqlite3://${join(tmp, 'none.db')}`, '/x'], h.io)).toBe(1);
        expect(h.err()).toContain('does not exist');
      }
    }, 30_000);
  });
}
