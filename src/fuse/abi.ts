/**
 * Linux FUSE kernel ABI: opcodes, flag bits and struct sizes/offsets (protocol 7.45).
 *
 * Design: plain constant tables, no logic. Values come from docs/FUSE.md §2–§4
 * (checked against `include/fuse_kernel.h`). 64-bit INIT flags are split into `flags`
 * (bits 0–31) and `flags2` (bits 32–63), as on the wire.
 * Invariants: all structs are little-endian and 8-byte padded; sizes below are exact.
 */

export const FUSE_KERNEL_VERSION = 7;
/** Highest minor we speak. */
export const FUSE_KERNEL_MINOR_VERSION = 45;
/** Lowest kernel minor we accept (MAX_PAGES exists from 7.28, Linux 4.20). */
export const FUSE_MIN_KERNEL_MINOR = 28;
export const FUSE_ROOT_ID = 1n;
export const FUSE_MIN_READ_BUFFER = 8192;

export const Opcode = {
  LOOKUP: 1,
  FORGET: 2,
  GETATTR: 3,
  SETATTR: 4,
  READLINK: 5,
  SYMLINK: 6,
  MKNOD: 8,
  MKDIR: 9,
  UNLINK: 10,
  RMDIR: 11,
  RENAME: 12,
  LINK: 13,
  OPEN: 14,
  READ: 15,
  WRITE: 16,
  STATFS: 17,
  RELEASE: 18,
  FSYNC: 20,
  SETXATTR: 21,
  GETXATTR: 22,
  LISTXATTR: 23,
  REMOVEXATTR: 24,
  FLUSH: 25,
  INIT: 26,
  OPENDIR: 27,
  READDIR: 28,
  RELEASEDIR: 29,
  FSYNCDIR: 30,
  GETLK: 31,
  SETLK: 32,
  SETLKW: 33,
  ACCESS: 34,
  CREATE: 35,
  INTERRUPT: 36,
  BMAP: 37,
  DESTROY: 38,
  IOCTL: 39,
  POLL: 40,
  NOTIFY_REPLY: 41,
  BATCH_FORGET: 42,
  FALLOCATE: 43,
  READDIRPLUS: 44,
  RENAME2: 45,
  LSEEK: 46,
  COPY_FILE_RANGE: 47,
  SETUPMAPPING: 48,
  REMOVEMAPPING: 49,
  SYNCFS: 50,
  TMPFILE: 51,
  STATX: 52,
  COPY_FILE_RANGE_64: 53,
} as const;
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

const opcodeNames = new Map<number, string>(Object.entries(Opcode).map(([k, v]) => [v, k]));
export function opcodeName(op: number): string {
  return opcodeNames.get(op) ?? `OPCODE_${op}`;
}

/** INIT `flags` (bits 0–31). */
export const InitFlag = {
  ASYNC_READ: 1 << 0,
  POSIX_LOCKS: 1 << 1,
  FILE_OPS: 1 << 2,
  ATOMIC_O_TRUNC: 1 << 3,
  EXPORT_SUPPORT: 1 << 4,
  BIG_WRITES: 1 << 5,
  DONT_MASK: 1 << 6,
  SPLICE_WRITE: 1 << 7,
  SPLICE_MOVE: 1 << 8,
  SPLICE_READ: 1 << 9,
  FLOCK_LOCKS: 1 << 10,
  HAS_IOCTL_DIR: 1 << 11,
  AUTO_INVAL_DATA: 1 << 12,
  DO_READDIRPLUS: 1 << 13,
  READDIRPLUS_AUTO: 1 << 14,
  ASYNC_DIO: 1 << 15,
  WRITEBACK_CACHE: 1 << 16,
  NO_OPEN_SUPPORT: 1 << 17,
  PARALLEL_DIROPS: 1 << 18,
  HANDLE_KILLPRIV: 1 << 19,
  POSIX_ACL: 1 << 20,
  ABORT_ERROR: 1 << 21,
  MAX_PAGES: 1 << 22,
  CACHE_SYMLINKS: 1 << 23,
  NO_OPENDIR_SUPPORT: 1 << 24,
  EXPLICIT_INVAL_DATA: 1 << 25,
  MAP_ALIGNMENT: 1 << 26,
  SUBMOUNTS: 1 << 27,
  HANDLE_KILLPRIV_V2: 1 << 28,
  SETXATTR_EXT: 1 << 29,
  INIT_EXT: 1 << 30,
} as const;

/** INIT `flags2` (bits 32–63, valid only with INIT_EXT). */
export const InitFlag2 = {
  SECURITY_CTX: 1 << 0,
  HAS_INODE_DAX: 1 << 1,
  CREATE_SUPP_GROUP: 1 << 2,
  HAS_EXPIRE_ONLY: 1 << 3,
  DIRECT_IO_ALLOW_MMAP: 1 << 4,
  PASSTHROUGH: 1 << 5,
  NO_EXPORT_SUPPORT: 1 << 6,
  HAS_RESEND: 1 << 7,
  ALLOW_IDMAP: 1 << 8,
  OVER_IO_URING: 1 << 9,
  REQUEST_TIMEOUT: 1 << 10,
} as const;

