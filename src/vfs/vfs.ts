/**
 * Vfs: the FUSE-free file system of one client over the metadata layer and the chunk
 * store. Both the FUSE adapter and the programmatic API call it. It owns handles and
 * per-inode open files, merges unflushed writes into reported sizes, maps the mount root
 * (--subdir), serves the virtual files, and observes every op once (metrics, access log).
 *
 * Consistency: close-to-open. `flush`/`fsync`/`release` upload and commit; `open` re-reads
 * attributes from the metadata engine; reads of a file with pending writes in this client
 * flush them first. Errors are FsError with the right errno.
 */
import { FsError, Errno } from '../base/errno.js';
import type { EntryResult, LockTypeValue, PosixLock, SetAttrRequest, StatFs } from '../meta/meta.js';
import { LockType } from '../meta/meta.js';
import {
  CONFIG_INODE,
  FileType,
  LOG_INODE,
  ROOT_CONTEXT,
  ROOT_INODE,
  STATS_INODE,
  typeFromMode,
  withoutSuidgid,
  type Attr,
  type Context,
  type Entry,
  type Ino,
  type Timespec,
} from '../base/types.js';
import { Compactor } from './compactor.js';
import { flushSeq, HandleTable, type Handle, type OpenFile } from './open-files.js';
import { Observer } from './observe.js';
import { attachStatsMetrics } from './stats-metrics.js';
import { stagingStats } from '../cache/writeback.js';
import { objectRetryStats } from '../object/retrying.js';
import type { Runtime } from './runtime.js';
import { virtualAttr, virtualByIno, virtualByName } from './virtual.js';
import { listDirectory, type ListingSource } from './dir-listing.js';
import { redactedJson } from '../util/redact.js';
import { O_ACCMODE, O_APPEND, O_DIRECT, O_EXCL, O_TRUNC, O_WRONLY } from '../base/open-flags.js';

/** Security xattrs tjfs refuses to store (as Go JuiceFS does unless enabled). */
const UNSTORED_XATTRS = new Set(['security.capability', 'security.selinux']);

export interface VfsOptions {
  /** Inode used as the root (--subdir); default 1. */
  rootIno?: Ino;
  /** Hide .accesslog/.stats/.config/.trash from the root listing. */
  hideInternal?: boolean;
  /**
   * Seconds a successful lookup of a directory is reused by this Vfs (0 = off). For
   * in-process API users, who have no kernel dentry cache; the mount leaves it off. Any
   * namespace or attribute change made through this Vfs drops the cache at once; changes
   * by other clients may be seen up to this late (like the mount's --dir-entry-cache).
   */
  dirEntryTimeout?: number;
  /** Attribute cache TTL in seconds (--attr-cache), used for lengths of open files. */
  attrTimeout?: number;
  /** Shown in `.config`. */
  config?: Record<string, unknown>;
  uid?: number;
  gid?: number;
}

const name = (b: Buffer): string => b.toString();
const align4K = (n: number): number => Math.ceil(n / 4096) * 4096;
const FALLOC_KEEP_SIZE = 1;

/**
 * Offsets and lengths are JS numbers, exact up to 2^53 - 1; the FUSE decoder turns a larger
 * 64-bit value into Infinity. A range this client cannot address exactly is refused with
 * EFBIG instead of landing somewhere else (JuiceFS's own limit, 2^57, is above it).
 */
function checkRange(op: string, ino: Ino, offset: number, length: number): void {
  if (!(offset >= 0 && length >= 0 && offset + length <= Number.MAX_SAFE_INTEGER)) {
    throw new FsError(Errno.EFBIG, {
      op,
      ino,
      message: `EFBIG: ${op}: range at ${offset} of ${length} bytes is beyond the largest supported offset (2^53 - 1)`,
    });
  }
}

/** Read bytes that may be shared with the read buffer: valid until `done` (if any) is called. */
export interface SharedRead {
  data: Buffer;
  done?: () => void;
}

export class Vfs {
  readonly rt: Runtime;
  readonly handles: HandleTable;
  readonly compactor: Compactor;
  readonly obs: Observer;
  readonly root: Ino;
  private readonly opts: VfsOptions;
  private readonly started: Timespec;
  private readonly attrTtlMs: number;
  private readonly dirCacheMs: number;
  private readonly dirCache = new Map<string, { entry: EntryResult; gen: number; until: number }>();
  private nsGen = 0;
  /** What directory listings read (dir-listing.ts). */
  private readonly listing: ListingSource;

