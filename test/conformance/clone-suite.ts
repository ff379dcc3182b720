/**
 * Meta.clone on one engine: a cloned file shares the source's slices (one more reference
 * each, so removing either copy frees nothing the other reads); a tree keeps its shape,
 * symlinks, xattrs and nlink; usage counts the copies; ownership follows the caller unless
 * `preserve`; EEXIST / EACCES / EPERM refuse with nothing created; a directory cloned into
 * itself terminates.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileType, TRASH_INODE, type Ino } from '../../src/base/types.js';
import type { BaseMeta } from '../../src/meta/base-meta.js';
import type { EngineTarget, Volume } from '../helpers/meta-fixture.js';
import { alice, makeVolume, n, root } from '../helpers/meta-fixture.js';

export function runCloneConformance(target: EngineTarget): void {
  describe(`clone: ${target.name}`, () => {
    let v: Volume;
    let m: BaseMeta;
    beforeEach(async () => {
      v = await makeVolume(target);
      m = await v.client();
    });
    afterEach(async () => {
      await v.close();
      await target.cleanup?.();
    });

    async function fileWithSlices(parent: Ino, name: string, ids: number[]): Promise<Ino> {
      const { ino } = await m.create(root, parent, n(name), 0o644);
      let pos = 0;
      for (const id of ids) {
        const sid = id === 0 ? await m.newSliceId() : id;
        await m.writeSlice(ino, 0, { pos, id: sid, size: 1000, off: 0, len: 1000 }, v.clock.now());
        pos += 1000;
      }
      await m.close(ino); // create opened it
      return ino;
    }

    it('a cloned file shares the slices: refs + 1, same records, nothing freed by removing the source', async () => {
      const src = await fileWithSlices(1n, 'a', [0, 0]);
      const before = await m.readChunk(src, 0);
      const res = await m.clone(root, src, 1n, n('b'));
      expect(res.count).toBe(1);
      expect(await m.readChunk(res.ino, 0)).toEqual(before);
      const refs = await v.engines[0]!.getSliceRefs();
      for (const s of before) expect(refs.get(s.id)).toBe(2);
      expect((await m.getattr(root, res.ino)).length).toBe(2000);
      await m.unlink(root, 1n, n('a'));
      // The source's data is deleted in the background: wait until its references are gone.
      const dropped = async (): Promise<boolean> => {
        const r = await v.engines[0]!.getSliceRefs();
        return before.every((s) => (r.get(s.id) ?? 1) === 1);
      };
      for (let i = 0; i < 100 && !(await dropped()); i++) await new Promise((r) => setTimeout(r, 20));
      expect(await dropped()).toBe(true);
      expect(await v.engines[0]!.listOrphanSlices()).toEqual([]);
      expect(await m.readChunk(res.ino, 0)).toEqual(before);
    });

    it('a tree keeps its shape, symlinks, xattrs and nlink; usage counts the copies', async () => {
      const d = (await m.mkdir(root, 1n, n('d'), 0o755)).ino;
      const sub = (await m.mkdir(root, d, n('sub'), 0o700)).ino;
      await fileWithSlices(sub, 'f', [0]);
      await m.symlink(root, d, n('l'), n('sub/f'));
      await m.setxattr(root, d, 'user.k', n('v'));
      const u0 = await m.usage();
      const res = await m.clone(root, d, 1n, n('d2'));
      expect(res.count).toBe(4);
      const names = (await m.readdir(root, res.ino)).map((e) => e.name.toString()).sort();
      expect(names).toEqual(['l', 'sub']);
      const sub2 = (await m.lookup(root, res.ino, n('sub'))).ino;
      expect(sub2).not.toBe(sub);
      expect((await m.getattr(root, res.ino)).nlink).toBe(3);
      expect((await m.getattr(root, 1n)).nlink).toBe(4);
      const f2 = (await m.lookup(root, sub2, n('f'))).ino;
      expect((await m.getattr(root, f2)).type).toBe(FileType.File);
      const l2 = (await m.lookup(root, res.ino, n('l'))).ino;
      expect((await m.readlink(root, l2)).toString()).toBe('sub/f');
      expect((await m.getxattr(root, res.ino, 'user.k')).toString()).toBe('v');
      const u1 = await m.usage();
      expect(u1.usedInodes - u0.usedInodes).toBe(4);
      expect(u1.usedSpace - u0.usedSpace).toBe(3 * 4096 + 4096);
    });

    it('ownership follows the caller unless preserve', async () => {
      const d = (await m.mkdir(root, 1n, n('pub'), 0o777)).ino;
      const f = (await m.create(root, d, n('f'), 0o644)).ino;
      await m.setattr(root, f, { uid: 7, gid: 8 });
      const a = await m.clone(alice, f, d, n('mine'), { umask: 0o022 });
      const at = await m.getattr(root, a.ino);
      expect([at.uid, at.gid, at.mode & 0o7777]).toEqual([alice.uid, alice.gid, 0o644]);
      const p = await m.clone(root, f, d, n('kept'), { preserve: true });
      const pt = await m.getattr(root, p.ino);
      expect([pt.uid, pt.gid]).toEqual([7, 8]);
    });

    it('refuses with EEXIST, EACCES and EPERM, creating nothing', async () => {
      const f = await fileWithSlices(1n, 'a', [0]);
      await m.mkdir(root, 1n, n('x'), 0o755);
      const u0 = await m.usage();
      await expect(m.clone(root, f, 1n, n('x'))).rejects.toMatchObject({ code: 'EEXIST' });
      const secret = (await m.mkdir(root, 1n, n('secret'), 0o700)).ino;
      await expect(m.clone(alice, secret, 1n, n('y'))).rejects.toMatchObject({ code: 'EACCES' });
      await expect(m.clone(root, f, TRASH_INODE, n('z'))).rejects.toMatchObject({ code: 'EPERM' });
      const u1 = await m.usage();
      expect(u1.usedInodes - u0.usedInodes).toBe(1); // only `secret`
      expect((await m.readdir(root, 1n)).map((e) => e.name.toString()).sort()).toEqual(['a', 'secret', 'x']);
    });

    it('a clone that fails half-way removes what it built and gives the references back', async () => {
      const d = (await m.mkdir(root, 1n, n('pub'), 0o777)).ino;
      await m.setattr(root, 1n, { mode: 0o777 });
      const f = await fileWithSlices(d, 'f', [0, 0]);
      for (let i = 0; i < 5; i++) await m.mkdir(root, d, n(`open${i}`), 0o755);
      await m.mkdir(root, d, n('secret'), 0o700); // alice cannot list it: EACCES mid-way
      const recs = await m.readChunk(f, 0);
      const u0 = await m.usage();
      await expect(m.clone(alice, d, 1n, n('copy'))).rejects.toMatchObject({ code: 'EACCES' });
      expect((await m.readdir(root, 1n)).map((e) => e.name.toString()).sort()).toEqual(['pub']);
      const u1 = await m.usage();
      expect([u1.usedInodes, u1.usedSpace]).toEqual([u0.usedInodes, u0.usedSpace]);
      const refs = await v.engines[0]!.getSliceRefs();
      for (const s of recs) expect(refs.get(s.id) ?? 1).toBe(1);
      expect((await m.getattr(root, 1n)).nlink).toBe(3);
    });

    it('a directory cloned into itself copies the tree as it was', async () => {
      const d = (await m.mkdir(root, 1n, n('d'), 0o755)).ino;
      await m.mkdir(root, d, n('a'), 0o755);
      const res = await m.clone(root, d, d, n('copy'));
      expect(res.count).toBe(2);
      expect((await m.readdir(root, res.ino)).map((e) => e.name.toString())).toEqual(['a']);
    });
  });
}
