/**
 * Pure request decoder: one /dev/fuse read (Buffer) → a typed request.
 *
 * Design: zero-copy views. Names/values are `subarray`s of the input buffer, so they alias
 * it; the session keeps each request's buffer alive until its reply is written. Offsets come
 * from the kernel's struct layouts (include/uapi/linux/fuse.h; docs/FUSE.md §2.4). Arguments end at
 * `len − 8 × total_extlen` (extensions are ignored).
 * Invariants: never reads past `len`; a malformed request throws `DecodeError` (the session
 * answers EINVAL/EIO); 64-bit file offsets become numbers, exact up to 2^53 - 1 and Infinity above (see Reader.num).
 */
import {
  FattrFlag,
  GETATTR_FH,
  LK_FLOCK,
  Opcode,
  READ_LOCKOWNER,
  RELEASE_FLOCK_UNLOCK,
  RELEASE_FLUSH,
  Size,
  WRITE_CACHE,
  WRITE_KILL_SUIDGID,
  WRITE_LOCKOWNER,
} from './abi.js';
import type { LockType } from './abi.js';
import type { SetattrInput } from './fuse-ops.js';

export class DecodeError extends Error {
  override readonly name = 'DecodeError';
}

export interface InHeader {
  len: number;
  opcode: number;
  unique: bigint;
  nodeid: bigint;
  uid: number;
  gid: number;
  pid: number;
  totalExtlen: number;
}

export function decodeHeader(buf: Buffer): InHeader {
  if (buf.length < Size.IN_HEADER) throw new DecodeError(`short request: ${buf.length} bytes`);
  const len = buf.readUInt32LE(0);
  if (len < Size.IN_HEADER || len > buf.length)
    throw new DecodeError(`bad request length ${len} (read ${buf.length})`);
  return {
    len,
    opcode: buf.readUInt32LE(4),
    unique: buf.readBigUInt64LE(8),
    nodeid: buf.readBigUInt64LE(16),
    uid: buf.readUInt32LE(24),
    gid: buf.readUInt32LE(28),
    pid: buf.readUInt32LE(32),
    totalExtlen: buf.readUInt16LE(36),
  };
}

export interface InitIn {
  major: number;
  minor: number;
  maxReadahead: number;
  flags: number;
  flags2: number;
}

export interface LkIn {
  fh: bigint;
  owner: bigint;
  start: bigint;
  end: bigint;
  type: LockType;
  pid: number;
  flock: boolean;
}

/** READ, READDIR, READDIRPLUS share fuse_read_in. */
export interface ReadArgs {
  opcode: typeof Opcode.READ | typeof Opcode.READDIR | typeof Opcode.READDIRPLUS;
  fh: bigint;
  offset: number;
  size: number;
  flags: number;
  lockOwner?: bigint;
}

