/**
 * A sync endpoint over an object store (s3://, minio://): keys under a string prefix, as
 * JuiceFS's object.WithPrefix (the prefix need not end with '/').
 *
 * Design: listing pages through the store (1000 keys a page, byte order); a key ending with '/'
 * is a directory marker. Objects have no modes, owners, symlinks or settable mtimes. The
 * store's put takes a whole object, so a file is collected before it is written (the S3
 * store has no multipart upload yet): memory per copy is the size of that file.
 * Invariants: ranged reads of `chunk` bytes; a missing key reads as ObjectNotFoundError.
 */
import { listAll, type ObjectStore } from '../object/object-store.js';
import type { SyncEndpoint, SyncEntry } from './endpoint.js';

function unsupported(what: string): Error {
  return Object.assign(new Error(`${what} is not supported by object stores`), { code: 'ENOTSUP' });
}

export class ObjectEndpoint implements SyncEndpoint {
  readonly fileSystem = false;

  constructor(
    private readonly store: ObjectStore,
    private readonly prefix: string,
    private readonly label: string,
    private readonly onClose: () => void = () => undefined,
  ) {}

  describe(): string {
    return this.label;
  }

  private entry(key: string, size: number, mtime: number): SyncEntry {
    return { key, size, mtimeMs: Math.floor(mtime), isDir: key.endsWith('/'), isSymlink: false };
  }

  async *list(): AsyncIterable<SyncEntry> {
    const opts = this.prefix === '' ? {} : { prefix: this.prefix };
    for await (const o of listAll(this.store, opts)) {
      const key = o.key.slice(this.prefix.length);
      if (key === '') continue;
      yield this.entry(key, o.size, o.mtime);
    }
  }

  async head(key: string): Promise<SyncEntry | undefined> {
    const o = await this.store.head(this.prefix + key);
    return o === undefined ? undefined : this.entry(key, o.size, o.mtime);
  }

  async *read(key: string, chunk: number): AsyncIterable<Buffer> {
    for (let off = 0; ; off += chunk) {
      const b = await this.store.get(this.prefix + key, { off, len: chunk });
      if (b.length > 0) yield b;
      if (b.length < chunk) return;
    }
  }

  async write(key: string, data: AsyncIterable<Buffer>, size: number): Promise<void> {
    const whole = Buffer.allocUnsafe(size);
    let n = 0;
    for await (const b of data) {
      if (n + b.length > size) throw new Error(`${key} grew while it was copied`);
      b.copy(whole, n);
      n += b.length;
    }
    await this.store.put(this.prefix + key, whole.subarray(0, n));
  }

  async mkdir(key: string): Promise<void> {
    await this.store.put(this.prefix + (key.endsWith('/') ? key : key + '/'), Buffer.alloc(0));
  }

  async delete(key: string): Promise<void> {
    await this.store.delete(this.prefix + key);
  }

  readlink(): Promise<string> {
    return Promise.reject(unsupported('readlink'));
  }
  symlink(): Promise<void> {
    return Promise.reject(unsupported('symlink'));
  }
  async chtimes(): Promise<void> {
    // Objects keep their upload time (JuiceFS: not an MtimeChanger); nothing to do.
  }
  chown(): Promise<void> {
    return Promise.reject(unsupported('chown'));
  }
  chmod(): Promise<void> {
    return Promise.reject(unsupported('chmod'));
  }
  async close(): Promise<void> {
    this.onClose();
  }
}
