/**
 * Pure reply encoders: typed results → exact FUSE reply payloads (after the 16-byte header).
 *
 * Design: each builder allocates its exact fixed size (docs/FUSE.md §2.3–§2.5, §4) and
 * fills it; `outHeader` builds the header separately so replies go out as one writev.
 * Directory records are packed by `DirentPacker`, which never exceeds the kernel's size.
 * Invariants: fixed replies have exactly their struct size; nanoseconds are clamped to
 * [0, 999999999]; negative times are written as two's-complement i64.
 */
import { FopenFlag, NotifyCode, Size } from './abi.js';
import type { AttrReply, DirEntry, EntryReply, OpenReply, StatfsReply, LockRange } from './fuse-ops.js';
import { unixMode } from '../base/types.js';
import type { Attr, Ino } from '../base/types.js';

export function outHeader(payloadLen: number, error: number, unique: bigint): Buffer {
  const b = Buffer.alloc(Size.OUT_HEADER);
  b.writeUInt32LE(Size.OUT_HEADER + payloadLen, 0);
  b.writeInt32LE(error, 4);
  b.writeBigUInt64LE(unique, 8);
  return b;
}

const TWO32 = 4294967296;

/** Unsigned 64-bit from a JS number (≤ 2^53) without BigInt: two 32-bit halves. */
function writeU64(b: Buffer, n: number, off: number): void {
  const v = n > 0 ? Math.trunc(n) : 0;
  const lo = v % TWO32;
  b.writeUInt32LE(lo, off);
  b.writeUInt32LE((v - lo) / TWO32, off + 4);
}

/** Signed 64-bit (times before 1970) from a JS number, two's complement. */
function writeI64(b: Buffer, n: number, off: number): void {
  const v = Math.trunc(n);
  const hi = Math.floor(v / TWO32);
  b.writeUInt32LE(v - hi * TWO32, off);
  b.writeInt32LE(hi, off + 4);
}

function clampNsec(n: number): number {
  return n < 0 ? 0 : n > 999_999_999 ? 999_999_999 : Math.trunc(n);
}

/** Seconds (may be fractional) → [sec, nsec]. Negative or NaN → 0. */
export function splitTimeout(seconds: number): [number, number] {
  if (!(seconds > 0)) return [0, 0];
  const whole = Math.floor(seconds);
  return [whole, clampNsec(Math.round((seconds - whole) * 1e9))];
}

/** Writes a fuse_attr (88 bytes) at `off`. */
export function writeAttr(b: Buffer, off: number, ino: Ino, a: Attr): void {
  b.writeBigUInt64LE(ino, off);
  writeU64(b, a.length, off + 8);
  writeU64(b, Math.ceil(a.length / 512), off + 16);
  writeI64(b, a.atime, off + 24);
  writeI64(b, a.mtime, off + 32);
  writeI64(b, a.ctime, off + 40);
  b.writeUInt32LE(clampNsec(a.atimensec), off + 48);
  b.writeUInt32LE(clampNsec(a.mtimensec), off + 52);
  b.writeUInt32LE(clampNsec(a.ctimensec), off + 56);
  b.writeUInt32LE(unixMode(a), off + 60);
  b.writeUInt32LE(a.nlink >>> 0, off + 64);
  b.writeUInt32LE(a.uid >>> 0, off + 68);
  b.writeUInt32LE(a.gid >>> 0, off + 72);
  b.writeUInt32LE(a.rdev >>> 0, off + 76);
  b.writeUInt32LE(4096, off + 80);
  b.writeUInt32LE(0, off + 84);
}

