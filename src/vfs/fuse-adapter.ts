/**
 * FuseOps over the Vfs: translates decoded FUSE requests into Vfs calls and replies with
 * the entry/attr timeouts of the mount. Thin by design so the file system is tested
 * without FUSE. Supplementary groups of the caller come from /proc/<pid>/status (cached
 * briefly): the kernel sends only uid/gid, but group permission checks need them all.
 */
import { readFileSync } from 'node:fs';
import type {
  AttrReply,
  CreateReply,
  DirEntry,
  DirEntryPlus,
  EntryReply,
  FuseOps,
  OpenReply,
  ReadReply,
  RequestContext,
  StatfsReply,
} from '../fuse/fuse-ops.js';
import { FsError, Errno } from '../base/errno.js';
import type { EntryResult, LockTypeValue } from '../meta/meta.js';
import {
  direntType,
  emptyAttr,
  FileType,
  unixMode,
  type Attr,
  type Context,
  type Ino,
} from '../base/types.js';
import type { Vfs } from './vfs.js';
import { O_ACCMODE, O_APPEND, O_DIRECT, O_RDWR, O_TRUNC, O_WRONLY } from '../base/open-flags.js';

export interface FuseAdapterOptions {
  attrTimeout: number;
  entryTimeout: number;
  dirEntryTimeout: number;
  /**
   * Seconds the kernel may remember that a name does not exist (JuiceFS's
   * --negative-entry-cache, default 0: off). A name another client creates meanwhile stays
   * invisible here until it expires; this client's own creates replace the negative entry.
   */
  negativeEntryTimeout?: number;
  /** Skip supplementary-group lookups (faster; group checks use only the primary gid). */
  noSupplementaryGroups?: boolean;
  /**
   * The mount asked the kernel for its write-back page cache (`-o writeback_cache`). The
   * kernel then reads pages through any handle of the file, write-only ones included, to
   * fill partly written pages, so such handles must serve reads (the kernel has already
   * checked the caller's own access at open).
   */
  writebackCache?: boolean;
}

const groupCache = new Map<number, { gids: number[]; at: number }>();

function supplementaryGroups(pid: number, gid: number): number[] {
  if (pid <= 0) return [gid];
  const now = Date.now();
  const hit = groupCache.get(pid);
  if (hit && now - hit.at < 2000) return hit.gids;
  let gids = [gid];
  try {
    // /proc is not our mount: a synchronous read cannot deadlock the daemon.
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const line = /^Groups:\s*(.*)$/m.exec(text);
    if (line?.[1]) gids = [gid, ...line[1].trim().split(/\s+/).filter(Boolean).map(Number)];
  } catch {
    // the process may already be gone
  }
  if (groupCache.size > 4096) groupCache.clear();
  groupCache.set(pid, { gids, at: now });
  return gids;
}

/** A request's Context; its signal is the request's, created only if someone reads it. */
class RequestIdentity implements Context {
  readonly uid: number;
  readonly gid: number;
  readonly pid: number;

  constructor(
    private readonly r: RequestContext,
    readonly gids: number[],
  ) {
    this.uid = r.uid;
    this.gid = r.gid;
    this.pid = r.pid;
  }

  get signal(): AbortSignal {
    return this.r.signal;
  }
}

/** Kernel cache invalidation sink (the FUSE session); calls must not be awaited in handlers. */
export interface Notifier {
  notifyInvalInode(ino: Ino, off?: number, len?: number): Promise<boolean>;
  notifyInvalEntry(parent: Ino, name: Buffer | string): Promise<boolean>;
}

export class VfsFuseOps implements FuseOps {
  private notifier: Notifier | undefined;
  /** Last (mtime, length) this client handed to the kernel per inode, to spot other clients' changes. */
  private readonly seen = new Map<Ino, string>();

  constructor(
    private readonly vfs: Vfs,
    private readonly opts: FuseAdapterOptions,
  ) {}

