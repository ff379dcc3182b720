/**
 * BaseMeta: the POSIX metadata client over any engine. Read ops live here; mutations are
 * delegated to the op modules. One instance = one client session of one volume. Its engine
 * and core are private: the layers above reach the metadata only through `Meta`.
 */
import type { Writable } from 'node:stream';
import { systemClock } from './clock.js';
import { clone, type CloneOptions, type CloneResult } from './clone.js';
import { dirAttr, MetaCore, mustGetAttr, mustGetDir, type MetaOptions } from './core.js';
import { dumpMeta, type DumpOptions } from './dump/dump.js';
import type { FlockOwner, FreedSlice, MetaEngine, PlockOwner, QuotaRecord, SessionRecord } from './engine.js';
import { FsError, Errno } from '../base/errno.js';
import { copyFileRange, fallocate, setattr, truncate, writeSlice } from './file-ops.js';
import { checkFormatVersion, parseFormat, type Format } from './format.js';
import { flock, getlk, setlk } from './lock-ops.js';
import type {
  EntryResult,
  FileSlices,
  LockTypeValue,
  Meta,
  MknodRequest,
  PosixLock,
  RemoveOptions,
  SessionInfo,
  SetAttrRequest,
  SliceSwap,
  StatFs,
  VolumeUsage,
} from './meta.js';
import { link, mknodCommon } from './ns-create.js';
import { rmdir, unlink } from './ns-remove.js';
import { rename } from './ns-rename.js';
import { checkAccess, isDot, isDotDot, R_OK, validateName, W_OK, X_OK } from '../base/permissions.js';
import { deleteQuota, getQuota, listQuotas, quotaDirs, setQuota } from './quota-ops.js';
import type { MetaRetryStats } from './retry-policy.js';
import { scanFiles } from './scan.js';
import {
  adoptSession,
  cleanSession,
  cleanupTrash,
  deleteSustained,
  heartbeat,
  newSession,
  refreshCaches,
} from './sessions.js';
import { getxattr, listxattr, removexattr, setxattr } from './xattr-ops.js';
import { aclCheck, getFacl, setFacl, type AclType } from './acl.js';
import type { AclRule } from './encoding.js';
import { openEngine } from './registry.js';
import {
  FileType,
  Flag,
  isTrash,
  ROOT_INODE,
  TRASH_INODE,
  TRASH_NAME,
  type Attr,
  type Context,
  type Entry,
  type Ino,
  type Slice,
  type Timespec,
} from '../base/types.js';
import { O_ACCMODE, O_APPEND, O_RDWR, O_TRUNC, O_WRONLY } from '../base/open-flags.js';
import type { Logger } from '../util/logger.js';

export class BaseMeta implements Meta {
  private readonly core: MetaCore;
  private timer: NodeJS.Timeout | undefined;

  constructor(engine: MetaEngine, format: Format, opts: MetaOptions = {}) {
    this.core = new MetaCore(engine, format, opts.clock ?? systemClock, opts);
  }

  get sid(): number {
    return this.core.sid;
  }
  get format(): Format {
    return this.core.format;
  }
  get readOnly(): boolean {
    return this.core.readOnly;
  }
  get log(): Logger {
    return this.core.log;
  }

  /** Registers a session (writable clients) and loads caches. */
  async start(info: Partial<SessionInfo> = {}, opts: { heartbeat?: boolean } = {}): Promise<void> {
    await refreshCaches(this.core);
    if (!this.core.readOnly) await newSession(this.core, info);
    if (opts.heartbeat) {
      const period = this.core.heartbeatSec * 1000;
      let running = false; // one heartbeat at a time: one may be waiting out an engine outage
      this.timer = setInterval(
        () => {
          if (running) return;
          running = true;
          heartbeat(this.core, this)
            .catch((e: unknown) => this.core.log.error('heartbeat failed', { err: String(e) }))
            .finally(() => (running = false));
        },
        period * (0.9 + Math.random() * 0.2),
      );
      this.timer.unref();
    }
  }

  heartbeat(): Promise<void> {
    return heartbeat(this.core, this);
  }

  /** Removes expired trash hours now (normally hourly from the heartbeat). */
  cleanupTrash(force = true): Promise<number> {
    return cleanupTrash(this.core, this, force);
  }

  async lookup(ctx: Context, parent: Ino, name: Buffer): Promise<EntryResult> {
    const r = await this.lookupEntry(ctx, parent, name);
    if (r.attr.parent === parent || r.attr.parent === 0n) this.core.names.set(parent, name, r.ino);
    return r;
  }

