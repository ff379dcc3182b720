/**
 * The object storage contract used by the chunk layer (docs/FORMAT.md §7).
 *
 * Design: a narrow, promise-based interface; every backend (file, s3, mem) implements it
 * and wrappers (prefix, retries, faults) compose over it. Expected absence is a value
 * (`head` returns undefined); `get` of a missing key throws `ObjectNotFoundError`.
 *
 * Invariants: all operations are idempotent (put overwrites whole objects atomically,
 * delete of a missing key succeeds); keys are '/'-separated, never start with '/'.
 * `list` returns keys in lexicographic (byte) order, strictly after `startAfter`.
 * Safe to call concurrently.
 */

/** One object as listed or headed. `mtime` is milliseconds since the epoch. */
export interface ObjectInfo {
  key: string;
  size: number;
  mtime: number;
}

/** A byte range: `len` bytes from `off`; a range past the end is clamped. */
export interface ByteRange {
  off: number;
  len: number;
}

export interface ListOptions {
  prefix?: string;
  startAfter?: string;
  /** Page size; default 1000. */
  limit?: number;
}

export interface ObjectStore {
  /**
   * Whole object or a byte range of it. Throws ObjectNotFoundError for a missing key.
   * `into`: a buffer the store may read the bytes into (the result is then a subarray of
   * it); stores that cannot, or objects larger than it, get a new buffer. Callers tell by
   * comparing `result.buffer` with `into.buffer`, and must not reuse `into` for anything
   * else when the result is not in it or the call failed (a timed-out read may still land).
   */
  get(key: string, range?: ByteRange, into?: Buffer): Promise<Buffer>;
  /**
   * Creates or replaces an object atomically (readers never see a partial object). The
   * store must not keep `data` after the promise settles: callers reuse the buffer.
   */
  put(key: string, data: Buffer): Promise<void>;
  /** Removes an object; a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Metadata of one object, or undefined when it does not exist. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** One page of objects in key order; fewer than `limit` results means the end. */
  list(opts: ListOptions): Promise<ObjectInfo[]>;
  /** Human-readable location, never containing secrets (e.g. `file:///var/jfs/`). */
  describe(): string;
}

/**
 * Buffers that a store call given up on (timed out, not abortable) may still read. Code that
 * recycles buffers (the block pool) must not reuse these; counted per ArrayBuffer.
 */
const stillRead = new WeakMap<ArrayBufferLike, number>();

export function markReading(b: Buffer): void {
  stillRead.set(b.buffer, (stillRead.get(b.buffer) ?? 0) + 1);
}

export function unmarkReading(b: Buffer): void {
  const n = (stillRead.get(b.buffer) ?? 1) - 1;
  if (n > 0) stillRead.set(b.buffer, n);
  else stillRead.delete(b.buffer);
}

export function isStillRead(b: Buffer): boolean {
  return stillRead.has(b.buffer);
}

/** `get` of a key that does not exist. Never retried. */
export class ObjectNotFoundError extends Error {
  readonly key: string;
  constructor(key: string, options?: { cause?: unknown }) {
    super(`object not found: ${key}`, options);
    this.name = 'ObjectNotFoundError';
    this.key = key;
  }
}

/** A failure after retries (or a permanent one): names the operation, key and cause. */
export class ObjectStoreError extends Error {
  readonly key: string;
  readonly op: string;
  constructor(op: string, key: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(`${op} ${key}: ${why}`, { cause });
    this.name = 'ObjectStoreError';
    this.op = op;
    this.key = key;
  }
}

export function isNotFound(e: unknown): e is ObjectNotFoundError {
  return e instanceof ObjectNotFoundError;
}

/** Iterates every object under `prefix` page by page (bounded memory). */
export async function* listAll(
  store: ObjectStore,
  opts: { prefix?: string; startAfter?: string; pageSize?: number } = {},
): AsyncGenerator<ObjectInfo> {
  const limit = opts.pageSize ?? 1000;
  let after = opts.startAfter;
  for (;;) {
    const page = await store.list({
      limit,
      ...(opts.prefix !== undefined ? { prefix: opts.prefix } : {}),
      ...(after !== undefined ? { startAfter: after } : {}),
    });
    for (const o of page) yield o;
    const last = page[page.length - 1];
    if (page.length < limit || last === undefined) return;
    after = last.key;
  }
}

/** Clamps a range to an object of `size` bytes: [start, end). */
export function clampRange(size: number, range?: ByteRange): [number, number] {
  if (range === undefined) return [0, size];
  const start = Math.min(Math.max(0, range.off), size);
  return [start, Math.min(size, start + Math.max(0, range.len))];
}