  /** On `--enable-acl` volumes the kernel enforces ACLs (POSIX_ACL) and leaves the umask to us. */
  get posixAcl(): boolean {
    return this.vfs.rt.format.EnableACL === true;
  }

  attachNotifier(n: Notifier): void {
    this.notifier = n;
    // Attribute-only invalidation (no page range): sent off the handler, never awaited.
    this.vfs.notifyAttrChanged = (ino) => void n.notifyInvalInode(ino).catch(() => undefined);
  }

  private ctx(r: RequestContext): Context {
    const gids = this.opts.noSupplementaryGroups ? [r.gid] : supplementaryGroups(r.pid, r.gid);
    return new RequestIdentity(r, gids);
  }

  /** Entry reply: directories' names are cached for --dir-entry-cache, others' for --entry-cache. */
  private entry(r: EntryResult): EntryReply {
    this.told(r.ino, r.attr);
    const dir = r.attr.type === FileType.Directory;
    return {
      ino: r.ino,
      attr: r.attr,
      entryTimeout: dir ? this.opts.dirEntryTimeout : this.opts.entryTimeout,
      attrTimeout: this.opts.attrTimeout,
    };
  }

  private attr(ino: Ino, a: Attr): AttrReply {
    this.told(ino, a);
    return { attr: a, attrTimeout: this.opts.attrTimeout };
  }

  lookup(r: RequestContext, parent: Ino, name: Buffer): Promise<EntryReply> {
    const found = this.vfs.lookup(this.ctx(r), parent, name).then((e) => this.entry(e));
    const negative = this.opts.negativeEntryTimeout ?? 0;
    if (negative <= 0) return found;
    // A negative entry (ino 0) the kernel caches instead of ENOENT.
    return found.catch((e: unknown) => {
      if (!(e instanceof FsError) || e.errno !== Errno.ENOENT) throw e;
      return { ino: 0n, attr: emptyAttr(), entryTimeout: negative, attrTimeout: 0 };
    });
  }

  async getattr(r: RequestContext, ino: Ino): Promise<AttrReply> {
    const { attr, ttlSec } = await this.vfs.getattrForKernel(this.ctx(r), ino, this.opts.attrTimeout);
    this.told(ino, attr);
    return { attr, attrTimeout: ttlSec };
  }

  async setattr(r: RequestContext, i: Parameters<NonNullable<FuseOps['setattr']>>[1]): Promise<AttrReply> {
    const a = await this.vfs.setattr(
      this.ctx(r),
      i.ino,
      {
        ...(i.mode !== undefined ? { mode: i.mode & 0o7777 } : {}),
        ...(i.uid !== undefined ? { uid: i.uid } : {}),
        ...(i.gid !== undefined ? { gid: i.gid } : {}),
        ...(i.size !== undefined ? { size: i.size, viaHandle: i.fh !== undefined } : {}),
        ...(i.atime !== undefined ? { atime: i.atime } : {}),
        ...(i.mtime !== undefined ? { mtime: i.mtime } : {}),
        ...(i.ctime !== undefined ? { ctime: i.ctime } : {}),
      },
      { killSuidgid: i.killSuidgid },
    );
    return this.attr(i.ino, a);
  }

