/**
 * Junk written over the block files in `--cache-dir` is never served through the API
 * (the mount's path, without FUSE): reads return the written data, the bad files are
 * replaced by good ones, one log line says so, and `tjfs_blockcache_corruptions` counts
 * them. At `--verify-cache-checksum none` the same junk is served (the level's contract).
 */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openVolume, type VolumeOptions } from '../../src/api/volume.js';
import type { ChecksumLevel } from '../../src/cache/checksum.js';
import type { Logger } from '../../src/util/logger.js';
import { formatTestVolume, type TestVolume } from '../helpers/api-volume.js';
import { pattern } from '../helpers/pattern.js';

const MiB = 1024 * 1024;
let vol: TestVolume;
let cacheDir: string;

beforeEach(async () => {
  vol = await formatTestVolume({ meta: 'sqlite', storage: 'file' });
  cacheDir = await mkdtemp(join(tmpdir(), 'tjfs-junk-'));
});
afterEach(async () => {
  await rm(cacheDir, { recursive: true, force: true });
  await vol.cleanup();
});

async function blockFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && /^\d+_\d+_\d+$/.test(e.name) && e.parentPath.includes(`${join('raw', 'chunks')}`))
      out.push(join(e.parentPath, e.name));
  }
  return out;
}

const metric = (text: string, name: string): number =>
  Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

function opts(level: ChecksumLevel, lines: string[]): VolumeOptions {
  const logger: Logger = { warn: (m) => lines.push(m), error: (m) => lines.push(m) };
  return { cacheDir, cacheSize: 1 << 30, cacheChecksum: level, logger, heartbeat: false };
}

describe('junk in --cache-dir', () => {
  it('extend (default): junk never served; files replaced; one log line; counted in metrics', async () => {
    const data = pattern(3 * MiB, 4); // one partial block: cached when written
    const lines: string[] = [];
    const w = await openVolume(vol.metaUrl, opts('extend', lines));
    await w.writeFile('/f', data);
    await w.close();
    const files = await blockFiles(cacheDir);
    expect(files).toHaveLength(1);
    const good = await readFile(files[0] as string);
    expect(good.length).toBe(3 * MiB + 96 * 4); // data + a CRC32C per 32 KiB
    await writeFile(files[0] as string, pattern(good.length, 77, 3));
    const r = await openVolume(vol.metaUrl, opts('extend', lines));
    try {
      const fh = await r.open('/f', 'r');
      const small = Buffer.alloc(4096);
      await fh.read(small, 0, 4096, 2 * MiB + 5); // a random 4 KiB read first
      expect(small.equals(data.subarray(2 * MiB + 5, 2 * MiB + 5 + 4096))).toBe(true);
      await fh.close();
      expect(Buffer.compare(await r.readFile('/f'), data)).toBe(0);
      expect(metric(await r.vfs.obs.metrics(), 'tjfs_blockcache_corruptions')).toBe(1);
      expect(lines.filter((l) => l.includes('corrupt'))).toHaveLength(1);
    } finally {
      await r.close();
    }
    expect((await readFile(files[0] as string)).equals(good)).toBe(true); // a good copy again
  });

  it('none: the level checks nothing (and writes no checksums)', async () => {
    const data = pattern(3 * MiB, 4);
    const lines: string[] = [];
    const w = await openVolume(vol.metaUrl, opts('none', lines));
    await w.writeFile('/f', data);
    await w.close();
    const [file] = await blockFiles(cacheDir);
    expect((await stat(file as string)).size).toBe(3 * MiB);
    await writeFile(file as string, pattern(3 * MiB, 77, 3));
    const r = await openVolume(vol.metaUrl, opts('none', lines));
    try {
      expect(Buffer.compare(await r.readFile('/f'), pattern(3 * MiB, 77, 3))).toBe(0);
    } finally {
      await r.close();
    }
  });
});