/** Decoded arguments per opcode. `nodeid` is in the header. */
export type RequestArgs =
  | {
      opcode: typeof Opcode.LOOKUP | typeof Opcode.UNLINK | typeof Opcode.RMDIR | typeof Opcode.REMOVEXATTR;
      name: Buffer;
    }
  | { opcode: typeof Opcode.FORGET; nlookup: bigint }
  | { opcode: typeof Opcode.BATCH_FORGET; forgets: Array<{ nodeid: bigint; nlookup: bigint }> }
  | { opcode: typeof Opcode.GETATTR; fh?: bigint }
  | { opcode: typeof Opcode.SETATTR; attr: Omit<SetattrInput, 'ino'> }
  | { opcode: typeof Opcode.READLINK | typeof Opcode.STATFS | typeof Opcode.DESTROY }
  | { opcode: typeof Opcode.SYMLINK; name: Buffer; target: Buffer }
  | { opcode: typeof Opcode.MKNOD; mode: number; rdev: number; umask: number; name: Buffer }
  | { opcode: typeof Opcode.MKDIR; mode: number; umask: number; name: Buffer }
  | {
      opcode: typeof Opcode.RENAME | typeof Opcode.RENAME2;
      newdir: bigint;
      flags: number;
      oldName: Buffer;
      newName: Buffer;
    }
  | { opcode: typeof Opcode.LINK; oldnodeid: bigint; newName: Buffer }
  | { opcode: typeof Opcode.OPEN | typeof Opcode.OPENDIR; flags: number; openFlags: number }
  | ReadArgs
  | {
      opcode: typeof Opcode.WRITE;
      fh: bigint;
      offset: number;
      data: Buffer;
      flags: number;
      cached: boolean;
      killSuidgid: boolean;
      lockOwner?: bigint;
    }
  | {
      opcode: typeof Opcode.RELEASE | typeof Opcode.RELEASEDIR;
      fh: bigint;
      flags: number;
      flush: boolean;
      flockUnlock: boolean;
      lockOwner: bigint;
    }
  | { opcode: typeof Opcode.FSYNC | typeof Opcode.FSYNCDIR; fh: bigint; datasync: boolean }
  | { opcode: typeof Opcode.SETXATTR; name: Buffer; value: Buffer; flags: number }
  | { opcode: typeof Opcode.GETXATTR; size: number; name: Buffer }
  | { opcode: typeof Opcode.LISTXATTR; size: number }
  | { opcode: typeof Opcode.FLUSH; fh: bigint; lockOwner: bigint }
  | { opcode: typeof Opcode.INIT; init: InitIn }
  | { opcode: typeof Opcode.GETLK | typeof Opcode.SETLK | typeof Opcode.SETLKW; lk: LkIn }
  | { opcode: typeof Opcode.ACCESS; mask: number }
  | {
      opcode: typeof Opcode.CREATE;
      flags: number;
      mode: number;
      umask: number;
      openFlags: number;
      name: Buffer;
    }
  | { opcode: typeof Opcode.INTERRUPT; target: bigint }
  | { opcode: typeof Opcode.FALLOCATE; fh: bigint; offset: number; length: number; mode: number }
  | { opcode: typeof Opcode.LSEEK; fh: bigint; offset: number; whence: number }
  | {
      opcode: typeof Opcode.COPY_FILE_RANGE | typeof Opcode.COPY_FILE_RANGE_64;
      fhIn: bigint;
      offIn: number;
      nodeidOut: bigint;
      fhOut: bigint;
      offOut: number;
      len: number;
      flags: number;
    }
  | { opcode: 0; unsupported: number };

export interface FuseRequest {
  header: InHeader;
  args: RequestArgs;
}

/** Reads args of a fixed-size struct plus trailing bytes within [40, end). */
class Reader {
  constructor(
    readonly buf: Buffer,
    readonly end: number,
    public pos: number = Size.IN_HEADER,
  ) {}
  need(n: number): number {
    if (this.pos + n > this.end)
      throw new DecodeError(`truncated arguments (need ${n} at ${this.pos}, end ${this.end})`);
    const p = this.pos;
    this.pos += n;
    return p;
  }
  u32(off: number): number {
    return this.buf.readUInt32LE(off);
  }
  u64(off: number): bigint {
    return this.buf.readBigUInt64LE(off);
  }
  /**
   * An unsigned 64-bit offset or length as a number: exact up to 2^53 - 1, Infinity above
   * (a double would round it to a neighbour; the VFS answers EFBIG or end of file).
   */
  num(off: number): number {
    const v = this.buf.readBigUInt64LE(off);
    return v <= MAX_EXACT ? Number(v) : Number.POSITIVE_INFINITY;
  }
  /** Signed 64-bit (timestamps before 1970). */
  i64(off: number): number {
    return Number(this.buf.readBigInt64LE(off));
  }
  /** NUL-terminated string as a Buffer view (without the NUL). */
  cstr(): Buffer {
    const nul = this.buf.indexOf(0, this.pos);
    if (nul < 0 || nul >= this.end) throw new DecodeError('unterminated name');
    const s = this.buf.subarray(this.pos, nul);
    this.pos = nul + 1;
    return s;
  }
  rest(n: number): Buffer {
    const p = this.need(n);
    return this.buf.subarray(p, p + n);
  }
}

/** Decodes one request. Unknown opcodes decode to `{opcode: 0, unsupported}`. */
export function decodeRequest(buf: Buffer, opts: { setxattrExt?: boolean } = {}): FuseRequest {
  const header = decodeHeader(buf);
  const end = header.len - 8 * header.totalExtlen;
  if (end < Size.IN_HEADER) throw new DecodeError('extensions longer than request');
  const r = new Reader(buf, end);
  return { header, args: decodeArgs(header.opcode, r, opts.setxattrExt === true) };
}

