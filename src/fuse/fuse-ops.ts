/**
 * FuseOps: the one contract between the FUSE protocol layer and a file system (the VFS).
 *
 * Design: one async method per FUSE operation, `(ctx, input) => result`. Inputs are decoded
 * and typed (inode numbers are `Ino` bigints, names are raw `Buffer` bytes, attributes use
 * `Attr` from src/base/types.ts). Failures are thrown as `FsError` (src/base/errno.ts); any
 * other thrown value is answered EIO. Every method except `lookup` and `getattr` is optional:
 * a missing method answers ENOSYS (for OPEN/FLUSH/FSYNC/xattrs/ACCESS/CREATE/… the kernel then
 * remembers it and stops asking — see docs/FUSE.md §6.2), and the INIT negotiation
 * leaves out features whose methods are absent (locks, flock, readdirplus).
 * Invariants:
 * - nodeid == ino (identity). FUSE_ROOT_ID 1 is the root. Every entry returned to the kernel
 *   (lookup, mknod, mkdir, symlink, link, create, readdirplus) adds one kernel lookup
 *   reference, dropped later by `forget`; the session keeps these counts (see NodeTable).
 *   Return the same ino for every hard link of one file.
 * - Buffers in inputs (`name`, `data`, `value`) may alias the request buffer: they stay valid
 *   until the returned promise settles; copy what you keep.
 * - Requests run concurrently; `ctx.signal` aborts on INTERRUPT (then throw EINTR) and on
 *   session shutdown. Blocking waits (setlkw, flock wait) must honour it.
 * - Never access the mount point synchronously from a handler (deadlock).
 */
import type { Attr, Ino } from '../base/types.js';
import type { LockType } from './abi.js';

/** Per-request caller identity. `uid/gid` are fsuid/fsgid; `pid` may be 0 (background I/O). */
export interface RequestContext {
  readonly unique: bigint;
  readonly opcode: number;
  readonly uid: number;
  readonly gid: number;
  readonly pid: number;
  /** Aborted by FUSE_INTERRUPT for this request or when the session ends. */
  readonly signal: AbortSignal;
}

/** Reply to name-creating operations. Timeouts are seconds (fractions allowed). */
export interface EntryReply {
  ino: Ino;
  attr: Attr;
  /** Distinguishes reuses of one ino; JuiceFS never reuses inodes, so default 0. */
  generation?: bigint | number;
  entryTimeout: number;
  attrTimeout: number;
}

export interface AttrReply {
  attr: Attr;
  attrTimeout: number;
}

export interface OpenReply {
  fh: bigint | number;
  /** Bypass the page cache for this handle (FOPEN_DIRECT_IO). */
  directIo?: boolean;
  /** Keep the page cache on open (default: drop it — close-to-open consistency). */
  keepCache?: boolean;
  nonSeekable?: boolean;
  /** OPENDIR only: let the kernel cache the listing (FOPEN_CACHE_DIR). */
  cacheDir?: boolean;
}

export interface CreateReply {
  entry: EntryReply;
  open: OpenReply;
}

/** A directory record. `next` is the opaque cookie meaning "resume after this entry" (non-zero). */
export interface DirEntry {
  ino: Ino;
  name: Buffer;
  /** st_mode file-type bits (e.g. 0o040000) or the full mode; 0 = unknown. */
  mode: number;
  next: number;
}

/** READDIRPLUS record: `entry` absent → sent without attributes (nodeid 0, no lookup ref). */
export interface DirEntryPlus extends DirEntry {
  entry?: EntryReply;
}

export interface StatfsReply {
  /** Totals in units of `frsize` (defaults to bsize). */
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  bsize: number;
  namelen: number;
  frsize?: number;
}

export type TimeSet = { sec: number; nsec: number } | 'now';

export interface SetattrInput {
  ino: Ino;
  /** Present for ftruncate/fchmod-style calls (FATTR_FH). */
  fh?: bigint;
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  atime?: TimeSet;
  mtime?: TimeSet;
  ctime?: { sec: number; nsec: number };
  lockOwner?: bigint;
  /** Clear suid/sgid (HANDLE_KILLPRIV_V2 only). */
  killSuidgid: boolean;
}

export interface LockRange {
  type: LockType;
  /** Inclusive byte range; end OFFSET_MAX (2^63-1) = to end of file. */
  start: bigint;
  end: bigint;
  pid: number;
}

export interface LockInput extends LockRange {
  ino: Ino;
  fh: bigint;
  owner: bigint;
}

export interface FlockInput {
  ino: Ino;
  fh: bigint;
  owner: bigint;
  /** RDLCK = LOCK_SH, WRLCK = LOCK_EX, UNLCK = LOCK_UN. */
  type: LockType;
  pid: number;
  /** true for a blocking flock (SETLKW); honour ctx.signal while waiting. */
  wait: boolean;
}

