/**
 * openVolume: a volume in-process, shaped like node:fs/promises, on the same Vfs as the
 * FUSE mount (same permission checks, same close-to-open consistency), no FUSE, no root.
 *
 * Design: `VolumeCore` owns one Runtime (metadata session + object store + caches) and one
 * Vfs; `Volume` is an identity (uid/gid/gids/umask) over a core. `volume.as(identity)`
 * returns another view of the same core (the gateway uses one per request user). Many
 * volumes can be open at once; each has its own runtime.
 * Invariants: every call throws Node-shaped errors (code, negative errno, syscall, path);
 * `close()` releases open handles (flushing them) and then the session; views never
 * close the core.
 */
import { constants as osConstants } from 'node:os';
import { isFsError, FsError, Errno } from '../base/errno.js';
import { FileType, ROOT_INODE, type Context, type Ino } from '../base/types.js';
import { openRuntime, type Runtime, type RuntimeOptions } from '../vfs/runtime.js';
import { Vfs } from '../vfs/vfs.js';
import { KeyedMutex } from '../util/mutex.js';
import { nodeError, wrap } from './errors.js';
import { FileHandle, type HandleHost } from './file-handle.js';
import {
  COPYFILE_EXCL,
  F_OK,
  O_CREAT,
  O_EXCL,
  O_TRUNC,
  O_WRONLY,
  encodingOf,
  parseFlags,
  toBuffer,
  toTimespec,
  type Encoding,
  type OpenFlags,
  type TimeLike,
} from './flags.js';
import { entryOf, resolveExisting, walk, type Found } from './resolve.js';
import { Dirent, Stats } from './stats.js';
import {
  createReadStream,
  createWriteStream,
  type ReadStreamOptions,
  type WriteStreamOptions,
} from './streams.js';
import { listDir, removeTree } from './tree.js';
import type { Readable, Writable } from 'node:stream';

export interface Identity {
  uid: number;
  gid: number;
  gids?: readonly number[];
  umask?: number;
}

export interface VolumeOptions extends RuntimeOptions, Partial<Identity> {
  /** Attribute cache of open files in seconds (default 1, as the mount). */
  attrCache?: number;
  /** Serve a sub-directory of the volume as the root. */
  subdir?: string;
  /** List .stats/.accesslog/.config/.trash in the root (hidden by default). */
  showInternal?: boolean;
}

type DataLike = string | Uint8Array;

/** Shared state of one opened volume. */
export class VolumeCore implements HandleHost {
  private fdSeq = 100;
  private readonly open = new Set<FileHandle>();
  closed = false;

  constructor(
    readonly rt: Runtime,
    readonly vfs: Vfs,
  ) {}

  nextFd(): number {
    return this.fdSeq++;
  }
  track(h: FileHandle): void {
    this.open.add(h);
  }
  untrack(h: FileHandle): void {
    this.open.delete(h);
  }

  private readonly locks = new KeyedMutex<Ino>();
  exclusive<T>(ino: Ino, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(ino, fn);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const h of [...this.open]) await h.close().catch(() => undefined);
    await this.vfs.flushAll();
    await this.rt.close();
  }
}

function processIdentity(): Identity {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  return { uid, gid, gids: process.getgroups?.() ?? [gid], umask: 0o022 };
}

async function subdirInode(rt: Runtime, subdir: string): Promise<Ino> {
  let cur = ROOT_INODE;
  const ctx: Context = { uid: 0, gid: 0, gids: [0], pid: process.pid };
  for (const c of subdir.split('/').filter((x) => x !== '' && x !== '.')) {
    const r = await rt.meta.lookup(ctx, cur, Buffer.from(c));
    if (r.attr.type !== FileType.Directory) throw new FsError(Errno.ENOTDIR, { op: 'subdir', path: subdir });
    cur = r.ino;
  }
  return cur;
}

