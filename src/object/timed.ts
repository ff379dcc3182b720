/**
 * Timing wrapper: reports the duration of every object request (GET, PUT, DELETE, HEAD,
 * LIST) to one listener, which the VFS turns into JuiceFS's
 * `juicefs_object_request_durations_histogram_seconds{method}` (src/vfs/stats-metrics.ts).
 * Failed requests are timed too, as in JuiceFS. Without a listener it only passes calls on.
 *
 * Invariants: results, errors and buffers pass through unchanged.
 */
import type { ByteRange, ListOptions, ObjectInfo, ObjectStore } from './object-store.js';

export type RequestMethod = 'GET' | 'PUT' | 'DELETE' | 'HEAD' | 'LIST';

export class TimedStore implements ObjectStore {
  /** Called after each request with its method and duration in seconds. */
  onRequest: ((method: RequestMethod, seconds: number) => void) | undefined;

  constructor(readonly inner: ObjectStore) {}

  private async timed<T>(method: RequestMethod, call: () => Promise<T>): Promise<T> {
    const start = process.hrtime.bigint();
    try {
      return await call();
    } finally {
      this.onRequest?.(method, Number(process.hrtime.bigint() - start) / 1e9);
    }
  }

  get(key: string, range?: ByteRange, into?: Buffer): Promise<Buffer> {
    return this.timed('GET', () => this.inner.get(key, range, into));
  }

  put(key: string, data: Buffer): Promise<void> {
    return this.timed('PUT', () => this.inner.put(key, data));
  }

  delete(key: string): Promise<void> {
    return this.timed('DELETE', () => this.inner.delete(key));
  }

  head(key: string): Promise<ObjectInfo | undefined> {
    return this.timed('HEAD', () => this.inner.head(key));
  }

  list(opts: ListOptions): Promise<ObjectInfo[]> {
    return this.timed('LIST', () => this.inner.list(opts));
  }

  describe(): string {
    return this.inner.describe();
  }
}
