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

export function createReadStream(vol: Opener, path: string, opts: ReadStreamOptions = {}): Readable {
  let fh: FileHandle | undefined;
  let pos = opts.start ?? 0;
  const end = opts.end ?? Infinity;
  const hwm = opts.highWaterMark ?? MiB;
  return new Readable({
    highWaterMark: hwm,
    construct(cb) {
      vol.open(path, opts.flags ?? 'r').then(
        (h) => {
          fh = h;
          cb();
        },
        (e: unknown) => cb(e as Error),
      );
    },
    read(size) {
      const want = Math.min(Math.max(size, 1), hwm, end - pos + 1);
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
      const h = fh;
      fh = undefined;
      if (!h) return cb(err);
      h.close().then(
        () => cb(err),
        (e: unknown) => cb(err ?? (e as Error)),
      );
    },
  });
}

export function createWriteStream(vol: Opener, path: string, opts: WriteStreamOptions = {}): Writable {
  let fh: FileHandle | undefined;
  let pos: number | null = opts.start ?? null;
  return new Writable({
    highWaterMark: opts.highWaterMark ?? MiB,
    construct(cb) {
      vol.open(path, opts.flags ?? 'w', opts.mode ?? 0o666).then(
        (h) => {
          fh = h;
          cb();
        },
        (e: unknown) => cb(e as Error),
      );
    },
    write(chunk: Buffer, _enc, cb) {
      fh!.write(chunk, 0, chunk.length, pos).then(
        ({ bytesWritten }) => {
          if (pos !== null) pos += bytesWritten;
          cb();
        },
        (e: unknown) => cb(e as Error),
      );
    },
    final(cb) {
      const h = fh;
      fh = undefined;
      if (!h) return cb();
      h.close().then(
        () => cb(),
        (e: unknown) => cb(e as Error),
      );
    },
    destroy(err, cb) {
      const h = fh;
      fh = undefined;
      if (!h) return cb(err);
      h.close().then(
        () => cb(err),
        (e: unknown) => cb(err ?? (e as Error)),
      );
    },
  });
}
