/**
 * Node streams over API file handles: createReadStream / createWriteStream.
 *
 * Design: the handle is opened lazily in `_construct`; reads pull `highWaterMark` bytes per
 * `_read` (default 1 MiB) so memory stays bounded by Node's buffering; writes go straight
 * to the Vfs writer (whose page budget blocks when full) and `write()` returns false past
 * the high-water mark, which is Node's backpressure contract. `_final` closes the handle
 * (upload + commit) before 'finish', so a finished write stream is visible everywhere.
 * A write stream that creates or truncates (flags 'w'/'w+', no `start`) is staged: it writes
 * a hidden temporary file next to the target and renames it into place in `_final`, so a
 * stream destroyed before it ends (an aborted upload) leaves the old file as it was and no
 * partial file (the temporary file is removed); the new file takes the old one's mode (and
 * owner, for root). Other flags write in place.
 * Invariants: `end` is inclusive as in node:fs; a destroyed stream releases its handle.
 */
import { randomBytes } from 'node:crypto';
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
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  stat(path: string): Promise<{ isFile(): boolean; mode: number; uid: number; gid: number }>;
  chmod(path: string, mode: number): Promise<void>;
  chown(path: string, uid: number, gid: number): Promise<void>;
}

/** Gives `temp` the mode (and, where allowed, owner) of the file it replaces, then renames it. */
async function replaceWith(vol: Opener, temp: string, path: string): Promise<void> {
  const old = await vol.stat(path).catch(() => undefined);
  if (old?.isFile()) {
    await vol.chmod(temp, old.mode & 0o7777);
    await vol.chown(temp, old.uid, old.gid).catch(() => undefined); // only root may give files away
  }
  await vol.rename(temp, path);
}

/** The hidden name a staged write stream writes before it renames into `path`. */
function stagingPath(path: string): string {
  const slash = path.lastIndexOf('/');
  const name = path.slice(slash + 1).slice(0, 180);
  return `${path.slice(0, slash + 1)}.${name}.tjfs-upload.${randomBytes(6).toString('hex')}`;
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
  const flags = opts.flags ?? 'w';
  const temp = (flags === 'w' || flags === 'w+') && !opts.start ? stagingPath(path) : undefined;
  let published = false;
  const publish = (cb: Callback): void => {
    if (temp === undefined) return cb();
    replaceWith(vol, temp, path).then(
      () => {
        published = true;
        cb();
      },
      (e: unknown) => cb(e as Error),
    );
  };
  const discard = (err: Error | null, cb: Callback): void => {
    if (temp === undefined || published) return cb(err);
    vol.unlink(temp).then(
      () => cb(err),
      () => cb(err), // never created, or already gone
    );
  };
  return new Writable({
    highWaterMark: opts.highWaterMark ?? MiB,
    construct(cb) {
      slot.open(vol.open(temp ?? path, temp !== undefined ? 'wx' : flags, opts.mode ?? 0o666), cb);
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
      slot.close(null, (e) => (e ? cb(e) : publish(cb)));
    },
    destroy(err, cb) {
      slot.close(err, (e) => discard(e ?? null, cb));
    },
  });
}