/** OPEN/OPENDIR/CREATE reply `open_flags`. */
export const FopenFlag = {
  DIRECT_IO: 1 << 0,
  KEEP_CACHE: 1 << 1,
  NONSEEKABLE: 1 << 2,
  CACHE_DIR: 1 << 3,
  STREAM: 1 << 4,
  NOFLUSH: 1 << 5,
  PARALLEL_DIRECT_WRITES: 1 << 6,
  PASSTHROUGH: 1 << 7,
} as const;

/** SETATTR `valid` bits. */
export const FattrFlag = {
  MODE: 1 << 0,
  UID: 1 << 1,
  GID: 1 << 2,
  SIZE: 1 << 3,
  ATIME: 1 << 4,
  MTIME: 1 << 5,
  FH: 1 << 6,
  ATIME_NOW: 1 << 7,
  MTIME_NOW: 1 << 8,
  LOCKOWNER: 1 << 9,
  CTIME: 1 << 10,
  KILL_SUIDGID: 1 << 11,
} as const;

export const GETATTR_FH = 1;
export const READ_LOCKOWNER = 2;
export const WRITE_CACHE = 1;
export const WRITE_LOCKOWNER = 2;
export const WRITE_KILL_SUIDGID = 4;
export const RELEASE_FLUSH = 1;
export const RELEASE_FLOCK_UNLOCK = 2;
export const FSYNC_FDATASYNC = 1;
export const LK_FLOCK = 1;
export const OPEN_KILL_SUIDGID = 1;

/** Notification codes (out header `error` field with unique 0). */
export const NotifyCode = {
  POLL: 1,
  INVAL_INODE: 2,
  INVAL_ENTRY: 3,
  STORE: 4,
  RETRIEVE: 5,
  DELETE: 6,
  RESEND: 7,
  INC_EPOCH: 8,
  PRUNE: 9,
} as const;
export const FUSE_EXPIRE_ONLY = 1;

/** fcntl lock types as carried in fuse_file_lock.type. */
export const LockType = { RDLCK: 0, WRLCK: 1, UNLCK: 2 } as const;
export type LockType = (typeof LockType)[keyof typeof LockType];
/** fuse_file_lock.end meaning "to end of file". */
export const OFFSET_MAX = 0x7fffffffffffffffn;

/** mount(2) flags and umount2 flags. */
export const MS_RDONLY = 0x1;
export const MS_NOSUID = 0x2;
export const MS_NODEV = 0x4;
export const MS_NOEXEC = 0x8;
export const MS_SYNCHRONOUS = 0x10;
export const MS_DIRSYNC = 0x80;
export const MS_NOATIME = 0x400;
export const MNT_FORCE = 1;
export const MNT_DETACH = 2;
export const UMOUNT_NOFOLLOW = 8;

/** Struct sizes (bytes). */
export const Size = {
  IN_HEADER: 40,
  OUT_HEADER: 16,
  ATTR: 88,
  ENTRY_OUT: 128,
  ATTR_OUT: 104,
  OPEN_OUT: 16,
  CREATE_OUT: 144,
  WRITE_OUT: 8,
  STATFS_OUT: 80,
  GETXATTR_OUT: 8,
  LK_OUT: 24,
  LSEEK_OUT: 8,
  INIT_IN_COMPAT: 16,
  INIT_IN: 64,
  INIT_OUT: 64,
  DIRENT: 24,
  DIRENTPLUS: 152,
  FORGET_ONE: 16,
  GETATTR_IN: 16,
  SETATTR_IN: 88,
  MKNOD_IN: 16,
  MKDIR_IN: 8,
  RENAME_IN: 8,
  RENAME2_IN: 16,
  LINK_IN: 8,
  OPEN_IN: 8,
  READ_IN: 40,
  WRITE_IN: 40,
  RELEASE_IN: 24,
  FSYNC_IN: 16,
  SETXATTR_IN: 8,
  SETXATTR_IN_EXT: 16,
  GETXATTR_IN: 8,
  FLUSH_IN: 24,
  LK_IN: 48,
  ACCESS_IN: 8,
  CREATE_IN: 16,
  INTERRUPT_IN: 8,
  BATCH_FORGET_IN: 8,
  FALLOCATE_IN: 32,
  LSEEK_IN: 24,
  COPY_FILE_RANGE_IN: 56,
  NOTIFY_INVAL_INODE: 24,
  NOTIFY_INVAL_ENTRY: 16,
  NOTIFY_DELETE: 24,
} as const;

/** Default limits negotiated at INIT. */
export const DEFAULT_MAX_WRITE = 1 << 20;
export const DEFAULT_MAX_PAGES = 256;
/** Per-request read buffer: max_write + libfuse's FUSE_BUFFER_HEADER_SIZE. */
export const BUFFER_HEADER_SIZE = 4096;
