/**
 * In-memory object store for tests, with per-operation counters.
 *
 * Design: a Map of immutable Buffers; `list` sorts keys on demand (tests are small).
 * Invariants: stored buffers are private copies, so callers may reuse theirs; counters
 * count calls (including failed ones) and are reset with `resetCounters()`.
 */
import type { ByteRange, ListOptions, ObjectInfo, ObjectStore } from '../object-store.js';
import { ObjectNotFoundError, clampRange } from '../object-store.js';

export interface OpCounters {
  get: number;
  put: number;
  delete: number;
  head: number;
  list: number;
  bytesIn: number;
  bytesOut: number;
}

interface MemObject {
  data: Buffer;
  mtime: number;
}

export class MemObjectStore implements ObjectStore {
  readonly counters: OpCounters = MemObjectStore.zero();
  private readonly objects = new Map<string, MemObject>();

  constructor(private readonly name = 'mem') {}

  private static zero(): OpCounters {
    return { get: 0, put: 0, delete: 0, head: 0, list: 0, bytesIn: 0, bytesOut: 0 };
  }

  resetCounters(): void {
    Object.assign(this.counters, MemObjectStore.zero());
  }

  /** Number of stored objects (tests). */
  get size(): number {
    return this.objects.size;
  }

  keys(): string[] {
    return [...this.objects.keys()].sort();
  }

  get(key: string, range?: ByteRange, into?: Buffer): Promise<Buffer> {
    this.counters.get++;
    const o = this.objects.get(key);
    if (o === undefined) return Promise.reject(new ObjectNotFoundError(key));
    const [s, e] = clampRange(o.data.length, range);
    let out: Buffer;
    if (into !== undefined && e - s <= into.length) {
      o.data.copy(into, 0, s, e);
      out = into.subarray(0, e - s);
    } else {
      out = Buffer.from(o.data.subarray(s, e));
    }
    this.counters.bytesOut += out.length;
    return Promise.resolve(out);
  }

  put(key: string, data: Buffer): Promise<void> {
    this.counters.put++;
    this.counters.bytesIn += data.length;
    this.objects.set(key, { data: Buffer.from(data), mtime: Date.now() });
    return Promise.resolve();
  }

  delete(key: string): Promise<void> {
    this.counters.delete++;
    this.objects.delete(key);
    return Promise.resolve();
  }

  head(key: string): Promise<ObjectInfo | undefined> {
    this.counters.head++;
    const o = this.objects.get(key);
    return Promise.resolve(o === undefined ? undefined : { key, size: o.data.length, mtime: o.mtime });
  }

  list(opts: ListOptions): Promise<ObjectInfo[]> {
    this.counters.list++;
    const prefix = opts.prefix ?? '';
    const after = opts.startAfter ?? '';
    const limit = opts.limit ?? 1000;
    const out: ObjectInfo[] = [];
    for (const key of this.keys()) {
      if (!key.startsWith(prefix) || key <= after) continue;
      const o = this.objects.get(key);
      if (o !== undefined) out.push({ key, size: o.data.length, mtime: o.mtime });
      if (out.length >= limit) break;
    }
    return Promise.resolve(out);
  }

  describe(): string {
    return `mem://${this.name}/`;
  }
}