export interface FileIo {
  ino: Ino;
  fh: bigint;
}

export interface ReadInput extends FileIo {
  offset: number;
  size: number;
  /** open(2) flags of the handle. */
  flags: number;
  lockOwner?: bigint;
}

export interface WriteInput extends FileIo {
  offset: number;
  /** Aliases the request buffer (valid until the promise settles). */
  data: Buffer;
  flags: number;
  /** FUSE_WRITE_CACHE: delayed write from the page cache (writeback cache). */
  cached: boolean;
  killSuidgid: boolean;
  lockOwner?: bigint;
}

export interface ReleaseInput extends FileIo {
  flags: number;
  /** Release flock locks held by `lockOwner` (FUSE_RELEASE_FLOCK_UNLOCK). */
  flockUnlock: boolean;
  flush: boolean;
  lockOwner: bigint;
}

export interface ReaddirInput extends FileIo {
  offset: number;
  /** Byte budget of the reply; the session packs as many entries as fit. */
  size: number;
}

export interface CopyFileRangeInput {
  inoIn: Ino;
  fhIn: bigint;
  offsetIn: number;
  inoOut: Ino;
  fhOut: bigint;
  offsetOut: number;
  length: number;
  flags: number;
}

type P<T> = Promise<T>;

/**
 * The raw file system interface. Errnos listed are the usual ones; any errno may be thrown.
 * Methods are safe to call concurrently; the session never awaits one request before
 * starting another.
 */
/** Read bytes on loan (e.g. a cached block): `done` ends the loan once they were sent. */
export interface ReadReply {
  data: Buffer;
  done?: () => void;
}

