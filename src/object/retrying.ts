/**
 * Retry wrapper: transient failures are retried with jittered exponential backoff; the
 * final failure is an `ObjectStoreError` naming the operation, key and cause.
 *
 * Design: each attempt races a timeout (the abandoned attempt may still finish; every op
 * is idempotent, so that is harmless). Not-found and errors marked permanent (HTTP 4xx
 * other than 408/429, or `permanent: true`) are not retried. The sleep is injectable.
 * Retries, final failures and missing objects (a `get` of a key that is not there) are
 * counted in `stats` (served as metrics) and logged, rate-limited per kind and operation,
 * each line naming the object key.
 *
 * Invariants: `get` of a missing key still throws `ObjectNotFoundError` (never wrapped);
 * no more than `retries + 1` attempts per call.
 */
import type { Logger } from '../util/logger.js';
import { RateLimitedLog } from '../util/rate-limited-log.js';
import type { ByteRange, ListOptions, ObjectInfo, ObjectStore } from './object-store.js';
import { ObjectStoreError, isNotFound, markReading, unmarkReading } from './object-store.js';

/** Counters of the retry wrapper (cumulative). */
export interface ObjectRetryStats {
  /** Attempts that failed and were tried again. */
  retries: number;
  /** Calls that failed for good (after their retries, or at once when permanent). */
  failures: number;
  /** `get` calls for a key the store does not have. */
  missing: number;
}

export interface RetryOptions {
  /** Extra attempts after the first; default 10 (JuiceFS --io-retries). */
  retries?: number;
  /** First backoff delay; doubles per attempt with full jitter. Default 100 ms. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Per-attempt timeout for get (--get-timeout), default 60 s; 0 = none. */
  getTimeoutMs?: number;
  /** Per-attempt timeout for put (--put-timeout), default 60 s; 0 = none. */
  putTimeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Where retries, failures and missing objects are logged (rate-limited). */
  logger?: Logger;
  /** Minimum interval between two lines of one kind and operation (default 10 s). */
  logIntervalMs?: number;
}

export class OperationTimeoutError extends Error {
  constructor(op: string, ms: number) {
    super(`${op} timed out after ${ms} ms`);
    this.name = 'OperationTimeoutError';
  }
}

/** True when retrying might help. */
export function isTransient(e: unknown): boolean {
  if (isNotFound(e)) return false;
  if (typeof e !== 'object' || e === null) return true;
  const o = e as { permanent?: unknown; $metadata?: { httpStatusCode?: unknown }; name?: unknown };
  if (o.permanent === true) return false;
  const status = o.$metadata?.httpStatusCode;
  if (typeof status === 'number' && status >= 400 && status < 500 && status !== 408 && status !== 429)
    return false;
  return true;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class RetryingStore implements ObjectStore {
  private readonly retries: number;
  private readonly base: number;
  private readonly max: number;
  private readonly getTimeout: number;
  private readonly putTimeout: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly log: RateLimitedLog | undefined;
  readonly stats: ObjectRetryStats = { retries: 0, failures: 0, missing: 0 };

  constructor(
    readonly inner: ObjectStore,
    opts: RetryOptions = {},
  ) {
    this.retries = opts.retries ?? 10;
    this.base = opts.baseDelayMs ?? 100;
    this.max = opts.maxDelayMs ?? 10_000;
    this.getTimeout = opts.getTimeoutMs ?? 60_000;
    this.putTimeout = opts.putTimeoutMs ?? 60_000;
    this.sleep = opts.sleep ?? defaultSleep;
    this.log =
      opts.logger === undefined ? undefined : new RateLimitedLog(opts.logger, opts.logIntervalMs ?? 10_000);
  }

  /** `reads`: a buffer the call reads (PUT data), marked in use while a timed-out call may still read it. */
  private async attempt<T>(
    op: string,
    key: string,
    timeoutMs: number,
    fn: () => Promise<T>,
    reads?: Buffer,
  ): Promise<T> {
    let last: unknown;
    let i = 0;
    for (; i <= this.retries; i++) {
      if (i > 0) await this.sleep(Math.random() * Math.min(this.max, this.base * 2 ** (i - 1)));
      try {
        const v = await withTimeout(fn(), timeoutMs, op, reads);
        if (i > 0)
          this.log?.warn(`ok:${op}`, `object store: ${op} ${key} succeeded after ${i} retries`, { op, key });
        return v;
      } catch (e) {
        if (isNotFound(e)) {
          if (op === 'get') this.noteMissing(key);
          throw e;
        }
        last = e;
        if (!isTransient(e) || i === this.retries) break;
        this.stats.retries++;
        this.log?.warn(
          `retry:${op}`,
          `object store: ${op} ${key} failed, retrying (attempt ${i + 1} of ${this.retries})`,
          { op, key, err: describe(e) },
        );
      }
    }
    const err = new ObjectStoreError(op, key, last);
    this.stats.failures++;
    this.log?.error(`fail:${op}`, `object store: ${op} ${key} failed after ${i} retries: ${describe(last)}`, {
      op,
      key,
    });
    throw err;
  }

  private noteMissing(key: string): void {
    this.stats.missing++;
    this.log?.error('missing', `object store: object ${key} is missing`, { key });
  }

  get(key: string, range?: ByteRange, into?: Buffer): Promise<Buffer> {
    // Only the first attempt reads into the caller's buffer: one that timed out may still
    // be writing to it while a retry runs.
    let target = into;
    return this.attempt('get', key, this.getTimeout, () => {
      const t = target;
      target = undefined;
      return this.inner.get(key, range, t);
    });
  }

  put(key: string, data: Buffer): Promise<void> {
    return this.attempt('put', key, this.putTimeout, () => this.inner.put(key, data), data);
  }

  delete(key: string): Promise<void> {
    return this.attempt('delete', key, this.putTimeout, () => this.inner.delete(key));
  }

  head(key: string): Promise<ObjectInfo | undefined> {
    return this.attempt('head', key, this.getTimeout, () => this.inner.head(key));
  }

  list(opts: ListOptions): Promise<ObjectInfo[]> {
    return this.attempt('list', opts.prefix ?? '', this.getTimeout, () => this.inner.list(opts));
  }

  describe(): string {
    return this.inner.describe();
  }
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message || e.name : String(e);
}

/** The retry counters of a store built by createObjectStore (undefined for other stores). */
export function objectRetryStats(store: ObjectStore): ObjectRetryStats | undefined {
  return store instanceof RetryingStore ? store.stats : undefined;
}

function withTimeout<T>(p: Promise<T>, ms: number, op: string, reads?: Buffer): Promise<T> {
  if (ms <= 0) return p;
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => {
      // The call goes on (stores cannot be aborted): until it settles, `reads` must not be reused.
      if (reads !== undefined) {
        markReading(reads);
        const done = (): void => unmarkReading(reads);
        p.then(done, done);
      }
      reject(new OperationTimeoutError(op, ms));
    }, ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
