/**
 * fsck and gc on a real embedded volume (SQLite + file bucket): a written file checks out;
 * a removed block is reported by fsck; an unreferenced object is found by gc (once older
 * than an hour) and deleted with --delete.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openVolume } from '../../src/api/volume.js';
import { runGc } from '../../src/cli/commands/fsck-gc.js';
import { main } from '../../src/cli/main.js';
import { captureIo } from '../helpers/cli-io.js';

function findBlocks(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...findBlocks(p));
    else if (/^\d+_\d+_\d+$/.test(e.name)) out.push(p);
  }
  return out;
}

describe('fsck and gc', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('checks blocks, reports missing ones, and collects leaked objects', async () => {
    const d = mkdtempSync(join(tmpdir(), 'tjfs-gc-'));
    dirs.push(d);
    const meta = `sqlite3://${join(d, 'v.db')}`;
    const bucket = join(d, 'bucket');
    expect(
      await main(['format', meta, 'gcvol', '--bucket', bucket, '--trash-days', '0'], captureIo().io),
    ).toBe(0);
    const vol = await openVolume(meta, { cacheDir: 'memory' });
    await vol.writeFile('/f', Buffer.alloc(10_000, 1));
    await vol.close();

    const ok = captureIo();
    expect(await main(['fsck', meta], ok.io)).toBe(0);
    expect(ok.out()).toMatch(/1 files, 1 blocks checked, 0 missing/);

    const leakDir = join(bucket, 'gcvol', 'chunks', '0', '0');
    mkdirSync(leakDir, { recursive: true });
    writeFileSync(join(leakDir, '999_0_5'), 'leak!');
    const young = captureIo();
    expect(await main(['gc', meta], young.io)).toBe(0);
    expect(young.out()).toMatch(/0 leaked objects .* 1 younger than 1 h skipped/);
    const old = captureIo();
    expect(await runGc(meta, { delete: true }, old.io, Date.now() + 2 * 3600_000)).toBe(0);
    expect(old.out()).toMatch(/1 leaked objects \(5 bytes\) deleted/);
    expect(existsSync(join(leakDir, '999_0_5'))).toBe(false);

    const blocks = findBlocks(join(bucket, 'gcvol', 'chunks'));
    expect(blocks).toHaveLength(1);
    unlinkSync(blocks[0]!);
    const bad = captureIo();
    expect(await main(['fsck', meta], bad.io)).toBe(1);
    expect(bad.out()).toMatch(/missing block: chunks\/0\/0\/1_0_10000 \(inode 2\)/);
  });
});