/** Opens a formatted volume in this process. */
export async function openVolume(metaUrl: string, options: VolumeOptions = {}): Promise<Volume> {
  const { uid, gid, gids, umask, attrCache, subdir, showInternal, ...rtOpts } = options;
  const rt = await openRuntime(metaUrl, { cacheDir: 'memory', cacheSize: 64 * 1024 * 1024, ...rtOpts });
  try {
    const rootIno = subdir ? await subdirInode(rt, subdir) : undefined;
    const vfs = new Vfs(rt, {
      attrTimeout: attrCache ?? 1,
      dirEntryTimeout: 1,
      hideInternal: showInternal !== true,
      ...(rootIno !== undefined ? { rootIno } : {}),
    });
    const base = processIdentity();
    const id: Identity = {
      uid: uid ?? base.uid,
      gid: gid ?? base.gid,
      gids: gids ?? (uid !== undefined || gid !== undefined ? [gid ?? base.gid] : (base.gids ?? [base.gid])),
      umask: umask ?? 0o022,
    };
    return new Volume(new VolumeCore(rt, vfs), id, true);
  } catch (e) {
    await rt.close().catch(() => undefined);
    throw nodeError(e, 'open', metaUrl);
  }
}

export class Volume {
  readonly ctx: Context;
  readonly umask: number;

  constructor(
    readonly core: VolumeCore,
    readonly identity: Identity,
    private readonly owner = false,
  ) {
    this.ctx = Object.freeze({
      uid: identity.uid,
      gid: identity.gid,
      gids: identity.gids ?? [identity.gid],
      pid: process.pid,
    });
    this.umask = identity.umask ?? 0o022;
  }

  get vfs(): Vfs {
    return this.core.vfs;
  }
  get runtime(): Runtime {
    return this.core.rt;
  }
  get constants(): typeof osConstants & { F_OK: number } {
    return { ...osConstants, F_OK };
  }

  /** The same volume seen by another user (shares the runtime; closing it is a no-op). */
  as(identity: Identity): Volume {
    return new Volume(this.core, identity, false);
  }

  /** Resolves a path (follows links unless `follow` is false); Node-shaped errors. */
  lookup(path: string, follow = true, syscall = 'stat'): Promise<Found> {
    return wrap(syscall, path, () => resolveExisting(this.vfs, this.ctx, path, follow));
  }

  async open(path: string, flags?: OpenFlags, mode = 0o666): Promise<FileHandle> {
    return wrap('open', path, async () => {
      const f = parseFlags(flags, 'r');
      const w = await walk(this.vfs, this.ctx, path, (f & (O_CREAT | O_EXCL)) !== (O_CREAT | O_EXCL));
      if (w.kind === 'found') {
        if (f & O_CREAT && f & O_EXCL) throw new FsError(Errno.EEXIST, { op: 'open', path });
        const h = await this.vfs.open(this.ctx, w.ino, f & ~(O_CREAT | O_EXCL));
        return new FileHandle(this.core, this.ctx, h.fh, w.ino, f, path, f & O_TRUNC ? 0 : h.attr?.length);
      }
      if (!(f & O_CREAT)) throw new FsError(Errno.ENOENT, { op: 'open', path });
      try {
        const r = await this.vfs.create(
          this.ctx,
          w.parent,
          Buffer.from(w.name),
          mode & 0o7777,
          this.umask,
          f,
        );
        return new FileHandle(this.core, this.ctx, r.handle.fh, r.entry.ino, f, path);
      } catch (e) {
        if (!isFsError(e, 'EEXIST') || f & O_EXCL) throw e;
        const again = await resolveExisting(this.vfs, this.ctx, path, true);
        const h = await this.vfs.open(this.ctx, again.ino, f & ~(O_CREAT | O_EXCL));
        return new FileHandle(this.core, this.ctx, h.fh, again.ino, f, path);
      }
    });
  }

  readFile(path: string, opts?: { encoding?: null; flag?: OpenFlags } | null): Promise<Buffer>;
  readFile(path: string, opts: Encoding | { encoding: Encoding; flag?: OpenFlags }): Promise<string>;
  async readFile(
    path: string,
    opts?: { encoding?: Encoding | null; flag?: OpenFlags } | Encoding | null,
  ): Promise<Buffer | string> {
    const flag = typeof opts === 'object' && opts !== null ? opts.flag : undefined;
    const fh = await this.open(path, flag ?? 'r');
    try {
      const data = await fh.readFile();
      const enc = encodingOf(opts);
      return enc ? data.toString(enc) : data;
    } finally {
      await fh.close();
    }
  }

