/**
 * Background deletion of removed files' data is bounded (JuiceFS maxDeleting): removing many
 * files whose data goes slowly keeps at most 100 deletions in flight and a bounded backlog
 * (removals wait once it is full) instead of one promise per removed file, and every file's
 * data and delfiles entry are still gone once the client stops.
 */
import { describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { metaCore } from '../../src/meta/base-meta.js';
import { makeVolume, n, root } from '../helpers/meta-fixture.js';
import { memTarget } from '../helpers/engine-targets.js';

describe('background deletion of removed files', () => {
  it('keeps at most 100 deletions in flight and the backlog bounded; all data is freed', async () => {
    const freed: number[] = [];
    const vol = await makeVolume(memTarget());
    try {
      const m = await vol.client({
        onFreeSlices: async (s) => {
          await sleep(1); // slow object deletes: removals outrun them
          freed.push(...s.map((x) => x.id));
        },
      });
      const core = metaCore(m);
      const files = 10_500; // more than the backlog holds
      for (let i = 0; i < files; i++) {
        const f = await m.create(root, 1n, n(`f${i}`), 0o644);
        const id = await m.newSliceId();
        await m.writeSlice(f.ino, 0, { pos: 0, id, size: 10, off: 0, len: 10 }, { sec: 1, nsec: 0 });
        await m.close(f.ino);
      }
      let maxInFlight = 0;
      let maxBacklog = 0;
      const backlog = (): number => (core as unknown as { deleteBacklog: unknown[] }).deleteBacklog.length;
      for (let i = 0; i < files; i++) {
        await m.unlink(root, 1n, n(`f${i}`));
        maxInFlight = Math.max(maxInFlight, core.pending.size);
        maxBacklog = Math.max(maxBacklog, backlog());
      }
      expect(maxInFlight).toBeLessThanOrEqual(100);
      expect(maxInFlight).toBeGreaterThan(0);
      expect(maxBacklog).toBeLessThanOrEqual(10_000);
      expect(maxBacklog).toBeGreaterThan(1000); // the removals did outrun the deletions
      while (core.pending.size > 0) await Promise.allSettled([...core.pending]);
      expect(freed).toHaveLength(files);
      expect(await core.engine.listDelFiles()).toEqual([]);
    } finally {
      await vol.close();
    }
  }, 120_000);
});
