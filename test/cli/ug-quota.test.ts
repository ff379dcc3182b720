/**
 * `tjfs quota set|get|list|delete|check --uid/--gid` on SQLite: the first set turns on
 * UserGroupQuota and counts existing usage; limits are enforced by a client (EDQUOT);
 * check finds a drift and --repair fixes it; the setting flag is stored as Go's JSON.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { openEngine } from '../../src/meta/registry.js';
import { openMeta } from '../../src/meta/base-meta.js';
import { ROOT_INODE } from '../../src/base/types.js';
import { captureIo } from '../helpers/cli-io.js';

const alice = { uid: 1000, gid: 1000, gids: [1000], pid: 1 };

describe('tjfs quota --uid/--gid', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('sets, enforces, lists, checks, repairs and deletes a user quota', async () => {
    const d = mkdtempSync(join(tmpdir(), 'tjfs-ugq-'));
    dirs.push(d);
    const meta = `sqlite3://${join(d, 'v.db')}`;
    expect(
      await main(['format', meta, 'ugvol', '--bucket', join(d, 'b'), '--trash-days', '0'], captureIo().io),
    ).toBe(0);

    const m = await openMeta(meta);
    await m.start();
    const dir = await m.mkdir({ uid: 0, gid: 0, gids: [0], pid: 1 }, ROOT_INODE, Buffer.from('home'), 0o777);
    await m.create(alice, dir.ino, Buffer.from('f0'), 0o644);

    const s = captureIo();
    expect(await main(['quota', 'set', meta, '--uid', '1000', '--inodes', '2'], s.io)).toBe(0);
    expect(JSON.parse(s.out())).toEqual({
      uid: 1000,
      maxSpace: -1,
      maxInodes: 2,
      usedSpace: 4096,
      usedInodes: 1,
    });
    const e = await openEngine(meta);
    expect(JSON.parse((await e.getFormatText())!)).toMatchObject({ UserGroupQuota: true });
    await e.close();

    await m.heartbeat();
    await m.create(alice, dir.ino, Buffer.from('f1'), 0o644);
    await expect(m.create(alice, dir.ino, Buffer.from('f2'), 0o644)).rejects.toMatchObject({
      code: 'EDQUOT',
    });

    const g = captureIo();
    expect(await main(['quota', 'get', meta, '--uid', '1000'], g.io)).toBe(0);
    expect(JSON.parse(g.out())).toMatchObject({ uid: 1000, usedInodes: 2 });
    const l = captureIo();
    expect(await main(['quota', 'list', meta], l.io)).toBe(0);
    const rows = JSON.parse(l.out()) as Record<string, number>[];
    expect(rows).toContainEqual({ uid: 1000, maxSpace: -1, maxInodes: 2, usedSpace: 8192, usedInodes: 2 });
    expect(rows).toContainEqual(expect.objectContaining({ gid: 1000, usedInodes: 2 }));

    const c = captureIo();
    expect(await main(['quota', 'check', meta, '--uid', '1000'], c.io)).toBe(0);
    expect(JSON.parse(c.out())).toMatchObject({ consistent: true });
    const e2 = await openEngine(meta);
    await e2.setUserGroupQuota('user', 1000, { maxSpace: -1, maxInodes: 2, usedSpace: 0, usedInodes: 50 });
    await e2.close();
    const bad = captureIo();
    expect(await main(['quota', 'check', meta, '--uid', '1000'], bad.io)).toBe(1);
    expect(JSON.parse(bad.out())).toMatchObject({ consistent: false });
    expect(await main(['quota', 'check', meta, '--repair'], captureIo().io)).toBe(0);
    const g2 = captureIo();
    expect(await main(['quota', 'get', meta, '--uid', '1000'], g2.io)).toBe(0);
    expect(JSON.parse(g2.out())).toMatchObject({ usedSpace: 8192, usedInodes: 2 });

    expect(await main(['quota', 'delete', meta, '--uid', '1000'], captureIo().io)).toBe(0);
    await m.heartbeat();
    await m.create(alice, dir.ino, Buffer.from('f2'), 0o644); // no limit any more
    const g3 = captureIo();
    expect(await main(['quota', 'get', meta, '--uid', '1000'], g3.io)).toBe(0);
    expect(JSON.parse(g3.out())).toMatchObject({ maxInodes: -1, usedInodes: 3 });
    const both = captureIo();
    expect(await main(['quota', 'set', meta, '--uid', '1', '--gid', '1'], both.io)).not.toBe(0);
    await m.stop();
  });
});
