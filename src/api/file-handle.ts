/**
 * FileHandle: an open file of the API, shaped like node:fs/promises' FileHandle, over one
 * Vfs handle. Keeps the file position for `position: null` reads and writes.
 *
 * Invariants: calls on one handle run one at a time (a promise chain), so the position
 * moves in call order; `close()` is idempotent and releases the Vfs handle (flush +
 * commit first, so the data is visible to the next `open` on any client); every error is
 * Node-shaped with the handle's path.
 */
import { FsError, Errno } from '../base/errno.js';
import type { Context, Ino } from '../base/types.js';
import type { Vfs } from '../vfs/vfs.js';
import { nodeError } from './errors.js';
import {
  O_ACCMODE,
  O_APPEND,
  O_RDONLY,
  encodingOf,
  toBuffer,
  toTimespec,
  type Encoding,
  type TimeLike,
} from './flags.js';
import { Stats } from './stats.js';

/** Largest single Vfs read; bigger reads loop. */
const MAX_READ = 8 * 1024 * 1024;

export interface HandleHost {
  readonly vfs: Vfs;
  nextFd(): number;
  track(h: FileHandle): void;
  untrack(h: FileHandle): void;
  /** Runs `fn` alone among calls for the same inode (O_APPEND writes: find end + write). */
  exclusive<T>(ino: Ino, fn: () => Promise<T>): Promise<T>;
}

export interface ReadResult {
  bytesRead: number;
  buffer: Buffer;
}
export interface WriteResult<T> {
  bytesWritten: number;
  buffer: T;
}

