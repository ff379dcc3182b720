/**
 * Test helper: an s3rver (fake S3) that can be stopped and started again on the same port
 * and directory, so the objects survive the outage.
 * Invariants: `destroy()` closes the server and removes the directory.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/redis-server.js';
import type { S3TestServer } from '../helpers/s3-server.js';

interface S3rverInstance {
  /** The node:http server while running (s3rver sets it in run()). */
  httpServer?: { closeAllConnections(): void };
  run(): Promise<{ port: number; address: string }>;
  close(): Promise<void>;
  on(event: 'error', fn: (e: unknown) => void): void;
}
type S3rverCtor = new (opts: Record<string, unknown>) => S3rverInstance;

export interface RestartableS3 extends S3TestServer {
  /** The directory holding the bucket (objects are files under it). */
  dir: string;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

export async function startRestartableS3(bucket = 'tjfs-outage'): Promise<RestartableS3> {
  const require = createRequire(import.meta.url);
  // s3rver ships CommonJS without types; the constructor shape is declared above.
  const S3rver = require('s3rver') as S3rverCtor;
  const dir = await mkdtemp(join(tmpdir(), 'tjfs-s3-outage-'));
  const port = await freePort();
  let server: S3rverInstance | undefined;
  const start = async (): Promise<void> => {
    if (server !== undefined) return;
    const s = new S3rver({
      port,
      address: '127.0.0.1',
      silent: true,
      directory: dir,
      configureBuckets: [{ name: bucket }],
      vhostBuckets: false,
    });
    s.on('error', () => {
      /* client-side aborts are reported here; tests assert via the client */
    });
    await s.run();
    server = s;
  };
  const stop = async (): Promise<void> => {
    const s = server;
    server = undefined;
    if (!s) return;
    const closed = s.close();
    s.httpServer?.closeAllConnections(); // like a crash: keep-alive and in-flight requests are cut
    await closed;
  };
  await start();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    bucketUrl: `${endpoint}/${bucket}`,
    bucket,
    accessKey: 'S3RVER',
    secretKey: 'S3RVER',
    dir,
    start,
    stop,
    async destroy() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
