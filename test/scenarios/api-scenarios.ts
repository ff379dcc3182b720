/**
 * Semantic scenarios written for the programmatic API and the HDFS adapter, in the shared
 * `Scenario` format (scenario-fs.ts), so they can run on every driver (mount included).
 * Each scenario works inside its own empty directory and asserts with node:assert.
 *
 * Scenarios that need operations the HDFS model lacks (hard links, random writes,
 * growing truncate) are still plain POSIX; the HDFS adapter reports those operations as
 * unsupported (code 'ERR_HDFS_UNSUPPORTED') and its test marks the scenario skipped.
 */
import { strict as assert } from 'node:assert';
import type { Scenario, ScenarioFs } from './scenario-fs.js';

async function rejectsCode(p: Promise<unknown>, code: string | string[]): Promise<void> {
  const codes = Array.isArray(code) ? code : [code];
  await assert.rejects(p, (e: unknown) => {
    const c = (e as { code?: string }).code ?? '';
    assert.ok(codes.includes(c), `expected ${codes.join('|')}, got ${c}: ${String(e)}`);
    return true;
  });
}

const pattern = (n: number, seed = 7): Buffer => {
  const b = Buffer.allocUnsafe(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
};

export const apiScenarios: Scenario[] = [
  {
    name: 'write, read back, overwrite shorter',
    async run(fs: ScenarioFs, dir: string) {
      await fs.writeFile(`${dir}/a.txt`, 'hello world');
      assert.equal((await fs.readFile(`${dir}/a.txt`)).toString(), 'hello world');
      await fs.writeFile(`${dir}/a.txt`, 'bye');
      assert.equal((await fs.readFile(`${dir}/a.txt`)).toString(), 'bye');
      assert.equal((await fs.stat(`${dir}/a.txt`)).size, 3);
    },
  },
  {
    name: 'empty file and multi-block file (9 MiB + 3 bytes) round trip',
    async run(fs, dir) {
      await fs.writeFile(`${dir}/empty`, Buffer.alloc(0));
      assert.equal((await fs.readFile(`${dir}/empty`)).length, 0);
      const big = pattern(9 * 1024 * 1024 + 3);
      await fs.writeFile(`${dir}/big`, big);
      const back = await fs.readFile(`${dir}/big`);
      assert.equal(back.length, big.length);
      assert.ok(back.equals(big), 'multi-block content differs');
    },
  },
  {
    name: 'appendFile creates then appends',
    async run(fs, dir) {
      await fs.appendFile(`${dir}/log`, 'one\n');
      await fs.appendFile(`${dir}/log`, 'two\n');
      assert.equal((await fs.readFile(`${dir}/log`)).toString(), 'one\ntwo\n');
    },
  },
  {
    name: 'exclusive create fails on an existing file',
    async run(fs, dir) {
      const h = await fs.open(`${dir}/x`, 'wx');
      await h.write(Buffer.from('1'), 0, 1, null);
      await h.close();
      await rejectsCode(fs.open(`${dir}/x`, 'wx'), 'EEXIST');
      assert.equal((await fs.readFile(`${dir}/x`)).toString(), '1');
    },
  },
  {
    name: 'sequential handle writes then positional reads',
    async run(fs, dir) {
      const h = await fs.open(`${dir}/seq`, 'w');
      await h.write(Buffer.from('abcdef'), 0, 6, null);
      await h.write(Buffer.from('ghij'), 0, 4, null);
      await h.sync();
      await h.close();
      const r = await fs.open(`${dir}/seq`, 'r');
      const buf = Buffer.alloc(4);
      assert.equal((await r.read(buf, 0, 4, 3)).bytesRead, 4);
      assert.equal(buf.toString(), 'defg');
      assert.equal((await r.read(buf, 0, 4, 8)).bytesRead, 2);
      assert.equal((await r.read(buf, 0, 4, 10)).bytesRead, 0);
      assert.equal((await r.stat()).size, 10);
      await r.close();
    },
  },
  {
    name: 'random write inside a file (r+)',
    async run(fs, dir) {
      await fs.writeFile(`${dir}/rw`, '0123456789');
      const h = await fs.open(`${dir}/rw`, 'r+');
      await h.write(Buffer.from('XY'), 0, 2, 4);
      await h.close();
      assert.equal((await fs.readFile(`${dir}/rw`)).toString(), '0123XY6789');
    },
  },
  {
    name: 'mkdir, recursive mkdir, readdir with file types',
    async run(fs, dir) {
      await fs.mkdir(`${dir}/d1`);
      await rejectsCode(fs.mkdir(`${dir}/d1`), 'EEXIST');
      await fs.mkdir(`${dir}/d2/e/f`, { recursive: true });
      await fs.mkdir(`${dir}/d2/e/f`, { recursive: true });
      await fs.writeFile(`${dir}/d2/file`, 'x');
      await rejectsCode(fs.mkdir(`${dir}/nope/sub`), 'ENOENT');
      assert.deepEqual((await fs.readdir(dir)).sort(), ['d1', 'd2']);
      const ents = await fs.readdir(`${dir}/d2`, { withFileTypes: true });
      const byName = new Map(ents.map((e) => [e.name, e]));
      assert.ok(byName.get('e')?.isDirectory());
      assert.ok(byName.get('file')?.isFile());
      assert.equal(ents.length, 2);
    },
  },
  {
    name: 'rm recursive/force, rmdir non-empty, unlink directory',
    async run(fs, dir) {
      await fs.mkdir(`${dir}/t/a/b`, { recursive: true });
      await fs.writeFile(`${dir}/t/a/b/f`, 'x');
      await fs.writeFile(`${dir}/t/g`, 'y');
      await rejectsCode(fs.rmdir(`${dir}/t`), 'ENOTEMPTY');
      await rejectsCode(fs.unlink(`${dir}/t`), ['EISDIR', 'EPERM']);
      await rejectsCode(fs.rm(`${dir}/t`), ['ERR_FS_EISDIR', 'EISDIR']);
      await fs.rm(`${dir}/t`, { recursive: true });
      await rejectsCode(fs.stat(`${dir}/t`), 'ENOENT');
      await fs.rm(`${dir}/t`, { force: true });
      await rejectsCode(fs.rm(`${dir}/t`), 'ENOENT');
      await fs.mkdir(`${dir}/empty`);
      await fs.rmdir(`${dir}/empty`);
      assert.deepEqual(await fs.readdir(dir), []);
    },
  },
  {
    name: 'rename file over file and directory into new name',
    async run(fs, dir) {
      await fs.writeFile(`${dir}/a`, 'A');
      await fs.writeFile(`${dir}/b`, 'B');
      await fs.rename(`${dir}/a`, `${dir}/b`);
      assert.equal((await fs.readFile(`${dir}/b`)).toString(), 'A');
      await rejectsCode(fs.stat(`${dir}/a`), 'ENOENT');
      await fs.mkdir(`${dir}/d/sub`, { recursive: true });
      await fs.writeFile(`${dir}/d/sub/f`, 'F');
      await fs.rename(`${dir}/d`, `${dir}/e`);
      assert.equal((await fs.readFile(`${dir}/e/sub/f`)).toString(), 'F');
      await rejectsCode(fs.rename(`${dir}/missing`, `${dir}/z`), 'ENOENT');
    },
  },
  {
    name: 'write to a temp name, then rename into place (commit)',
    async run(fs, dir) {
      await fs.mkdir(`${dir}/meta`);
      for (let v = 1; v <= 3; v++) {
        await fs.writeFile(`${dir}/meta/.tmp-${v}`, `version ${v}`);
        await fs.rename(`${dir}/meta/.tmp-${v}`, `${dir}/meta/v${v}.json`);
      }
      assert.deepEqual((await fs.readdir(`${dir}/meta`)).sort(), ['v1.json', 'v2.json', 'v3.json']);
      assert.equal((await fs.readFile(`${dir}/meta/v3.json`)).toString(), 'version 3');
    },
  },
  {
    name: 'stat of files and directories, ENOENT and ENOTDIR',
    async run(fs, dir) {
      await fs.writeFile(`${dir}/f`, '12345');
      const st = await fs.stat(`${dir}/f`);
      assert.ok(st.isFile() && !st.isDirectory());
      assert.equal(st.size, 5);
      assert.equal(st.mode & 0o170000, 0o100000);
      const d = await fs.stat(dir);
      assert.ok(d.isDirectory());
      assert.ok(Math.abs(st.mtimeMs - Date.now()) < 60_000, 'mtime is now');
      await rejectsCode(fs.stat(`${dir}/nope`), 'ENOENT');
      await rejectsCode(fs.stat(`${dir}/f/sub`), 'ENOTDIR');
      await rejectsCode(fs.readdir(`${dir}/f`), 'ENOTDIR');
    },
  },
  {
    name: 'symlinks: readlink, lstat, follow for read',
    async run(fs, dir) {
      await fs.writeFile(`${dir}/target`, 'T');
      await fs.symlink('target', `${dir}/link`);
      assert.equal(await fs.readlink(`${dir}/link`), 'target');
      assert.ok((await fs.lstat(`${dir}/link`)).isSymbolicLink());
      assert.ok((await fs.stat(`${dir}/link`)).isFile());
      assert.equal((await fs.readFile(`${dir}/link`)).toString(), 'T');
      await rejectsCode(fs.symlink('x', `${dir}/link`), 'EEXIST');
    },
  },
  {
    name: 'symlink loops give ELOOP; dangling links ENOENT',
    async run(fs, dir) {
      await fs.symlink('l2', `${dir}/l1`);
      await fs.symlink('l1', `${dir}/l2`);
      await rejectsCode(fs.stat(`${dir}/l1`), 'ELOOP');
      await fs.symlink('nowhere', `${dir}/dangling`);
      await rejectsCode(fs.stat(`${dir}/dangling`), 'ENOENT');
      assert.ok((await fs.lstat(`${dir}/dangling`)).isSymbolicLink());
    },
  },
  {
    name: 'hard links share content and count links',
    async run(fs, dir) {
      await fs.writeFile(`${dir}/orig`, 'shared');
      await fs.link(`${dir}/orig`, `${dir}/copy`);
      assert.equal((await fs.stat(`${dir}/orig`)).nlink, 2);
      await fs.unlink(`${dir}/orig`);
      assert.equal((await fs.readFile(`${dir}/copy`)).toString(), 'shared');
      assert.equal((await fs.stat(`${dir}/copy`)).nlink, 1);
    },
  },
  {
    name: 'chmod and utimes are visible in stat',
    async run(fs, dir) {
      await fs.writeFile(`${dir}/m`, 'x');
      await fs.chmod(`${dir}/m`, 0o600);
      assert.equal((await fs.stat(`${dir}/m`)).mode & 0o777, 0o600);
      const when = new Date('2020-01-02T03:04:05.000Z');
      await fs.utimes(`${dir}/m`, when, when);
      const st = await fs.stat(`${dir}/m`);
      assert.equal(Math.round(st.mtimeMs), when.getTime());
      assert.equal(Math.round(st.atimeMs), when.getTime());
    },
  },
  {
    name: 'truncate shrinks a file',
    async run(fs, dir) {
      await fs.writeFile(`${dir}/t`, '0123456789');
      await fs.truncate(`${dir}/t`, 4);
      assert.equal((await fs.readFile(`${dir}/t`)).toString(), '0123');
      await fs.truncate(`${dir}/t`, 0);
      assert.equal((await fs.stat(`${dir}/t`)).size, 0);
    },
  },
  {
    name: 'truncate grows a file with zeros',
    async run(fs, dir) {
      await fs.writeFile(`${dir}/g`, 'ab');
      await fs.truncate(`${dir}/g`, 5);
      assert.deepEqual([...(await fs.readFile(`${dir}/g`))], [0x61, 0x62, 0, 0, 0]);
    },
  },
  {
    name: 'copyFile copies content',
    async run(fs, dir) {
      const data = pattern(300_000, 3);
      await fs.writeFile(`${dir}/src`, data);
      await fs.copyFile(`${dir}/src`, `${dir}/dst`);
      assert.ok((await fs.readFile(`${dir}/dst`)).equals(data));
      await fs.writeFile(`${dir}/src`, 'changed');
      assert.equal((await fs.readFile(`${dir}/dst`)).length, data.length);
    },
  },
  {
    name: 'access checks existence',
    async run(fs, dir) {
      await fs.writeFile(`${dir}/a`, 'x');
      await fs.access(`${dir}/a`);
      await fs.access(dir);
      await rejectsCode(fs.access(`${dir}/b`), 'ENOENT');
    },
  },
  {
    name: 'many files in one directory list completely',
    async run(fs, dir) {
      const names: string[] = [];
      for (let i = 0; i < 120; i++) names.push(`f${String(i).padStart(4, '0')}`);
      for (const n of names) await fs.writeFile(`${dir}/${n}`, n);
      assert.deepEqual((await fs.readdir(dir)).sort(), names);
    },
  },
  {
    name: 'names with spaces, unicode and punctuation',
    async run(fs, dir) {
      const names = ['a b', 'ü-ñ-日本', 'x+y=z', 'pct%20', 'semi;colon', "q'uote"];
      for (const n of names) await fs.writeFile(`${dir}/${n}`, n);
      assert.deepEqual((await fs.readdir(dir)).sort(), [...names].sort());
      for (const n of names) assert.equal((await fs.readFile(`${dir}/${n}`)).toString(), n);
    },
  },
];
