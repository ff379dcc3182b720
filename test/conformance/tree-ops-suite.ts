/**
 * Tree operations (meta/tree-ops.ts: rmr, restore, info and summary walks) on every engine:
 * a removed tree lands in the trash hour entry by entry and restore rebuilds it then puts it
 * back; --skip-trash frees the inodes; permissions of the caller apply; summaries count the
 * tree and fold all but the largest entries; small batches and many workers agree.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BaseMeta } from '../../src/meta/base-meta.js';
import { getSummary, getTreeSummary, removeTree, restoreHour } from '../../src/meta/tree-ops.js';
import { FileType, ROOT_INODE, TRASH_INODE, type Ino } from '../../src/base/types.js';
import { alice, makeVolume, n, root, type EngineTarget, type Volume } from '../helpers/meta-fixture.js';
import { expectErrno } from './meta-suite.js';

/** d/{f0..f(k-1)} (i bytes each via setattr size), d/s{0..2}/g, d/s0/deep/h: returns d's inode. */
async function build(m: BaseMeta, k: number): Promise<Ino> {
  const d = (await m.mkdir(root, ROOT_INODE, n('d'), 0o755)).ino;
  for (let i = 0; i < k; i++) {
    const f = await m.create(root, d, n(`f${i}`), 0o644);
    await m.setattr(root, f.ino, { size: 1000 * (i + 1) });
    await m.close(f.ino);
  }
  for (let j = 0; j < 3; j++) {
    const s = (await m.mkdir(root, d, n(`s${j}`), 0o755)).ino;
    const g = await m.create(root, s, n('g'), 0o644);
    await m.close(g.ino);
    if (j === 0) {
      const deep = (await m.mkdir(root, s, n('deep'), 0o755)).ino;
      await m.close((await m.create(root, deep, n('h'), 0o644)).ino);
    }
  }
  return d;
}

export function runTreeOpsConformance(target: EngineTarget): void {
  describe(`tree ops: ${target.name}`, () => {
    let v: Volume;
    let m: BaseMeta;

    beforeEach(async () => {
      v = await makeVolume(target, { TrashDays: 1 });
      m = await v.client();
    });
    afterEach(async () => {
      await v.close();
      await target.cleanup?.();
    });

    it('summaries count the tree; the tree summary keeps the largest entries', async () => {
      const d = await build(m, 5);
      const all = await getSummary(m, d, { recursive: true });
      expect(all).toEqual({
        files: 9,
        dirs: 5,
        length: 15000,
        size: 4096 * 5 + (4 * 4096 + 8192) + 4096 * 4,
      });
      const flat = await getSummary(m, d);
      expect({ files: flat.files, dirs: flat.dirs }).toEqual({ files: 5, dirs: 4 });
      const t = await getTreeSummary(m, d, '/d', { depth: 1, topN: 2 });
      expect(t.files).toBe(9);
      expect(t.dirs).toBe(5);
      expect(t.children.map((c) => c.path)).toEqual(['/d/s0', '/d/f4', '/d/...']);
      expect(t.children[0]!.files).toBe(2);
      expect(t.children[2]!.files + t.children[2]!.dirs).toBe(4 + 2 + 2);
    });

    it('removeTree moves every entry to the trash hour; restore rebuilds then puts back', async () => {
      const d = await build(m, 4);
      const before = await getSummary(m, d, { recursive: true });
      let removed = 0;
      await removeTree(m, root, ROOT_INODE, n('d'), {
        threads: 3,
        batch: 2,
        onProgress: (c) => (removed += c),
      });
      expect(removed).toBe(before.files + before.dirs);
      await expectErrno(m.lookup(root, ROOT_INODE, n('d')), 'ENOENT');
      const hours = await m.readdir(root, TRASH_INODE);
      expect(hours).toHaveLength(1);
      const hour = hours[0]!.name.toString();
      expect(await m.readdir(root, hours[0]!.ino)).toHaveLength(before.files + before.dirs);

      const r1 = await restoreHour(m, hour, { threads: 4 });
      expect(r1).toEqual({ restored: before.files + before.dirs - 1, skipped: 1, conflicts: 0, failed: 0 });
      const r2 = await restoreHour(m, hour, { putBack: true });
      expect(r2).toEqual({ restored: 1, skipped: 0, conflicts: 0, failed: 0 });
      const back = await m.lookup(root, ROOT_INODE, n('d'));
      expect(back.ino).toBe(d);
      expect(await getSummary(m, d, { recursive: true })).toEqual(before);
      expect(await m.readdir(root, hours[0]!.ino)).toHaveLength(0);
      const hAttr = await m.getattr(root, hours[0]!.ino);
      expect(hAttr.nlink).toBeGreaterThanOrEqual(2);
    });

    it('removeTree lists a big directory a batch at a time and removes all of it', async () => {
      const d = (await m.mkdir(root, ROOT_INODE, n('big'), 0o755)).ino;
      for (let i = 0; i < 150; i++) await m.close((await m.create(root, d, n(`f${i}`), 0o644)).ino);
      const sub = (await m.mkdir(root, d, n('sub'), 0o755)).ino;
      for (let i = 0; i < 40; i++) await m.mknod(root, sub, n(`g${i}`), { type: FileType.File, mode: 0o644 });
      // The engine's limit: at most that many, and all of them when the limit is larger.
      expect(await m.readdir(root, d, { limit: 7 })).toHaveLength(7);
      expect(await m.readdir(root, d, { limit: 1000 })).toHaveLength(151);
      const listed: number[] = [];
      const readdir = m.readdir.bind(m);
      m.readdir = async (c, ino, o) => {
        const r = await readdir(c, ino, o);
        listed.push(r.length);
        return r;
      };
      let removed = 0;
      await removeTree(m, root, ROOT_INODE, n('big'), {
        skipTrash: true,
        threads: 4,
        batch: 16,
        onProgress: (c) => (removed += c),
      });
      expect(removed).toBe(150 + 40 + 2);
      expect(Math.max(...listed)).toBe(16);
      expect(listed.length).toBeGreaterThanOrEqual(Math.ceil(151 / 16) + Math.ceil(40 / 16));
      await expectErrno(m.lookup(root, ROOT_INODE, n('big')), 'ENOENT');
    });

    it('a put-back never overwrites: the existing name is a conflict', async () => {
      await build(m, 1);
      await removeTree(m, root, ROOT_INODE, n('d'));
      await m.mkdir(root, ROOT_INODE, n('d'), 0o755);
      const hour = (await m.readdir(root, TRASH_INODE))[0]!.name.toString();
      const r = await restoreHour(m, hour, { putBack: true });
      expect(r.conflicts).toBe(1);
    });

    it('skipTrash frees the inodes; the caller needs permission', async () => {
      const base = (await m.usage()).usedInodes;
      await build(m, 3);
      await expectErrno(removeTree(m, alice, ROOT_INODE, n('d')), 'EACCES');
      await removeTree(m, root, ROOT_INODE, n('d'), { skipTrash: true });
      // alice's refused attempt may have made the hour directory; nothing went into it.
      const hours = await m.readdir(root, TRASH_INODE).catch(() => []);
      for (const h of hours) expect(await m.readdir(root, h.ino)).toHaveLength(0);
      expect((await m.usage()).usedInodes).toBe(base + hours.length); // hour directories count

      await expectErrno(removeTree(m, root, ROOT_INODE, n('d')), 'ENOENT');
    });
  });
}