  constructor(rt: Runtime, opts: VfsOptions = {}) {
    this.rt = rt;
    this.opts = opts;
    this.root = opts.rootIno ?? ROOT_INODE;
    this.attrTtlMs = (opts.attrTimeout ?? 1) * 1000;
    this.dirCacheMs = (opts.dirEntryTimeout ?? 0) * 1000;
    this.compactor = new Compactor(rt, rt.meta.log);
    this.handles = new HandleTable(rt, this.compactor);
    this.obs = new Observer({ vol_name: rt.format.Name }, rt.meta.log);
    this.obs.attach({
      onTxn: (fn) => rt.meta.onTxn(fn),
      stats: () => rt.chunks.stats,
      objects: () => objectRetryStats(rt.store),
      staging: () => stagingStats(rt.chunks.writeback),
      meta: () => rt.meta.outageStats(),
      txRestarts: () => rt.meta.txRestarts(),
    });
    attachStatsMetrics(this.obs.registry, rt.chunks);
    const now = Date.now();
    this.started = { sec: Math.floor(now / 1000), nsec: (now % 1000) * 1e6 };
    this.listing = {
      get meta() {
        return rt.meta; // read when used, as this.meta is
      },
      root: this.root,
      fromMeta: (ino) => this.fromMeta(ino),
      showInternal: opts.hideInternal !== true,
      virtualAttr: (ino) => this.virtualAttr(ino),
    };
  }

  private get meta(): Runtime['meta'] {
    return this.rt.meta;
  }

  /** Kernel/API inode -> metadata inode (root remapping for --subdir). */
  toMeta(ino: Ino): Ino {
    return ino === ROOT_INODE ? this.root : ino;
  }
  /** Metadata inode -> kernel/API inode. */
  fromMeta(ino: Ino): Ino {
    return ino === this.root ? ROOT_INODE : ino;
  }
  private entry(r: EntryResult, since?: number): EntryResult {
    return { ino: this.fromMeta(r.ino), attr: this.adjust(r.ino, r.attr, since) };
  }
  private isRealRoot(parent: Ino): boolean {
    return parent === ROOT_INODE && this.root === ROOT_INODE;
  }

  /**
   * Size reported for a file with unflushed writes in this client. `since`: flushSeq()
   * taken before the metadata read that produced `a`. A flush that completed meanwhile
   * may have committed after the engine answered, so `a` can be older than that commit
   * while the writer no longer counts those bytes as pending: its end counts then. Without
   * this, a getattr racing a flush (Redis answers asynchronously) reported the old size
   * and the kernel's size went backwards.
   */
  private adjust(ino: Ino, a: Attr, since?: number): Attr {
    const f = this.handles.files.get(ino);
    if (!f || a.type !== FileType.File) return a;
    let len = Math.max(a.length, f.pendingLength());
    if (since !== undefined && f.flushedSeq > since) len = Math.max(len, f.flushedEnd);
    return len > a.length ? { ...a, length: len } : a;
  }

  /** The length of an open file as the engine has it now, covering this client's writes. */
  private async currentLength(ctx: Context, f: OpenFile): Promise<number> {
    const since = flushSeq();
    return this.adjust(f.ino, await this.meta.getattr(ctx, f.ino), since).length;
  }

  private virtualAttr(ino: Ino): Attr | undefined {
    const v = virtualByIno(ino);
    return v
      ? virtualAttr(
          v,
          this.opts.uid ?? process.getuid?.() ?? 0,
          this.opts.gid ?? process.getgid?.() ?? 0,
          this.started,
        )
      : undefined;
  }

  lookup(ctx: Context, parent: Ino, nm: Buffer): Promise<EntryResult> {
    return this.obs.run(
      'lookup',
      ctx,
      () => `${parent},${name(nm)}`,
      async () => {
        if (this.isRealRoot(parent)) {
          const v = virtualByName(name(nm));
          if (v) return { ino: v.ino, attr: this.virtualAttr(v.ino)! };
        }
        if (parent === ROOT_INODE && this.root !== ROOT_INODE && name(nm) === '..') {
          return { ino: ROOT_INODE, attr: await this.meta.getattr(ctx, this.root) };
        }
        const since = flushSeq();
        return this.entry(await this.meta.lookup(ctx, this.toMeta(parent), nm), since);
      },
    );
  }

  /**
   * `lookup` for the middle components of a path walk (API users, who have no kernel
   * dentry cache): successful lookups of directories are reused for `dirEntryTimeout`
   * seconds per caller identity. Only the inode and type are reliable in a cached answer
   * (its attributes may be stale); take the last component from `lookup`.
   */
  async lookupPath(ctx: Context, parent: Ino, nm: Buffer): Promise<EntryResult> {
    if (this.dirCacheMs === 0) return this.lookup(ctx, parent, nm);
    const key = `${ctx.uid}:${ctx.gid}:${ctx.gids.join(',')}:${parent}/${nm.toString('latin1')}`;
    const hit = this.dirCache.get(key);
    if (hit && hit.gen === this.nsGen && hit.until > Date.now()) return hit.entry;
    const gen = this.nsGen;
    const r = await this.lookup(ctx, parent, nm);
    if (r.attr.type === FileType.Directory && gen === this.nsGen) {
      if (this.dirCache.size > 10_000) this.dirCache.clear();
      this.dirCache.set(key, { entry: r, gen, until: Date.now() + this.dirCacheMs });
    }
    return r;
  }

