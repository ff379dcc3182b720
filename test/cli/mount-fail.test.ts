/**
 * `tjfs mount` fails cleanly (spawned dist/ CLI): a missing or unformatted database, or an
 * unusable mount point, is reported with its real cause (not "see log"), in the foreground
 * and with -d, and nothing is created (no mount point directory, no SQLite file). Mounting
 * twice on one mount point is refused while the first daemon keeps serving: one daemon.
 * Only the last test mounts FUSE (one mount, removed by the harness even on failure).
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fuseAvailable } from '../fuse/harness.js';
import { isMounted, processesMentioning, tjfs, useE2eEnv } from '../helpers/mount.js';

describe('tjfs mount fails cleanly', () => {
  const env = useE2eEnv('mountfail');

  it('a missing or unformatted database: the real cause, no mount point, no database', async () => {
    const dir = join(env().base, 'nothing');
    mkdirSync(dir);
    const db = join(dir, 'missing.db');
    const mp = join(dir, 'deep', 'mnt');
    for (const extra of [[], ['-d', '--log', join(env().base, 'mountfail.log')]]) {
      const r = await tjfs(['mount', `sqlite3://${db}`, mp, ...extra], 20_000);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr.trim()).toMatch(/^tjfs: database .*missing\.db does not exist/);
      expect(r.stderr).not.toMatch(/see .*log|\n\s+at /);
      expect(readdirSync(dir)).toEqual([]);
    }
    writeFileSync(db, '');
    const r = await tjfs(
      ['mount', `sqlite3://${db}`, mp, '-d', '--log', join(env().base, 'mountfail.log')],
      20_000,
    );
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^tjfs: database .* is not formatted/);
    expect(existsSync(join(dir, 'deep'))).toBe(false);
  }, 60_000);

  it('a mount point that is a file is refused', async () => {
    const vol = await env().createVolume('sqlite-file');
    const file = join(env().base, 'a-file');
    writeFileSync(file, 'x');
    const r = await tjfs(['mount', vol.metaUrl, file], 20_000);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^tjfs: mount point .*a-file is not a directory$/);
  }, 60_000);

  it.skipIf(!fuseAvailable())(
    'mounting twice on one mount point is refused; one daemon serves',
    async () => {
      const vol = await env().createVolume('sqlite-file');
      const m = await env().mount(vol, [], 'twice');
      const before = processesMentioning(m.mp); // the daemon (and its FUSE watchdog)
      expect(before).toContain(m.pid);
      for (const extra of [[], ['-d', '--log', join(env().base, 'twice.log')]]) {
        const r = await tjfs(
          ['mount', vol.metaUrl, m.mp, '--cache-dir', join(env().base, 'c2'), ...extra],
          20_000,
        );
        expect(r.code, r.stderr).toBe(1);
        expect(r.stderr.trim()).toMatch(/^tjfs: .*twice is already mounted by tjfs; unmount it first/);
      }
      expect(isMounted(m.mp)).toBe(true);
      expect(processesMentioning(m.mp)).toEqual(before);
      await env().unmount(m);
    },
    60_000,
  );
});