function decodeArgs(opcode: number, r: Reader, setxattrExt: boolean): RequestArgs {
  switch (opcode) {
    case Opcode.LOOKUP:
    case Opcode.UNLINK:
    case Opcode.RMDIR:
    case Opcode.REMOVEXATTR:
      return { opcode, name: r.cstr() };
    case Opcode.FORGET:
      return { opcode, nlookup: r.u64(r.need(8)) };
    case Opcode.BATCH_FORGET: {
      const count = r.u32(r.need(Size.BATCH_FORGET_IN));
      const forgets: Array<{ nodeid: bigint; nlookup: bigint }> = [];
      for (let i = 0; i < count; i++) {
        const p = r.need(Size.FORGET_ONE);
        forgets.push({ nodeid: r.u64(p), nlookup: r.u64(p + 8) });
      }
      return { opcode, forgets };
    }
    case Opcode.GETATTR: {
      // Kernels always send fuse_getattr_in since 7.9.
      const p = r.need(Size.GETATTR_IN);
      return (r.u32(p) & GETATTR_FH) !== 0 ? { opcode, fh: r.u64(p + 8) } : { opcode };
    }
    case Opcode.SETATTR:
      return { opcode, attr: decodeSetattr(r, r.need(Size.SETATTR_IN)) };
    case Opcode.READLINK:
    case Opcode.STATFS:
    case Opcode.DESTROY:
      return { opcode };
    case Opcode.SYMLINK: {
      const name = r.cstr();
      return { opcode, name, target: r.cstr() };
    }
    case Opcode.MKNOD: {
      const p = r.need(Size.MKNOD_IN);
      return { opcode, mode: r.u32(p), rdev: r.u32(p + 4), umask: r.u32(p + 8), name: r.cstr() };
    }
    case Opcode.MKDIR: {
      const p = r.need(Size.MKDIR_IN);
      return { opcode, mode: r.u32(p), umask: r.u32(p + 4), name: r.cstr() };
    }
    case Opcode.RENAME:
    case Opcode.RENAME2: {
      const p = r.need(opcode === Opcode.RENAME ? Size.RENAME_IN : Size.RENAME2_IN);
      const flags = opcode === Opcode.RENAME2 ? r.u32(p + 8) : 0;
      const oldName = r.cstr();
      return { opcode, newdir: r.u64(p), flags, oldName, newName: r.cstr() };
    }
    case Opcode.LINK: {
      const p = r.need(Size.LINK_IN);
      return { opcode, oldnodeid: r.u64(p), newName: r.cstr() };
    }
    case Opcode.OPEN:
    case Opcode.OPENDIR: {
      const p = r.need(Size.OPEN_IN);
      return { opcode, flags: r.u32(p), openFlags: r.u32(p + 4) };
    }
    case Opcode.READ:
    case Opcode.READDIR:
    case Opcode.READDIRPLUS: {
      const p = r.need(Size.READ_IN);
      const readFlags = r.u32(p + 20);
      const base = { opcode, fh: r.u64(p), offset: r.num(p + 8), size: r.u32(p + 16), flags: r.u32(p + 32) };
      return (readFlags & READ_LOCKOWNER) !== 0 ? { ...base, lockOwner: r.u64(p + 24) } : base;
    }
    case Opcode.WRITE:
      return decodeWrite(r);
    case Opcode.RELEASE:
    case Opcode.RELEASEDIR: {
      const p = r.need(Size.RELEASE_IN);
      const rf = r.u32(p + 12);
      return {
        opcode,
        fh: r.u64(p),
        flags: r.u32(p + 8),
        flush: (rf & RELEASE_FLUSH) !== 0,
        flockUnlock: (rf & RELEASE_FLOCK_UNLOCK) !== 0,
        lockOwner: r.u64(p + 16),
      };
    }
    case Opcode.FSYNC:
    case Opcode.FSYNCDIR: {
      const p = r.need(Size.FSYNC_IN);
      return { opcode, fh: r.u64(p), datasync: (r.u32(p + 8) & 1) !== 0 };
    }
    case Opcode.SETXATTR: {
      const p = r.need(setxattrExt ? Size.SETXATTR_IN_EXT : Size.SETXATTR_IN);
      const size = r.u32(p);
      const name = r.cstr();
      return { opcode, name, value: r.rest(size), flags: r.u32(p + 4) };
    }
    case Opcode.GETXATTR: {
      const p = r.need(Size.GETXATTR_IN);
      return { opcode, size: r.u32(p), name: r.cstr() };
    }
    case Opcode.LISTXATTR:
      return { opcode, size: r.u32(r.need(Size.GETXATTR_IN)) };
    case Opcode.FLUSH: {
      const p = r.need(Size.FLUSH_IN);
      return { opcode, fh: r.u64(p), lockOwner: r.u64(p + 16) };
    }
    case Opcode.INIT:
      return { opcode, init: decodeInit(r) };
    case Opcode.GETLK:
    case Opcode.SETLK:
    case Opcode.SETLKW: {
      const p = r.need(Size.LK_IN);
      const lk: LkIn = {
        fh: r.u64(p),
        owner: r.u64(p + 8),
        start: r.u64(p + 16),
        end: r.u64(p + 24),
        type: r.u32(p + 32) as LockType,
        pid: r.u32(p + 36),
        flock: (r.u32(p + 40) & LK_FLOCK) !== 0,
      }; // cast: kernel sends only 0/1/2
      return { opcode, lk };
    }
    case Opcode.ACCESS:
      return { opcode, mask: r.u32(r.need(Size.ACCESS_IN)) };
    case Opcode.CREATE: {
      const p = r.need(Size.CREATE_IN);
      return {
        opcode,
        flags: r.u32(p),
        mode: r.u32(p + 4),
        umask: r.u32(p + 8),
        openFlags: r.u32(p + 12),
        name: r.cstr(),
      };
    }
    case Opcode.INTERRUPT:
      return { opcode, target: r.u64(r.need(Size.INTERRUPT_IN)) };
    case Opcode.FALLOCATE: {
      const p = r.need(Size.FALLOCATE_IN);
      return { opcode, fh: r.u64(p), offset: r.num(p + 8), length: r.num(p + 16), mode: r.u32(p + 24) };
    }
    case Opcode.LSEEK: {
      const p = r.need(Size.LSEEK_IN);
      return { opcode, fh: r.u64(p), offset: r.num(p + 8), whence: r.u32(p + 16) };
    }
    case Opcode.COPY_FILE_RANGE:
    case Opcode.COPY_FILE_RANGE_64: {
      const p = r.need(Size.COPY_FILE_RANGE_IN);
      return {
        opcode,
        fhIn: r.u64(p),
        offIn: r.num(p + 8),
        nodeidOut: r.u64(p + 16),
        fhOut: r.u64(p + 24),
        offOut: r.num(p + 32),
        len: r.num(p + 40),
        flags: Number(r.u64(p + 48)),
      };
    }
    default:
      return { opcode: 0, unsupported: opcode };
  }
}