  /** Drops cached directory lookups after a namespace or permission change by this client. */
  private changed(): void {
    if (this.dirCacheMs > 0) this.nsGen++;
  }

  getattr(ctx: Context, ino: Ino): Promise<Attr> {
    return this.obs.run(
      'getattr',
      ctx,
      () => String(ino),
      async () => {
        const v = this.virtualAttr(ino);
        if (v) return v;
        const m = this.toMeta(ino);
        const since = flushSeq();
        return this.adjust(m, await this.meta.getattr(ctx, m), since);
      },
    );
  }

  /**
   * getattr for the kernel's attribute cache, which keeps a reply `ttlSec` seconds: returns
   * the attributes and how long the kernel may keep them. A directory this client changed
   * less than `ttlSec` ago is answered from what the change committed (the kernel drops a
   * parent's attributes after each create, unlink or rename in it, and asks again on the
   * next path walk), for the rest of `ttlSec` only, so another client's change still shows
   * within `ttlSec` (own-dir-attrs.ts).
   */
  getattrForKernel(ctx: Context, ino: Ino, ttlSec: number): Promise<{ attr: Attr; ttlSec: number }> {
    const own =
      ttlSec > 0 && virtualByIno(ino) === undefined
        ? this.meta.ownDirAttr(this.toMeta(ino), ttlSec * 1000)
        : undefined;
    if (own === undefined) return this.getattr(ctx, ino).then((attr) => ({ attr, ttlSec }));
    return this.obs.run(
      'getattr',
      ctx,
      () => String(ino),
      async () => ({ attr: own.attr, ttlSec: ttlSec - own.ageMs / 1000 }),
    );
  }

  /**
   * `opts.killSuidgid`: a truncation by a caller without CAP_FSETID, which also clears
   * setuid and setgid (HANDLE_KILLPRIV_V2: the kernel leaves that to us).
   */
  setattr(ctx: Context, ino: Ino, req: SetAttrRequest, opts: { killSuidgid?: boolean } = {}): Promise<Attr> {
    return this.obs.run(
      'setattr',
      ctx,
      () => `${ino},${JSON.stringify(req, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`,
      async () => {
        if (virtualByIno(ino)) throw new FsError(Errno.EPERM, { op: 'setattr', ino });
        if (req.size !== undefined) checkRange('truncate', ino, req.size, 0);
        this.changed();
        const m = this.toMeta(ino);
        if (req.size !== undefined) await this.handles.files.get(m)?.flush();
        let a = await this.meta.setattr(ctx, m, req);
        const f = this.handles.files.get(m);
        if (req.size !== undefined && f) {
          f.reader.invalidate();
          f.known = undefined;
        }
        if (f && (req.mode !== undefined || req.uid !== undefined || req.gid !== undefined))
          f.suidgidClear = false;
        if (req.size !== undefined && opts.killSuidgid === true) a = await this.dropSuidgid(m, a);
        return this.adjust(m, a);
      },
    );
  }

  mknod(ctx: Context, parent: Ino, nm: Buffer, mode: number, rdev: number, umask = 0): Promise<EntryResult> {
    return this.obs.run(
      'mknod',
      ctx,
      () => `${parent},${name(nm)},${mode.toString(8)}`,
      async () => {
        this.checkReserved(parent, nm);
        const type = typeFromMode(mode);
        if (type === FileType.Directory)
          return this.entry(await this.meta.mkdir(ctx, this.toMeta(parent), nm, mode & 0o7777, umask));
        if (type === FileType.File) {
          const r = await this.meta.create(ctx, this.toMeta(parent), nm, mode & 0o7777, umask);
          await this.meta.close(r.ino);
          return this.entry(r);
        }
        return this.entry(
          await this.meta.mknod(ctx, this.toMeta(parent), nm, { type, mode: mode & 0o7777, umask, rdev }),
        );
      },
    );
  }

  mkdir(ctx: Context, parent: Ino, nm: Buffer, mode: number, umask = 0): Promise<EntryResult> {
    return this.obs.run(
      'mkdir',
      ctx,
      () => `${parent},${name(nm)},${mode.toString(8)}`,
      async () => {
        this.checkReserved(parent, nm);
        return this.entry(await this.meta.mkdir(ctx, this.toMeta(parent), nm, mode, umask));
      },
    );
  }

  symlink(ctx: Context, parent: Ino, nm: Buffer, target: Buffer): Promise<EntryResult> {
    return this.obs.run(
      'symlink',
      ctx,
      () => `${parent},${name(nm)},${name(target)}`,
      async () => {
        this.checkReserved(parent, nm);
        return this.entry(await this.meta.symlink(ctx, this.toMeta(parent), nm, target));
      },
    );
  }

  readlink(ctx: Context, ino: Ino): Promise<Buffer> {
    return this.obs.run(
      'readlink',
      ctx,
      () => String(ino),
      () => this.meta.readlink(ctx, this.toMeta(ino)),
    );
  }