  private lookupEntry(ctx: Context, parent: Ino, name: Buffer): Promise<EntryResult> {
    const op = 'lookup';
    return this.core.txn(
      async (tx) => {
        const special =
          isDot(name) || isDotDot(name) || (parent === ROOT_INODE && name.toString() === TRASH_NAME);
        // Redis: the parent, the entry and its attr in one round trip (a create's lookup of a
        // missing name, and every lookup by a caller other than root, check the parent).
        const both = !special && tx.getDirEntryAttr ? await tx.getDirEntryAttr(parent, name) : undefined;
        const mustDir = (): Promise<Attr> =>
          both ? Promise.resolve(dirAttr(both.dir, parent, op)) : mustGetDir(tx, parent, op);
        // Root needs no search permission: skip reading the parent unless it decides the answer.
        let pattr = ctx.uid === 0 && !special ? undefined : await mustDir();
        if (pattr) checkAccess(ctx, pattr, X_OK, op, parent, await aclCheck(this.core, ctx, pattr));
        if (pattr && isDot(name)) return { ino: parent, attr: pattr };
        if (pattr && isDotDot(name)) {
          const up = parent === ROOT_INODE || pattr.parent === 0n ? parent : pattr.parent;
          return { ino: up, attr: up === parent ? pattr : await mustGetAttr(tx, up, op) };
        }
        validateName(name, op);
        if (special) {
          const t = await tx.getAttr(TRASH_INODE);
          if (t) return { ino: TRASH_INODE, attr: t };
        }
        const e = both
          ? both.entry
          : tx.getEntryAttr
            ? await tx.getEntryAttr(parent, name)
            : await tx.getEntry(parent, name);
        if (!e) {
          pattr ??= await mustDir();
          throw new FsError(Errno.ENOENT, { op, path: name.toString() });
        }
        let a: Attr | undefined = (e as { attr?: Attr }).attr;
        if (!a && !tx.getEntryAttr && !both) a = await tx.getAttr(e.ino);
        if (!a) {
          this.core.log.warn('dangling entry: attr missing', { parent: String(parent), ino: String(e.ino) });
          throw new FsError(Errno.ENOENT, {
            op,
            ino: e.ino,
            message: `ENOENT: entry ${name.toString()} points to missing inode ${e.ino}`,
          });
        }
        return { ino: e.ino, attr: a };
      },
      { op, readonly: true },
    );
  }

  getattr(_ctx: Context, ino: Ino): Promise<Attr> {
    return this.core.txn((tx) => mustGetAttr(tx, ino, 'getattr'), { op: 'getattr', readonly: true });
  }

  ownDirAttr(ino: Ino, maxAgeMs: number): { attr: Attr; ageMs: number } | undefined {
    return this.core.ownDirAttrs.get(ino, maxAgeMs);
  }

  setattr(ctx: Context, ino: Ino, req: SetAttrRequest): Promise<Attr> {
    return setattr(this.core, ctx, ino, req);
  }

  async access(ctx: Context, ino: Ino, mask: number): Promise<void> {
    const a = await this.getattr(ctx, ino);
    if (mask & W_OK && this.core.readOnly) throw new FsError(Errno.EROFS, { op: 'access', ino });
    checkAccess(ctx, a, mask & 7, 'access', ino, await aclCheck(this.core, ctx, a));
  }

  async statfs(_ctx: Context, _ino: Ino): Promise<StatFs> {
    const u = await this.usage();
    const used = Math.max(0, u.usedSpace);
    const inodes = Math.max(0, u.usedInodes);
    this.core.usage = { usedSpace: used, totalInodes: inodes };
    let total = this.core.format.Capacity ?? 0;
    if (total > 0 && used > total) total = used;
    if (total === 0) {
      total = 1 << 30;
      total *= 1 << 20; // 1 PiB
      while (total * 8 < used * 10) total *= 2;
    }
    let avail = total - used;
    if (avail < 0) avail = 0;
    let iavail: number;
    const maxInodes = this.core.format.Inodes ?? 0;
    if (maxInodes > 0) iavail = Math.max(0, maxInodes - inodes);
    else {
      iavail = 10 << 20;
      while (inodes > 4 * iavail) iavail *= 2;
    }
    return { totalSpace: total, availSpace: avail, usedInodes: inodes, availInodes: iavail };
  }

