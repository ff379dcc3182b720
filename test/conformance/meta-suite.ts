/**
 * The metadata conformance suite: POSIX namespace semantics, permissions, trash, sessions,
 * locks, accounting. Run unchanged on every engine (mem, sqlite3, redis); a fresh volume per
 * case; time moves only through the injected ManualClock.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { metaCore, type BaseMeta } from '../../src/meta/base-meta.js';
import { Errno, type ErrnoCode } from '../../src/base/errno.js';
import { FallocMode, LockType, RenameFlag, XattrFlag } from '../../src/meta/meta.js';
import { FileType, Flag, ROOT_INODE, TRASH_INODE, type Context, type Ino } from '../../src/base/types.js';
import { alice, bob, makeVolume, n, root, type EngineTarget, type Volume } from '../helpers/meta-fixture.js';

export async function expectErrno(p: Promise<unknown>, code: ErrnoCode): Promise<void> {
  await expect(p).rejects.toMatchObject({ errno: Errno[code] });
}

export function runMetaConformance(target: EngineTarget): void {
  describe(`meta conformance: ${target.name}`, () => {
    let v: Volume;
    let m: BaseMeta;

    const setup = async (overrides = {}): Promise<void> => {
      v = await makeVolume(target, overrides);
      m = await v.client();
    };

    beforeEach(async () => setup());
    afterEach(async () => {
      await v.close();
      await target.cleanup?.();
    });

    async function mkfile(ctx: Context, parent: Ino, name: string, mode = 0o644): Promise<Ino> {
      const r = await m.create(ctx, parent, n(name), mode);
      await m.close(r.ino);
      return r.ino;
    }

    it('creates, looks up and lists entries with attributes', async () => {
      const d = await m.mkdir(alice.uid === 0 ? alice : root, ROOT_INODE, n('d'), 0o755);
      expect(d.attr.type).toBe(FileType.Directory);
      expect(d.attr.nlink).toBe(2);
      const f = await mkfile(root, d.ino, 'f');
      const l = await m.lookup(root, d.ino, n('f'));
      expect(l.ino).toBe(f);
      expect(l.attr.mode).toBe(0o644);
      expect(l.attr.parent).toBe(d.ino);
      const rootAttr = await m.getattr(root, ROOT_INODE);
      expect(rootAttr.nlink).toBe(3);
      const list = await m.readdir(root, d.ino, { plus: true });
      expect(list.map((e) => e.name.toString())).toEqual(['f']);
      expect(list[0]?.attr?.type).toBe(FileType.File);
      expect((await m.lookup(root, d.ino, n('..'))).ino).toBe(ROOT_INODE);
      expect((await m.lookup(root, ROOT_INODE, n('..'))).ino).toBe(ROOT_INODE);
      await expectErrno(m.lookup(root, d.ino, n('missing')), 'ENOENT');
      await expectErrno(m.lookup(root, f, n('x')), 'ENOTDIR');
    });

    it('applies umask, setgid directories and name limits', async () => {
      const d = await m.mkdir(root, ROOT_INODE, n('g'), 0o2777);
      await m.setattr(root, d.ino, { gid: 2000 });
      const f = await m.create(bob, d.ino, n('f'), 0o666, 0o022);
      expect(f.attr.mode).toBe(0o644);
      expect(f.attr.gid).toBe(2000);
      const sub = await m.mkdir(bob, d.ino, n('sub'), 0o777, 0o022);
      expect(sub.attr.mode & 0o2000).toBe(0o2000);
      expect(sub.attr.gid).toBe(2000);
      await expectErrno(m.mkdir(root, ROOT_INODE, Buffer.alloc(256, 0x61), 0o755), 'ENAMETOOLONG');
      await m.mkdir(root, ROOT_INODE, Buffer.alloc(255, 0x61), 0o755);
      await expectErrno(m.mkdir(root, ROOT_INODE, n('a/b'), 0o755), 'EINVAL');
      await expectErrno(m.mkdir(root, ROOT_INODE, n('g'), 0o755), 'EEXIST');
      await expectErrno(m.mkdir(root, ROOT_INODE, n('.trash'), 0o755), 'EPERM');
    });

    it('checks owner, group (supplementary) and other permission bits', async () => {
      const d = await m.mkdir(root, ROOT_INODE, n('p'), 0o750);
      await m.setattr(root, d.ino, { uid: 1000, gid: 2000 });
      await mkfile(alice, d.ino, 'a');
      await expectErrno(m.lookup({ ...bob, gids: [1001] }, d.ino, n('a')), 'EACCES');
      await m.lookup(bob, d.ino, n('a'));
      await expectErrno(m.create(bob, d.ino, n('b'), 0o644), 'EACCES');
      await expectErrno(m.access(bob, d.ino, 2), 'EACCES');
      await m.access(bob, d.ino, 5);
      const f = await m.lookup(alice, d.ino, n('a'));
      await expectErrno(m.open(bob, f.ino, 2), 'EACCES');
      await expectErrno(m.setattr(bob, f.ino, { mode: 0o777 }), 'EPERM');
      await expectErrno(m.setattr(alice, f.ino, { uid: 0 }), 'EPERM');
      await expectErrno(m.setattr(alice, f.ino, { gid: 2000 }), 'EPERM');
    });

    it('enforces the sticky bit on removal', async () => {
      const t = await m.mkdir(root, ROOT_INODE, n('tmp'), 0o1777);
      await mkfile(alice, t.ino, 'af');
      await expectErrno(m.unlink(bob, t.ino, n('af')), 'EPERM');
      await expectErrno(m.rename(bob, t.ino, n('af'), t.ino, n('x')), 'EPERM');
      await m.unlink(alice, t.ino, n('af'));
    });

    it('sets times with nanoseconds, mode, owner; ctime moves', async () => {
      const f = await mkfile(root, ROOT_INODE, 'f');
      const a = await m.setattr(root, f, {
        atime: { sec: 1000, nsec: 123456789 },
        mtime: { sec: 2000, nsec: 999999999 },
        mode: 0o4755,
        uid: 5,
        gid: 6,
      });
      expect([a.atime, a.atimensec, a.mtime, a.mtimensec]).toEqual([1000, 123456789, 2000, 999999999]);
      const b = await m.getattr(root, f);
      expect(b).toEqual(a);
      expect(b.mode).toBe(0o4755);
      v.clock.advance(5000);
      const c = await m.setattr(root, f, { mtime: 'now' });
      expect(c.mtime).toBe(v.clock.now().sec);
      expect(c.ctime).toBe(v.clock.now().sec);
    });

    it('symlinks and readlink', async () => {
      const s = await m.symlink(alice.uid ? root : root, ROOT_INODE, n('s'), n('target/path'));
      expect(s.attr.type).toBe(FileType.Symlink);
      expect(s.attr.length).toBe(11);
      expect((await m.readlink(root, s.ino)).toString()).toBe('target/path');
      await expectErrno(m.symlink(root, ROOT_INODE, n('s2'), Buffer.alloc(4096, 0x61)), 'ENAMETOOLONG');
      await expectErrno(m.readlink(root, ROOT_INODE), 'EINVAL');
      await m.unlink(root, ROOT_INODE, n('s'));
      await expectErrno(m.getattr(root, s.ino), 'ENOENT');
    });

    it('hard links keep nlink and parents; unlink of one keeps the data', async () => {
      const d1 = await m.mkdir(root, ROOT_INODE, n('d1'), 0o755);
      const d2 = await m.mkdir(root, ROOT_INODE, n('d2'), 0o755);
      const f = await mkfile(root, d1.ino, 'f');
      const l = await m.link(root, f, d2.ino, n('l'));
      expect(l.attr.nlink).toBe(2);
      expect(l.attr.parent).toBe(0n);
      await m.link(root, f, d2.ino, n('l2'));
      expect((await m.getattr(root, f)).nlink).toBe(3);
      await expectErrno(m.link(root, d1.ino, d2.ino, n('dl')), 'EPERM');
      await m.unlink(root, d1.ino, n('f'));
      expect((await m.getattr(root, f)).nlink).toBe(2);
      await m.rename(root, d2.ino, n('l'), d1.ino, n('back'));
      expect((await m.lookup(root, d1.ino, n('back'))).ino).toBe(f);
      await m.unlink(root, d1.ino, n('back'));
      await m.unlink(root, d2.ino, n('l2'));
      await expectErrno(m.getattr(root, f), 'ENOENT');
    });

    it('rmdir: ENOTEMPTY, ENOTDIR, nlink of parent', async () => {
      const d = await m.mkdir(root, ROOT_INODE, n('d'), 0o755);
      await mkfile(root, d.ino, 'f');
      await expectErrno(m.rmdir(root, ROOT_INODE, n('d')), 'ENOTEMPTY');
      await expectErrno(m.rmdir(root, d.ino, n('f')), 'ENOTDIR');
      await expectErrno(m.unlink(root, ROOT_INODE, n('d')), 'EISDIR');
      await m.unlink(root, d.ino, n('f'));
      await m.rmdir(root, ROOT_INODE, n('d'));
      expect((await m.getattr(root, ROOT_INODE)).nlink).toBe(2);
      await expectErrno(m.rmdir(root, ROOT_INODE, n('d')), 'ENOENT');
    });

    it('rename: replace file, replace empty dir, cross-directory nlink, into itself', async () => {
      const a = await m.mkdir(root, ROOT_INODE, n('a'), 0o755);
      const b = await m.mkdir(root, ROOT_INODE, n('b'), 0o755);
      const f1 = await mkfile(root, a.ino, 'f1');
      const f2 = await mkfile(root, b.ino, 'f2');
      await m.rename(root, a.ino, n('f1'), b.ino, n('f2'));
      expect((await m.lookup(root, b.ino, n('f2'))).ino).toBe(f1);
      await expectErrno(m.getattr(root, f2), 'ENOENT');
      await expectErrno(m.lookup(root, a.ino, n('f1')), 'ENOENT');
      const c = await m.mkdir(root, a.ino, n('c'), 0o755);
      await m.mkdir(root, b.ino, n('empty'), 0o755);
      await m.rename(root, a.ino, n('c'), b.ino, n('empty'));
      expect((await m.getattr(root, a.ino)).nlink).toBe(2);
      expect((await m.getattr(root, b.ino)).nlink).toBe(3);
      expect((await m.lookup(root, b.ino, n('empty'))).attr.parent).toBe(b.ino);
      expect((await m.lookup(root, c.ino, n('..'))).ino).toBe(b.ino);
      await expectErrno(m.rename(root, ROOT_INODE, n('b'), c.ino, n('x')), 'EINVAL');
      await mkfile(root, c.ino, 'inner');
      await m.mkdir(root, a.ino, n('full'), 0o755);
      await expectErrno(m.rename(root, a.ino, n('full'), b.ino, n('empty')), 'ENOTEMPTY');
      await expectErrno(m.rename(root, b.ino, n('f2'), b.ino, n('empty')), 'EISDIR');
      await expectErrno(m.rename(root, a.ino, n('full'), b.ino, n('f2')), 'ENOTDIR');
    });

    it('rename2: NOREPLACE and EXCHANGE', async () => {
      const a = await m.mkdir(root, ROOT_INODE, n('a'), 0o755);
      const f = await mkfile(root, ROOT_INODE, 'f');
      await expectErrno(
        m.rename(root, ROOT_INODE, n('f'), ROOT_INODE, n('a'), RenameFlag.NoReplace),
        'EEXIST',
      );
      await m.rename(root, ROOT_INODE, n('f'), ROOT_INODE, n('g'), RenameFlag.NoReplace);
      const d = await m.mkdir(root, a.ino, n('sub'), 0o755);
      await m.rename(root, ROOT_INODE, n('g'), a.ino, n('sub'), RenameFlag.Exchange);
      expect((await m.lookup(root, a.ino, n('sub'))).ino).toBe(f);
      expect((await m.lookup(root, ROOT_INODE, n('g'))).ino).toBe(d.ino);
      expect((await m.getattr(root, d.ino)).parent).toBe(ROOT_INODE);
      expect((await m.getattr(root, f)).parent).toBe(a.ino);
      expect((await m.getattr(root, a.ino)).nlink).toBe(2);
      expect((await m.getattr(root, ROOT_INODE)).nlink).toBe(4);
      await expectErrno(m.rename(root, ROOT_INODE, n('g'), a.ino, n('none'), RenameFlag.Exchange), 'ENOENT');
      await expectErrno(m.rename(root, ROOT_INODE, n('g'), a.ino, n('none'), 4), 'ENOTSUP');
    });

    it('open-but-unlinked files are sustained until close, then deleted', async () => {
      const r = await m.create(root, ROOT_INODE, n('f'), 0o644);
      const id = await m.newSliceId();
      await m.writeSlice(r.ino, 0, { pos: 0, id, size: 5, off: 0, len: 5 }, v.clock.now());
      await m.unlink(root, ROOT_INODE, n('f'));
      expect((await m.getattr(root, r.ino)).nlink).toBe(0);
      expect(await v.engines[0]!.listSustained(m.sid)).toEqual([r.ino]);
      expect(await m.readChunk(r.ino, 0)).toHaveLength(1);
      await m.close(r.ino);
      await expectErrno(m.getattr(root, r.ino), 'ENOENT');
      expect(await v.engines[0]!.listSustained(m.sid)).toEqual([]);
      await Promise.all([...metaCore(m).pending]);
      expect(await m.readChunk(r.ino, 0)).toEqual([]);
    });

    it('slices: write commits, truncate appends holes, length and usage follow', async () => {
      const f = await mkfile(root, ROOT_INODE, 'f');
      const id = await m.newSliceId();
      await m.writeSlice(f, 1, { pos: 100, id, size: 200, off: 0, len: 200 }, { sec: 5, nsec: 6 });
      const a = await m.getattr(root, f);
      expect(a.length).toBe(64 * 1024 * 1024 + 300);
      expect([a.mtime, a.mtimensec]).toEqual([5, 6]);
      expect(await m.readChunk(f, 1)).toEqual([{ pos: 100, id, size: 200, off: 0, len: 200 }]);
      await m.truncate(root, f, 10);
      expect(await m.readChunk(f, 0)).toEqual([
        { pos: 10, id: 0, size: 0, off: 0, len: 64 * 1024 * 1024 - 10 },
      ]);
      expect((await m.readChunk(f, 1)).at(-1)).toEqual({ pos: 0, id: 0, size: 0, off: 0, len: 300 });
      expect((await m.getattr(root, f)).length).toBe(10);
      await metaCore(m).stats.flush(); // usage is written in batches (once a second, as Go)
      expect(await v.engines[0]!.getCounter('usedSpace')).toBe(4096);
      await m.truncate(root, f, 5 * 4096);
      expect(await v.engines[0]!.getCounter('usedSpace')).toBe(4096); // not yet written
      const st = await m.statfs(root, ROOT_INODE); // writes the batch first
      expect(st.totalSpace - st.availSpace).toBe(5 * 4096);
      expect(await v.engines[0]!.getCounter('usedSpace')).toBe(5 * 4096);
      await expectErrno(m.truncate(root, ROOT_INODE, 0), 'EISDIR');
      await expectErrno(m.truncate(alice, f, 0), 'EACCES');
    });

    it('fallocate and copy_file_range share slices', async () => {
      const f = await mkfile(root, ROOT_INODE, 'f');
      const g = await mkfile(root, ROOT_INODE, 'g');
      const id = await m.newSliceId();
      await m.writeSlice(f, 0, { pos: 0, id, size: 1000, off: 0, len: 1000 }, v.clock.now());
      await m.fallocate(root, f, 0, 0, 5000);
      expect((await m.getattr(root, f)).length).toBe(5000);
      await m.fallocate(root, f, FallocMode.KeepSize | FallocMode.PunchHole, 100, 100);
      expect((await m.readChunk(f, 0)).at(-1)).toEqual({ pos: 100, id: 0, size: 0, off: 0, len: 100 });
      await expectErrno(m.fallocate(root, f, FallocMode.PunchHole, 0, 10), 'EINVAL');
      const copied = await m.copyFileRange(root, f, 0, g, 64 * 1024 * 1024 - 500, 1000);
      expect(copied).toBe(1000);
      const c0 = await m.readChunk(g, 0);
      const c1 = await m.readChunk(g, 1);
      expect(c0.filter((s) => s.id === id)).toEqual([
        { pos: 64 * 1024 * 1024 - 500, id, size: 1000, off: 0, len: 100 },
        { pos: 64 * 1024 * 1024 - 300, id, size: 1000, off: 200, len: 300 },
      ]);
      expect(c1.filter((s) => s.id === id)).toEqual([{ pos: 0, id, size: 1000, off: 500, len: 500 }]);
      expect((await m.getattr(root, g)).length).toBe(64 * 1024 * 1024 + 500);
    });

    it('xattrs: create/replace flags, ENODATA, list, remove', async () => {
      const f = await mkfile(alice, ROOT_INODE, 'f');
      await m.setxattr(alice, f, 'user.k', n('v1'));
      await expectErrno(m.setxattr(alice, f, 'user.k', n('v2'), XattrFlag.Create), 'EEXIST');
      await m.setxattr(alice, f, 'user.k', n('v2'), XattrFlag.Replace);
      await expectErrno(m.setxattr(alice, f, 'user.none', n('x'), XattrFlag.Replace), 'ENODATA');
      expect((await m.getxattr(alice, f, 'user.k')).toString()).toBe('v2');
      await m.setxattr(alice, f, 'user.empty', Buffer.alloc(0));
      expect((await m.getxattr(alice, f, 'user.empty')).length).toBe(0);
      expect((await m.listxattr(alice, f)).sort()).toEqual(['user.empty', 'user.k']);
      await expectErrno(m.getxattr(alice, f, 'user.none'), 'ENODATA');
      await expectErrno(m.setxattr(bob, f, 'user.k', n('x')), 'EACCES');
      await expectErrno(m.setxattr(alice, f, 'user.' + 'x'.repeat(300), n('x')), 'ERANGE');
      await expectErrno(m.setxattr(alice, f, 'user.big', Buffer.alloc(65537)), 'E2BIG');
      await m.removexattr(alice, f, 'user.k');
      await expectErrno(m.removexattr(alice, f, 'user.k'), 'ENODATA');
    });

    it('flock between sessions: shared, exclusive, release on session cleanup', async () => {
      const f = await mkfile(root, ROOT_INODE, 'f');
      const m2 = await v.client();
      await m.flock(root, f, 1n, LockType.Read, false);
      await m2.flock(root, f, 2n, LockType.Read, false);
      await expectErrno(m2.flock(root, f, 2n, LockType.Write, false), 'EAGAIN');
      await m.flock(root, f, 1n, LockType.Unlock, false);
      await m2.flock(root, f, 2n, LockType.Write, false);
      await expectErrno(m.flock(root, f, 1n, LockType.Read, false), 'EAGAIN');
      const ac = new AbortController();
      const waiting = m.flock({ ...root, signal: ac.signal }, f, 1n, LockType.Read, true);
      ac.abort();
      await expectErrno(waiting, 'EINTR');
      v.clock.advance(120_000);
      await m.heartbeat();
      await metaCore(m2).engine.txn(async () => undefined, { op: 'noop' });
      const { cleanStaleSessions } = await import('../../src/meta/sessions.js');
      await cleanStaleSessions(metaCore(m), true);
      await m.flock(root, f, 1n, LockType.Write, false);
    });

    it('POSIX record locks: ranges, conflicts, getlk, split on unlock', async () => {
      const f = await mkfile(root, ROOT_INODE, 'f');
      const m2 = await v.client();
      await m.setlk(root, f, 1n, false, { type: LockType.Write, start: 0n, end: 99n, pid: 10 });
      await m2.setlk(root, f, 2n, false, { type: LockType.Write, start: 100n, end: 199n, pid: 20 });
      await expectErrno(
        m2.setlk(root, f, 2n, false, { type: LockType.Read, start: 50n, end: 60n, pid: 20 }),
        'EAGAIN',
      );
      const c = await m2.getlk(root, f, 2n, { type: LockType.Read, start: 0n, end: 10n, pid: 20 });
      expect(c.type).toBe(LockType.Write);
      expect([c.start, c.end]).toEqual([0n, 99n]);
      await m.setlk(root, f, 1n, false, { type: LockType.Unlock, start: 40n, end: 59n, pid: 10 });
      await m2.setlk(root, f, 2n, false, { type: LockType.Read, start: 45n, end: 55n, pid: 20 });
      const free = await m2.getlk(root, f, 2n, { type: LockType.Write, start: 200n, end: 300n, pid: 20 });
      expect(free.type).toBe(LockType.Unlock);
    });

    it('statfs reports usage and honours capacity / inode limits', async () => {
      await v.close();
      await setup({ Capacity: 3 * 4096, Inodes: 2 });
      await mkfile(root, ROOT_INODE, 'a');
      await mkfile(root, ROOT_INODE, 'b');
      await expectErrno(m.create(root, ROOT_INODE, n('c'), 0o644), 'ENOSPC');
      const st = await m.statfs(root, ROOT_INODE);
      expect(st.totalSpace).toBe(3 * 4096);
      expect(st.availSpace).toBe(4096);
      expect(st.usedInodes).toBe(2);
      expect(st.availInodes).toBe(0);
      const id = await m.newSliceId();
      const a = (await m.lookup(root, ROOT_INODE, n('a'))).ino;
      await expectErrno(
        m.writeSlice(a, 0, { pos: 0, id, size: 20000, off: 0, len: 20000 }, v.clock.now()),
        'ENOSPC',
      );
    });

    it('trash: unlink and rename-over move victims into the hourly trash directory', async () => {
      await v.close();
      await setup({ TrashDays: 1 });
      const f = await mkfile(root, ROOT_INODE, 'f');
      await m.unlink(root, ROOT_INODE, n('f'));
      const trash = await m.lookup(root, ROOT_INODE, n('.trash'));
      expect(trash.ino).toBe(TRASH_INODE);
      const hours = await m.readdir(root, TRASH_INODE);
      expect(hours.map((e) => e.name.toString())).toEqual(['2023-11-14-22']);
      const sub = hours[0]!.ino;
      expect(sub).toBe(TRASH_INODE + 1n);
      const inTrash = await m.readdir(root, sub, { plus: true });
      expect(inTrash.map((e) => e.name.toString())).toEqual([`1-${f}-f`]);
      expect(inTrash[0]?.attr?.parent).toBe(sub);
      expect(inTrash[0]?.attr?.nlink).toBe(1);
      const g = await mkfile(root, ROOT_INODE, 'g');
      await mkfile(root, ROOT_INODE, 'h');
      await m.rename(root, ROOT_INODE, n('h'), ROOT_INODE, n('g'));
      expect((await m.readdir(root, sub)).map((e) => e.name.toString()).sort()).toEqual([
        `1-${f}-f`,
        `1-${g}-g`,
      ]);
      await expectErrno(m.open(root, f, 1), 'EPERM');
      await expectErrno(m.create(root, sub, n('x'), 0o644), 'EPERM');
      await expectErrno(m.unlink(alice, sub, n(`1-${f}-f`)), 'EACCES');
      await m.unlink(root, sub, n(`1-${f}-f`));
      await expectErrno(m.getattr(root, f), 'ENOENT');
    });

    it('trash: expired hours are emptied and removed, their files deleted for real', async () => {
      await v.close();
      await setup({ TrashDays: 1 });
      const f = await mkfile(root, ROOT_INODE, 'old');
      await m.unlink(root, ROOT_INODE, n('old'));
      v.clock.advance(25 * 3600 * 1000);
      expect(await m.cleanupTrash()).toBe(0);
      v.clock.advance(2 * 3600 * 1000);
      expect(await m.cleanupTrash()).toBe(1);
      expect(await m.readdir(root, TRASH_INODE)).toEqual([]);
      await expectErrno(m.getattr(root, f), 'ENOENT');
      expect(await v.engines[0]!.getCounter('totalInodes')).toBe(0);
    });

    it('immutable and append-only flags', async () => {
      const f = await mkfile(root, ROOT_INODE, 'f');
      await m.setattr(root, f, { flags: Flag.Immutable });
      await expectErrno(m.unlink(root, ROOT_INODE, n('f')), 'EPERM');
      await expectErrno(m.open(root, f, 1), 'EPERM');
      await expectErrno(m.setattr(root, f, { mode: 0o600 }), 'EPERM');
      await m.setattr(root, f, { flags: Flag.Append });
      await expectErrno(m.open(root, f, 1), 'EPERM');
      await m.open(root, f, 1 | 0o2000);
      await m.close(f);
      await expectErrno(m.truncate(root, f, 0), 'EPERM');
    });

    it('directory stats follow creates, writes and unlinks', async () => {
      const d = await m.mkdir(root, ROOT_INODE, n('d'), 0o755);
      const f = await mkfile(root, d.ino, 'f');
      const id = await m.newSliceId();
      await m.writeSlice(f, 0, { pos: 0, id, size: 5, off: 0, len: 5 }, v.clock.now());
      const e = v.engines[0]!;
      await metaCore(m).stats.flush(); // written in batches, as Go's once a second
      expect(await e.getDirStat(d.ino)).toEqual({ dataLength: 5, usedSpace: 4096, usedInodes: 1 });
      expect(await e.getDirStat(ROOT_INODE)).toMatchObject({ usedSpace: 4096, usedInodes: 1 });
      expect(await e.getCounter('usedSpace')).toBe(8192);
      expect(await e.getCounter('totalInodes')).toBe(2);
      await m.unlink(root, d.ino, n('f'));
      await metaCore(m).stats.flush();
      expect(await e.getDirStat(d.ino)).toEqual({ dataLength: 0, usedSpace: 0, usedInodes: 0 });
      expect(await e.getCounter('totalInodes')).toBe(1);
      // A removed directory's pending deltas are dropped, and its row is not re-created.
      await mkfile(root, d.ino, 'g');
      await m.unlink(root, d.ino, n('g'));
      await m.rmdir(root, ROOT_INODE, n('d'));
      await metaCore(m).stats.flush();
      expect(await e.getDirStat(d.ino)).toBeUndefined();
      expect(await e.getCounter('totalInodes')).toBe(0);
    });

    it('batched directory stats never re-create the row of a directory another client removed', async () => {
      const d = await m.mkdir(root, ROOT_INODE, n('gone'), 0o755);
      await mkfile(root, d.ino, 'x'); // this client now holds +1 inode for d, not yet written
      const m2 = await v.client();
      await m2.unlink(root, d.ino, n('x'));
      await m2.rmdir(root, ROOT_INODE, n('gone'));
      await metaCore(m2).stats.flush();
      await metaCore(m).stats.flush();
      expect(await v.engines[0]!.getDirStat(d.ino)).toBeUndefined();
      expect(await v.engines[0]!.getCounter('totalInodes')).toBe(0);
    });

    it('directory quotas return EDQUOT', async () => {
      const d = await m.mkdir(root, ROOT_INODE, n('q'), 0o777);
      await v.engines[0]!.setDirQuota(d.ino, { maxSpace: 0, maxInodes: 2, usedSpace: 0, usedInodes: 0 });
      await m.heartbeat();
      await mkfile(root, d.ino, 'a');
      const sub = await m.mkdir(root, d.ino, n('s'), 0o777);
      await expectErrno(m.create(root, sub.ino, n('x'), 0o644), 'EDQUOT');
      await m.unlink(root, d.ino, n('a'));
      await mkfile(root, sub.ino, 'x');
    });

    it('rename across different quota trees is EXDEV; within one tree it works', async () => {
      const q = await m.mkdir(root, ROOT_INODE, n('quota'), 0o777);
      const sub = await m.mkdir(root, q.ino, n('sub'), 0o777);
      await v.engines[0]!.setDirQuota(q.ino, { maxSpace: 0, maxInodes: 100, usedSpace: 0, usedInodes: 0 });
      await m.heartbeat();
      await mkfile(root, q.ino, 'f');
      await m.rename(root, q.ino, n('f'), sub.ino, n('g'));
      await expectErrno(m.rename(root, sub.ino, n('g'), ROOT_INODE, n('out')), 'EXDEV');
    });

    it("two sessions see each other's changes and conflicting creates resolve to one winner", async () => {
      const m2 = await v.client();
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) => (i % 2 ? m : m2).create(root, ROOT_INODE, n('same'), 0o644)),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(
        results
          .filter((r) => r.status === 'rejected')
          .every((r) => (r as PromiseRejectedResult).reason.errno === Errno.EEXIST),
      ).toBe(true);
      await Promise.all(
        Array.from({ length: 10 }, (_, i) => (i % 2 ? m : m2).mkdir(root, ROOT_INODE, n(`d${i}`), 0o755)),
      );
      expect((await m2.getattr(root, ROOT_INODE)).nlink).toBe(12);
      expect(await m.readdir(root, ROOT_INODE)).toHaveLength(11);
    });

    it("ownDirAttr: after each change a directory's memo equals what the engine has; failures change nothing, removals leave nothing", async () => {
      const own = (ino: Ino) => m.ownDirAttr(ino, 60_000);
      const same = async (ino: Ino): Promise<void> => {
        const o = own(ino);
        expect(o, `memo of ${ino}`).toBeDefined();
        expect(o?.attr).toEqual(await m.getattr(root, ino));
      };
      const d = await m.mkdir(root, ROOT_INODE, n('od'), 0o755);
      await same(ROOT_INODE);
      await same(d.ino);
      const sub = await m.mkdir(root, d.ino, n('s'), 0o700);
      await same(d.ino);
      await same(sub.ino);
      v.clock.advance(200); // past skip-dir-mtime: each change below rewrites the parent
      const f = await mkfile(root, d.ino, 'f');
      await same(d.ino);
      v.clock.advance(200);
      await m.symlink(root, d.ino, n('l'), n('f'));
      await same(d.ino);
      v.clock.advance(200);
      await m.link(root, f, sub.ino, n('hard'));
      await same(sub.ino);
      v.clock.advance(200);
      await m.rename(root, d.ino, n('f'), sub.ino, n('g'), 0);
      await same(d.ino);
      await same(sub.ino);
      v.clock.advance(200);
      await m.rename(root, d.ino, n('s'), ROOT_INODE, n('s2'), 0); // a directory moves: both nlinks change
      expect(own(d.ino)?.attr.nlink).toBe(2);
      await same(d.ino);
      await same(ROOT_INODE);
      await same(sub.ino);
      await m.setattr(root, d.ino, { mode: 0o711 });
      expect(own(d.ino)?.attr.mode).toBe(0o711);
      const before = own(d.ino)?.attr;
      await expectErrno(m.mkdir(root, d.ino, n('l'), 0o755), 'EEXIST');
      await expectErrno(m.rmdir(root, ROOT_INODE, n('s2')), 'ENOTEMPTY');
      expect(own(d.ino)?.attr).toEqual(before);
      await same(sub.ino);
      await m.unlink(root, sub.ino, n('g'));
      await m.unlink(root, sub.ino, n('hard'));
      await same(sub.ino);
      await m.rmdir(root, ROOT_INODE, n('s2'));
      expect(own(sub.ino)).toBeUndefined();
      await same(ROOT_INODE);
      expect(m.ownDirAttr(ROOT_INODE, 0)).toBeUndefined(); // no older than 0 ms
      // Another client's change is not seen by this client's memo (the caller bounds its age).
      const m2 = await v.client();
      await m2.setattr(root, d.ino, { mode: 0o700 });
      expect(own(d.ino)?.attr.mode).toBe(0o711);
    });

    it('names another client replaced since this client saw them are removed and renamed as they are now', async () => {
      // This client remembers which inode each name had (recent-names.ts) and reads that
      // inode beside the entry; the entry decides.
      const m2 = await v.client();
      const d = (await m.mkdir(root, ROOT_INODE, n('stale'), 0o755)).ino;
      const seen = new Map<string, Ino>();
      for (const x of ['u', 's', 't']) seen.set(x, await mkfile(root, d, x));
      const now = new Map<string, Ino>();
      for (const x of ['u', 's', 't']) {
        await m2.unlink(root, d, n(x));
        const r = await m2.create(root, d, n(x), 0o600);
        await m2.close(r.ino);
        now.set(x, r.ino);
        expect(r.ino).not.toBe(seen.get(x));
      }
      await m.unlink(root, d, n('u'));
      await expectErrno(m.getattr(root, now.get('u') as Ino), 'ENOENT');
      const moved = await m.rename(root, d, n('s'), d, n('t'), 0); // both names stale here
      expect(moved.ino).toBe(now.get('s'));
      expect(moved.attr.mode).toBe(0o600);
      expect((await m.lookup(root, d, n('t'))).ino).toBe(now.get('s'));
      await expectErrno(m.getattr(root, now.get('t') as Ino), 'ENOENT');
      for (const x of ['u', 's', 't']) await expectErrno(m.getattr(root, seen.get(x) as Ino), 'ENOENT');
      expect((await m.readdir(root, d)).map((e) => e.name.toString())).toEqual(['t']);
    });

    it('a read-only client refuses mutations with EROFS', async () => {
      const ro = await v.client({ readOnly: true });
      expect(ro.sid).toBe(0);
      await expectErrno(ro.mkdir(root, ROOT_INODE, n('x'), 0o755), 'EROFS');
      await expectErrno(ro.open(root, ROOT_INODE, 0), 'EACCES').catch(() => undefined);
    });
  });
}
