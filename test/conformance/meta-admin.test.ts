/**
 * The administration operations of `Meta` (quotas, session adoption, lock listing, usage)
 * that the CLI, the CSI provisioner and the mount supervisor use instead of the engine.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LockType } from '../../src/meta/meta.js';
import { memTarget } from '../helpers/engine-targets.js';
import { makeVolume, n, root, type Volume } from '../helpers/meta-fixture.js';

describe('Meta administration', () => {
  let v: Volume | undefined;
  afterEach(async () => {
    await v?.close();
    v = undefined;
  });

  it('setQuota keeps the recorded usage unless asked to recount, and keeps limits not given', async () => {
    v = await makeVolume(memTarget());
    const m = await v.client();
    const d = await m.mkdir(root, 1n, n('q'), 0o755);
    await m.mkdir(root, d.ino, n('sub'), 0o755);
    await m.create(root, d.ino, n('f'), 0o644);
    expect(await m.setQuota(d.ino, { maxSpace: 1 << 30, maxInodes: 10 })).toEqual({
      maxSpace: 1 << 30,
      maxInodes: 10,
      usedSpace: 0,
      usedInodes: 0,
    });
    expect(await m.setQuota(d.ino, { maxSpace: 2 << 30 }, { recount: true })).toEqual({
      maxSpace: 2 << 30,
      maxInodes: 10,
      usedSpace: 8192,
      usedInodes: 2,
    });
    expect(await m.getQuota(d.ino)).toEqual({
      maxSpace: 2 << 30,
      maxInodes: 10,
      usedSpace: 8192,
      usedInodes: 2,
    });
    expect([...(await m.listQuotas()).keys()]).toEqual([d.ino]);
    await m.deleteQuota(d.ino);
    expect(await m.getQuota(d.ino)).toBeUndefined();
  });

  it('adoptSession continues an earlier session with its locks; usage reads the counters', async () => {
    v = await makeVolume(memTarget());
    const old = await v.client();
    const f = await old.create(root, 1n, n('f'), 0o644);
    await old.flock(root, f.ino, 7n, LockType.Write, false);
    const next = await v.client();
    const fresh = next.sid;
    await next.adoptSession(old.sid, { MountPoint: '/m' });
    expect(next.sid).toBe(old.sid);
    expect((await next.listSessions()).map((s) => s.sid)).not.toContain(fresh);
    expect((await next.listLocks(f.ino)).flocks).toEqual([{ sid: old.sid, owner: 7n, type: 'W' }]);
    await old.usage(); // writes the old client's batched usage
    expect(await next.usage()).toEqual({ usedSpace: 4096, usedInodes: 1 });
  });
});