  mknod(ctx: Context, parent: Ino, name: Buffer, req: MknodRequest): Promise<EntryResult> {
    if (req.type === FileType.Directory || req.type === FileType.Symlink)
      throw new FsError(Errno.EINVAL, { op: 'mknod' });
    return mknodCommon(
      this.core,
      ctx,
      parent,
      name,
      { type: req.type, mode: req.mode, umask: req.umask ?? 0, rdev: req.rdev ?? 0 },
      'mknod',
    );
  }

  mkdir(ctx: Context, parent: Ino, name: Buffer, mode: number, umask = 0): Promise<EntryResult> {
    return mknodCommon(
      this.core,
      ctx,
      parent,
      name,
      { type: FileType.Directory, mode, umask, rdev: 0 },
      'mkdir',
    );
  }

  async create(ctx: Context, parent: Ino, name: Buffer, mode: number, umask = 0): Promise<EntryResult> {
    const r = await mknodCommon(
      this.core,
      ctx,
      parent,
      name,
      { type: FileType.File, mode, umask, rdev: 0 },
      'create',
    );
    this.noteOpen(r.ino);
    return r;
  }

  symlink(ctx: Context, parent: Ino, name: Buffer, target: Buffer): Promise<EntryResult> {
    return mknodCommon(
      this.core,
      ctx,
      parent,
      name,
      { type: FileType.Symlink, mode: 0o777, umask: 0, rdev: 0, target },
      'symlink',
    );
  }

  async readlink(_ctx: Context, ino: Ino): Promise<Buffer> {
    return this.core.txn(
      async (tx) => {
        const a = await mustGetAttr(tx, ino, 'readlink');
        if (a.type !== FileType.Symlink) throw new FsError(Errno.EINVAL, { op: 'readlink', ino });
        const t = await tx.getSymlink(ino);
        if (!t)
          throw new FsError(Errno.EIO, {
            op: 'readlink',
            ino,
            message: `EIO: symlink target of inode ${ino} missing`,
          });
        return t;
      },
      { op: 'readlink', readonly: true },
    );
  }

  link(ctx: Context, ino: Ino, parent: Ino, name: Buffer): Promise<EntryResult> {
    return link(this.core, ctx, ino, parent, name);
  }
  unlink(ctx: Context, parent: Ino, name: Buffer, opts: RemoveOptions = {}): Promise<void> {
    return unlink(this.core, ctx, parent, name, opts);
  }
  rmdir(ctx: Context, parent: Ino, name: Buffer, opts: RemoveOptions = {}): Promise<void> {
    return rmdir(this.core, ctx, parent, name, opts);
  }
  rename(ctx: Context, ps: Ino, ns: Buffer, pd: Ino, nd: Buffer, flags = 0): Promise<EntryResult> {
    return rename(this.core, ctx, ps, ns, pd, nd, flags);
  }

  async readdir(ctx: Context, ino: Ino, opts: { plus?: boolean; limit?: number } = {}): Promise<Entry[]> {
    // The listing is asked for with the attributes (one round trip to Redis instead of two)
    // and handed out only once they allow it.
    const [a, records] = await Promise.all([
      this.getattr(ctx, ino),
      this.core.engine.listEntries(ino, opts.limit),
    ]);
    if (a.type !== FileType.Directory) throw new FsError(Errno.ENOTDIR, { op: 'readdir', ino });
    checkAccess(ctx, a, R_OK, 'readdir', ino, await aclCheck(this.core, ctx, a));
    const out: Entry[] = records.map((r) => ({ name: r.name, ino: r.ino, type: r.type }));
    if (opts.plus && out.length > 0) {
      const attrs = await this.core.engine.getAttrs(out.map((e) => e.ino));
      out.forEach((e, i) => {
        const at = attrs[i];
        if (at) e.attr = at;
      });
    }
    return out;
  }

  getattrs(inos: readonly Ino[]): Promise<(Attr | undefined)[]> {
    return this.core.engine.getAttrs(inos);
  }

  async sync(): Promise<void> {
    await this.core.engine.sync?.();
  }

  private noteOpen(ino: Ino): void {
    this.core.opened.set(ino, (this.core.opened.get(ino) ?? 0) + 1);
  }