export class FileHandle {
  readonly fd: number;
  private pos = 0;
  private closed = false;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly host: HandleHost,
    private readonly ctx: Context,
    readonly fh: bigint,
    readonly ino: Ino,
    readonly flags: number,
    readonly path: string,
    /** Committed length seen by the open call (undefined for created files). */
    readonly openSize?: number,
  ) {
    this.fd = host.nextFd();
    host.track(this);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Current file position (for `position: null` calls). */
  get position(): number {
    return this.pos;
  }

  private run<T>(syscall: string, fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(async () => {
      if (this.closed) throw new FsError(Errno.EBADF, { op: syscall });
      try {
        return await fn();
      } catch (e) {
        throw nodeError(e, syscall, this.path);
      }
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Reads up to `length` bytes at `position` (null: the current position, which advances). */
  read(
    buffer?: Buffer | { buffer?: Buffer; offset?: number; length?: number; position?: number | null },
    offset?: number,
    length?: number,
    position?: number | null,
  ): Promise<ReadResult> {
    let buf: Buffer;
    if (buffer === undefined || !Buffer.isBuffer(buffer)) {
      const o = buffer ?? {};
      buf = o.buffer ?? Buffer.alloc(16384);
      offset = o.offset;
      length = o.length;
      position = o.position;
    } else buf = buffer;
    const off = offset ?? 0;
    const len = length ?? buf.length - off;
    return this.run('read', async () => {
      if (off < 0 || len < 0 || off + len > buf.length) throw new FsError(Errno.EINVAL, { op: 'read' });
      const at = position === null || position === undefined || position < 0 ? this.pos : position;
      const n = await this.readAt(buf, off, len, at);
      if (position === null || position === undefined || position < 0) this.pos = at + n;
      return { bytesRead: n, buffer: buf };
    });
  }

  private async readAt(buf: Buffer, off: number, len: number, at: number): Promise<number> {
    let done = 0;
    while (done < len) {
      const want = Math.min(MAX_READ, len - done);
      // One copy, from the shared bytes straight into the caller's buffer.
      const { data, done: release } = await this.host.vfs.readShared(this.ctx, this.fh, at + done, want);
      try {
        data.copy(buf, off + done);
      } finally {
        release?.();
      }
      done += data.length;
      if (data.length < want) break;
    }
    return done;
  }

  /** write(buffer, offset?, length?, position?) or write(string, position?, encoding?). */
  write(
    data: Buffer | Uint8Array | string,
    a?: number | null,
    b?: number | Encoding | null,
    c?: number | null,
  ): Promise<WriteResult<Buffer | Uint8Array | string>> {
    let bytes: Buffer;
    let position: number | null | undefined;
    if (typeof data === 'string') {
      bytes = toBuffer(data, typeof b === 'string' ? b : 'utf8');
      position = a;
    } else {
      const all = toBuffer(data);
      const off = a ?? 0;
      const len = typeof b === 'number' ? b : all.length - off;
      bytes = all.subarray(off, off + len);
      position = c;
    }
    return this.run('write', async () => {
      const useCur = position === null || position === undefined;
      const at = useCur ? this.pos : position!;
      const write = (): Promise<number> => this.host.vfs.write(this.ctx, this.fh, at, bytes);
      const n = this.flags & O_APPEND ? await this.host.exclusive(this.ino, write) : await write();
      if (useCur) this.pos = at + n;
      return { bytesWritten: n, buffer: data };
    });
  }

  async readFile(): Promise<Buffer> {
    const st = await this.stat();
    const parts: Buffer[] = [];
    let at = this.pos;
    let total = 0;
    for (;;) {
      const want = Math.max(65536, Math.min(MAX_READ, st.size - at));
      const { bytesRead, buffer } = await this.read(Buffer.allocUnsafe(want), 0, want, at);
      if (bytesRead === 0) break;
      parts.push(buffer.subarray(0, bytesRead));
      at += bytesRead;
      total += bytesRead;
    }
    this.pos = at;
    return Buffer.concat(parts, total);
  }

  async writeFile(
    data: string | Uint8Array,
    opts?: { encoding?: Encoding | null } | Encoding | null,
  ): Promise<void> {
    const buf = toBuffer(data, encodingOf(opts) ?? 'utf8');
    for (let off = 0; off < buf.length || off === 0;) {
      const n = Math.min(MAX_READ, buf.length - off);
      if (n === 0) break;
      await this.write(buf, off, n, null);
      off += n;
    }
  }

  appendFile(
    data: string | Uint8Array,
    opts?: { encoding?: Encoding | null } | Encoding | null,
  ): Promise<void> {
    return this.writeFile(data, opts);
  }

  stat(): Promise<Stats> {
    return this.run(
      'fstat',
      async () => new Stats(this.ino, await this.host.vfs.getattr(this.ctx, this.ino)),
    );
  }

  truncate(len = 0): Promise<void> {
    return this.run('ftruncate', async () => {
      if ((this.flags & O_ACCMODE) === O_RDONLY) throw new FsError(Errno.EINVAL, { op: 'ftruncate' });
      await this.host.vfs.setattr(this.ctx, this.ino, { size: Math.max(0, len), viaHandle: true });
    });
  }

  sync(): Promise<void> {
    return this.run('fsync', () => this.host.vfs.fsync(this.ctx, this.fh));
  }

  datasync(): Promise<void> {
    return this.run('fdatasync', () => this.host.vfs.fsync(this.ctx, this.fh));
  }

  /** Uploads and commits written data without closing (visible to new readers everywhere). */
  flush(): Promise<void> {
    return this.run('flush', () => this.host.vfs.flush(this.ctx, this.fh));
  }

  chmod(mode: number): Promise<void> {
    return this.run('fchmod', async () => {
      await this.host.vfs.setattr(this.ctx, this.ino, { mode: mode & 0o7777 });
    });
  }

  chown(uid: number, gid: number): Promise<void> {
    return this.run('fchown', async () => {
      await this.host.vfs.setattr(this.ctx, this.ino, {
        ...(uid >= 0 ? { uid } : {}),
        ...(gid >= 0 ? { gid } : {}),
      });
    });
  }

  utimes(atime: TimeLike, mtime: TimeLike): Promise<void> {
    return this.run('futime', async () => {
      await this.host.vfs.setattr(this.ctx, this.ino, { atime: toTimespec(atime), mtime: toTimespec(mtime) });
    });
  }

  /** Flushes, commits and releases the handle. Later calls resolve immediately. */
  close(): Promise<void> {
    const next = this.chain.then(async () => {
      if (this.closed) return;
      this.closed = true;
      this.host.untrack(this);
      try {
        await this.host.vfs.release(this.ctx, this.fh);
      } catch (e) {
        throw nodeError(e, 'close', this.path);
      }
    });
    this.chain = next.catch(() => undefined);
    return next;
  }
}