const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

function decodeWrite(r: Reader): RequestArgs {
  const p = r.need(Size.WRITE_IN);
  const size = r.u32(p + 16);
  const wf = r.u32(p + 20);
  const base = {
    opcode: Opcode.WRITE,
    fh: r.u64(p),
    offset: r.num(p + 8),
    flags: r.u32(p + 32),
    cached: (wf & WRITE_CACHE) !== 0,
    killSuidgid: (wf & WRITE_KILL_SUIDGID) !== 0,
    data: r.rest(size),
  };
  return (wf & WRITE_LOCKOWNER) !== 0 ? { ...base, lockOwner: r.u64(p + 24) } : base;
}

function decodeInit(r: Reader): InitIn {
  const p = r.need(Size.INIT_IN_COMPAT);
  const flags = r.u32(p + 12);
  // Kernels < 7.36 send only the first 16 bytes.
  const flags2 = r.end - p >= Size.INIT_IN ? r.u32(p + 16) : 0;
  return { major: r.u32(p), minor: r.u32(p + 4), maxReadahead: r.u32(p + 8), flags, flags2 };
}

function decodeSetattr(r: Reader, p: number): Omit<SetattrInput, 'ino'> {
  const valid = r.u32(p);
  const has = (bit: number): boolean => (valid & bit) !== 0;
  const out: Omit<SetattrInput, 'ino'> = { killSuidgid: has(FattrFlag.KILL_SUIDGID) };
  if (has(FattrFlag.FH)) out.fh = r.u64(p + 8);
  if (has(FattrFlag.SIZE)) out.size = r.num(p + 16);
  if (has(FattrFlag.LOCKOWNER)) out.lockOwner = r.u64(p + 24);
  if (has(FattrFlag.ATIME))
    out.atime = has(FattrFlag.ATIME_NOW) ? 'now' : { sec: r.i64(p + 32), nsec: r.u32(p + 56) };
  if (has(FattrFlag.MTIME))
    out.mtime = has(FattrFlag.MTIME_NOW) ? 'now' : { sec: r.i64(p + 40), nsec: r.u32(p + 60) };
  if (has(FattrFlag.CTIME)) out.ctime = { sec: r.i64(p + 48), nsec: r.u32(p + 64) };
  if (has(FattrFlag.MODE)) out.mode = r.u32(p + 68);
  if (has(FattrFlag.UID)) out.uid = r.u32(p + 76);
  if (has(FattrFlag.GID)) out.gid = r.u32(p + 80);
  return out;
}