  async open(ctx: Context, ino: Ino, flags: number): Promise<Attr> {
    const a = await this.getattr(ctx, ino);
    const acc = flags & O_ACCMODE;
    const write = acc === O_WRONLY || acc === O_RDWR || (flags & O_TRUNC) !== 0;
    if (a.type === FileType.Directory && write) throw new FsError(Errno.EISDIR, { op: 'open', ino });
    if (write) {
      if (this.core.readOnly) throw new FsError(Errno.EROFS, { op: 'open', ino });
      if (isTrash(a.parent) || ino >= TRASH_INODE) throw new FsError(Errno.EPERM, { op: 'open', ino });
      if (a.flags & Flag.Immutable) throw new FsError(Errno.EPERM, { op: 'open', ino });
      if (a.flags & Flag.Append && !(flags & O_APPEND)) throw new FsError(Errno.EPERM, { op: 'open', ino });
    }
    const mask =
      (acc === O_RDWR ? R_OK | W_OK : acc === O_WRONLY ? W_OK : R_OK) | (flags & O_TRUNC ? W_OK : 0);
    checkAccess(ctx, a, mask, 'open', ino, await aclCheck(this.core, ctx, a));
    this.noteOpen(ino);
    return a;
  }

  async close(arg: Ino): Promise<void> {
    const n = (this.core.opened.get(arg) ?? 0) - 1;
    if (n > 0) {
      this.core.opened.set(arg, n);
      return;
    }
    this.core.opened.delete(arg);
    if (this.core.sid > 0 && this.core.sustained.delete(arg)) {
      await deleteSustained(this.core, this.core.sid, arg);
    }
  }

  readChunk(ino: Ino, indx: number): Promise<Slice[]> {
    return this.core.txn((tx) => tx.getChunk(ino, indx), { op: 'read', readonly: true });
  }
  writeSlice(ino: Ino, indx: number, slice: Slice, mtime: Timespec): Promise<void> {
    return writeSlice(this.core, ino, indx, slice, mtime);
  }
  newSliceId(): Promise<number> {
    return this.core.nextSliceId();
  }
  truncate(ctx: Context, ino: Ino, length: number, opts: { viaHandle?: boolean } = {}): Promise<Attr> {
    return truncate(this.core, ctx, ino, length, opts);
  }
  fallocate(ctx: Context, ino: Ino, mode: number, off: number, size: number): Promise<Attr> {
    return fallocate(this.core, ctx, ino, mode, off, size);
  }
  copyFileRange(
    ctx: Context,
    fin: Ino,
    offIn: number,
    fout: Ino,
    offOut: number,
    size: number,
  ): Promise<number> {
    return copyFileRange(this.core, ctx, fin, offIn, fout, offOut, size);
  }
  clone(ctx: Context, srcIno: Ino, dstParent: Ino, name: Buffer, opts?: CloneOptions): Promise<CloneResult> {
    return clone(this.core, ctx, srcIno, dstParent, name, opts);
  }
  getxattr(ctx: Context, ino: Ino, name: string): Promise<Buffer> {
    return getxattr(this.core, ctx, ino, name);
  }
  listxattr(ctx: Context, ino: Ino): Promise<string[]> {
    return listxattr(this.core, ctx, ino);
  }
  setxattr(ctx: Context, ino: Ino, name: string, value: Buffer, flags = 0): Promise<void> {
    return setxattr(this.core, ctx, ino, name, value, flags);
  }
  removexattr(ctx: Context, ino: Ino, name: string): Promise<void> {
    return removexattr(this.core, ctx, ino, name);
  }
  /** POSIX ACLs (src/meta/acl.ts): type 1 access, 2 default; an empty rule removes. */
  setFacl(ctx: Context, ino: Ino, type: AclType, rule: AclRule): Promise<Attr> {
    return setFacl(this.core, ctx, ino, type, rule);
  }
  getFacl(ctx: Context, ino: Ino, type: AclType): Promise<AclRule> {
    return getFacl(this.core, ctx, ino, type);
  }
  flock(ctx: Context, ino: Ino, owner: bigint, type: LockTypeValue, block: boolean): Promise<void> {
    return flock(this.core, ctx, ino, owner, type, block);
  }
  getlk(ctx: Context, ino: Ino, owner: bigint, lock: PosixLock): Promise<PosixLock> {
    return getlk(this.core, ctx, ino, owner, lock);
  }
  setlk(ctx: Context, ino: Ino, owner: bigint, block: boolean, lock: PosixLock): Promise<void> {
    return setlk(this.core, ctx, ino, owner, block, lock);
  }