  async writeFile(
    path: string,
    data: DataLike,
    opts?: { encoding?: Encoding | null; mode?: number; flag?: OpenFlags } | Encoding | null,
  ): Promise<void> {
    const o = typeof opts === 'object' && opts !== null ? opts : {};
    const fh = await this.open(path, o.flag ?? 'w', o.mode ?? 0o666);
    try {
      await fh.writeFile(data, encodingOf(opts) ?? 'utf8');
    } finally {
      await fh.close();
    }
  }

  appendFile(
    path: string,
    data: DataLike,
    opts?: { encoding?: Encoding | null; mode?: number; flag?: OpenFlags } | Encoding | null,
  ): Promise<void> {
    const o = typeof opts === 'object' && opts !== null ? opts : {};
    return this.writeFile(path, data, { ...o, encoding: encodingOf(opts) ?? 'utf8', flag: o.flag ?? 'a' });
  }

  readdir(path: string): Promise<string[]>;
  readdir(path: string, opts: { withFileTypes: true }): Promise<Dirent[]>;
  readdir(path: string, opts?: { withFileTypes?: boolean }): Promise<string[] | Dirent[]>;
  readdir(path: string, opts: { withFileTypes?: boolean } = {}): Promise<string[] | Dirent[]> {
    return wrap('scandir', path, async () => {
      const d = await resolveExisting(this.vfs, this.ctx, path, true);
      if (d.attr.type !== FileType.Directory) throw new FsError(Errno.ENOTDIR, { op: 'scandir', path });
      const entries = await listDir(this.vfs, this.ctx, d.ino);
      if (!opts.withFileTypes) return entries.map((e) => e.name.toString());
      return entries.map((e) => new Dirent(e.name.toString(), path, e.type));
    });
  }

  mkdir(path: string, opts?: { recursive?: boolean; mode?: number } | number): Promise<string | undefined> {
    const o = typeof opts === 'number' ? { mode: opts } : (opts ?? {});
    const mode = o.mode ?? 0o777;
    return wrap('mkdir', path, async () =>
      o.recursive ? this.mkdirp(path, mode) : (await this.mkdirOne(path, mode), undefined),
    );
  }

  private async mkdirOne(path: string, mode: number): Promise<void> {
    const w = await walk(this.vfs, this.ctx, path, false);
    if (w.kind === 'found') throw new FsError(Errno.EEXIST, { op: 'mkdir', path });
    await this.vfs.mkdir(this.ctx, w.parent, Buffer.from(w.name), mode & 0o7777, this.umask);
  }

