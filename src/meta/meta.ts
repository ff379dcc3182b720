/**
 * The metadata contract seen by the VFS, the API and the CLI. Every method takes the
 * caller's `Context`, checks POSIX permissions itself (so in-process API users get the
 * same answers as the kernel), and throws `FsError` with a proper errno. Expected
 * absences are values (`undefined`) only where documented.
 *
 * Concurrency: every mutation is one engine transaction, safe against other clients of the
 * same volume. Idempotency: none of the namespace ops are idempotent (EEXIST / ENOENT on a
 * repeat), `setattr`, `setxattr` and lock releases are.
 */
import type { Attr, Context, Entry, FileType, Ino, Slice, Timespec } from '../base/types.js';

export interface EntryResult {
  ino: Ino;
  attr: Attr;
}

export type TimeSet = Timespec | 'now';

export interface SetAttrRequest {
  mode?: number;
  uid?: number;
  gid?: number;
  atime?: TimeSet;
  mtime?: TimeSet;
  ctime?: Timespec;
  size?: number;
  flags?: number;
  /** Set when the request comes through an open handle (ftruncate): no write-permission check. */
  viaHandle?: boolean;
}

export interface MknodRequest {
  type: FileType;
  mode: number;
  umask?: number;
  rdev?: number;
}

export const RenameFlag = { NoReplace: 1, Exchange: 2, Whiteout: 4 } as const;
export const XattrFlag = { Create: 1, Replace: 2 } as const;
export const FallocMode = { KeepSize: 0x01, PunchHole: 0x02, CollapseRange: 0x08, ZeroRange: 0x10, InsertRange: 0x20 } as const;

export interface StatFs {
  totalSpace: number;
  availSpace: number;
  usedInodes: number;
  availInodes: number;
}

/** Linux lock types. */
export const LockType = { Read: 0, Write: 1, Unlock: 2 } as const;
export type LockTypeValue = (typeof LockType)[keyof typeof LockType];

export interface PosixLock {
  type: LockTypeValue;
  start: bigint;
  /** Inclusive end; 0xFFFFFFFFFFFFFFFF = to EOF. */
  end: bigint;
  pid: number;
}

export interface SessionInfo {
  Version: string;
  HostName: string;
  IPAddrs?: string[];
  MountPoint: string;
  MountTime: string;
  ProcessID: number;
}

export interface Meta {
  readonly sid: number;
  lookup(ctx: Context, parent: Ino, name: Buffer): Promise<EntryResult>;
  getattr(ctx: Context, ino: Ino): Promise<Attr>;
  setattr(ctx: Context, ino: Ino, req: SetAttrRequest): Promise<Attr>;
  access(ctx: Context, ino: Ino, mask: number): Promise<void>;
  statfs(ctx: Context, ino: Ino): Promise<StatFs>;
  mknod(ctx: Context, parent: Ino, name: Buffer, req: MknodRequest): Promise<EntryResult>;
  mkdir(ctx: Context, parent: Ino, name: Buffer, mode: number, umask?: number): Promise<EntryResult>;
  /** Creates and opens a regular file; EEXIST carries the existing inode in `err.ino`. */
  create(ctx: Context, parent: Ino, name: Buffer, mode: number, umask?: number): Promise<EntryResult>;
  symlink(ctx: Context, parent: Ino, name: Buffer, target: Buffer): Promise<EntryResult>;
  readlink(ctx: Context, ino: Ino): Promise<Buffer>;
  link(ctx: Context, ino: Ino, parent: Ino, name: Buffer): Promise<EntryResult>;
  unlink(ctx: Context, parent: Ino, name: Buffer): Promise<void>;
  rmdir(ctx: Context, parent: Ino, name: Buffer): Promise<void>;
  rename(ctx: Context, srcParent: Ino, srcName: Buffer, dstParent: Ino, dstName: Buffer, flags?: number): Promise<EntryResult>;
  readdir(ctx: Context, ino: Ino, opts?: { plus?: boolean }): Promise<Entry[]>;
  /** flags: O_* open flags; checks permissions, registers the open for sustained inodes. */
  open(ctx: Context, ino: Ino, flags: number): Promise<Attr>;
  close(ino: Ino): Promise<void>;
  readChunk(ino: Ino, indx: number): Promise<Slice[]>;
  /** Commits one uploaded slice (docs/FORMAT.md §4.4). */
  writeSlice(ino: Ino, indx: number, slice: Slice, mtime: Timespec): Promise<void>;
  newSliceId(): Promise<number>;
  truncate(ctx: Context, ino: Ino, length: number, opts?: { viaHandle?: boolean }): Promise<Attr>;
  fallocate(ctx: Context, ino: Ino, mode: number, off: number, size: number): Promise<Attr>;
  copyFileRange(ctx: Context, fin: Ino, offIn: number, fout: Ino, offOut: number, size: number): Promise<number>;
  getxattr(ctx: Context, ino: Ino, name: string): Promise<Buffer>;
  listxattr(ctx: Context, ino: Ino): Promise<string[]>;
  setxattr(ctx: Context, ino: Ino, name: string, value: Buffer, flags?: number): Promise<void>;
  removexattr(ctx: Context, ino: Ino, name: string): Promise<void>;
  flock(ctx: Context, ino: Ino, owner: bigint, type: LockTypeValue, block: boolean): Promise<void>;
  getlk(ctx: Context, ino: Ino, owner: bigint, lock: PosixLock): Promise<PosixLock>;
  setlk(ctx: Context, ino: Ino, owner: bigint, block: boolean, lock: PosixLock): Promise<void>;
}
