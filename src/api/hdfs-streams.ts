/**
 * FSDataInputStream / FSDataOutputStream equivalents for the HDFS-style FileSystem
 * (docs/WEBHDFS.md §6.6, §6.7), over API file handles.
 *
 * Input: `seek` (negative -> EOFException, past EOF allowed: reads then return -1),
 * `read` (>= 1 byte unless EOF (-1) or len 0), `pread` (does not move the position),
 * `readFully` (exactly len bytes or EOFException). Output: `write` (calls are
 * serialised, so concurrent writers keep their order), `hflush` (upload + commit: visible
 * to new readers on any client), `hsync` (the same, durable once it returns), `close`
 * (idempotent; the first call persists everything). Write after close -> IOException.
 */
import { Writable } from 'node:stream';
import type { FileHandle } from './file-handle.js';
import { HdfsError, toHdfsError } from './hdfs-errors.js';

export class HdfsInputStream {
  private pos = 0;
  private closed = false;

  constructor(
    private readonly fh: FileHandle,
    readonly path: string,
    /** File length when opened. */
    readonly length: number,
  ) {}

  getPos(): number {
    return this.pos;
  }

  seek(pos: number): void {
    this.check();
    if (!Number.isInteger(pos) || pos < 0)
      throw new HdfsError('EOFException', `Cannot seek to negative offset ${pos}`);
    this.pos = pos;
  }

  /** Bytes left before the length seen at open. */
  available(): number {
    return Math.max(0, this.length - this.pos);
  }

  /** Reads into `buf[off, off+len)` at the current position; -1 at EOF. */
  async read(buf: Buffer, off = 0, len = buf.length - off): Promise<number> {
    const n = await this.pread(this.pos, buf, off, len);
    if (n > 0) this.pos += n;
    return n;
  }

  /** Positioned read: does not move the stream position; -1 at EOF. */
  async pread(position: number, buf: Buffer, off = 0, len = buf.length - off): Promise<number> {
    this.check();
    if (position < 0) throw new HdfsError('EOFException', `Cannot read at negative position ${position}`);
    if (off < 0 || len < 0 || off + len > buf.length)
      throw new HdfsError('IllegalArgumentException', 'buffer range out of bounds');
    if (len === 0) return 0;
    try {
      const { bytesRead } = await this.fh.read(buf, off, len, position);
      return bytesRead === 0 ? -1 : bytesRead;
    } catch (e) {
      throw toHdfsError(e, this.path);
    }
  }

  /** Exactly `len` bytes at `position`, or EOFException. */
  async readFully(position: number, buf: Buffer, off = 0, len = buf.length - off): Promise<void> {
    let done = 0;
    while (done < len) {
      const n = await this.pread(position + done, buf, off + done, len - done);
      if (n < 0)
        throw new HdfsError(
          'EOFException',
          `End of file reached before reading fully: ${this.path} at ${position + done}`,
        );
      done += n;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close().catch((e: unknown) => {
      throw toHdfsError(e, this.path);
    });
  }

  private check(): void {
    if (this.closed) throw new HdfsError('IOException', `Stream is closed: ${this.path}`);
  }
}

export class HdfsOutputStream {
  private pos: number;
  private closed: Promise<void> | undefined;

  constructor(
    private readonly fh: FileHandle,
    readonly path: string,
    start: number,
  ) {
    this.pos = start;
  }

  getPos(): number {
    return this.pos;
  }

  async write(data: Buffer | Uint8Array | string): Promise<void> {
    if (this.closed) throw new HdfsError('IOException', `Stream is closed: ${this.path}`);
    const buf =
      typeof data === 'string'
        ? Buffer.from(data)
        : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const at = this.pos;
    this.pos += buf.length;
    try {
      await this.fh.write(buf, 0, buf.length, at);
    } catch (e) {
      throw toHdfsError(e, this.path);
    }
  }

  /** Data written so far becomes visible to new readers on every client. */
  async hflush(): Promise<void> {
    if (this.closed) throw new HdfsError('IOException', `Stream is closed: ${this.path}`);
    await this.fh.flush().catch((e: unknown) => {
      throw toHdfsError(e, this.path);
    });
  }

  /** Like hflush, and durable when it returns (blocks uploaded, slices committed). */
  async hsync(): Promise<void> {
    if (this.closed) throw new HdfsError('IOException', `Stream is closed: ${this.path}`);
    await this.fh.sync().catch((e: unknown) => {
      throw toHdfsError(e, this.path);
    });
  }

  close(): Promise<void> {
    this.closed ??= this.fh.close().catch((e: unknown) => {
      throw toHdfsError(e, this.path);
    });
    return this.closed;
  }

  /** A Node Writable over this stream (backpressure by highWaterMark); 'finish' after close. */
  writable(highWaterMark = 1024 * 1024): Writable {
    return new Writable({
      highWaterMark,
      write: (chunk: Buffer, _enc, cb) => {
        this.write(chunk).then(
          () => cb(),
          (e: unknown) => cb(e as Error),
        );
      },
      final: (cb) => {
        this.close().then(
          () => cb(),
          (e: unknown) => cb(e as Error),
        );
      },
    });
  }
}