/** Writes a fuse_entry_out (128 bytes) at `off`. ino 0 = negative entry cached for entryTimeout. */
export function writeEntry(b: Buffer, off: number, e: EntryReply): void {
  const [es, ens] = splitTimeout(e.entryTimeout);
  const [as, ans] = splitTimeout(e.attrTimeout);
  b.writeBigUInt64LE(e.ino, off);
  if (typeof e.generation === 'bigint') b.writeBigUInt64LE(e.generation, off + 8);
  else writeU64(b, e.generation ?? 0, off + 8);
  writeU64(b, es, off + 16);
  writeU64(b, as, off + 24);
  b.writeUInt32LE(ens, off + 32);
  b.writeUInt32LE(ans, off + 36);
  writeAttr(b, off + 40, e.ino, e.attr);
}

export function entryOut(e: EntryReply): Buffer {
  const b = Buffer.alloc(Size.ENTRY_OUT);
  writeEntry(b, 0, e);
  return b;
}

export function attrOut(ino: Ino, r: AttrReply): Buffer {
  const b = Buffer.alloc(Size.ATTR_OUT);
  const [s, ns] = splitTimeout(r.attrTimeout);
  writeU64(b, s, 0);
  b.writeUInt32LE(ns, 8);
  writeAttr(b, 16, ino, r.attr);
  return b;
}

function writeOpen(b: Buffer, off: number, o: OpenReply): void {
  let flags = 0;
  if (o.directIo === true) flags |= FopenFlag.DIRECT_IO;
  if (o.keepCache === true) flags |= FopenFlag.KEEP_CACHE;
  if (o.nonSeekable === true) flags |= FopenFlag.NONSEEKABLE;
  if (o.cacheDir === true) flags |= FopenFlag.CACHE_DIR;
  b.writeBigUInt64LE(BigInt(o.fh), off);
  b.writeUInt32LE(flags, off + 8);
  b.writeInt32LE(0, off + 12);
}

export function openOut(o: OpenReply): Buffer {
  const b = Buffer.alloc(Size.OPEN_OUT);
  writeOpen(b, 0, o);
  return b;
}

export function createOut(e: EntryReply, o: OpenReply): Buffer {
  const b = Buffer.alloc(Size.CREATE_OUT);
  writeEntry(b, 0, e);
  writeOpen(b, Size.ENTRY_OUT, o);
  return b;
}

/** write_out / getxattr_out (u32 @0 + pad). */
export function u32Out(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(n >>> 0, 0);
  return b;
}

/** lseek_out / bmap_out (u64 @0). */
export function u64Out(n: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n), 0);
  return b;
}

export function statfsOut(s: StatfsReply): Buffer {
  const b = Buffer.alloc(Size.STATFS_OUT);
  const u64 = (v: number, off: number): void =>
    void b.writeBigUInt64LE(BigInt(Math.max(0, Math.trunc(v))), off);
  u64(s.blocks, 0);
  u64(s.bfree, 8);
  u64(s.bavail, 16);
  u64(s.files, 24);
  u64(s.ffree, 32);
  b.writeUInt32LE(s.bsize, 40);
  b.writeUInt32LE(s.namelen, 44);
  b.writeUInt32LE(s.frsize ?? s.bsize, 48);
  return b;
}

export function lkOut(l: LockRange): Buffer {
  const b = Buffer.alloc(Size.LK_OUT);
  b.writeBigUInt64LE(l.start, 0);
  b.writeBigUInt64LE(l.end, 8);
  b.writeUInt32LE(l.type, 16);
  b.writeUInt32LE(l.pid >>> 0, 20);
  return b;
}

export interface InitOut {
  major: number;
  minor: number;
  maxReadahead: number;
  flags: number;
  flags2: number;
  maxBackground: number;
  congestionThreshold: number;
  maxWrite: number;
  timeGran: number;
  maxPages: number;
}