  link(ctx: Context, ino: Ino, parent: Ino, nm: Buffer): Promise<EntryResult> {
    return this.obs.run(
      'link',
      ctx,
      () => `${ino},${parent},${name(nm)}`,
      async () => {
        this.checkReserved(parent, nm);
        return this.entry(await this.meta.link(ctx, this.toMeta(ino), this.toMeta(parent), nm));
      },
    );
  }

  unlink(ctx: Context, parent: Ino, nm: Buffer): Promise<void> {
    return this.obs.run(
      'unlink',
      ctx,
      () => `${parent},${name(nm)}`,
      async () => {
        this.checkReserved(parent, nm, Errno.EPERM);
        await this.meta.unlink(ctx, this.toMeta(parent), nm);
      },
    );
  }

  rmdir(ctx: Context, parent: Ino, nm: Buffer): Promise<void> {
    return this.obs.run(
      'rmdir',
      ctx,
      () => `${parent},${name(nm)}`,
      async () => {
        this.changed();
        await this.meta.rmdir(ctx, this.toMeta(parent), nm);
      },
    );
  }

  rename(
    ctx: Context,
    parent: Ino,
    nm: Buffer,
    newParent: Ino,
    newName: Buffer,
    flags = 0,
  ): Promise<EntryResult> {
    return this.obs.run(
      'rename',
      ctx,
      () => `${parent},${name(nm)},${newParent},${name(newName)},${flags}`,
      async () => {
        this.checkReserved(parent, nm, Errno.EPERM);
        this.checkReserved(newParent, newName, Errno.EPERM);
        this.changed();
        return this.entry(
          await this.meta.rename(ctx, this.toMeta(parent), nm, this.toMeta(newParent), newName, flags),
        );
      },
    );
  }

  private checkReserved(parent: Ino, nm: Buffer, errno: number = Errno.EEXIST): void {
    if (this.isRealRoot(parent) && virtualByName(name(nm)))
      throw new FsError(errno, { op: 'reserved name', path: name(nm) });
  }

  private openVirtual(ctx: Context, ino: Ino, flags: number): Promise<Handle> | Handle {
    if ((flags & O_ACCMODE) !== 0) throw new FsError(Errno.EACCES, { op: 'open', ino });
    if (ino === LOG_INODE)
      return this.handles.add({ ino, kind: 'virtual', flags, live: this.obs.accessLog.open() });
    const build = async (): Promise<Buffer> => {
      if (ino === STATS_INODE) {
        const st = await this.meta.statfs(ctx, this.root);
        this.obs.usedSpace.set(st.totalSpace - st.availSpace);
        this.obs.usedInodes.set(st.usedInodes);
        return Buffer.from(await this.obs.metrics());
      }
      const cfg = {
        Meta: { Volume: this.rt.format.Name, Root: String(this.root) },
        Format: this.rt.format,
        ...(this.opts.config ?? {}),
      };
      return Buffer.from(redactedJson(cfg) + '\n');
    };
    return build().then((content) => this.handles.add({ ino, kind: 'virtual', flags, content }));
  }

  /** `killSuidgid`: O_TRUNC by a caller without CAP_FSETID also clears setuid/setgid. */
  open(ctx: Context, ino: Ino, flags: number, killSuidgid = false): Promise<Handle> {
    return this.obs.run(
      'open',
      ctx,
      () => `${ino},${flags.toString(8)}`,
      async () => {
        if (virtualByIno(ino)) return this.openVirtual(ctx, ino, flags);
        const m = this.toMeta(ino);
        const a = await this.meta.open(ctx, m, flags);
        if (a.type === FileType.Directory) {
          await this.meta.close(m);
          throw new FsError(Errno.EISDIR, { op: 'open', ino });
        }
        const file = this.handles.openFile(m);
        file.known = { length: a.length, at: Date.now() };
        file.reader.invalidate(); // close-to-open: this open reads the slice lists afresh
        if ((flags & O_ACCMODE) !== O_WRONLY && (flags & (O_TRUNC | O_DIRECT)) === 0) {
          file.reader.prefetchSmallFile(a.length);
        }
        const h = this.handles.add({ ino: m, kind: 'file', flags, file, attr: a });
        if (flags & O_TRUNC && a.length > 0) {
          try {
            await this.meta.truncate(ctx, m, 0, { viaHandle: true });
            file.reader.invalidate();
            file.known = { length: 0, at: Date.now() };
          } catch (e) {
            await this.release(ctx, h.fh);
            throw e;
          }
        }
        if (flags & O_TRUNC && killSuidgid) {
          const after = await this.dropSuidgid(m, a);
          if (after !== a) h.attr = after;
        }
        return h;
      },
    );
  }

