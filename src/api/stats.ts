/**
 * Stats and Dirent objects shaped like node:fs's, built from metadata attributes.
 *
 * Invariants: `mode` carries the type bits (S_IFREG | perms); times keep sub-millisecond
 * precision in `*Ns` (bigint nanoseconds) and round to fractional ms in `*Ms`; `ino` is a
 * number when it fits in 2^53, otherwise a bigint (trash inodes).
 */
import { FileType, unixMode, type Attr, type Ino } from '../base/types.js';

const toMs = (sec: number, nsec: number): number => sec * 1000 + nsec / 1e6;

/** The file-type predicates node:fs's Stats and Dirent share. */
abstract class Typed {
  protected abstract readonly type: FileType;
  isFile(): boolean {
    return this.type === FileType.File;
  }
  isDirectory(): boolean {
    return this.type === FileType.Directory;
  }
  isSymbolicLink(): boolean {
    return this.type === FileType.Symlink;
  }
  isFIFO(): boolean {
    return this.type === FileType.FIFO;
  }
  isSocket(): boolean {
    return this.type === FileType.Socket;
  }
  isBlockDevice(): boolean {
    return this.type === FileType.BlockDev;
  }
  isCharacterDevice(): boolean {
    return this.type === FileType.CharDev;
  }
}

export class Stats extends Typed {
  readonly dev: number;
  readonly ino: number | bigint;
  readonly mode: number;
  readonly nlink: number;
  readonly uid: number;
  readonly gid: number;
  readonly rdev: number;
  readonly size: number;
  readonly blksize = 4096;
  readonly blocks: number;
  readonly atimeMs: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly birthtimeMs: number;
  readonly atimeNs: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  readonly atime: Date;
  readonly mtime: Date;
  readonly ctime: Date;
  readonly birthtime: Date;
  protected readonly type: FileType;

  constructor(ino: Ino, a: Attr, dev = 0) {
    super();
    this.dev = dev;
    this.ino = ino <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(ino) : ino;
    this.type = a.type;
    this.mode = unixMode(a);
    this.nlink = a.nlink;
    this.uid = a.uid;
    this.gid = a.gid;
    this.rdev = a.rdev;
    this.size = a.type === FileType.Directory ? 4096 : a.length;
    this.blocks = Math.ceil(this.size / 512);
    this.atimeMs = toMs(a.atime, a.atimensec);
    this.mtimeMs = toMs(a.mtime, a.mtimensec);
    this.ctimeMs = toMs(a.ctime, a.ctimensec);
    this.birthtimeMs = this.ctimeMs;
    this.atimeNs = BigInt(a.atime) * 1_000_000_000n + BigInt(a.atimensec);
    this.mtimeNs = BigInt(a.mtime) * 1_000_000_000n + BigInt(a.mtimensec);
    this.ctimeNs = BigInt(a.ctime) * 1_000_000_000n + BigInt(a.ctimensec);
    this.atime = new Date(this.atimeMs);
    this.mtime = new Date(this.mtimeMs);
    this.ctime = new Date(this.ctimeMs);
    this.birthtime = new Date(this.birthtimeMs);
  }
}

export class Dirent extends Typed {
  constructor(
    readonly name: string,
    readonly parentPath: string,
    protected readonly type: FileType,
  ) {
    super();
  }
  /** Deprecated alias Node keeps. */
  get path(): string {
    return this.parentPath;
  }
}
