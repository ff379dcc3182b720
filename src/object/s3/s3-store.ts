/**
 * S3 object store over @aws-sdk/client-s3 (any S3-compatible endpoint).
 *
 * Design: one client per store with keep-alive agents (connection reuse) and request /
 * connection timeouts; path-style for custom endpoints. Credentials are passed in (only
 * the CLI reads the environment). Checksums are only sent when the API requires them
 * (s3rver and several S3 clones reject streaming checksum trailers).
 *
 * Invariants: a 404 on get → ObjectNotFoundError; on head → undefined; an out-of-range
 * ranged get → empty buffer; the secret never appears in `describe()` or errors.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { ByteRange, ListOptions, ObjectInfo, ObjectStore } from '../object-store.js';
import { clampRange, ObjectNotFoundError } from '../object-store.js';
import type { S3Location } from './bucket-url.js';
import { parseBucketUrl } from './bucket-url.js';

/** Reads a response body into `into` (a subarray of it), or a new buffer if it overflows. */
async function readStreamInto(body: Readable, into: Buffer): Promise<Buffer> {
  let n = 0;
  let spill: Buffer[] | undefined;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (spill === undefined && n + chunk.length <= into.length) chunk.copy(into, n);
    else {
      spill ??= [into.subarray(0, n)];
      spill.push(chunk);
    }
    n += chunk.length;
  }
  return spill !== undefined ? Buffer.concat(spill, n) : into.subarray(0, n);
}

export interface S3StoreOptions {
  bucket: string;
  accessKey?: string;
  secretKey?: string;
  sessionToken?: string;
  region?: string;
  /** Per-request socket timeout, default 60 s. */
  requestTimeoutMs?: number;
  connectTimeoutMs?: number;
  maxSockets?: number;
}

function statusOf(e: unknown): number | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const m = (e as { $metadata?: { httpStatusCode?: unknown } }).$metadata;
  return typeof m?.httpStatusCode === 'number' ? m.httpStatusCode : undefined;
}

function nameOf(e: unknown): string | undefined {
  return e instanceof Error ? e.name : undefined;
}

export class S3ObjectStore implements ObjectStore {
  readonly location: S3Location;
  private readonly client: S3Client;

  constructor(opts: S3StoreOptions) {
    this.location = parseBucketUrl(opts.bucket, opts.region);
    const maxSockets = opts.maxSockets ?? 256;
    const agentOpts = { keepAlive: true, maxSockets, keepAliveMsecs: 10_000 };
    this.client = new S3Client({
      region: this.location.region,
      forcePathStyle: this.location.forcePathStyle,
      ...(this.location.endpoint !== undefined ? { endpoint: this.location.endpoint } : {}),
      ...(opts.accessKey !== undefined && opts.secretKey !== undefined
        ? {
            credentials: {
              accessKeyId: opts.accessKey,
              secretAccessKey: opts.secretKey,
              ...(opts.sessionToken !== undefined ? { sessionToken: opts.sessionToken } : {}),
            },
          }
        : {}),
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 1, // retries live in RetryingStore
      requestHandler: {
        httpAgent: new HttpAgent(agentOpts),
        httpsAgent: new HttpsAgent(agentOpts),
        requestTimeout: opts.requestTimeoutMs ?? 60_000,
        connectionTimeout: opts.connectTimeoutMs ?? 10_000,
      },
    });
  }

  private k(key: string): string {
    return this.location.keyPrefix + key;
  }

  async get(key: string, range?: ByteRange, into?: Buffer): Promise<Buffer> {
    if (range !== undefined && range.len <= 0) return Buffer.alloc(0);
    try {
      const res = await this.client.send(
        new GetObjectCommand({
          Bucket: this.location.bucket,
          Key: this.k(key),
          ...(range !== undefined ? { Range: `bytes=${range.off}-${range.off + range.len - 1}` } : {}),
        }),
      );
      if (res.Body === undefined) return Buffer.alloc(0);
      let got: Buffer;
      if (
        into !== undefined &&
        res.Body instanceof Readable &&
        (res.ContentLength ?? Infinity) <= into.length
      ) {
        got = await readStreamInto(res.Body, into);
      } else {
        const bytes = await res.Body.transformToByteArray();
        got = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      }
      // A server may send more than the range: the whole object (200, no Content-Range) or a
      // longer range (s3rver answers `bytes=0-0` with `bytes 0-4/5`). Cut the asked bytes out
      // of the body, which starts at Content-Range's first byte (moved to the front of `got`).
      if (range !== undefined && got.length > range.len) {
        const first = Number(/^bytes (\d+)-/.exec(res.ContentRange ?? '')?.[1] ?? 0);
        const [start, end] = clampRange(got.length, { off: range.off - first, len: range.len });
        got.copy(got, 0, start, end);
        return got.subarray(0, end - start);
      }
      return got;
    } catch (e) {
      const status = statusOf(e);
      // A missing bucket is a configuration error, not a missing object.
      if (nameOf(e) === 'NoSuchKey' || (status === 404 && nameOf(e) !== 'NoSuchBucket')) {
        throw new ObjectNotFoundError(key, { cause: e });
      }
      if (status === 416 || nameOf(e) === 'InvalidRange') return Buffer.alloc(0);
      throw e;
    }
  }

  async put(key: string, data: Buffer): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.location.bucket,
        Key: this.k(key),
        Body: data,
        ContentLength: data.length,
      }),
    );
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.location.bucket, Key: this.k(key) }));
    } catch (e) {
      if (statusOf(e) !== 404) throw e;
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const res = await this.client.send(
        new HeadObjectCommand({ Bucket: this.location.bucket, Key: this.k(key) }),
      );
      return { key, size: res.ContentLength ?? 0, mtime: res.LastModified?.getTime() ?? 0 };
    } catch (e) {
      if (statusOf(e) === 404 || nameOf(e) === 'NotFound' || nameOf(e) === 'NoSuchKey') return undefined;
      throw e;
    }
  }

  async list(opts: ListOptions): Promise<ObjectInfo[]> {
    const limit = opts.limit ?? 1000;
    const out: ObjectInfo[] = [];
    const kp = this.location.keyPrefix;
    // ListObjects (v1) with Marker: supported everywhere (s3rver's v2 continuation tokens
    // need DES, which OpenSSL 3 lacks). S3 caps pages at 1000 keys.
    let marker = opts.startAfter !== undefined ? kp + opts.startAfter : undefined;
    while (out.length < limit) {
      const res = await this.client.send(
        new ListObjectsCommand({
          Bucket: this.location.bucket,
          Prefix: kp + (opts.prefix ?? ''),
          MaxKeys: Math.min(1000, limit - out.length),
          ...(marker !== undefined ? { Marker: marker } : {}),
        }),
      );
      const contents = res.Contents ?? [];
      for (const o of contents) {
        if (o.Key === undefined) continue;
        out.push({ key: o.Key.slice(kp.length), size: o.Size ?? 0, mtime: o.LastModified?.getTime() ?? 0 });
      }
      const last = contents[contents.length - 1]?.Key;
      if (res.IsTruncated !== true || last === undefined) break;
      marker = last;
    }
    return out;
  }

  describe(): string {
    const l = this.location;
    return `s3://${l.bucket}/${l.keyPrefix}${l.endpoint !== undefined ? ` (${l.endpoint})` : ''}`;
  }

  /** Closes pooled connections. */
  destroy(): void {
    this.client.destroy();
  }
}
