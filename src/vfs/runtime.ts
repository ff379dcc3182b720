/**
 * Runtime: everything one client of a volume needs, assembled from a meta URL and frozen
 * options — metadata session, object store from the volume's format, chunk store with its
 * caches, and the slice-deletion callback wiring the two. Used by mount, API, gateway.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ChecksumLevel } from '../cache/checksum.js';
import { openBlockCache } from '../cache/open-cache.js';
import { ChunkStore } from '../chunk/chunk-store.js';
import { openMeta } from '../meta/base-meta.js';
import type { Logger } from '../util/logger.js';
import type { MetaEngine } from '../meta/engine.js';
import type { Format } from '../meta/format.js';
import type { Meta } from '../meta/meta.js';
import { decryptFormatSecrets } from '../meta/secret.js';
import { volumeEncryptor } from '../object/encrypt.js';
import { createObjectStore } from '../object/registry.js';
import type { ObjectStore } from '../object/object-store.js';
import { TimedStore } from '../object/timed.js';

export interface RuntimeOptions {
  readOnly?: boolean;
  /** Disk cache directory, or 'memory'. Default ~/.tjfs/cache (root: /var/jfsCache). */
  cacheDir?: string;
  /** Bytes; 0 disables the block cache. Default 100 GiB. */
  cacheSize?: number;
  freeSpaceRatio?: number;
  /** --verify-cache-checksum: none, full, shrink or extend (default). */
  cacheChecksum?: ChecksumLevel;
  bufferSize?: number;
  maxUploads?: number;
  prefetch?: number;
  maxReadahead?: number;
  writeback?: boolean;
  /** JuiceFS --io-retries: retries of the metadata engine and of object requests (default 10). */
  ioRetries?: number;
  logger?: Logger;
  /** Session info shown by `tjfs status`. */
  mountPoint?: string;
  heartbeat?: boolean;
  /** Object store override (tests: a faulty or counting store). */
  store?: ObjectStore;
  /** An engine the caller opened (CLI: password, existence check); the runtime owns it from here. */
  engine?: MetaEngine;
  /** Environment for JFS_RSA_PASSPHRASE (an encrypted volume's key); default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
}

export interface Runtime {
  meta: Meta;
  format: Format;
  store: ObjectStore;
  chunks: ChunkStore;
  close(): Promise<void>;
}

export function defaultCacheDir(): string {
  return process.getuid?.() === 0 ? '/var/jfsCache' : join(homedir(), '.tjfs', 'cache');
}

export async function openRuntime(metaUrl: string, opts: RuntimeOptions = {}): Promise<Runtime> {
  let chunks: ChunkStore | undefined;
  const meta = await openMeta(metaUrl, {
    ...(opts.readOnly ? { readOnly: true } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(opts.engine ? { engine: opts.engine } : {}),
    ...(opts.ioRetries !== undefined ? { retry: { retries: opts.ioRetries } } : {}),
    onFreeSlices: async (slices) => {
      for (const s of slices) await chunks?.removeSlice(s.id, s.size);
    },
  }).catch(async (e: unknown) => {
    await opts.engine?.close();
    throw e;
  });
  try {
    const format = meta.format;
    const secrets = decryptFormatSecrets(format);
    // A wrong or missing passphrase fails here, before anything is read or written.
    const encrypt = volumeEncryptor(secrets.encryptKey, format.EncryptAlgo, opts.env ?? process.env);
    const store =
      opts.store ??
      (await createObjectStore({
        storage: format.Storage,
        bucket: format.Bucket,
        prefix: `${format.Name}/`,
        ...(format.AccessKey ? { accessKey: format.AccessKey } : {}),
        ...(secrets.secretKey ? { secretKey: secrets.secretKey } : {}),
        ...(secrets.sessionToken ? { sessionToken: secrets.sessionToken } : {}),
        ...(encrypt !== undefined ? { encrypt } : {}),
        retry: {
          ...(opts.logger ? { logger: opts.logger } : {}),
          ...(opts.ioRetries !== undefined ? { retries: opts.ioRetries } : {}),
        },
      }));
    const cacheSize = opts.cacheSize ?? 100 * 1024 ** 3;
    const caches = await openBlockCache({
      cacheDir: opts.cacheDir ?? defaultCacheDir(),
      uuid: format.UUID,
      cacheSize,
      ...(opts.freeSpaceRatio !== undefined ? { freeSpaceRatio: opts.freeSpaceRatio } : {}),
      ...(opts.writeback ? { writeback: true } : {}),
      ...(opts.cacheChecksum !== undefined ? { checksum: opts.cacheChecksum } : {}),
      ...(opts.logger ? { logger: opts.logger } : {}),
      ...(opts.bufferSize !== undefined ? { maxPendingBytes: Math.floor(opts.bufferSize / 5) } : {}),
    });
    chunks = new ChunkStore({
      store: new TimedStore(store), // request latencies for .stats (stats-metrics.ts)
      blockSize: format.BlockSize * 1024,
      compression: format.Compression ?? 'none',
      hashPrefix: format.HashPrefix ?? false,
      rangeReads: encrypt === undefined,
      ...(opts.maxUploads !== undefined ? { maxUploads: opts.maxUploads } : {}),
      ...(opts.bufferSize !== undefined ? { bufferSize: opts.bufferSize } : {}),
      ...(opts.prefetch !== undefined ? { prefetch: opts.prefetch } : {}),
      ...(opts.maxReadahead !== undefined ? { maxReadahead: opts.maxReadahead } : {}),
      ...(caches.cache ? { cache: caches.cache } : {}),
      ...(caches.writeback ? { writeback: caches.writeback } : {}),
    });
    await chunks.start();
    await meta.start({ MountPoint: opts.mountPoint ?? '' }, { heartbeat: opts.heartbeat ?? true });
    const cs = chunks;
    return {
      meta,
      format,
      store,
      chunks: cs,
      async close() {
        await meta.stop();
        await cs.close();
      },
    };
  } catch (e) {
    await meta.stop().catch(() => undefined);
    throw e;
  }
}
