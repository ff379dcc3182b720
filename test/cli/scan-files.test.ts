/**
 * Meta.scanFiles (fsck, gc, quota recount) after it stopped remembering every inode: a
 * hard-linked file is still reported once, single-link files in the tree and the trash once
 * each, and an open-but-unlinked (sustained) file once, with its slices.
 */
import { describe, expect, it } from 'vitest';
import type { Ino } from '../../src/base/types.js';
import { makeVolume, n, root } from '../helpers/meta-fixture.js';
import { memTarget, sqliteTarget } from '../helpers/engine-targets.js';

for (const target of [memTarget(), sqliteTarget()]) {
  describe(`scanFiles on ${target.name}`, () => {
    it('reports each file inode once: hard links, plain files, sustained files', async () => {
      const vol = await makeVolume(target, { TrashDays: 1 });
      try {
        const m = await vol.client();
        const slice = async (ino: Ino): Promise<number> => {
          const id = await m.newSliceId();
          await m.writeSlice(ino, 0, { pos: 0, id, size: 100, off: 0, len: 100 }, { sec: 1, nsec: 0 });
          return id;
        };
        const d = await m.mkdir(root, 1n, n('d'), 0o755);
        const linked = await m.create(root, 1n, n('linked'), 0o644);
        const linkedId = await slice(linked.ino);
        await m.link(root, linked.ino, d.ino, n('again'));
        await m.link(root, linked.ino, d.ino, n('third'));
        const plain: Ino[] = [];
        for (let i = 0; i < 5; i++) plain.push((await m.create(root, d.ino, n(`f${i}`), 0o644)).ino);
        const trashed = await m.create(root, 1n, n('trashed'), 0o644);
        await m.unlink(root, 1n, n('trashed')); // to the trash (TrashDays 1)
        const open = await m.create(root, 1n, n('open'), 0o644); // create opens it
        const openId = await slice(open.ino);
        await m.unlink(root, 1n, n('open'), { skipTrash: true }); // sustained while open
        const seen = new Map<Ino, number[]>();
        await m.scanFiles(async (f) => {
          expect(seen.has(f.ino), `inode ${f.ino} reported twice`).toBe(false);
          seen.set(
            f.ino,
            f.slices.map((s) => s.id),
          );
        });
        expect(seen.get(linked.ino)).toEqual([linkedId]);
        for (const p of plain) expect(seen.get(p)).toEqual([]);
        expect(seen.get(trashed.ino)).toEqual([]);
        expect(seen.get(open.ino)).toEqual([openId]);
        expect(seen.size).toBe(1 + 5 + 1 + 1);
        await m.close(open.ino);
      } finally {
        await vol.close();
        await target.cleanup?.();
      }
    });
  });
}