  listSessions(): Promise<SessionRecord[]> {
    return this.core.engine.listSessions();
  }
  adoptSession(sid: number, info: Partial<SessionInfo>): Promise<void> {
    return adoptSession(this.core, sid, info);
  }
  adoptOpen(ino: Ino): void {
    this.noteOpen(ino);
  }
  listLocks(ino: Ino): Promise<{ flocks: FlockOwner[]; plocks: PlockOwner[] }> {
    return this.core.txn(
      async (tx) => ({ flocks: await tx.getFlocks(ino), plocks: await tx.getPlocks(ino) }),
      { op: 'list locks', readonly: true },
    );
  }

  async usage(): Promise<VolumeUsage> {
    await this.core.stats.flush(); // the counters then include this client's batched changes
    return {
      usedSpace: await this.core.engine.getCounter('usedSpace'),
      usedInodes: await this.core.engine.getCounter('totalInodes'),
    };
  }
  hasSpaceLimits(): boolean {
    return (this.core.format.Capacity ?? 0) > 0 || this.core.dirQuotas.size > 0;
  }
  quotaDirs(ino: Ino): Promise<Ino[]> {
    return quotaDirs(this.core, ino);
  }
  checkCapacity(space: number, inodes: number, op: string): void {
    this.core.checkCapacity(space, inodes, op);
  }
  checkQuotas(dirs: readonly Ino[], space: number, inodes: number, op: string): void {
    this.core.checkQuotas(dirs, space, inodes, op);
  }
  listQuotas(): Promise<Map<Ino, QuotaRecord>> {
    return listQuotas(this.core);
  }
  getQuota(ino: Ino): Promise<QuotaRecord | undefined> {
    return getQuota(this.core, ino);
  }
  setQuota(
    ino: Ino,
    limits: { maxSpace?: number; maxInodes?: number },
    opts: { recount?: boolean } = {},
  ): Promise<QuotaRecord> {
    return setQuota(this.core, ino, limits, opts);
  }
  deleteQuota(ino: Ino): Promise<void> {
    return deleteQuota(this.core, ino);
  }

  scanFiles(onFile: (f: FileSlices) => Promise<void>): Promise<void> {
    return scanFiles(this.core.engine, onFile);
  }
  replaceSlices(ino: Ino, indx: number, s: SliceSwap): Promise<{ ok: boolean; freed: FreedSlice[] }> {
    return this.core.engine.replaceSlices(ino, indx, s.old, s.replacement, s.newSlice, s.dropped);
  }
  dump(out: Writable, opts: DumpOptions = {}): Promise<void> {
    return dumpMeta(this.core.engine, out, opts);
  }

  onTxn(fn: (op: string, seconds: number) => void): void {
    this.core.txObserver = fn;
  }
  outageStats(): MetaRetryStats | undefined {
    return this.core.engine.outageStats?.();
  }
  txRestarts(): number | undefined {
    return this.core.engine.txRestarts?.();
  }

  /** Flushes background work, cleans this session (locks, sustained inodes), closes the engine. */
  async stop(opts: { keepEngine?: boolean } = {}): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.allSettled([...this.core.pending]);
    if (this.core.sid > 0) await cleanSession(this.core, this.core.sid);
    await Promise.allSettled([...this.core.pending]);
    await this.core.stats.close();
    if (!opts.keepEngine) await this.core.engine.close();
  }
}

/**
 * The client core behind a BaseMeta, for the modules of src/meta and the engine conformance
 * tests only; everything else goes through `Meta`.
 */
export function metaCore(m: BaseMeta): MetaCore {
  return m['core'];
}

/** Opens a formatted volume: loads and checks the setting; does not start a session. */
export async function openMeta(
  url: string,
  opts: MetaOptions & { engine?: MetaEngine } = {},
): Promise<BaseMeta> {
  const engine =
    opts.engine ??
    (await openEngine(url, {
      ...(opts.maxTxRetries === undefined ? {} : { maxRetries: opts.maxTxRetries }),
      ...(opts.retry === undefined ? {} : { retry: opts.retry }),
    }));
  try {
    const text = await engine.getFormatText();
    if (text === undefined) {
      throw new FsError(Errno.ENOENT, {
        message: `database ${engine.displayUrl} is not formatted: run 'tjfs format' first`,
      });
    }
    const format = parseFormat(text);
    checkFormatVersion(format);
    return new BaseMeta(engine, format, opts);
  } catch (e) {
    if (!opts.engine) await engine.close();
    throw e;
  }
}