  /** mkdir -p following symlinks; returns the first directory created. */
  private async mkdirp(path: string, mode: number): Promise<string | undefined> {
    let w;
    try {
      w = await walk(this.vfs, this.ctx, path, true);
    } catch (e) {
      if (!isFsError(e, 'ENOENT')) throw e;
      const parentPath = path.replace(/\/+[^/]*\/*$/, '') || '/';
      if (parentPath === path) throw e;
      const first = await this.mkdirp(parentPath, mode);
      await this.mkdirp(path, mode);
      return first;
    }
    if (w.kind === 'found') {
      if (w.attr.type !== FileType.Directory) throw new FsError(Errno.EEXIST, { op: 'mkdir', path });
      return undefined;
    }
    try {
      await this.vfs.mkdir(this.ctx, w.parent, Buffer.from(w.name), mode & 0o7777, this.umask);
    } catch (e) {
      if (!isFsError(e, 'EEXIST')) throw e;
      return undefined;
    }
    return path;
  }

  rm(path: string, opts: { recursive?: boolean; force?: boolean } = {}): Promise<void> {
    return wrap('rm', path, async () => {
      let f: Found;
      try {
        f = await resolveExisting(this.vfs, this.ctx, path, false);
      } catch (e) {
        if (opts.force && isFsError(e, 'ENOENT')) return;
        throw e;
      }
      const { parent, name } = entryOf(f, 'rm');
      if (f.attr.type === FileType.Directory && !opts.recursive) {
        throw Object.assign(nodeError(new FsError(Errno.EISDIR), 'rm', path), { code: 'ERR_FS_EISDIR' });
      }
      await removeTree(this.vfs, this.ctx, parent, Buffer.from(name), f.attr.type, f.ino);
    });
  }

  rmdir(path: string): Promise<void> {
    return wrap('rmdir', path, async () => {
      const { parent, name } = entryOf(await resolveExisting(this.vfs, this.ctx, path, false), 'rmdir');
      await this.vfs.rmdir(this.ctx, parent, Buffer.from(name));
    });
  }

  unlink(path: string): Promise<void> {
    return wrap('unlink', path, async () => {
      const f = await resolveExisting(this.vfs, this.ctx, path, false);
      if (f.attr.type === FileType.Directory) throw new FsError(Errno.EISDIR, { op: 'unlink', path });
      const { parent, name } = entryOf(f, 'unlink');
      await this.vfs.unlink(this.ctx, parent, Buffer.from(name));
    });
  }

  /** POSIX rename (replaces an existing destination); `flags` are RENAME_* (NOREPLACE = 1). */
  rename(from: string, to: string, flags = 0): Promise<void> {
    return wrap(
      'rename',
      from,
      async () => {
        const src = entryOf(await resolveExisting(this.vfs, this.ctx, from, false), 'rename');
        const dst = await walk(this.vfs, this.ctx, to, false);
        const d = dst.kind === 'missing' ? dst : entryOf(dst, 'rename');
        await this.vfs.rename(
          this.ctx,
          src.parent,
          Buffer.from(src.name),
          d.parent,
          Buffer.from(d.name!),
          flags,
        );
      },
      to,
    );
  }

  stat(path: string): Promise<Stats> {
    return wrap('stat', path, async () => {
      const f = await resolveExisting(this.vfs, this.ctx, path, true);
      return new Stats(f.ino, f.attr);
    });
  }

  lstat(path: string): Promise<Stats> {
    return wrap('lstat', path, async () => {
      const f = await resolveExisting(this.vfs, this.ctx, path, false);
      return new Stats(f.ino, f.attr);
    });
  }

  symlink(target: string, path: string): Promise<void> {
    return wrap(
      'symlink',
      target,
      async () => {
        const w = await walk(this.vfs, this.ctx, path, false);
        if (w.kind === 'found') throw new FsError(Errno.EEXIST, { op: 'symlink', path });
        await this.vfs.symlink(this.ctx, w.parent, Buffer.from(w.name), Buffer.from(target));
      },
      path,
    );
  }

  readlink(path: string): Promise<string> {
    return wrap('readlink', path, async () => {
      const f = await resolveExisting(this.vfs, this.ctx, path, false);
      return (await this.vfs.readlink(this.ctx, f.ino)).toString();
    });
  }

  link(existing: string, path: string): Promise<void> {
    return wrap(
      'link',
      existing,
      async () => {
        const src = await resolveExisting(this.vfs, this.ctx, existing, false);
        const w = await walk(this.vfs, this.ctx, path, false);
        if (w.kind === 'found') throw new FsError(Errno.EEXIST, { op: 'link', path });
        await this.vfs.link(this.ctx, src.ino, w.parent, Buffer.from(w.name));
      },
      path,
    );
  }

  chmod(path: string, mode: number): Promise<void> {
    return this.setattrAt('chmod', path, true, { mode: mode & 0o7777 });
  }
  chown(path: string, uid: number, gid: number): Promise<void> {
    return this.setattrAt('chown', path, true, {
      ...(uid >= 0 ? { uid } : {}),
      ...(gid >= 0 ? { gid } : {}),
    });
  }
  lchown(path: string, uid: number, gid: number): Promise<void> {
    return this.setattrAt('lchown', path, false, {
      ...(uid >= 0 ? { uid } : {}),
      ...(gid >= 0 ? { gid } : {}),
    });
  }
  utimes(path: string, atime: TimeLike, mtime: TimeLike): Promise<void> {
    return wrap('utime', path, () =>
      this.setattrAt('utime', path, true, { atime: toTimespec(atime), mtime: toTimespec(mtime) }),
    );
  }
  lutimes(path: string, atime: TimeLike, mtime: TimeLike): Promise<void> {
    return wrap('lutime', path, () =>
      this.setattrAt('lutime', path, false, { atime: toTimespec(atime), mtime: toTimespec(mtime) }),
    );
  }
  truncate(path: string, len = 0): Promise<void> {
    return this.setattrAt('open', path, true, { size: Math.max(0, len) });
  }

  private setattrAt(
    syscall: string,
    path: string,
    follow: boolean,
    req: Parameters<Vfs['setattr']>[2],
  ): Promise<void> {
    return wrap(syscall, path, async () => {
      const f = await resolveExisting(this.vfs, this.ctx, path, follow);
      if (req.size !== undefined && f.attr.type === FileType.Directory)
        throw new FsError(Errno.EISDIR, { op: syscall, path });
      await this.vfs.setattr(this.ctx, f.ino, req);
    });
  }

  access(path: string, mode = F_OK): Promise<void> {
    return wrap('access', path, async () => {
      const f = await resolveExisting(this.vfs, this.ctx, path, true);
      if (mode !== F_OK) await this.runtime.meta.access(this.ctx, this.vfs.toMeta(f.ino), mode);
    });
  }

  /** Copies by sharing slices (copy_file_range of metadata records), not bytes. */
  copyFile(from: string, to: string, mode = 0): Promise<void> {
    return wrap(
      'copyfile',
      from,
      async () => {
        const src = await this.open(from, 'r');
        try {
          const st = await src.stat();
          const dst = await this.open(
            to,
            O_WRONLY | O_CREAT | O_TRUNC | (mode & COPYFILE_EXCL ? O_EXCL : 0),
            st.mode & 0o7777,
          );
          try {
            let done = 0;
            while (done < st.size) {
              const n = await this.vfs.copyFileRange(this.ctx, src.fh, done, dst.fh, done, st.size - done);
              if (n <= 0) break;
              done += n;
            }
          } finally {
            await dst.close();
          }
        } finally {
          await src.close();
        }
      },
      to,
    );
  }

  /** Extended attributes (not in fs/promises; used by the HDFS layer and scripts). */
  getxattr(path: string, name: string): Promise<Buffer> {
    return wrap('getxattr', path, async () =>
      this.vfs.getxattr(this.ctx, (await resolveExisting(this.vfs, this.ctx, path, true)).ino, name),
    );
  }
  listxattr(path: string): Promise<string[]> {
    return wrap('listxattr', path, async () =>
      this.vfs.listxattr(this.ctx, (await resolveExisting(this.vfs, this.ctx, path, true)).ino),
    );
  }
  setxattr(path: string, name: string, value: DataLike, flags = 0): Promise<void> {
    return wrap('setxattr', path, async () =>
      this.vfs.setxattr(
        this.ctx,
        (await resolveExisting(this.vfs, this.ctx, path, true)).ino,
        name,
        toBuffer(value),
        flags,
      ),
    );
  }
  removexattr(path: string, name: string): Promise<void> {
    return wrap('removexattr', path, async () =>
      this.vfs.removexattr(this.ctx, (await resolveExisting(this.vfs, this.ctx, path, true)).ino, name),
    );
  }

  statfs(
    path = '/',
  ): Promise<{ bsize: number; blocks: number; bfree: number; bavail: number; files: number; ffree: number }> {
    return wrap('statfs', path, async () => {
      const f = await resolveExisting(this.vfs, this.ctx, path, true);
      const s = await this.vfs.statfs(this.ctx, f.ino);
      const bsize = 4096;
      return {
        bsize,
        blocks: Math.floor(s.totalSpace / bsize),
        bfree: Math.floor(s.availSpace / bsize),
        bavail: Math.floor(s.availSpace / bsize),
        files: s.usedInodes + s.availInodes,
        ffree: s.availInodes,
      };
    });
  }

  createReadStream(path: string, opts: ReadStreamOptions = {}): Readable {
    return createReadStream(this, path, opts);
  }
  createWriteStream(path: string, opts: WriteStreamOptions = {}): Writable {
    return createWriteStream(this, path, opts);
  }

  /** Flushes and releases every open handle, then closes the session (owner only). */
  async close(): Promise<void> {
    if (this.owner) await this.core.close();
  }
}
