/**
 * MetaEngine.txRestarts counts transactions re-run after a conflict: two clients of one
 * volume creating files concurrently in one directory conflict on the parent (Redis WATCH,
 * SQL serialization failures), every create still succeeds once, and the count rises; a
 * single client making one create at a time never conflicts. A client's Vfs exports the count
 * in `.stats` as juicefs_transaction_restart.
 */
import { describe, expect, it } from 'vitest';
import { ROOT_INODE } from '../../src/base/types.js';
import { openVolume } from '../../src/api/volume.js';
import { formatTestVolume } from '../helpers/api-volume.js';
import { redisTarget, withMysql, withPg } from '../helpers/engine-targets.js';
import { makeVolume, n, root, type EngineTarget } from '../helpers/meta-fixture.js';

function suite(target: EngineTarget): void {
  it(`counts conflicts on ${target.name}`, async () => {
    const v = await makeVolume(target);
    try {
      const a = await v.client();
      const b = await v.client();
      for (let i = 0; i < 5; i++) await a.create(root, ROOT_INODE, n(`s${i}`), 0o644);
      expect(a.txRestarts()).toBe(0);
      const each = 40;
      await Promise.all(
        [a, b].flatMap((m, c) =>
          Array.from({ length: each }, (_, i) => m.create(root, ROOT_INODE, n(`c${c}-${i}`), 0o644)),
        ),
      );
      const names = await a.readdir(root, ROOT_INODE);
      expect(names.filter((e) => e.name.toString().startsWith('c'))).toHaveLength(2 * each);
      expect((a.txRestarts() ?? 0) + (b.txRestarts() ?? 0)).toBeGreaterThan(0);
    } finally {
      await v.close();
      await target.cleanup?.();
    }
  }, 60_000);
}

/**
 * One client's own transactions queue instead (src/meta/key-locks.ts): 4 creates at a time in
 * one directory, 100 in all, restart none. (Not on PostgreSQL: its BEGIN takes the snapshot.)
 */
function queued(target: EngineTarget): void {
  it(`one client's concurrent creates in one directory restart none on ${target.name}`, async () => {
    const v = await makeVolume(target);
    try {
      const a = await v.client();
      const d = (await a.mkdir(root, ROOT_INODE, n('d'), 0o755)).ino;
      const before = a.txRestarts() ?? 0;
      let next = 0;
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (next < 100) await a.create(root, d, n(`q${next++}`), 0o644);
        }),
      );
      expect(await a.readdir(root, d)).toHaveLength(100);
      expect((a.txRestarts() ?? 0) - before).toBe(0);
    } finally {
      await v.close();
      await target.cleanup?.();
    }
  }, 60_000);
}

describe('transaction restarts on redis', () => {
  const target = redisTarget();
  suite(target);
  queued(target);

  it('a client exports them as juicefs_transaction_restart in .stats', async () => {
    const url = await target.freshUrl();
    const vol = await formatTestVolume({ meta: { redisUrl: url }, storage: 'mem' });
    const [a, b] = [await openVolume(vol.metaUrl), await openVolume(vol.metaUrl)];
    try {
      await Promise.all(
        [a, b].flatMap((v, c) => Array.from({ length: 40 }, (_, i) => v.writeFile(`/c${c}-${i}`, ''))),
      );
      const restarts = a.runtime.meta.txRestarts() ?? 0;
      expect(restarts + (b.runtime.meta.txRestarts() ?? 0)).toBeGreaterThan(0);
      expect(await a.vfs.obs.metrics()).toContain(
        `juicefs_transaction_restart{vol_name="${vol.name}"} ${restarts}`,
      );
    } finally {
      await a.close();
      await b.close();
      await vol.cleanup();
    }
  }, 60_000);
});
withPg('transaction restarts on postgres', suite);
withMysql('transaction restarts on mysql', (t) => {
  suite(t);
  queued(t);
});