  readlink(r: RequestContext, ino: Ino): Promise<Buffer> {
    return this.vfs.readlink(this.ctx(r), ino);
  }
  async symlink(r: RequestContext, parent: Ino, name: Buffer, target: Buffer): Promise<EntryReply> {
    return this.entry(await this.vfs.symlink(this.ctx(r), parent, name, target));
  }
  async mknod(
    r: RequestContext,
    parent: Ino,
    name: Buffer,
    mode: number,
    rdev: number,
    umask: number,
  ): Promise<EntryReply> {
    return this.entry(await this.vfs.mknod(this.ctx(r), parent, name, mode, rdev, umask));
  }
  async mkdir(
    r: RequestContext,
    parent: Ino,
    name: Buffer,
    mode: number,
    umask: number,
  ): Promise<EntryReply> {
    return this.entry(await this.vfs.mkdir(this.ctx(r), parent, name, mode, umask));
  }
  unlink(r: RequestContext, parent: Ino, name: Buffer): Promise<void> {
    return this.vfs.unlink(this.ctx(r), parent, name);
  }
  rmdir(r: RequestContext, parent: Ino, name: Buffer): Promise<void> {
    return this.vfs.rmdir(this.ctx(r), parent, name);
  }
  async rename(
    r: RequestContext,
    parent: Ino,
    name: Buffer,
    newParent: Ino,
    newName: Buffer,
    flags: number,
  ): Promise<void> {
    await this.vfs.rename(this.ctx(r), parent, name, newParent, newName, flags);
  }
  async link(r: RequestContext, ino: Ino, newParent: Ino, newName: Buffer): Promise<EntryReply> {
    return this.entry(await this.vfs.link(this.ctx(r), ino, newParent, newName));
  }

  async open(
    r: RequestContext,
    ino: Ino,
    flags: number,
    opts?: { killSuidgid: boolean },
  ): Promise<OpenReply> {
    const h = await this.vfs.open(this.ctx(r), ino, flags, opts?.killSuidgid === true);
    this.kernelMayRead(h);
    // Virtual files change under us: no page cache for them; .accesslog is a stream.
    if (h.kind === 'virtual') return { fh: h.fh, directIo: true, nonSeekable: h.live !== undefined };
    const unchanged = h.attr !== undefined && this.noteVersion(ino, h.attr);
    // O_DIRECT handles bypass the page cache entirely. Otherwise, close-to-open as JuiceFS
    // does it: the kernel keeps the pages it cached for this inode only when the file is
    // the version this client last saw (mtime and length, fresh from the metadata engine
    // at open); any change, ours or another client's, makes the kernel drop them.
    if ((flags & (O_DIRECT | O_APPEND)) !== 0) return { fh: h.fh, directIo: true };
    return unchanged && (flags & O_TRUNC) === 0 ? { fh: h.fh, keepCache: true } : { fh: h.fh };
  }

  /** With the kernel's write-back cache, a write-only file handle also serves the kernel's reads. */
  private kernelMayRead(h: { kind: string; flags: number }): void {
    if (this.opts.writebackCache === true && h.kind === 'file' && (h.flags & O_ACCMODE) === O_WRONLY)
      h.flags = (h.flags & ~O_ACCMODE) | O_RDWR;
  }

  /**
   * When an inode changed since this client last saw it (another client wrote it), tell
   * the kernel to drop cached pages and attributes. Scheduled, never sent inline from the
   * handler (docs/FUSE.md §4, the deadlock rule). True when it is the version last seen.
   */
  private noteVersion(ino: Ino, a: Attr): boolean {
    const prev = this.seen.get(ino);
    const v = this.told(ino, a);
    if (prev !== undefined && prev !== v && this.notifier) {
      const n = this.notifier;
      setImmediate(() => void n.notifyInvalInode(ino, 0, 0).catch(() => undefined));
    }
    return prev === v;
  }

  /**
   * Records the version of attributes the kernel now caches (every entry/attr reply), so an
   * open after a mere stat also spots another client's change (close-to-open with TTLs).
   */
  private told(ino: Ino, a: Attr): string {
    const v = `${a.mtime}.${a.mtimensec}:${a.length}`;
    if (this.seen.size > 100_000) this.seen.clear();
    this.seen.set(ino, v);
    return v;
  }

  read(r: RequestContext, i: { fh: bigint; offset: number; size: number }): Promise<ReadReply> {
    return this.vfs.readShared(this.ctx(r), i.fh, i.offset, i.size, () => r.signal);
  }