  create(
    ctx: Context,
    parent: Ino,
    nm: Buffer,
    mode: number,
    umask: number,
    flags: number,
    killSuidgid = false,
  ): Promise<{ entry: EntryResult; handle: Handle }> {
    return this.obs.run(
      'create',
      ctx,
      () => `${parent},${name(nm)},${mode.toString(8)}`,
      async () => {
        this.checkReserved(parent, nm);
        let r: EntryResult;
        try {
          r = await this.meta.create(ctx, this.toMeta(parent), nm, mode & 0o7777, umask);
        } catch (e) {
          // Another client created the name after the kernel's lookup: without O_EXCL, open
          // the existing file as POSIX (and Go JuiceFS) do.
          if (!(e instanceof FsError) || e.errno !== Errno.EEXIST || flags & O_EXCL) throw e;
          const existing = await this.meta.lookup(ctx, this.toMeta(parent), nm);
          if (existing.attr.type !== FileType.File) throw e;
          const handle = await this.open(ctx, this.fromMeta(existing.ino), flags, killSuidgid);
          return {
            entry: this.entry({ ino: existing.ino, attr: await this.meta.getattr(ctx, existing.ino) }),
            handle,
          };
        }
        const file = this.handles.openFile(r.ino);
        if (file.refs === 1) file.suidgidClear = (r.attr.mode & 0o6000) === 0; // we just made it
        const handle = this.handles.add({ ino: r.ino, kind: 'file', flags, file });
        return { entry: this.entry(r), handle };
      },
    );
  }

  private fileHandle(fh: bigint, op: string): Handle & { file: OpenFile } {
    const h = this.handles.get(fh);
    if (!h || h.kind !== 'file' || !h.file) throw new FsError(Errno.EBADF, { op });
    return h as Handle & { file: OpenFile };
  }

  /** Bytes at `offset` of an open file; the result is the caller's to keep. */
  async read(ctx: Context, fh: bigint, offset: number, size: number, signal?: AbortSignal): Promise<Buffer> {
    const r = await this.readShared(ctx, fh, offset, size, signal);
    if (r.done === undefined) return r.data;
    const copy = Buffer.from(r.data);
    r.done();
    return copy;
  }

  /**
   * Like read, without a copy: `data` may be the bytes of a block in the read buffer, valid
   * until `done()` (when present) is called. The FUSE reply path uses it. `signal` may be a
   * getter: only a live virtual file waits on it, and creating one costs microseconds per READ.
   */
  readShared(
    ctx: Context,
    fh: bigint,
    offset: number,
    size: number,
    signal?: AbortSignal | (() => AbortSignal),
  ): Promise<SharedRead> {
    const h = this.handles.get(fh);
    if (h?.kind === 'virtual') {
      // Not observed: reading .accesslog must not log its own reads.
      if (h.live) {
        return h.live.next(size, typeof signal === 'function' ? signal() : signal).then((data) => ({ data }));
      }
      return Promise.resolve({ data: (h.content ?? Buffer.alloc(0)).subarray(offset, offset + size) });
    }
    return this.obs.run(
      'read',
      ctx,
      () => `${fh},${size},${offset}`,
      async () => {
        const { file } = this.fileHandle(fh, 'read');
        if ((h!.flags & O_ACCMODE) === 1) throw new FsError(Errno.EBADF, { op: 'read' });
        // Past any length this client can hold: end of file.
        if (offset > Number.MAX_SAFE_INTEGER) return { data: Buffer.alloc(0) };
        // A failed flush is kept for the writer's next flush, fsync and close (OpenFile.failed);
        // the reader gets what was committed, as in Go.
        await file.flush().catch(() => undefined);
        const now = Date.now();
        if (!file.known || now - file.known.at > this.attrTtlMs) {
          file.known = { length: (await this.meta.getattr(ctx, file.ino)).length, at: now };
        }
        // O_DIRECT readers (warmup) make sure what they read from memory is in the disk cache.
        const data = await file.reader.read(offset, size, file.known.length, {
          verifyCache: (h!.flags & O_DIRECT) !== 0,
        });
        this.obs.readBytes.inc(data.length);
        return this.rt.chunks.pool.owns(data) ? { data, done: () => file.reader.release(data) } : { data };
      },
      (r) => `${r.data.length}`,
    );
  }

  /**
   * `killSuidgid`: the writer lacks CAP_FSETID, so the write clears setuid, and setgid when
   * group-exec is set (Linux semantics; the kernel leaves it to us with HANDLE_KILLPRIV_V2
   * and in return no longer asks for security.capability before every write). Checked once
   * per open file until this client changes the mode again. `data` is only read until the
   * promise settles: the writer copies it into its own buffers.
   */
  write(ctx: Context, fh: bigint, offset: number, data: Buffer, killSuidgid = false): Promise<number> {
    return this.obs.run(
      'write',
      ctx,
      () => `${fh},${data.length},${offset}`,
      async () => {
        const h = this.fileHandle(fh, 'write');
        if ((h.flags & O_ACCMODE) === 0) throw new FsError(Errno.EBADF, { op: 'write' });
        if (killSuidgid && !h.file.suidgidClear) {
          await this.dropSuidgid(h.ino);
          h.file.suidgidClear = true;
        }
        if (h.flags & O_APPEND) {
          // Offset choice and write are one step per inode, so concurrent appenders in this
          // client never pick the same end of file.
          await h.file.appendLock.run(async () => {
            const off = await this.currentLength(ctx, h.file);
            checkRange('write', h.ino, off, data.length);
            await this.reserveSpace(h.file, off, data.length, off);
            await h.file.getWriter().write(off, data);
            h.appendedAt = off;
          });
        } else {
          checkRange('write', h.ino, offset, data.length);
          await this.reserveSpace(h.file, offset, data.length);
          await h.file.getWriter().write(offset, data);
        }
        this.obs.writtenBytes.inc(data.length);
        return data.length;
      },
    );
  }

