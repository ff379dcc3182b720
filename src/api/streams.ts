/**
 * Node streams over API file handles: createReadStream / createWriteStream.
 *
 * Design: the handle is opened lazily in `_construct`; reads pull `highWaterMark` bytes per
 * `_read` (default 1 MiB) so memory stays bounded by Node's buffering; writes go straight
 * to the Vfs writer (whose page budget blocks when full) and `write()` returns false past
 * the high-water mark, which is Node's backpressure contract. `_final` closes the handle
 * (upload + commit) before 'finish', so a finished write stream is visible everywhere.
 * Invariants: `end` is inclusive as in node:fs; a destroyed stream releases its handle.
 */
import { Readable, Writable } from 'node:stream';
import type { FileHandle } from './file-handle.js';
import type { OpenFlags } from './flags.js';

export interface ReadStreamOptions {
  start?: number;
  /** Inclusive. */
  end?: number;
  highWaterMark?: number;
  flags?: OpenFlags;
}

export interface WriteStreamOptions {
  flags?: OpenFlags;
  mode?: number;
  start?: number;
  highWaterMark?: number;
}

interface Opener {
  open(path: string, flags?: OpenFlags, mode?: number): Promise<FileHandle>;
}

const MiB = 1024 * 1024;

type Callback = (err?: Error | null) => void;

/** A stream's file handle: opened by `construct`, closed exactly once by `final` or `destroy`. */
class HandleSlot {
  h: FileHandle | undefined;

  open(opening: Promise<FileHandle>, cb: Callback): void {
    opening.then(
      (h) => {
        this.h = h;
        cb();
      },
      (e: unknown) => cb(e as Error),
    );
  }

  close(err: Error | null, cb: Callback): void {
    const h = this.h;
    this.h = undefined;
    if (!h) return cb(err);
    h.close().then(
      () => cb(err),
      (e: unknown) => cb(err ?? (e as Error)),
    );
  }
}

export function createReadStream(vol: Opener, path: string, opts: ReadStreamOptions = {}): Readable {
  const slot = new HandleSlot();
  let pos = opts.start ?? 0;
  const end = opts.end ?? Infinity;
  const hwm = opts.highWaterMark ?? MiB;
  return new Readable({
    highWaterMark: hwm,
    construct(cb) {
      slot.open(vol.open(path, opts.flags ?? 'r'), cb);
    },
    read(size) {
      const want = Math.min(Math.max(size, 1), hwm, end - pos + 1);
      const fh = slot.h;
      if (want <= 0 || !fh) {
        this.push(null);
        return;
      }
      fh.read(Buffer.allocUnsafe(want), 0, want, pos).then(
        ({ bytesRead, buffer }) => {
          pos += bytesRead;
          if (bytesRead === 0) this.push(null);
          else this.push(buffer.subarray(0, bytesRead));
        },
        (e: unknown) => this.destroy(e as Error),
      );
    },
    destroy(err, cb) {
      slot.close(err, cb);
    },
  });
}

export function createWriteStream(vol: Opener, path: string, opts: WriteStreamOptions = {}): Writable {
  const slot = new HandleSlot();
  let pos: number | null = opts.start ?? null;
  return new Writable({
    highWaterMark: opts.highWaterMark ?? MiB,
    construct(cb) {
      slot.open(vol.open(path, opts.flags ?? 'w', opts.mode ?? 0o666), cb);
    },
    write(chunk: Buffer, _enc, cb) {
      slot.h!.write(chunk, 0, chunk.length, pos).then(
        ({ bytesWritten }) => {
          if (pos !== null) pos += bytesWritten;
          cb();
        },
        (e: unknown) => cb(e as Error),
      );
    },
    final(cb) {
      slot.close(null, cb);
    },
    destroy(err, cb) {
      slot.close(err, cb);
    },
  });
}