  /**
   * O_APPEND: the kernel picks the offset from the size it caches, which another client's
   * appends make stale (without writeback_cache it never asks before an append). The VFS
   * appends at the real end instead; such handles are opened with direct I/O so the data
   * never sits in the page cache at the kernel's offset, and when the two offsets differ
   * the kernel's attributes are dropped (after the reply) so its size catches up.
   */
  async write(
    r: RequestContext,
    i: { fh: bigint; offset: number; data: Buffer; killSuidgid: boolean },
  ): Promise<number> {
    const n = await this.vfs.write(this.ctx(r), i.fh, i.offset, i.data, i.killSuidgid);
    const h = this.vfs.handles.get(i.fh);
    if (h?.appendedAt !== undefined && h.appendedAt !== i.offset)
      this.vfs.notifyAttrChanged?.(this.vfs.fromMeta(h.ino));
    return n;
  }

  async statfs(r: RequestContext, ino: Ino): Promise<StatfsReply> {
    const s = await this.vfs.statfs(this.ctx(r), ino);
    const bsize = 4096;
    return {
      bsize,
      frsize: bsize,
      blocks: Math.floor(s.totalSpace / bsize),
      bfree: Math.floor(s.availSpace / bsize),
      bavail: Math.floor(s.availSpace / bsize),
      files: s.usedInodes + s.availInodes,
      ffree: s.availInodes,
      namelen: 255,
    };
  }

  release(r: RequestContext, i: { fh: bigint; flockUnlock: boolean; lockOwner: bigint }): Promise<void> {
    return this.vfs.release(this.ctx(r), i.fh, i.flockUnlock ? { flockOwner: i.lockOwner } : {});
  }
  flush(r: RequestContext, i: { fh: bigint; lockOwner: bigint }): Promise<void> {
    return this.vfs.flush(this.ctx(r), i.fh, i.lockOwner);
  }
  fsync(r: RequestContext, i: { fh: bigint }): Promise<void> {
    return this.vfs.fsync(this.ctx(r), i.fh);
  }

  setxattr(r: RequestContext, ino: Ino, name: Buffer, value: Buffer, flags: number): Promise<void> {
    return this.vfs.setxattr(this.ctx(r), ino, name.toString(), value, flags);
  }
  getxattr(r: RequestContext, ino: Ino, name: Buffer): Promise<Buffer> {
    return this.vfs.getxattr(this.ctx(r), ino, name.toString());
  }
  async listxattr(r: RequestContext, ino: Ino): Promise<Buffer[]> {
    return (await this.vfs.listxattr(this.ctx(r), ino)).map((n) => Buffer.from(n));
  }
  removexattr(r: RequestContext, ino: Ino, name: Buffer): Promise<void> {
    return this.vfs.removexattr(this.ctx(r), ino, name.toString());
  }

  async opendir(r: RequestContext, ino: Ino): Promise<OpenReply> {
    return { fh: (await this.vfs.opendir(this.ctx(r), ino)).fh };
  }

  // Only what fits in the kernel's `size`-byte buffer is encoded (a dirent takes >= 32 bytes,
  // a direntplus >= 160), so map just that many: mapping the whole remaining listing on every
  // call made listing a large directory quadratic.
  async readdir(r: RequestContext, i: { fh: bigint; offset: number; size?: number }): Promise<DirEntry[]> {
    const list = await this.vfs.readdir(this.ctx(r), i.fh, i.offset, false, fitting(i.size, 32));
    return list.map((e, k) => ({
      ino: e.ino,
      name: e.name,
      mode: direntType(e.type) << 12,
      next: i.offset + k + 1,
    }));
  }

  async readdirplus(
    r: RequestContext,
    i: { fh: bigint; offset: number; size?: number },
  ): Promise<DirEntryPlus[]> {
    const list = await this.vfs.readdir(this.ctx(r), i.fh, i.offset, true, fitting(i.size, 160));
    return list.map((e, k) => {
      const base = { ino: e.ino, name: e.name, mode: direntType(e.type) << 12, next: i.offset + k + 1 };
      const dot = e.name.length <= 2 && (e.name.toString() === '.' || e.name.toString() === '..');
      if (!e.attr || dot) return base;
      return { ...base, mode: unixMode(e.attr), entry: this.entry({ ino: e.ino, attr: e.attr }) };
    });
  }

