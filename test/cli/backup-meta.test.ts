/**
 * `mount --backup-meta` end to end: a mount of a file-store volume (SQLite and Redis) writes
 * `meta/dump-*.json.gz` to the bucket on its own, sets the root's `lastBackup` time, exports
 * the last backup's time and duration as metrics, and `tjfs load` of that object restores
 * the files into an empty engine. A second mount of the same volume within the interval does
 * not back up again. Intervals under five minutes are refused (SKIP_BACKUP_META_CHECK=true is
 * JuiceFS's escape hatch, used here to keep the test short), and so is nonsense.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuseAvailable } from '../fuse/harness.js';
import { BIN, tjfs, useE2eEnv, waitFor, type VolumeKind } from '../helpers/mount.js';
import { ok, run, type ChildResult } from '../helpers/proc.js';

const canMount = fuseAvailable();
if (!canMount) console.warn('backup-meta: FUSE unavailable, skipped');
const hasRedis = existsSync('/usr/bin/redis-server');
if (!hasRedis) console.warn('backup-meta: redis-server missing, Redis case skipped');

function backups(bucketVolDir: string): string[] {
  const d = join(bucketVolDir, 'meta');
  return existsSync(d) ? readdirSync(d).filter((n) => /^dump-\d{4}-\d\d-\d\d-\d{6}\.json\.gz$/.test(n)) : [];
}

describe.skipIf(!canMount)('mount --backup-meta', () => {
  const env = useE2eEnv('backup-meta');
  const saved = process.env['SKIP_BACKUP_META_CHECK'];
  beforeAll(() => {
    process.env['SKIP_BACKUP_META_CHECK'] = 'true';
  });
  afterAll(() => {
    if (saved === undefined) delete process.env['SKIP_BACKUP_META_CHECK'];
    else process.env['SKIP_BACKUP_META_CHECK'] = saved;
  });

  const kinds: VolumeKind[] = hasRedis ? ['sqlite-file', 'redis-file'] : ['sqlite-file'];
  for (const kind of kinds) {
    it(`${kind}: a mount backs the metadata up to the bucket, and load restores it`, async () => {
      const vol = await env().createVolume(kind);
      const volDir = join(vol.dir, 'bucket', vol.name);
      const m = await env().mount(vol, ['--backup-meta', '3s', '--metrics', '127.0.0.1:0']);
      mkdirSync(join(m.mp, 'd1'));
      for (let i = 0; i < 20; i++) writeFileSync(join(m.mp, 'd1', `f${i}`), `content ${i}\n`);
      expect(await waitFor(() => backups(volDir).length > 0, 30_000, 200)).toBe(true);
      const [first] = backups(volDir);
      const cfg = JSON.parse(ok(await run('cat', [join(m.mp, '.config')]), 'cat .config')) as {
        Mount: { MetricsAddress: string; backupMeta: string };
      };
      expect(cfg.Mount.backupMeta).toBe('3s');
      const metrics = await (await fetch(`http://${cfg.Mount.MetricsAddress}/metrics`)).text();
      const last = /^juicefs_last_successful_backup\{[^}]*\} (\S+)$/m.exec(metrics);
      expect(last, metrics.slice(0, 400)).not.toBeNull();
      expect(Number(last?.[1])).toBeGreaterThan(Date.now() / 1000 - 120);
      expect(metrics).toMatch(/^juicefs_last_backup_duration\{[^}]*\} \d/m);
      await env().unmount(m);

      // Restore the backup into an empty SQLite engine and read the tree back.
      const target = `sqlite3://${join(vol.dir, 'restored.db')}`;
      ok(await tjfs(['load', target, join(volDir, 'meta', first ?? '')], 60_000), 'tjfs load');
      const dumped = ok(await tjfs(['dump', target]), 'tjfs dump');
      const doc = JSON.parse(dumped) as {
        FSTree: { entries: Record<string, { entries?: Record<string, unknown> }> };
      };
      const d1 = doc.FSTree.entries['d1'];
      expect(Object.keys(d1?.entries ?? {}).length).toBeGreaterThan(0);
      expect(dumped).toContain('"lastBackup"');
    }, 120_000);
  }

  it('a second mount within the interval does not back up again', async () => {
    const vol = await env().createVolume('sqlite-file');
    const volDir = join(vol.dir, 'bucket', vol.name);
    const a = await env().mount(vol, ['--backup-meta', '4s']);
    expect(await waitFor(() => backups(volDir).length > 0, 30_000, 200)).toBe(true);
    await env().unmount(a);
    const n = backups(volDir).length;
    // A 10 min interval: the root says the last backup was seconds ago, so none is due.
    const b = await env().mount(vol, ['--backup-meta', '10m']);
    await new Promise((r) => setTimeout(r, 2_000));
    expect(backups(volDir).length).toBe(n);
    expect(b.log()).not.toContain('backup metadata succeeded');
  }, 90_000);

  it('--backup-meta 0 and --read-only turn it off; short and malformed intervals are refused', async () => {
    const vol = await env().createVolume('sqlite-file');
    const off = await env().mount(vol, ['--backup-meta', '0']);
    expect(off.log()).toContain('metadata backup is disabled');
    await env().unmount(off);
    const ro = await env().mount(vol, ['--backup-meta', '3s', '--read-only']);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(ro.log()).toContain('metadata backup is disabled');
    expect(backups(join(vol.dir, 'bucket', vol.name))).toEqual([]);
    await env().unmount(ro);
    const mount = (iv: string): Promise<ChildResult> =>
      run(process.execPath, [BIN, 'mount', vol.metaUrl, join(env().base, 'never'), '--backup-meta', iv], {
        env: { SKIP_BACKUP_META_CHECK: '' },
      });
    const short = await mount('1m');
    expect(short.code).toBe(1);
    expect(short.stderr).toContain('--backup-meta should not be less than 5 minutes: 1m');
    const bad = await mount('soon');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--backup-meta: invalid duration "soon"');
  }, 60_000);
});