  /**
   * Refuses a write that would grow the file past the volume capacity (ENOSPC) or a
   * directory quota (EDQUOT) at write() rather than at close: counted are the volume's
   * usage as this client knows it, the growth this client accepted and has not committed
   * yet (all open files), and this write's growth (4 KiB units, as the engine counts).
   * Costs nothing on volumes without capacity and quotas. `current`: the file's length
   * when the caller has just read it (an append), saving a metadata read.
   */
  private async reserveSpace(f: OpenFile, offset: number, length: number, current?: number): Promise<void> {
    const meta = this.rt.meta;
    if (!meta.hasSpaceLimits()) return;
    let cur = current;
    if (cur === undefined) {
      if (f.known === undefined)
        f.known = { length: await this.currentLength(ROOT_CONTEXT, f), at: Date.now() };
      cur = Math.max(f.known.length, f.pendingLength());
    }
    const growth = align4K(offset + length) - align4K(cur);
    if (growth <= 0) return;
    meta.checkCapacity(this.reserved + growth, 0, 'write');
    f.quotaDirs ??= await meta.quotaDirs(f.ino);
    meta.checkQuotas(f.quotaDirs, f.reserved + growth, 0, 'write');
    f.onSettled ??= (x) => this.unreserve(x);
    f.reserved += growth;
    this.reserved += growth;
  }

  /** Growth accepted by write() and not committed yet, over every open file (see reserveSpace). */
  private reserved = 0;

  /** The growth reserved by `f` is committed (or lost): it counts in the engine's usage now. */
  private unreserve(f: OpenFile): void {
    this.reserved = Math.max(0, this.reserved - f.reserved);
    f.reserved = 0;
  }

  /**
   * Clears setuid, and setgid when the group may execute, as the kernel would for a write or
   * truncation by an unprivileged caller. Runs as root: the writer need not own the file.
   * Returns the attributes afterwards.
   */
  private async dropSuidgid(m: Ino, known?: Attr): Promise<Attr> {
    const a = known ?? (await this.meta.getattr(ROOT_CONTEXT, m));
    const mode = withoutSuidgid(a.mode);
    if (mode === a.mode) return a;
    const after = await this.meta.setattr(ROOT_CONTEXT, m, { mode });
    this.notifyAttrChanged?.(this.fromMeta(m));
    return after;
  }

  /** Set by the FUSE adapter: drops the kernel's cached attributes of an inode (async). */
  notifyAttrChanged: ((ino: Ino) => void) | undefined;

  flush(ctx: Context, fh: bigint, lockOwner?: bigint): Promise<void> {
    return this.obs.run(
      'flush',
      ctx,
      () => String(fh),
      async () => {
        const h = this.handles.get(fh);
        if (!h?.file) return;
        await h.file.flush();
        if (lockOwner !== undefined && h.file.lockOwners.delete(lockOwner)) {
          await this.meta.setlk(ctx, h.ino, lockOwner, false, {
            type: LockType.Unlock,
            start: 0n,
            end: 0xffffffffffffffffn,
            pid: ctx.pid,
          });
        }
      },
    );
  }

  fsync(ctx: Context, fh: bigint): Promise<void> {
    return this.obs.run(
      'fsync',
      ctx,
      () => String(fh),
      async () => {
        await this.handles.get(fh)?.file?.flush();
        // The slices are committed; make the commits durable too (SQLite WAL sync).
        await this.rt.meta.sync();
      },
    );
  }

  release(ctx: Context, fh: bigint, opts: { flockOwner?: bigint } = {}): Promise<void> {
    return this.obs.run(
      'release',
      ctx,
      () => String(fh),
      async () => {
        const h = this.handles.remove(fh);
        if (!h) return;
        h.live?.close();
        if (!h.file) return;
        try {
          await h.file.flush();
        } finally {
          if (opts.flockOwner !== undefined && h.file.flockOwners.delete(opts.flockOwner)) {
            await this.meta.flock(ctx, h.ino, opts.flockOwner, LockType.Unlock, false).catch(() => undefined);
          }
          this.handles.closeFile(h.file);
          await this.meta.close(h.ino);
        }
      },
    );
  }