  async releasedir(r: RequestContext, i: { fh: bigint }): Promise<void> {
    await this.vfs.releasedir(this.ctx(r), i.fh);
  }
  async fsyncdir(): Promise<void> {}

  async getlk(
    r: RequestContext,
    i: { ino: Ino; owner: bigint; type: LockTypeValue; start: bigint; end: bigint; pid: number },
  ) {
    const l = await this.vfs.getlk(this.ctx(r), i.ino, i.owner, {
      type: i.type,
      start: i.start,
      end: toEnd(i.end),
      pid: i.pid,
    });
    return { type: l.type, start: l.start, end: fromEnd(l.end), pid: l.pid };
  }

  setlk(
    r: RequestContext,
    i: {
      fh: bigint;
      owner: bigint;
      type: LockTypeValue;
      start: bigint;
      end: bigint;
      pid: number;
      wait: boolean;
    },
  ): Promise<void> {
    return this.vfs.setlk(this.ctx(r), i.fh, i.owner, i.wait, {
      type: i.type,
      start: i.start,
      end: toEnd(i.end),
      pid: i.pid,
    });
  }

  flock(
    r: RequestContext,
    i: { fh: bigint; owner: bigint; type: LockTypeValue; wait: boolean },
  ): Promise<void> {
    return this.vfs.flock(this.ctx(r), i.fh, i.owner, i.type, i.wait);
  }

  async create(
    r: RequestContext,
    parent: Ino,
    name: Buffer,
    mode: number,
    umask: number,
    flags: number,
    opts?: { killSuidgid: boolean },
  ): Promise<CreateReply> {
    const { entry, handle } = await this.vfs.create(
      this.ctx(r),
      parent,
      name,
      mode,
      umask,
      flags,
      opts?.killSuidgid === true,
    );
    this.kernelMayRead(handle);
    return {
      entry: this.entry(entry),
      open: (flags & (O_DIRECT | O_APPEND)) !== 0 ? { fh: handle.fh, directIo: true } : { fh: handle.fh },
    };
  }

  fallocate(
    r: RequestContext,
    i: { fh: bigint; offset: number; length: number; mode: number },
  ): Promise<void> {
    return this.vfs.fallocate(this.ctx(r), i.fh, i.mode, i.offset, i.length);
  }

  lseek(r: RequestContext, i: { fh: bigint; offset: number; whence: number }): Promise<number> {
    if (i.whence !== 3 && i.whence !== 4) throw new FsError(Errno.EINVAL, { op: 'lseek' });
    return this.vfs.lseek(this.ctx(r), i.fh, i.offset, i.whence);
  }

  copyFileRange(
    r: RequestContext,
    i: { fhIn: bigint; offsetIn: number; fhOut: bigint; offsetOut: number; length: number },
  ): Promise<number> {
    return this.vfs.copyFileRange(this.ctx(r), i.fhIn, i.offsetIn, i.fhOut, i.offsetOut, i.length);
  }

  async destroy(): Promise<void> {
    await this.vfs.flushAll();
  }
}

const OFFSET_MAX = 0x7fffffffffffffffn;
const META_MAX = 0xffffffffffffffffn;
const toEnd = (e: bigint): bigint => (e >= OFFSET_MAX ? META_MAX : e);
const fromEnd = (e: bigint): bigint => (e >= OFFSET_MAX ? OFFSET_MAX : e);

/** How many records of at least `minRecord` bytes can fit in a `size`-byte reply. */
function fitting(size: number | undefined, minRecord: number): number | undefined {
  return size === undefined ? undefined : Math.floor(size / minRecord) + 1;
}
