/**
 * Starts a private s3rver (fake S3) on a free port with a temp directory, for tests.
 *
 * Invariants: silent; an error handler is attached (s3rver emits errors for long keys);
 * `stop()` closes the server and removes the directory, leaving no process behind.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface S3rverInstance {
  run(): Promise<{ port: number; address: string }>;
  close(): Promise<void>;
  on(event: 'error', fn: (e: unknown) => void): void;
}
type S3rverCtor = new (opts: Record<string, unknown>) => S3rverInstance;

export interface S3TestServer {
  endpoint: string;
  bucketUrl: string;
  bucket: string;
  accessKey: string;
  secretKey: string;
  stop(): Promise<void>;
}

export interface S3ServerOptions {
  /** Accept any secret key for the S3RVER access key (s3rver's allowMismatchedSignatures). */
  anySecret?: boolean;
}

export async function startS3Server(bucket = 'tjfs-test', opts: S3ServerOptions = {}): Promise<S3TestServer> {
  const require = createRequire(import.meta.url);
  // s3rver ships CommonJS without types; the constructor shape is declared above.
  const S3rver = require('s3rver') as S3rverCtor;
  const dir = await mkdtemp(join(tmpdir(), 'tjfs-s3rver-'));
  const server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory: dir,
    configureBuckets: [{ name: bucket }],
    vhostBuckets: false,
    ...(opts.anySecret === true ? { allowMismatchedSignatures: true } : {}),
  });
  server.on('error', () => {
    /* s3rver reports client-side aborts and long keys here; tests assert via the client */
  });
  const addr = await server.run();
  const endpoint = `http://127.0.0.1:${addr.port}`;
  return {
    endpoint,
    bucketUrl: `${endpoint}/${bucket}`,
    bucket,
    accessKey: 'S3RVER',
    secretKey: 'S3RVER',
    async stop() {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