export function initOut(o: InitOut): Buffer {
  const b = Buffer.alloc(Size.INIT_OUT);
  b.writeUInt32LE(o.major, 0);
  b.writeUInt32LE(o.minor, 4);
  b.writeUInt32LE(o.maxReadahead, 8);
  b.writeUInt32LE(o.flags >>> 0, 12);
  b.writeUInt16LE(o.maxBackground, 16);
  b.writeUInt16LE(o.congestionThreshold, 18);
  b.writeUInt32LE(o.maxWrite, 20);
  b.writeUInt32LE(o.timeGran, 24);
  b.writeUInt16LE(o.maxPages, 28);
  b.writeUInt32LE(o.flags2 >>> 0, 32);
  return b;
}

const align8 = (n: number): number => (n + 7) & ~7;

/** Packs fuse_dirent / fuse_direntplus records into at most `size` bytes. */
export class DirentPacker {
  private readonly buf: Buffer;
  private pos = 0;

  constructor(readonly size: number) {
    this.buf = Buffer.alloc(size);
  }

  get length(): number {
    return this.pos;
  }

  /** Appends a plain record; false (nothing written) if it does not fit. */
  add(d: DirEntry): boolean {
    const rec = align8(Size.DIRENT + d.name.length);
    if (this.pos + rec > this.size) return false;
    this.writeDirent(this.pos, d);
    this.pos += rec;
    return true;
  }

  /** Appends a plus record; `entry` undefined → nodeid 0 (no attributes, no lookup ref). */
  addPlus(d: DirEntry, entry: EntryReply | undefined): boolean {
    const rec = align8(Size.DIRENTPLUS + d.name.length);
    if (this.pos + rec > this.size) return false;
    if (entry !== undefined) writeEntry(this.buf, this.pos, entry);
    this.writeDirent(this.pos + Size.ENTRY_OUT, d);
    this.pos += rec;
    return true;
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  private writeDirent(off: number, d: DirEntry): void {
    this.buf.writeBigUInt64LE(d.ino, off);
    writeU64(this.buf, d.next, off + 8);
    this.buf.writeUInt32LE(d.name.length, off + 16);
    this.buf.writeUInt32LE((d.mode & 0o170000) >>> 12, off + 20);
    d.name.copy(this.buf, off + Size.DIRENT);
  }
}

/** A whole notification message (header with unique 0 + body). */
function notifyMessage(code: number, body: Buffer): Buffer {
  return Buffer.concat([outHeader(body.length, code, 0n), body]);
}

/** INVAL_INODE: off < 0 → attributes only; len ≤ 0 → to end of file. */
export function notifyInvalInode(ino: Ino, off: number, len: number): Buffer {
  const b = Buffer.alloc(Size.NOTIFY_INVAL_INODE);
  b.writeBigUInt64LE(ino, 0);
  b.writeBigInt64LE(BigInt(off), 8);
  b.writeBigInt64LE(BigInt(len), 16);
  return notifyMessage(NotifyCode.INVAL_INODE, b);
}

/** NOTIFY_RESEND (7.40): no body; the kernel queues again every request not answered yet. */
export function notifyResend(): Buffer {
  return notifyMessage(NotifyCode.RESEND, Buffer.alloc(0));
}

export function notifyInvalEntry(parent: Ino, name: Buffer, expireOnly: boolean): Buffer {
  const b = Buffer.alloc(Size.NOTIFY_INVAL_ENTRY + name.length + 1);
  b.writeBigUInt64LE(parent, 0);
  b.writeUInt32LE(name.length, 8);
  b.writeUInt32LE(expireOnly ? 1 : 0, 12);
  name.copy(b, Size.NOTIFY_INVAL_ENTRY);
  return notifyMessage(NotifyCode.INVAL_ENTRY, b);
}

export function notifyDelete(parent: Ino, child: Ino, name: Buffer): Buffer {
  const b = Buffer.alloc(Size.NOTIFY_DELETE + name.length + 1);
  b.writeBigUInt64LE(parent, 0);
  b.writeBigUInt64LE(child, 8);
  b.writeUInt32LE(name.length, 16);
  name.copy(b, Size.NOTIFY_DELETE);
  return notifyMessage(NotifyCode.DELETE, b);
}
