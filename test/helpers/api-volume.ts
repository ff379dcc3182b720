/**
 * Formats throw-away volumes for API, HDFS and gateway tests: metadata on mem://,
 * sqlite3:// (temp file) or a given redis URL; data on mem, file (temp dir) or an s3rver
 * bucket. Returns the meta URL and a cleanup that removes temp files.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultFormat, type Format } from '../../src/meta/format.js';
import { openEngine } from '../../src/meta/registry.js';
import { initFormat } from '../../src/meta/volume.js';
import { afterAll, beforeAll, describe } from 'vitest';
import { startRedis, type RedisServer } from './redis-server.js';
import { startS3Server, type S3TestServer } from './s3-server.js';

export interface TestVolumeSpec {
  meta: 'mem' | 'sqlite' | { redisUrl: string };
  storage: 'mem' | 'file' | { s3: S3TestServer };
  blockSizeKiB?: number;
  trashDays?: number;
  /** Format with POSIX ACLs on (`format --enable-acl`). */
  enableAcl?: boolean;
}

export interface TestVolume {
  metaUrl: string;
  name: string;
  cleanup(): Promise<void>;
}

let seq = 0;

export async function formatTestVolume(spec: TestVolumeSpec): Promise<TestVolume> {
  const dir = mkdtempSync(join(tmpdir(), 'tjfs-api-'));
  const name = `vol-${process.pid}-${seq++}`;
  const metaUrl =
    spec.meta === 'mem'
      ? `mem://${name}`
      : spec.meta === 'sqlite'
        ? `sqlite3://${join(dir, 'meta.db')}`
        : spec.meta.redisUrl;
  let storage = 'mem';
  let bucket = join(dir, 'bucket') + '/';
  const extra: Partial<Format> = {};
  if (spec.storage === 'file') storage = 'file';
  else if (typeof spec.storage === 'object') {
    storage = 's3';
    bucket = spec.storage.s3.bucketUrl;
    extra.AccessKey = spec.storage.s3.accessKey;
    extra.SecretKey = spec.storage.s3.secretKey;
  }
  const engine = await openEngine(metaUrl);
  try {
    const format: Format = {
      ...defaultFormat(name, randomUUID(), bucket),
      Storage: storage,
      TrashDays: spec.trashDays ?? 0,
      ...extra,
    };
    if (spec.blockSizeKiB !== undefined) format.BlockSize = spec.blockSizeKiB;
    if (spec.enableAcl === true) format.EnableACL = true;
    await initFormat(engine, format, { nowSec: Math.floor(Date.now() / 1000) });
  } finally {
    await engine.close();
  }
  return {
    metaUrl,
    name,
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A describe block with a private redis-server and s3rver for its suite; `suite` gets a
 * spec factory pointing at them (valid once the block's beforeAll has run).
 */
export function describeRedisS3(name: string, suite: (spec: () => TestVolumeSpec) => void): void {
  describe(name, () => {
    let redis: RedisServer | undefined;
    let s3: S3TestServer | undefined;
    beforeAll(async () => {
      redis = await startRedis();
      s3 = await startS3Server();
    });
    afterAll(async () => {
      await s3?.stop();
      await redis?.stop();
    });
    suite(() => {
      if (!redis || !s3) throw new Error('redis-server/s3rver not started');
      return { meta: { redisUrl: redis.url }, storage: { s3 } };
    });
  });
}
