/**
 * The file system's vocabulary, shared by every layer (metadata, chunks, VFS, FUSE, API),
 * in JuiceFS's terms (see docs/FORMAT.md). Inodes are bigint: trash inodes exceed 2^53.
 * File lengths and slice ids are plain numbers: both stay far below 2^53 in practice
 * (a length past 2^53 is refused with EFBIG before it is stored).
 */

export type Ino = bigint;

export const ROOT_INODE: Ino = 1n;
export const MIN_INTERNAL_INODE: Ino = 0x7fffffff00000000n;
export const LOG_INODE: Ino = 0x7fffffff00000001n;
export const CONTROL_INODE: Ino = 0x7fffffff00000002n;
export const STATS_INODE: Ino = 0x7fffffff00000003n;
export const CONFIG_INODE: Ino = 0x7fffffff00000004n;
export const TRASH_INODE: Ino = 0x7fffffff10000000n;
export const TRASH_NAME = '.trash';

export const CHUNK_SIZE = 64 * 1024 * 1024;
export const MAX_NAME_BYTES = 255;
export const MAX_SYMLINK_BYTES = 4096;
export const MAX_XATTR_NAME = 255;
export const MAX_XATTR_VALUE = 65536;
/** Largest file length: chunk index must stay below 2^31 (docs/FORMAT.md §11). */
export const MAX_FILE_SIZE = 2 ** 57;

export const FileType = {
  File: 1,
  Directory: 2,
  Symlink: 3,
  FIFO: 4,
  BlockDev: 5,
  CharDev: 6,
  Socket: 7,
} as const;
export type FileType = (typeof FileType)[keyof typeof FileType];

/** Attr flags (docs/FORMAT.md §3.1). */
export const Flag = {
  Immutable: 1,
  Append: 2,
  WinHidden: 4,
  WinSystem: 8,
  WinArchive: 16,
  SkipTrash: 32,
} as const;

/** Inode attributes with full nanosecond times. `length` is bytes for files. */
export interface Attr {
  flags: number;
  type: FileType;
  /** 12 permission bits including suid/sgid/sticky. */
  mode: number;
  uid: number;
  gid: number;
  atime: number;
  atimensec: number;
  mtime: number;
  mtimensec: number;
  ctime: number;
  ctimensec: number;
  nlink: number;
  length: number;
  rdev: number;
  /** 0 = several parents (hard links), see the parents map. */
  parent: Ino;
  accessAcl: number;
  defaultAcl: number;
  tier: number;
}

export interface Entry {
  name: Buffer;
  ino: Ino;
  type: FileType;
  attr?: Attr;
}

/** One record of a chunk's slice list (docs/FORMAT.md §3.3). id 0 is a hole. */
export interface Slice {
  pos: number;
  id: number;
  size: number;
  off: number;
  len: number;
}

/** Caller identity for permission checks; `signal` cancels waits (locks). */
export interface Context {
  uid: number;
  gid: number;
  gids: readonly number[];
  pid: number;
  umask?: number;
  signal?: AbortSignal;
}

export const ROOT_CONTEXT: Context = Object.freeze({ uid: 0, gid: 0, gids: [0], pid: 0 });

/** POSIX time with nanoseconds. */
export interface Timespec {
  sec: number;
  nsec: number;
}

export function typeFromMode(mode: number): FileType {
  switch (mode & 0o170000) {
    case 0o100000:
      return FileType.File;
    case 0o040000:
      return FileType.Directory;
    case 0o120000:
      return FileType.Symlink;
    case 0o010000:
      return FileType.FIFO;
    case 0o060000:
      return FileType.BlockDev;
    case 0o020000:
      return FileType.CharDev;
    case 0o140000:
      return FileType.Socket;
    default:
      return FileType.File;
  }
}

const TYPE_BITS: Record<FileType, number> = {
  [FileType.File]: 0o100000,
  [FileType.Directory]: 0o040000,
  [FileType.Symlink]: 0o120000,
  [FileType.FIFO]: 0o010000,
  [FileType.BlockDev]: 0o060000,
  [FileType.CharDev]: 0o020000,
  [FileType.Socket]: 0o140000,
};

/** st_mode (type bits | permission bits) for an attr. */
export function unixMode(attr: Pick<Attr, 'type' | 'mode'>): number {
  return TYPE_BITS[attr.type] | (attr.mode & 0o7777);
}

/**
 * Permission bits after a chown, or a write or truncation by a caller without CAP_FSETID
 * (Linux): setuid goes, and setgid when the group may execute (otherwise it marks
 * mandatory locking and stays).
 */
export function withoutSuidgid(mode: number): number {
  const m = mode & ~0o4000;
  return m & 0o010 ? m & ~0o2000 : m;
}

/** DT_* value used by readdir. */
export function direntType(type: FileType): number {
  return TYPE_BITS[type] >> 12;
}

export function align4K(n: number): number {
  if (n === 0) return 4096;
  return Math.ceil(n / 4096) * 4096;
}

export function isTrash(ino: Ino): boolean {
  return ino >= TRASH_INODE;
}

export function emptyAttr(): Attr {
  return {
    flags: 0,
    type: FileType.File,
    mode: 0,
    uid: 0,
    gid: 0,
    atime: 0,
    atimensec: 0,
    mtime: 0,
    mtimensec: 0,
    ctime: 0,
    ctimensec: 0,
    nlink: 0,
    length: 0,
    rdev: 0,
    parent: 0n,
    accessAcl: 0,
    defaultAcl: 0,
    tier: 0,
  };
}
