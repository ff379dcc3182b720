/**
 * The disk cache on a real small tmpfs (root only; no FUSE): a full file system (ENOSPC)
 * and a read-only remount (EROFS) degrade the cache with one log line while reads keep
 * coming from the object store, and caching resumes once the file system takes writes
 * again. The tmpfs is unmounted even when a test fails.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiskBlockCache } from '../../src/cache/disk-cache.js';
import { ChunkStore } from '../../src/chunk/chunk-store.js';
import type { Logger } from '../../src/util/logger.js';
import { MemObjectStore } from '../../src/object/mem/mem-store.js';
import { pattern } from '../helpers/pattern.js';

const KiB = 1024;
const BS = 256 * KiB;
const isRoot = process.getuid?.() === 0;
const UUID = '6f1e2a3b-0000-4000-8000-00000000000f';

function recorder(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, warn: (m) => lines.push(m), error: (m) => lines.push(m) };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!isRoot)('cache directory on a small tmpfs', () => {
  let base = '';
  let mnt = '';
  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), 'tjfs-cachefs-'));
    mnt = join(base, 'mnt');
    execFileSync('mkdir', [mnt]);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tjfs-test-cache', mnt]);
  });
  afterAll(() => {
    try {
      execFileSync('umount', ['-l', mnt]);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  /** A store with 8 blocks and a reader that fetches block i through a fresh chunk store. */
  async function setup(cache: DiskBlockCache): Promise<(i: number) => Promise<void>> {
    const mem = new MemObjectStore();
    const data = pattern(8 * BS, 9);
    await new ChunkStore({ store: mem, blockSize: BS }).writeSlice(1, data);
    return async (i) => {
      const cs = new ChunkStore({ store: mem, blockSize: BS, cache });
      const b = await cs.getBlock(1, data.length, i);
      expect(b.equals(data.subarray(i * BS, (i + 1) * BS))).toBe(true);
      cs.releaseBlock(b);
      await cache.drain();
    };
  }

  it('full (ENOSPC): one log line, reads from the object store, caching resumes when space is back', async () => {
    const log = recorder();
    const cache = await DiskBlockCache.open({
      cacheDir: mnt,
      uuid: UUID,
      freeSpaceRatio: 0,
      logger: log,
      retryMs: 100,
    });
    const read = await setup(cache);
    const filler = join(mnt, 'filler');
    writeFileSync(filler, Buffer.alloc(2 * 1024 * KiB - 3 * BS)); // room for about two blocks
    for (let i = 0; i < 8; i++) await read(i);
    expect(cache.health.fault).toBe('full');
    expect(cache.items).toBeLessThan(8);
    expect(log.lines.filter((l) => l.includes('is full'))).toHaveLength(1);
    unlinkSync(filler);
    await sleep(150);
    await cache.remove(`chunks/0/0/1_7_${BS}`);
    await read(7); // the probe
    expect(cache.health.fault).toBeUndefined();
    expect(cache.has(`chunks/0/0/1_7_${BS}`)).toBe(true);
    expect(log.lines.filter((l) => l.includes('usable again'))).toHaveLength(1);
    await cache.close();
    rmSync(join(mnt, UUID), { recursive: true, force: true });
  });

  it('read-only (EROFS): cached blocks still read, new ones not cached, recovers after a rw remount', async () => {
    const log = recorder();
    const cache = await DiskBlockCache.open({
      cacheDir: mnt,
      uuid: UUID,
      freeSpaceRatio: 0,
      logger: log,
      retryMs: 100,
    });
    const read = await setup(cache);
    await read(0);
    expect(cache.items).toBe(1);
    execFileSync('mount', ['-o', 'remount,ro', mnt]);
    try {
      for (let i = 1; i < 6; i++) await read(i);
      expect(cache.health.fault).toBe('read-only');
      expect(log.lines).toHaveLength(1);
      const hit = await cache.get(`chunks/0/0/1_0_${BS}`);
      expect(hit?.equals(pattern(8 * BS, 9).subarray(0, BS))).toBe(true);
    } finally {
      execFileSync('mount', ['-o', 'remount,rw', mnt]);
    }
    await sleep(150);
    await read(6);
    expect(cache.health.fault).toBeUndefined();
    expect(cache.has(`chunks/0/0/1_6_${BS}`)).toBe(true);
    expect(log.lines).toHaveLength(2);
    await cache.close();
  });
});
