/**
 * Builds the block cache and writeback stager for a mount from its cache flags:
 * `--cache-dir memory` → a memory LRU of `--cache-size` (no writeback, as in JuiceFS);
 * `--cache-size 0` → no cache; otherwise a disk cache under `{cacheDir}/{uuid}`.
 */
import type { Logger } from '../util/logger.js';
import type { BlockCache, WritebackStager } from './block-cache.js';
import type { ChecksumLevel } from './checksum.js';
import { DiskBlockCache } from './disk-cache.js';
import { MemBlockCache } from './mem-cache.js';
import { Writeback } from './writeback.js';

export interface CacheConfig {
  cacheDir: string;
  uuid: string;
  cacheSize: number;
  freeSpaceRatio?: number;
  /** --verify-cache-checksum (default extend). */
  checksum?: ChecksumLevel;
  logger?: Logger;
  writeback?: boolean;
  mode?: number;
  /** Queued cache writes before puts are dropped; the runtime passes 20% of --buffer-size. */
  maxPendingBytes?: number;
}

export async function openBlockCache(
  cfg: CacheConfig,
): Promise<{ cache?: BlockCache; writeback?: WritebackStager }> {
  if (cfg.cacheDir === 'memory') {
    return cfg.cacheSize > 0 ? { cache: new MemBlockCache(cfg.cacheSize) } : {};
  }
  const disk =
    cfg.cacheSize > 0
      ? await DiskBlockCache.open({
          cacheDir: cfg.cacheDir,
          uuid: cfg.uuid,
          cacheSize: cfg.cacheSize,
          ...(cfg.freeSpaceRatio !== undefined ? { freeSpaceRatio: cfg.freeSpaceRatio } : {}),
          ...(cfg.checksum !== undefined ? { checksum: cfg.checksum } : {}),
          ...(cfg.mode !== undefined ? { mode: cfg.mode } : {}),
          ...(cfg.maxPendingBytes !== undefined ? { maxPendingBytes: cfg.maxPendingBytes } : {}),
          ...(cfg.logger !== undefined ? { logger: cfg.logger } : {}),
        })
      : undefined;
  const out: { cache?: BlockCache; writeback?: WritebackStager } = {};
  if (disk !== undefined) out.cache = disk;
  if (cfg.writeback === true) {
    out.writeback = new Writeback({
      cacheDir: cfg.cacheDir,
      uuid: cfg.uuid,
      ...(disk !== undefined ? { cache: disk } : {}),
      ...(cfg.logger !== undefined ? { logger: cfg.logger } : {}),
    });
  }
  return out;
}
