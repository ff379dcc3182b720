/**
 * Prefix wrapper: the `{volume}/` namespace of docs/FORMAT.md §7.1 (every key the chunk layer uses
 * is stored as `prefix + key`).
 *
 * Invariants: keys seen by callers never include the prefix; listing is confined to
 * the prefix, so other volumes in the same bucket are invisible.
 */
import type { ByteRange, ListOptions, ObjectInfo, ObjectStore } from './object-store.js';
import { ObjectNotFoundError, isNotFound } from './object-store.js';

export class PrefixedStore implements ObjectStore {
  constructor(
    readonly inner: ObjectStore,
    readonly prefix: string,
  ) {}

  async get(key: string, range?: ByteRange, into?: Buffer): Promise<Buffer> {
    try {
      return await this.inner.get(this.prefix + key, range, into);
    } catch (e) {
      // Report the caller's key space, keeping the full name in the cause.
      if (isNotFound(e)) throw new ObjectNotFoundError(key, { cause: e });
      throw e;
    }
  }

  put(key: string, data: Buffer): Promise<void> {
    return this.inner.put(this.prefix + key, data);
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(this.prefix + key);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const o = await this.inner.head(this.prefix + key);
    return o === undefined ? undefined : { ...o, key };
  }

  async list(opts: ListOptions): Promise<ObjectInfo[]> {
    const page = await this.inner.list({
      prefix: this.prefix + (opts.prefix ?? ''),
      ...(opts.startAfter !== undefined ? { startAfter: this.prefix + opts.startAfter } : {}),
      ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
    });
    return page.map((o) => ({ ...o, key: o.key.slice(this.prefix.length) }));
  }

  describe(): string {
    return `${this.inner.describe()}${this.prefix}`;
  }
}
