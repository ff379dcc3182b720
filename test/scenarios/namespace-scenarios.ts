/**
 * Namespace scenarios: directories, readdir, hard links, symlinks, rename, attributes
 * (chmod, chown, utimes, sticky/setgid bits), recursive rm and the errno of each failure.
 * Linux semantics are the reference: the expected errno is what ext4 returns.
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import type { Scenario } from './scenario-fs.js';
import { expectCode, runningAsRoot } from './scenario-util.js';

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

/**
 * nlink of a hard-linked file after one of its two names was removed: 1 without trash;
 * with trash enabled (TrashDays > 0, JuiceFS's default) the removed name moves into
 * .trash and still counts as a link, so it stays 2 (as Go JuiceFS does).
 */
function assertNlinkAfterDrop(nlink: number, what: string): void {
  assert.ok(nlink === 1 || nlink === 2, `${what}: nlink ${nlink}`);
}

export const namespaceScenarios: Scenario[] = [
  {
    name: 'directories: mkdir, nlink, recursive mkdir, rmdir',
    async run(fs, dir) {
      await fs.mkdir(join(dir, 'a'));
      const a = await fs.stat(join(dir, 'a'));
      assert.ok(a.isDirectory());
      assert.equal(a.mode & S_IFMT, S_IFDIR);
      assert.equal(a.nlink, 2, 'empty dir has nlink 2');
      await fs.mkdir(join(dir, 'a', 'b'));
      await fs.mkdir(join(dir, 'a', 'c'));
      assert.equal((await fs.stat(join(dir, 'a'))).nlink, 4, 'two subdirs add 2 to nlink');
      await fs.mkdir(join(dir, 'x', 'y', 'z'), { recursive: true });
      assert.ok((await fs.stat(join(dir, 'x', 'y', 'z'))).isDirectory());
      await fs.mkdir(join(dir, 'x', 'y'), { recursive: true }); // existing: no error
      await fs.rmdir(join(dir, 'a', 'b'));
      assert.equal((await fs.stat(join(dir, 'a'))).nlink, 3);
      await expectCode(fs.stat(join(dir, 'a', 'b')), 'ENOENT', 'stat removed dir');
      await fs.mkdir(join(dir, 'm'), { mode: 0o700 });
      assert.equal((await fs.stat(join(dir, 'm'))).mode & 0o777, 0o700);
    },
  },
  {
    name: 'readdir lists every entry (300 names) and withFileTypes reports types',
    async run(fs, dir) {
      const names: string[] = [];
      for (let i = 0; i < 300; i++) names.push(`file-${String(i).padStart(3, '0')}-${'n'.repeat(i % 40)}`);
      for (const n of names) await fs.writeFile(join(dir, n), n);
      await fs.mkdir(join(dir, 'sub'));
      await fs.symlink('file-000-', join(dir, 'link'));
      const listed = await fs.readdir(dir);
      assert.ok(!listed.includes('.') && !listed.includes('..'), 'no dot entries');
      assert.deepEqual([...listed].sort(), [...names, 'sub', 'link'].sort());
      const typed = await fs.readdir(dir, { withFileTypes: true });
      const kind = new Map(
        typed.map((d) => [d.name, d.isFile() ? 'f' : d.isDirectory() ? 'd' : d.isSymbolicLink() ? 'l' : '?']),
      );
      assert.equal(kind.get('sub'), 'd');
      assert.equal(kind.get('link'), 'l');
      assert.equal(kind.get('file-299-' + 'n'.repeat(299 % 40)), 'f');
      assert.equal(typed.length, 302);
      assert.deepEqual(await fs.readdir(join(dir, 'sub')), []);
    },
  },
  {
    name: 'hard links share inode and data; nlink counts names',
    async run(fs, dir) {
      const a = join(dir, 'a');
      const b = join(dir, 'b');
      await fs.writeFile(a, 'one');
      await fs.link(a, b);
      const [sa, sb] = [await fs.stat(a), await fs.stat(b)];
      assert.equal(sa.ino, sb.ino);
      assert.equal(sa.nlink, 2);
      await fs.writeFile(b, 'two, longer');
      assert.equal((await fs.readFile(a)).toString(), 'two, longer');
      await fs.unlink(a);
      assertNlinkAfterDrop((await fs.stat(b)).nlink, 'unlink of one of two links');
      assert.equal((await fs.readFile(b)).toString(), 'two, longer');
      await fs.mkdir(join(dir, 'd'));
      await expectCode(fs.link(join(dir, 'd'), join(dir, 'd2')), 'EPERM', 'hard link to a directory');
      await expectCode(fs.link(b, b), 'EEXIST', 'link onto an existing name');
    },
  },
  {
    name: 'symlinks: readlink, stat follows, lstat does not, dangling link',
    async run(fs, dir) {
      await fs.writeFile(join(dir, 'target'), 'data');
      await fs.symlink('target', join(dir, 'rel'));
      await fs.symlink(join(dir, 'target'), join(dir, 'abs'));
      await fs.symlink('nowhere/at/all', join(dir, 'dangling'));
      assert.equal(await fs.readlink(join(dir, 'rel')), 'target');
      assert.equal(await fs.readlink(join(dir, 'abs')), join(dir, 'target'));
      assert.equal((await fs.readFile(join(dir, 'rel'))).toString(), 'data');
      assert.ok((await fs.stat(join(dir, 'abs'))).isFile());
      const l = await fs.lstat(join(dir, 'rel'));
      assert.ok(l.isSymbolicLink());
      assert.equal(l.size, 'target'.length, 'symlink size is the target length');
      await expectCode(fs.stat(join(dir, 'dangling')), 'ENOENT', 'stat of a dangling symlink');
      assert.ok((await fs.lstat(join(dir, 'dangling'))).isSymbolicLink());
      await expectCode(fs.readlink(join(dir, 'target')), 'EINVAL', 'readlink of a regular file');
      await fs.mkdir(join(dir, 'd'));
      await fs.writeFile(join(dir, 'd', 'f'), 'in d');
      await fs.symlink('d', join(dir, 'dl'));
      assert.equal(
        (await fs.readFile(join(dir, 'dl', 'f'))).toString(),
        'in d',
        'path walk through a symlinked dir',
      );
      await fs.unlink(join(dir, 'dl'));
      assert.ok((await fs.stat(join(dir, 'd'))).isDirectory(), 'unlinking the link keeps the target');
    },
  },
  {
    name: 'rename file over file and across directories',
    async run(fs, dir) {
      await fs.mkdir(join(dir, 'd1'));
      await fs.mkdir(join(dir, 'd2'));
      await fs.writeFile(join(dir, 'd1', 'src'), 'source');
      await fs.writeFile(join(dir, 'd1', 'dst'), 'old target');
      await fs.link(join(dir, 'd1', 'dst'), join(dir, 'keep'));
      const srcIno = (await fs.stat(join(dir, 'd1', 'src'))).ino;
      await fs.rename(join(dir, 'd1', 'src'), join(dir, 'd1', 'dst'));
      await expectCode(fs.stat(join(dir, 'd1', 'src')), 'ENOENT', 'old name after rename');
      assert.equal((await fs.readFile(join(dir, 'd1', 'dst'))).toString(), 'source');
      assert.equal((await fs.stat(join(dir, 'd1', 'dst'))).ino, srcIno);
      assertNlinkAfterDrop((await fs.stat(join(dir, 'keep'))).nlink, 'replaced rename target');
      assert.equal((await fs.readFile(join(dir, 'keep'))).toString(), 'old target');
      await fs.rename(join(dir, 'd1', 'dst'), join(dir, 'd2', 'moved'));
      assert.deepEqual(await fs.readdir(join(dir, 'd1')), []);
      assert.equal((await fs.readFile(join(dir, 'd2', 'moved'))).toString(), 'source');
      await fs.rename(join(dir, 'd2', 'moved'), join(dir, 'd2', 'moved')); // same name: no-op
      assert.equal((await fs.readFile(join(dir, 'd2', 'moved'))).toString(), 'source');
      await fs.rename(join(dir, 'keep'), join(dir, 'd2', 'moved')); // replace across directories
      assert.equal((await fs.readFile(join(dir, 'd2', 'moved'))).toString(), 'old target');
      await expectCode(
        fs.rename(join(dir, 'missing'), join(dir, 'x')),
        'ENOENT',
        'rename of a missing source',
      );
    },
  },
  {
    name: 'rename directories: over an empty dir, across parents, and the errors',
    async run(fs, dir) {
      await fs.mkdir(join(dir, 'a', 'inner'), { recursive: true });
      await fs.writeFile(join(dir, 'a', 'inner', 'f'), 'f');
      await fs.mkdir(join(dir, 'empty'));
      await fs.mkdir(join(dir, 'full'));
      await fs.writeFile(join(dir, 'full', 'x'), 'x');
      await fs.writeFile(join(dir, 'file'), 'file');
      await expectCode(fs.rename(join(dir, 'a'), join(dir, 'full')), 'ENOTEMPTY', 'dir over non-empty dir');
      await expectCode(fs.rename(join(dir, 'a'), join(dir, 'file')), 'ENOTDIR', 'dir over file');
      await expectCode(fs.rename(join(dir, 'file'), join(dir, 'empty')), 'EISDIR', 'file over dir');
      await expectCode(
        fs.rename(join(dir, 'a'), join(dir, 'a', 'inner', 'sub')),
        'EINVAL',
        'dir into itself',
      );
      const before = (await fs.stat(dir)).nlink;
      await fs.rename(join(dir, 'a'), join(dir, 'empty'));
      assert.equal((await fs.stat(dir)).nlink, before - 1, 'replacing a dir drops one parent link');
      assert.equal((await fs.readFile(join(dir, 'empty', 'inner', 'f'))).toString(), 'f');
      await fs.rename(join(dir, 'empty', 'inner'), join(dir, 'full', 'inner'));
      assert.equal((await fs.stat(join(dir, 'empty'))).nlink, 2);
      assert.equal((await fs.stat(join(dir, 'full'))).nlink, 3);
      assert.equal((await fs.readFile(join(dir, 'full', 'inner', 'f'))).toString(), 'f');
    },
  },
  {
    name: 'chmod, sticky bit and setgid bit are stored',
    async run(fs, dir) {
      const f = join(dir, 'f');
      await fs.writeFile(f, 'x');
      assert.equal((await fs.stat(f)).mode & S_IFMT, S_IFREG);
      for (const m of [0o600, 0o644, 0o755, 0o000, 0o4755, 0o2755]) {
        await fs.chmod(f, m);
        assert.equal((await fs.stat(f)).mode & 0o7777, m, `chmod ${m.toString(8)}`);
      }
      await fs.mkdir(join(dir, 'tmp'));
      await fs.chmod(join(dir, 'tmp'), 0o1777);
      assert.equal((await fs.stat(join(dir, 'tmp'))).mode & 0o7777, 0o1777);
      await fs.chmod(join(dir, 'tmp'), 0o2770);
      assert.equal((await fs.stat(join(dir, 'tmp'))).mode & 0o7777, 0o2770);
    },
  },
  {
    name: 'utimes keeps sub-millisecond precision',
    async run(fs, dir) {
      const f = join(dir, 'f');
      await fs.writeFile(f, 'x');
      const atime = 1_500_000_000.25;
      const mtime = 1_600_000_000.123456;
      await fs.utimes(f, atime, mtime);
      const st = await fs.stat(f);
      assert.ok(Math.abs(st.atimeMs - atime * 1000) < 0.001, `atimeMs ${st.atimeMs}`);
      assert.ok(Math.abs(st.mtimeMs - mtime * 1000) < 0.002, `mtimeMs ${st.mtimeMs}`);
      await fs.mkdir(join(dir, 'd'));
      await fs.utimes(join(dir, 'd'), new Date(1_000_000_000_000), new Date(1_000_000_000_500));
      assert.equal((await fs.stat(join(dir, 'd'))).mtimeMs, 1_000_000_000_500);
      const before = (await fs.stat(f)).mtimeMs;
      await fs.writeFile(f, 'changed');
      assert.ok((await fs.stat(f)).mtimeMs > before, 'a write moves mtime to now');
    },
  },
  {
    name: 'chown changes owner and group (root only)',
    async run(fs, dir) {
      if (!fs.chown || !runningAsRoot()) return;
      const f = join(dir, 'f');
      await fs.writeFile(f, 'x');
      await fs.chown(f, 1000, 1001);
      const st = await fs.stat(f);
      assert.equal(st.uid, 1000);
      assert.equal(st.gid, 1001);
      await fs.chmod(f, 0o6755);
      await fs.chown(f, 1002, 1002);
      assert.equal((await fs.stat(f)).mode & 0o6000, 0, 'chown clears setuid/setgid');
      await fs.symlink('f', join(dir, 'l'));
      await fs.chown(join(dir, 'l'), 0, 0); // follows the link
      assert.equal((await fs.stat(f)).uid, 0);
    },
  },
  {
    name: 'setgid directory: entries inherit its group, subdirectories the bit',
    async run(fs, dir) {
      const d = join(dir, 'sg');
      await fs.mkdir(d);
      if (fs.chown && runningAsRoot()) await fs.chown(d, 0, 1234);
      await fs.chmod(d, 0o2775);
      const gid = (await fs.stat(d)).gid;
      await fs.writeFile(join(d, 'f'), 'x');
      await fs.mkdir(join(d, 'sub'));
      const f = await fs.stat(join(d, 'f'));
      const sub = await fs.stat(join(d, 'sub'));
      assert.equal(f.gid, gid, 'file group from the setgid dir');
      assert.equal(sub.gid, gid, 'subdir group from the setgid dir');
      assert.equal(sub.mode & 0o2000, 0o2000, 'subdir inherits setgid');
      assert.equal(f.mode & 0o2000, 0, 'a plain file does not get setgid');
    },
  },
  {
    name: 'rm recursive removes a tree',
    async run(fs, dir) {
      const root = join(dir, 'tree');
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < 3; j++) {
          await fs.mkdir(join(root, `d${i}`, `e${j}`), { recursive: true });
          await fs.writeFile(join(root, `d${i}`, `e${j}`, 'f'), `${i}${j}`);
        }
        await fs.symlink('..', join(root, `d${i}`, 'up'));
      }
      await fs.rm(root, { recursive: true });
      await expectCode(fs.stat(root), 'ENOENT', 'removed tree');
      await fs.rm(root, { recursive: true, force: true }); // force: missing is fine
      assert.deepEqual(await fs.readdir(dir), []);
    },
  },
  {
    name: 'error codes: ENOENT, EEXIST, ENOTEMPTY, ENOTDIR, EISDIR, ENAMETOOLONG',
    async run(fs, dir) {
      const f = join(dir, 'file');
      const d = join(dir, 'dir');
      await fs.writeFile(f, 'x');
      await fs.mkdir(d);
      await fs.writeFile(join(d, 'child'), 'c');
      const missing = join(dir, 'missing');
      await expectCode(fs.stat(missing), 'ENOENT', 'stat');
      await expectCode(fs.readFile(missing), 'ENOENT', 'readFile');
      await expectCode(fs.unlink(missing), 'ENOENT', 'unlink');
      await expectCode(fs.rmdir(missing), 'ENOENT', 'rmdir');
      await expectCode(fs.mkdir(join(missing, 'x')), 'ENOENT', 'mkdir in a missing parent');
      await expectCode(fs.access(missing), 'ENOENT', 'access');
      await expectCode(fs.mkdir(d), 'EEXIST', 'mkdir existing dir');
      await expectCode(fs.mkdir(f), 'EEXIST', 'mkdir over a file');
      await expectCode(fs.open(f, 'wx'), 'EEXIST', 'O_CREAT|O_EXCL on an existing file');
      await expectCode(fs.symlink('x', f), 'EEXIST', 'symlink over a file');
      await expectCode(fs.rmdir(d), 'ENOTEMPTY', 'rmdir non-empty');
      await expectCode(fs.stat(join(f, 'x')), 'ENOTDIR', 'file used as a directory');
      await expectCode(fs.readdir(f), 'ENOTDIR', 'readdir of a file');
      await expectCode(fs.rmdir(f), 'ENOTDIR', 'rmdir of a file');
      await expectCode(fs.writeFile(join(f, 'x'), 'y'), 'ENOTDIR', 'create under a file');
      await expectCode(fs.readFile(d), 'EISDIR', 'readFile of a dir');
      await expectCode(fs.writeFile(d, 'y'), 'EISDIR', 'writeFile onto a dir');
      await expectCode(fs.unlink(d), 'EISDIR', 'unlink of a dir');
      await expectCode(fs.writeFile(join(dir, 'n'.repeat(256)), 'y'), 'ENAMETOOLONG', '256-byte name');
      await fs.writeFile(join(dir, 'n'.repeat(255)), 'y'); // 255 bytes is allowed
    },
  },
];
