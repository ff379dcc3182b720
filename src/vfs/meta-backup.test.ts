/**
 * Metadata backups: the object name, JuiceFS's rotation (all of the last 2 days, one a day for
 * 2 weeks, one a week for 2 months, one a month for 2 years, nothing older), one client per
 * interval through the root's `lastBackup` xattr, and a backup that loads into an empty
 * database and dumps back the same.
 */
import { gunzipSync } from 'node:zlib';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT_CONTEXT } from '../base/types.js';
import { loadMeta } from '../meta/dump/load.js';
import { openEngine } from '../meta/registry.js';
import { MemObjectStore } from '../object/mem/mem-store.js';
import { sqliteTarget } from '../../test/helpers/engine-targets.js';
import { makeVolume, n, root, type Volume } from '../../test/helpers/meta-fixture.js';
import {
  LAST_BACKUP_XATTR,
  backupName,
  backupOnce,
  backupsToDelete,
  rotateBackups,
  startMetaBackup,
} from './meta-backup.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('rotation', () => {
  it('names backups by UTC time', () => {
    expect(backupName(new Date(Date.UTC(2026, 11, 5, 3, 4, 5)))).toBe('dump-2026-12-05-030405.json.gz');
  });

  it('keeps 2 days whole, then one a day, a week, a month, and nothing past 2 years', () => {
    const now = new Date(Date.UTC(2026, 11, 5, 12, 0, 0));
    const names: string[] = [];
    for (let t = now.getTime() - 3 * 365 * DAY; t <= now.getTime(); t += HOUR)
      names.push(backupName(new Date(t)));
    names.push('not-a-backup.json.gz', 'dump-2026-13-40-000000.json.gz');
    const del = new Set(backupsToDelete(names, now));
    expect(del.has('not-a-backup.json.gz')).toBe(false);
    expect(del.has('dump-2026-13-40-000000.json.gz')).toBe(false);
    const kept = names
      .filter(
        (x) => !del.has(x) && x.startsWith('dump-2') && x.length === 30 && !x.startsWith('dump-2026-13'),
      )
      .map((x) => Date.UTC(+x.slice(5, 9), +x.slice(10, 12) - 1, +x.slice(13, 15), +x.slice(16, 18)))
      .sort((a, b) => b - a);
    const ages = kept.map((t) => (now.getTime() - t) / DAY);
    const count = (from: number, to: number): number => ages.filter((d) => d >= from && d < to).length;
    expect(count(0, 2)).toBe(48); // everything of the last 2 days
    expect(count(2, 14)).toBe(12); // one a day
    expect(count(14, 60)).toBe(7); // one a week
    expect(count(60, 730)).toBe(23); // one a month
    expect(Math.max(...ages)).toBeLessThanOrEqual(730); // nothing past 2 years
    // a second rotation at the same time deletes nothing more
    const again = backupsToDelete(
      names.filter((x) => !del.has(x)),
      now,
    );
    expect(again).toEqual([]);
  });
});

describe('backup', () => {
  let vol: Volume | undefined;
  const sqlite = sqliteTarget();
  afterEach(async () => {
    await vol?.close();
    vol = undefined;
    await sqlite.cleanup?.();
  });

  it('one client per interval backs up, through the lastBackup xattr; the backup loads back the same', async () => {
    vol = await makeVolume(sqlite);
    const a = await vol.client();
    const b = await vol.client();
    await a.mkdir(root, 1n, n('d'), 0o755);
    const store = new MemObjectStore();
    let clock = new Date(Date.UTC(2026, 11, 5, 3, 0, 0));
    const ticks: Array<() => void> = [];
    const tick = (): Promise<void> => new Promise((r) => ticks.push(r));
    const opts = { store, intervalMs: HOUR, now: () => clock, sleep: tick };
    const ba = startMetaBackup({ ...opts, meta: a });
    const bb = startMetaBackup({ ...opts, meta: b });
    const step = async (): Promise<void> => {
      while (ticks.length < 2) await new Promise((r) => setTimeout(r, 5));
      for (const t of ticks.splice(0)) t();
      await new Promise((r) => setTimeout(r, 200));
    };
    await step(); // first wake-up: nobody has backed up yet: exactly one does
    await step(); // (settle)
    const keys = async (): Promise<string[]> => (await store.list({ prefix: 'meta/' })).map((o) => o.key);
    expect(await keys()).toEqual(['meta/dump-2026-12-05-030000.json.gz']);
    expect((await a.getxattr(ROOT_CONTEXT, 1n, LAST_BACKUP_XATTR)).toString()).toMatch(/^2026-12-05T/);
    clock = new Date(clock.getTime() + 30 * 60_000); // within the interval: none
    await step();
    expect((await keys()).length).toBe(1);
    clock = new Date(clock.getTime() + 31 * 60_000); // past it: one more
    await step();
    await step();
    expect(await keys()).toEqual([
      'meta/dump-2026-12-05-030000.json.gz',
      'meta/dump-2026-12-05-040100.json.gz',
    ]);
    ba.stop();
    bb.stop();
    for (const t of ticks.splice(0)) t();
    expect((ba.status.lastKey ?? bb.status.lastKey) !== undefined).toBe(true);

    // The backup is a gzipped dump that loads into an empty database and dumps back the same.
    const dump = gunzipSync(await store.get('meta/dump-2026-12-05-040100.json.gz'));
    expect(JSON.parse(dump.toString()).Setting.Name).toBe('testvol');
    const target = sqliteTarget();
    const engine = await openEngine(await target.freshUrl());
    try {
      await loadMeta(engine, Readable.from([dump]));
    } finally {
      await engine.close();
    }
    const direct = new PassThrough();
    const chunks: Buffer[] = [];
    direct.on('data', (c: Buffer) => chunks.push(c));
    await a.dump(direct, {});
    const live = JSON.parse(Buffer.concat(chunks).toString()) as { FSTree: unknown };
    expect(JSON.parse(dump.toString()).FSTree).toEqual(live.FSTree);
    await target.cleanup?.();
  });

  it('rotateBackups deletes what the policy drops and nothing else', async () => {
    vol = await makeVolume(sqlite);
    const m = await vol.client();
    const store = new MemObjectStore();
    const now = new Date(Date.UTC(2026, 11, 5, 12, 0, 0));
    for (const daysAgo of [0, 1, 3.2, 3.6, 800]) {
      await store.put(`meta/${backupName(new Date(now.getTime() - daysAgo * DAY))}`, Buffer.from('x'));
    }
    await store.put('meta/readme.txt', Buffer.from('keep me'));
    // the later of the two in one day's window (the earliest is kept), and the one past 2 years
    expect(await rotateBackups(store, now)).toBe(2);
    const left = (await store.list({ prefix: 'meta/' })).map((o) => o.key);
    expect(left).toContain('meta/readme.txt');
    expect(left).toContain(`meta/${backupName(new Date(now.getTime() - 3.6 * DAY))}`);
    expect(left.length).toBe(4);
    expect(await backupOnce(m, store, now)).toBe('meta/dump-2026-12-05-120000.json.gz');
  });
});