  opendir(ctx: Context, ino: Ino): Promise<Handle> {
    return this.obs.run(
      'opendir',
      ctx,
      () => String(ino),
      async () => {
        const m = this.toMeta(ino);
        const a = await this.meta.getattr(ctx, m);
        if (a.type !== FileType.Directory) throw new FsError(Errno.ENOTDIR, { op: 'opendir', ino });
        return this.handles.add({ ino: m, kind: 'dir', flags: 0, attr: a });
      },
    );
  }

  /**
   * Entries from index `offset` ('.' and '..' first), at most `limit`. The listing is a
   * snapshot taken at offset 0 (names only); with `plus`, attributes are fetched just for
   * the entries returned, in one batch — the kernel asks for a page at a time.
   */
  readdir(ctx: Context, fh: bigint, offset: number, plus: boolean, limit?: number): Promise<Entry[]> {
    return this.obs.run(
      plus ? 'readdirplus' : 'readdir',
      ctx,
      () => `${fh},${offset}`,
      async () => {
        const h = this.handles.get(fh);
        if (!h || h.kind !== 'dir') throw new FsError(Errno.EBADF, { op: 'readdir' });
        if (!h.entries || offset === 0) {
          // The first listing takes '.' from opendir's getattr (a snapshot of the moment too).
          const known = h.entries === undefined ? h.attr : undefined;
          h.entries = await listDirectory(this.listing, ctx, h.ino, known);
        }
        const out = h.entries.slice(offset, limit === undefined ? undefined : offset + limit);
        if (plus) {
          const missing = out.filter((e) => !e.attr);
          const since = flushSeq();
          const attrs =
            missing.length > 0 ? await this.rt.meta.getattrs(missing.map((e) => this.toMeta(e.ino))) : [];
          missing.forEach((e, i) => {
            const a = attrs[i];
            if (a) e.attr = this.adjust(this.toMeta(e.ino), a, since);
          });
        }
        return out;
      },
    );
  }

  releasedir(ctx: Context, fh: bigint): Promise<void> {
    return this.obs.run(
      'releasedir',
      ctx,
      () => String(fh),
      async () => {
        this.handles.remove(fh);
      },
    );
  }

  statfs(ctx: Context, ino: Ino): Promise<StatFs> {
    return this.obs.run(
      'statfs',
      ctx,
      () => String(ino),
      () => this.meta.statfs(ctx, this.toMeta(ino)),
    );
  }

  getxattr(ctx: Context, ino: Ino, nm: string): Promise<Buffer> {
    return this.obs.run(
      'getxattr',
      ctx,
      () => `${ino},${nm}`,
      async () => {
        // The kernel asks for security.capability before every write; tjfs never stores it
        // (setxattr refuses it, as Go does), so answer without a metadata round trip.
        if (virtualByIno(ino) || UNSTORED_XATTRS.has(nm))
          throw new FsError(Errno.ENODATA, { op: 'getxattr', ino });
        return this.meta.getxattr(ctx, this.toMeta(ino), nm);
      },
    );
  }
  listxattr(ctx: Context, ino: Ino): Promise<string[]> {
    return this.obs.run(
      'listxattr',
      ctx,
      () => String(ino),
      async () => (virtualByIno(ino) ? [] : this.meta.listxattr(ctx, this.toMeta(ino))),
    );
  }
  setxattr(ctx: Context, ino: Ino, nm: string, value: Buffer, flags: number): Promise<void> {
    return this.obs.run(
      'setxattr',
      ctx,
      () => `${ino},${nm}`,
      async () => {
        if (virtualByIno(ino)) throw new FsError(Errno.EPERM, { op: 'setxattr', ino });
        if (UNSTORED_XATTRS.has(nm))
          throw new FsError(Errno.ENOTSUP, {
            op: 'setxattr',
            ino,
            message: `ENOTSUP: ${nm} is not supported`,
          });
        await this.meta.setxattr(ctx, this.toMeta(ino), nm, Buffer.from(value), flags);
      },
    );
  }
  removexattr(ctx: Context, ino: Ino, nm: string): Promise<void> {
    return this.obs.run(
      'removexattr',
      ctx,
      () => `${ino},${nm}`,
      () => this.meta.removexattr(ctx, this.toMeta(ino), nm),
    );
  }

  flock(ctx: Context, fh: bigint, owner: bigint, type: LockTypeValue, block: boolean): Promise<void> {
    return this.obs.run(
      'flock',
      ctx,
      () => `${fh},${type}`,
      async () => {
        const h = this.fileHandle(fh, 'flock');
        if (type === LockType.Unlock) await this.persistBeforeUnlock(h.file);
        await this.meta.flock(ctx, h.ino, owner, type, block);
        if (type === LockType.Unlock) h.file.flockOwners.delete(owner);
        else {
          h.file.flockOwners.add(owner);
          this.lockAcquired(h.file);
        }
      },
    );
  }

  getlk(ctx: Context, ino: Ino, owner: bigint, lock: PosixLock): Promise<PosixLock> {
    return this.obs.run(
      'getlk',
      ctx,
      () => `${ino}`,
      () => this.meta.getlk(ctx, this.toMeta(ino), owner, lock),
    );
  }

