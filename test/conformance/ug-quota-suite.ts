/**
 * User and group quotas (JuiceFS 1.4) on every engine: enabling them counts what each owner
 * has, creates/writes/unlinks/chown move the usage, limits give EDQUOT, the stored usage
 * matches a fresh count (`quota check`), and repair fixes a drift.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BaseMeta } from '../../src/meta/base-meta.js';
import type { MetaEngine } from '../../src/meta/engine.js';
import {
  checkUserGroupQuotas,
  deleteUserGroupQuota,
  getUserGroupQuota,
  setUserGroupQuota,
} from '../../src/meta/ug-quota-admin.js';
import { ROOT_INODE, type Context, type Ino } from '../../src/base/types.js';
import { alice, bob, makeVolume, n, root, type EngineTarget, type Volume } from '../helpers/meta-fixture.js';
import { expectErrno } from './meta-suite.js';

export function runUgQuotaConformance(target: EngineTarget): void {
  describe(`user/group quotas: ${target.name}`, () => {
    let v: Volume;
    let m: BaseMeta;
    let e: MetaEngine;
    let shared: Ino;

    beforeEach(async () => {
      v = await makeVolume(target);
      m = await v.client();
      e = v.engines[0]!;
      shared = (await m.mkdir(root, ROOT_INODE, n('shared'), 0o777)).ino;
    });
    afterEach(async () => {
      await v.close();
      await target.cleanup?.();
    });

    async function mkfile(ctx: Context, name: string, length = 0): Promise<Ino> {
      const r = await m.create(ctx, shared, n(name), 0o644);
      if (length > 0) await m.fallocate(ctx, r.ino, 0, 0, length);
      await m.close(r.ino);
      return r.ino;
    }

    it('counts existing usage when enabled, then accounts creates, writes, chown and unlink', async () => {
      await mkfile(alice, 'a1', 10_000); // 12 KiB
      await m.mkdir(alice, shared, n('ad'), 0o755); // 4 KiB
      const q = await setUserGroupQuota(e, 'user', alice.uid, { maxInodes: 100 });
      expect(q).toMatchObject({ maxInodes: 100, maxSpace: -1, usedSpace: 12288 + 4096, usedInodes: 2 });
      expect(await getUserGroupQuota(e, 'group', alice.gid)).toMatchObject({ usedInodes: 2, maxSpace: -1 });
      await m.heartbeat(); // the client reloads the setting and the records

      const f = await mkfile(alice, 'a2', 5000); // 4096 create + 8192 length
      const bf = await mkfile(bob, 'b1');
      const u = async (kind: 'user' | 'group', id: number) => (await getUserGroupQuota(e, kind, id))!;
      expect(await u('user', alice.uid)).toMatchObject({ usedSpace: 16384 + 8192, usedInodes: 3 });
      expect(await u('user', bob.uid)).toMatchObject({ usedSpace: 4096, usedInodes: 1 });

      await m.setattr(root, f, { uid: bob.uid }); // the file's usage moves to bob
      expect(await u('user', alice.uid)).toMatchObject({ usedSpace: 16384, usedInodes: 2 });
      expect(await u('user', bob.uid)).toMatchObject({ usedSpace: 4096 + 8192, usedInodes: 2 });
      expect(await u('group', alice.gid)).toMatchObject({ usedInodes: 3 }); // group unchanged

      await m.unlink(root, shared, n('b1'));
      expect(await u('user', bob.uid)).toMatchObject({ usedSpace: 8192, usedInodes: 1 });
      expect(bf).toBeGreaterThan(0n);
      expect(await checkUserGroupQuotas(e, {})).toEqual([]);
    });

    it('refuses creates, writes and chown past a user or group limit with EDQUOT', async () => {
      await setUserGroupQuota(e, 'user', alice.uid, { maxInodes: 2, maxSpace: 64 * 1024 });
      await m.heartbeat();
      const f = await mkfile(alice, 'f1'); // 1 inode
      await m.mkdir(alice, shared, n('d1'), 0o755); // 2 inodes
      await expectErrno(m.create(alice, shared, n('f2'), 0o644), 'EDQUOT');
      await expectErrno(m.symlink(alice, shared, n('s'), n('f1')), 'EDQUOT');
      await expectErrno(m.fallocate(alice, f, 0, 0, 1 << 20), 'EDQUOT'); // 1 MiB > 64 KiB left
      await m.fallocate(alice, f, 0, 0, 32 * 1024); // fits
      const bf = await mkfile(bob, 'b', 0);
      await expectErrno(m.setattr(root, bf, { uid: alice.uid }), 'EDQUOT'); // alice has no inode left
      await m.create(bob, shared, n('bob-ok'), 0o644); // bob is unlimited

      await setUserGroupQuota(e, 'group', bob.gid, { maxInodes: 2 });
      await m.heartbeat();
      await expectErrno(m.create(bob, shared, n('bob-3'), 0o644), 'EDQUOT');
      expect(await deleteUserGroupQuota(e, 'group', bob.gid)).toBe(true);
      await m.heartbeat();
      await m.create(bob, shared, n('bob-3'), 0o644);
      expect(await checkUserGroupQuotas(e, {})).toEqual([]);
    });

    it('check reports a drifted usage and --repair writes the counted one', async () => {
      await mkfile(alice, 'x', 4096);
      await setUserGroupQuota(e, 'user', alice.uid, { maxSpace: 1 << 30 });
      await e.setUserGroupQuota('user', alice.uid, {
        maxSpace: 1 << 30,
        maxInodes: -1,
        usedSpace: 1,
        usedInodes: 99,
      });
      const bad = await checkUserGroupQuotas(e, { kind: 'user', id: alice.uid });
      expect(bad).toEqual([
        {
          kind: 'user',
          id: alice.uid,
          stored: { space: 1, inodes: 99 },
          counted: { space: 4096, inodes: 1 },
        },
      ]);
      await checkUserGroupQuotas(e, { repair: true });
      expect(await getUserGroupQuota(e, 'user', alice.uid)).toEqual({
        maxSpace: 1 << 30,
        maxInodes: -1,
        usedSpace: 4096,
        usedInodes: 1,
      });
      expect(await checkUserGroupQuotas(e, {})).toEqual([]);
    });
  });
}