export interface FuseOps {
  /**
   * The file system stores POSIX ACLs as `system.posix_acl_*` xattrs and applies the umask
   * itself: INIT then asks for POSIX_ACL (the kernel enforces and caches ACLs, which implies
   * default_permissions) and DONT_MASK (create modes arrive unmasked, with the umask beside).
   */
  readonly posixAcl?: boolean;
  /** Name → entry. ENOENT (not cached), ENOTDIR, EACCES, ENAMETOOLONG. Adds a lookup ref. */
  lookup(ctx: RequestContext, parent: Ino, name: Buffer): P<EntryReply>;
  /** Inline (not awaited), called when the kernel drops `nlookup` refs. Must not throw. */
  forget?(ino: Ino, nlookup: bigint): void;
  /** ENOENT, ESTALE. `fh` set when called on an open file (fstat). */
  getattr(ctx: RequestContext, ino: Ino, fh?: bigint): P<AttrReply>;
  /** chmod/chown/truncate/utimens. EPERM, EACCES, EROFS, EFBIG, EINVAL. Return new attrs. */
  setattr?(ctx: RequestContext, input: SetattrInput): P<AttrReply>;
  /** ENOENT, EINVAL (not a symlink). Returns the target bytes. */
  readlink?(ctx: RequestContext, ino: Ino): P<Buffer>;
  /** EEXIST, ENOENT, ENOSPC, EDQUOT, ENAMETOOLONG. */
  symlink?(ctx: RequestContext, parent: Ino, name: Buffer, target: Buffer): P<EntryReply>;
  /** `mode` includes the file type; `umask` already applied by the kernel unless DONT_MASK. */
  mknod?(
    ctx: RequestContext,
    parent: Ino,
    name: Buffer,
    mode: number,
    rdev: number,
    umask: number,
  ): P<EntryReply>;
  /** EEXIST, ENOENT, ENOSPC, EMLINK. `mode` has permission bits only. */
  mkdir?(ctx: RequestContext, parent: Ino, name: Buffer, mode: number, umask: number): P<EntryReply>;
  /** ENOENT, EISDIR, EPERM, EACCES. */
  unlink?(ctx: RequestContext, parent: Ino, name: Buffer): P<void>;
  /** ENOENT, ENOTDIR, ENOTEMPTY, EBUSY. */
  rmdir?(ctx: RequestContext, parent: Ino, name: Buffer): P<void>;
  /** flags: RENAME_NOREPLACE 1 / RENAME_EXCHANGE 2 / RENAME_WHITEOUT 4. EEXIST, ENOTEMPTY, EXDEV, EINVAL. */
  rename?(
    ctx: RequestContext,
    parent: Ino,
    name: Buffer,
    newParent: Ino,
    newName: Buffer,
    flags: number,
  ): P<void>;
  /** Hard link of `ino` as newParent/newName. EPERM (dirs), EMLINK, EEXIST. Adds a lookup ref. */
  link?(ctx: RequestContext, ino: Ino, newParent: Ino, newName: Buffer): P<EntryReply>;
  /** `flags` are open(2) flags (O_TRUNC included with ATOMIC_O_TRUNC). EACCES, EISDIR, ETXTBSY. */
  /** `opts.killSuidgid`: O_TRUNC by a caller without CAP_FSETID (HANDLE_KILLPRIV_V2): clear suid/sgid. */
  open?(ctx: RequestContext, ino: Ino, flags: number, opts?: { killSuidgid: boolean }): P<OpenReply>;
  /**
   * Returns ≤ size bytes; shorter = EOF. EIO, EBADF. As a ReadReply, the bytes are only
   * valid until the session calls `done` (right after the reply is written).
   */
  read?(ctx: RequestContext, input: ReadInput): P<Buffer | ReadReply>;
  /** Returns the number of bytes written (all of them unless error). ENOSPC, EDQUOT, EFBIG, EIO. */
  write?(ctx: RequestContext, input: WriteInput): P<number>;
  statfs?(ctx: RequestContext, ino: Ino): P<StatfsReply>;
  /** Last close of a handle; errors are ignored by the kernel. */
  release?(ctx: RequestContext, input: ReleaseInput): P<void>;
  /** Every close(2) of every fd. Release POSIX locks of `lockOwner` here. EIO, ENOSPC. */
  flush?(ctx: RequestContext, input: FileIo & { lockOwner: bigint }): P<void>;
  fsync?(ctx: RequestContext, input: FileIo & { datasync: boolean }): P<void>;
  /** flags: XATTR_CREATE 1 / XATTR_REPLACE 2. EEXIST, ENODATA, ERANGE, ENOTSUP, E2BIG. */
  setxattr?(ctx: RequestContext, ino: Ino, name: Buffer, value: Buffer, flags: number): P<void>;
  /** The value; ENODATA when missing, ENOTSUP when unsupported. Size probing is handled by the session. */
  getxattr?(ctx: RequestContext, ino: Ino, name: Buffer): P<Buffer>;
  /** All names. */
  listxattr?(ctx: RequestContext, ino: Ino): P<Buffer[]>;
  /** ENODATA. */
  removexattr?(ctx: RequestContext, ino: Ino, name: Buffer): P<void>;
  opendir?(ctx: RequestContext, ino: Ino, flags: number): P<OpenReply>;
  /** Entries after cookie `offset` (0 = start); the session stops packing at `size` bytes. */
  readdir?(ctx: RequestContext, input: ReaddirInput): P<DirEntry[]>;
  /** As readdir with attributes; advertised only when implemented. */
  readdirplus?(ctx: RequestContext, input: ReaddirInput): P<DirEntryPlus[]>;
  releasedir?(ctx: RequestContext, input: FileIo & { flags: number }): P<void>;
  fsyncdir?(ctx: RequestContext, input: FileIo & { datasync: boolean }): P<void>;
  /** F_GETLK: the first conflicting lock, or `{type: UNLCK}` if none. */
  getlk?(ctx: RequestContext, input: LockInput): P<LockRange>;
  /** F_SETLK/F_SETLKW (POSIX). `wait` true = block until granted or ctx.signal aborts (throw EINTR). EAGAIN, EDEADLK. */
  setlk?(ctx: RequestContext, input: LockInput & { wait: boolean }): P<void>;
  /** BSD flock(2). EWOULDBLOCK(EAGAIN) when !wait and held. */
  flock?(ctx: RequestContext, input: FlockInput): P<void>;
  /** Only sent without default_permissions. mask: R_OK 4, W_OK 2, X_OK 1, F_OK 0. EACCES. */
  access?(ctx: RequestContext, ino: Ino, mask: number): P<void>;
  /** Atomic create+open. `mode` includes S_IFREG. EEXIST (O_EXCL), ENOSPC. Adds a lookup ref. */
  create?(
    ctx: RequestContext,
    parent: Ino,
    name: Buffer,
    mode: number,
    umask: number,
    flags: number,
    opts?: { killSuidgid: boolean },
  ): P<CreateReply>;
  /** Session end (fuseblk only in practice; otherwise called once on shutdown). */
  destroy?(): P<void>;
  /** mode: FALLOC_FL_KEEP_SIZE 1, PUNCH_HOLE 2, ... EOPNOTSUPP, ENOSPC. */
  fallocate?(ctx: RequestContext, input: FileIo & { offset: number; length: number; mode: number }): P<void>;
  /** SEEK_DATA 3 / SEEK_HOLE 4 only. ENXIO past EOF. Returns the new offset. */
  lseek?(ctx: RequestContext, input: FileIo & { offset: number; whence: number }): P<number>;
  /** Returns bytes copied. EXDEV, EINVAL. */
  copyFileRange?(ctx: RequestContext, input: CopyFileRangeInput): P<number>;
}

export type FuseOpName = keyof FuseOps;