  setlk(ctx: Context, fh: bigint, owner: bigint, block: boolean, lock: PosixLock): Promise<void> {
    return this.obs.run(
      block ? 'setlkw' : 'setlk',
      ctx,
      () => `${fh},${lock.type},${lock.start},${lock.end}`,
      async () => {
        const h = this.fileHandle(fh, 'setlk');
        if (lock.type === LockType.Unlock) await this.persistBeforeUnlock(h.file);
        await this.meta.setlk(ctx, h.ino, owner, block, lock);
        if (lock.type !== LockType.Unlock) {
          h.file.lockOwners.add(owner);
          this.lockAcquired(h.file);
        }
      },
    );
  }

  /**
   * Lock-based consistency between clients (as NFS): what a lock holder wrote is
   * committed before the lock is released, so the next holder on any client sees it (two
   * mounts appending under flock lose nothing). A failed flush does not keep the lock: it
   * stays recorded on the open file and is reported by its next flush, fsync or close.
   */
  private async persistBeforeUnlock(f: OpenFile): Promise<void> {
    await f.flush().catch(() => undefined);
  }

  /** A new lock holder reads what the previous holder committed, not this client's cache. */
  private lockAcquired(f: OpenFile): void {
    f.reader.invalidate();
    f.known = undefined;
  }

  fallocate(ctx: Context, fh: bigint, mode: number, offset: number, length: number): Promise<void> {
    return this.obs.run(
      'fallocate',
      ctx,
      () => `${fh},${mode},${offset},${length}`,
      async () => {
        const h = this.fileHandle(fh, 'fallocate');
        await h.file.flush();
        if (mode & FALLOC_KEEP_SIZE) {
          // The size stays: bytes past the end read as zeros whatever is done to them, so
          // only the part before the end matters (a 2^55-byte punch of a small file is legal).
          const len = await this.currentLength(ctx, h.file);
          if (offset >= len) return;
          length = Math.min(length, len - offset);
        }
        checkRange('fallocate', h.ino, offset, length);
        await this.meta.fallocate(ctx, h.ino, mode, offset, length);
        h.file.reader.invalidate();
        h.file.known = undefined;
      },
    );
  }

  copyFileRange(
    ctx: Context,
    fhIn: bigint,
    offIn: number,
    fhOut: bigint,
    offOut: number,
    size: number,
  ): Promise<number> {
    return this.obs.run(
      'copy_file_range',
      ctx,
      () => `${fhIn},${offIn},${fhOut},${offOut},${size}`,
      async () => {
        const a = this.fileHandle(fhIn, 'copy_file_range');
        const b = this.fileHandle(fhOut, 'copy_file_range');
        await a.file.flush();
        await b.file.flush();
        // A short count is allowed: copy at most what lies before the source's end, so a
        // 2^62-byte request costs no more than the file holds.
        const srcLen = (await this.meta.getattr(ctx, a.ino)).length;
        if (offIn >= srcLen) return 0;
        const len = Math.min(size, srcLen - offIn);
        checkRange('copy_file_range', b.ino, offOut, len);
        const n = await this.meta.copyFileRange(ctx, a.ino, offIn, b.ino, offOut, len);
        b.file.reader.invalidate();
        b.file.known = undefined;
        return n;
      },
    );
  }

  /** SEEK_DATA (3) / SEEK_HOLE (4): the file is treated as all data up to its length. */
  async lseek(ctx: Context, fh: bigint, offset: number, whence: number): Promise<number> {
    const h = this.fileHandle(fh, 'lseek');
    await h.file.flush();
    const a = await this.meta.getattr(ctx, h.ino);
    if (offset >= a.length) throw new FsError(Errno.ENXIO, { op: 'lseek', ino: h.ino });
    return whence === 3 ? offset : a.length;
  }

  /**
   * Flushes every open file (SIGTERM, unmount, Volume.close). Each failure is logged with
   * its inode; afterwards one EIO names how many files could not be persisted, so the
   * process that asked can exit non-zero.
   */
  async flushAll(): Promise<void> {
    const failed: Ino[] = [];
    for (const f of this.handles.files.values()) {
      try {
        await f.flush();
      } catch (e) {
        failed.push(f.ino);
        this.rt.meta.log.error('flush failed: written data is lost', { ino: String(f.ino), err: String(e) });
      }
    }
    await this.compactor.idle();
    if (failed.length > 0) {
      const list = failed.slice(0, 10).join(', ') + (failed.length > 10 ? ', ...' : '');
      throw new FsError(Errno.EIO, {
        op: 'flush',
        message: `EIO: flush: data of ${failed.length} open file(s) could not be persisted (inodes ${list})`,
      });
    }
  }

  isVirtual(ino: Ino): boolean {
    return ino === LOG_INODE || ino === STATS_INODE || ino === CONFIG_INODE;
  }
}
