/**
 * The data cache, buffer and upload flags of a client, defined once for `tjfs mount` and
 * `tjfs gateway webhdfs`, with JuiceFS's names, defaults and units: cache and buffer sizes
 * in MiB unless suffixed (`--cache-size 100G`, `--buffer-size 300M`), retries and counts as
 * whole numbers, the attribute cache in seconds.
 */
import type { Command } from 'commander';
import { CHECKSUM_LEVELS, type ChecksumLevel } from '../cache/checksum.js';
import type { RuntimeOptions } from '../vfs/runtime.js';
import { CliError, parseIntArg, parseSecondsArg, parseSize } from './io.js';

/** The flags as commander hands them over (strings; absent ones take CACHE_DEFAULTS). */
export interface CacheFlags {
  cacheDir?: string;
  cacheSize?: string;
  freeSpaceRatio?: string;
  verifyCacheChecksum?: string;
  bufferSize?: string;
  maxUploads?: string;
  ioRetries?: string;
  prefetch?: string;
  maxReadahead?: string;
  writeback?: boolean;
  attrCache?: string;
}

/** JuiceFS's defaults (cmd/flags.go); the cache directory defaults to the runtime's. */
export const CACHE_DEFAULTS = {
  cacheSize: '100G',
  freeSpaceRatio: '0.1',
  verifyCacheChecksum: 'extend',
  bufferSize: '300M',
  maxUploads: '20',
  ioRetries: '10',
  prefetch: '1',
  attrCache: '1',
} as const;

/** Adds the shared flags to a command. */
export function addCacheFlags(cmd: Command): Command {
  const d = CACHE_DEFAULTS;
  return cmd
    .option('--attr-cache <seconds>', 'attribute cache timeout in seconds', d.attrCache)
    .option(
      '--cache-dir <dir>',
      "block cache directory, or 'memory' (default ~/.tjfs/cache; root: /var/jfsCache)",
    )
    .option(
      '--cache-size <size>',
      'block cache size, MiB unless suffixed: 512, 100G (0 disables)',
      d.cacheSize,
    )
    .option(
      '--free-space-ratio <ratio>',
      'minimum free space kept on the cache disk (0..1)',
      d.freeSpaceRatio,
    )
    .option(
      '--verify-cache-checksum <level>',
      'check cached blocks: none, full (whole-block reads), shrink (pieces inside the read) or extend (pieces covering it)',
      d.verifyCacheChecksum,
    )
    .option('--buffer-size <size>', 'read/write buffer, MiB unless suffixed: 300, 1G', d.bufferSize)
    .option('--max-uploads <n>', 'concurrent block uploads', d.maxUploads)
    .option(
      '--io-retries <n>',
      'retries of metadata and object requests while the server is unreachable (backoff up to 10 s apart)',
      d.ioRetries,
    )
    .option('--prefetch <n>', 'blocks prefetched on random reads', d.prefetch)
    .option('--max-readahead <size>', 'readahead window limit, MiB unless suffixed')
    .option('--writeback', 'upload blocks in the background after a local commit');
}

function checksumLevel(text: string): ChecksumLevel {
  const level = CHECKSUM_LEVELS.find((l) => l === text);
  if (level === undefined)
    throw new CliError(`invalid --verify-cache-checksum '${text}' (want ${CHECKSUM_LEVELS.join(', ')})`);
  return level;
}

function ratio(text: string): number {
  const r = /^\s*\d*\.?\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!(r >= 0 && r < 1))
    throw new CliError(`invalid --free-space-ratio '${text}': want a ratio from 0 to below 1, e.g. 0.1`);
  return r;
}

/** The runtime options of the flags, validated (a bad value is a CliError naming the flag). */
export function cacheRuntimeOptions(f: CacheFlags): RuntimeOptions & { attrCache: number } {
  const d = CACHE_DEFAULTS;
  return {
    attrCache: parseSecondsArg(f.attrCache ?? d.attrCache, '--attr-cache'),
    cacheSize: parseSize(f.cacheSize ?? d.cacheSize, 'M', '--cache-size'),
    freeSpaceRatio: ratio(f.freeSpaceRatio ?? d.freeSpaceRatio),
    cacheChecksum: checksumLevel(f.verifyCacheChecksum ?? d.verifyCacheChecksum),
    bufferSize: parseSize(f.bufferSize ?? d.bufferSize, 'M', '--buffer-size'),
    maxUploads: parseIntArg(f.maxUploads ?? d.maxUploads, '--max-uploads'),
    ioRetries: parseIntArg(f.ioRetries ?? d.ioRetries, '--io-retries'),
    prefetch: parseIntArg(f.prefetch ?? d.prefetch, '--prefetch'),
    writeback: f.writeback === true,
    ...(f.cacheDir ? { cacheDir: f.cacheDir } : {}),
    ...(f.maxReadahead ? { maxReadahead: parseSize(f.maxReadahead, 'M', '--max-readahead') } : {}),
  };
}
