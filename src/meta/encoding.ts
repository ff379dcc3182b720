/**
 * Byte encodings shared by the engines (docs/FORMAT.md §3): attrs, dentry values, slice records,
 * plock records, delayed slices, quota limits. All integers big-endian.
 * Invariant: encode(decode(x)) === x for every record Go writes (72/73/80/81-byte attrs).
 */
import { FsError, Errno } from '../base/errno.js';
import { emptyAttr, type Attr, type FileType, type Ino, type Slice } from '../base/types.js';

export function encodeAttr(a: Attr): Buffer {
  const hasAcl = a.accessAcl !== 0 || a.defaultAcl !== 0;
  const size = 72 + (hasAcl ? 8 : 0) + (a.tier !== 0 ? 1 : 0);
  const b = Buffer.alloc(size);
  b.writeUInt8(a.flags, 0);
  b.writeUInt16BE(((a.type & 0xf) << 12) | (a.mode & 0o7777), 1);
  b.writeUInt32BE(a.uid >>> 0, 3);
  b.writeUInt32BE(a.gid >>> 0, 7);
  b.writeBigInt64BE(BigInt(a.atime), 11);
  b.writeUInt32BE(a.atimensec, 19);
  b.writeBigInt64BE(BigInt(a.mtime), 23);
  b.writeUInt32BE(a.mtimensec, 31);
  b.writeBigInt64BE(BigInt(a.ctime), 35);
  b.writeUInt32BE(a.ctimensec, 43);
  b.writeUInt32BE(a.nlink, 47);
  b.writeBigUInt64BE(BigInt(a.length), 51);
  b.writeUInt32BE(a.rdev >>> 0, 59);
  b.writeBigUInt64BE(a.parent, 63);
  let off = 71;
  if (hasAcl) {
    b.writeUInt32BE(a.accessAcl, off);
    b.writeUInt32BE(a.defaultAcl, off + 4);
    off += 8;
  }
  if (a.tier !== 0) b.writeUInt8(a.tier, off);
  return b;
}

/** Decodes with Go's tolerant length rule; throws EIO naming the inode on a short record. */
export function decodeAttr(b: Buffer, ino?: Ino): Attr {
  if (b.length < 63) {
    throw new FsError(Errno.EIO, {
      op: 'decode attr',
      ...(ino === undefined ? {} : { ino }),
      message: `EIO: corrupt attr of inode ${ino ?? '?'}: ${b.length} bytes`,
    });
  }
  const a = emptyAttr();
  a.flags = b.readUInt8(0);
  const tm = b.readUInt16BE(1);
  a.type = (tm >> 12) as FileType;
  a.mode = tm & 0o7777;
  a.uid = b.readUInt32BE(3);
  a.gid = b.readUInt32BE(7);
  a.atime = Number(b.readBigInt64BE(11));
  a.atimensec = b.readUInt32BE(19);
  a.mtime = Number(b.readBigInt64BE(23));
  a.mtimensec = b.readUInt32BE(31);
  a.ctime = Number(b.readBigInt64BE(35));
  a.ctimensec = b.readUInt32BE(43);
  a.nlink = b.readUInt32BE(47);
  a.length = Number(b.readBigUInt64BE(51));
  a.rdev = b.readUInt32BE(59);
  let off = 63;
  if (b.length - off >= 8) {
    a.parent = b.readBigUInt64BE(off);
    off += 8;
  }
  if (b.length - off >= 8) {
    a.accessAcl = b.readUInt32BE(off);
    a.defaultAcl = b.readUInt32BE(off + 4);
    off += 8;
  }
  if (b.length - off >= 1) a.tier = b.readUInt8(off);
  if (a.type < 1 || a.type > 7) {
    throw new FsError(Errno.EIO, {
      op: 'decode attr',
      ...(ino === undefined ? {} : { ino }),
      message: `EIO: corrupt attr of inode ${ino ?? '?'}: type ${a.type}`,
    });
  }
  return a;
}

export function encodeEntry(type: FileType, ino: Ino): Buffer {
  const b = Buffer.alloc(9);
  b.writeUInt8(type, 0);
  b.writeBigUInt64BE(ino, 1);
  return b;
}

export function decodeEntry(b: Buffer): { type: FileType; ino: Ino } {
  if (b.length !== 9)
    throw new FsError(Errno.EIO, { message: `EIO: corrupt dentry value (${b.length} bytes)` });
  return { type: b.readUInt8(0) as FileType, ino: b.readBigUInt64BE(1) };
}

export const SLICE_BYTES = 24;

export function encodeSlice(s: Slice): Buffer {
  const b = Buffer.alloc(SLICE_BYTES);
  writeSlice(b, 0, s);
  return b;
}

function writeSlice(b: Buffer, o: number, s: Slice): void {
  b.writeUInt32BE(s.pos, o);
  b.writeBigUInt64BE(BigInt(s.id), o + 4);
  b.writeUInt32BE(s.size, o + 12);
  b.writeUInt32BE(s.off, o + 16);
  b.writeUInt32BE(s.len, o + 20);
}

export function encodeSlices(list: readonly Slice[]): Buffer {
  const b = Buffer.alloc(list.length * SLICE_BYTES);
  list.forEach((s, i) => writeSlice(b, i * SLICE_BYTES, s));
  return b;
}

export function decodeSlice(b: Buffer, o = 0): Slice {
  return {
    pos: b.readUInt32BE(o),
    id: Number(b.readBigUInt64BE(o + 4)),
    size: b.readUInt32BE(o + 12),
    off: b.readUInt32BE(o + 16),
    len: b.readUInt32BE(o + 20),
  };
}

/** Decodes a concatenation of records; a length that is not a multiple of 24 is EIO. */
export function decodeSlices(b: Buffer, ino?: Ino, indx?: number): Slice[] {
  if (b.length % SLICE_BYTES !== 0) {
    throw new FsError(Errno.EIO, {
      ...(ino === undefined ? {} : { ino }),
      message: `EIO: corrupt slice list of inode ${ino ?? '?'} chunk ${indx ?? '?'}: ${b.length} bytes`,
    });
  }
  const out: Slice[] = [];
  for (let o = 0; o < b.length; o += SLICE_BYTES) out.push(decodeSlice(b, o));
  return out;
}

/** POSIX record lock record (docs/FORMAT.md §3.5). type: F_RDLCK 0, F_WRLCK 1, F_UNLCK 2. */
export interface PlockRecord {
  type: number;
  pid: number;
  start: bigint;
  end: bigint;
}

export function encodePlocks(list: readonly PlockRecord[]): Buffer {
  const b = Buffer.alloc(list.length * 24);
  list.forEach((r, i) => {
    const o = i * 24;
    b.writeUInt32BE(r.type, o);
    b.writeUInt32BE(r.pid >>> 0, o + 4);
    b.writeBigUInt64BE(r.start, o + 8);
    b.writeBigUInt64BE(r.end, o + 16);
  });
  return b;
}

export function decodePlocks(b: Buffer): PlockRecord[] {
  const out: PlockRecord[] = [];
  for (let o = 0; o + 24 <= b.length; o += 24) {
    out.push({
      type: b.readUInt32BE(o),
      pid: b.readUInt32BE(o + 4),
      start: b.readBigUInt64BE(o + 8),
      end: b.readBigUInt64BE(o + 16),
    });
  }
  return out;
}

/** Delayed-slice records (docs/FORMAT.md §3.4): id u64 || size u32. */
export function encodeDelayedSlices(list: readonly { id: number; size: number }[]): Buffer {
  const b = Buffer.alloc(list.length * 12);
  list.forEach((s, i) => {
    b.writeBigUInt64BE(BigInt(s.id), i * 12);
    b.writeUInt32BE(s.size, i * 12 + 8);
  });
  return b;
}

export function decodeDelayedSlices(b: Buffer): { id: number; size: number }[] {
  if (b.length % 12 !== 0) return [];
  const out: { id: number; size: number }[] = [];
  for (let o = 0; o < b.length; o += 12)
    out.push({ id: Number(b.readBigUInt64BE(o)), size: b.readUInt32BE(o + 8) });
  return out;
}

/** Quota limits (docs/FORMAT.md §3.6): -1 = unlimited. */
export function encodeQuotaLimit(maxSpace: number, maxInodes: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigInt64BE(BigInt(maxSpace), 0);
  b.writeBigInt64BE(BigInt(maxInodes), 8);
  return b;
}

export function decodeQuotaLimit(b: Buffer): { maxSpace: number; maxInodes: number } {
  return { maxSpace: Number(b.readBigInt64BE(0)), maxInodes: Number(b.readBigInt64BE(8)) };
}

/** ACL rule (docs/FORMAT.md §3.7). Perm 0xFFFF = unset. */
export interface AclRule {
  owner: number;
  group: number;
  mask: number;
  other: number;
  users: { id: number; perm: number }[];
  groups: { id: number; perm: number }[];
}

export function encodeAclRule(r: AclRule): Buffer {
  const b = Buffer.alloc(8 + 4 + r.users.length * 6 + 4 + r.groups.length * 6);
  b.writeUInt16BE(r.owner, 0);
  b.writeUInt16BE(r.group, 2);
  b.writeUInt16BE(r.mask, 4);
  b.writeUInt16BE(r.other, 6);
  let o = 8;
  for (const list of [r.users, r.groups]) {
    b.writeUInt32BE(list.length, o);
    o += 4;
    for (const e of list) {
      b.writeUInt32BE(e.id, o);
      b.writeUInt16BE(e.perm, o + 4);
      o += 6;
    }
  }
  return b;
}

export function decodeAclRule(b: Buffer): AclRule {
  const r: AclRule = {
    owner: b.readUInt16BE(0),
    group: b.readUInt16BE(2),
    mask: b.readUInt16BE(4),
    other: b.readUInt16BE(6),
    users: [],
    groups: [],
  };
  let o = 8;
  for (const list of [r.users, r.groups]) {
    const n = b.readUInt32BE(o);
    o += 4;
    for (let i = 0; i < n; i++, o += 6) list.push({ id: b.readUInt32BE(o), perm: b.readUInt16BE(o + 4) });
  }
  return r;
}

/** SQL form of named ACL entries: (id u32, perm u16) pairs, no count prefix. */
export function encodeAclEntries(list: readonly { id: number; perm: number }[]): Buffer {
  const b = Buffer.alloc(list.length * 6);
  list.forEach((e, i) => {
    b.writeUInt32BE(e.id, i * 6);
    b.writeUInt16BE(e.perm, i * 6 + 4);
  });
  return b;
}

export function decodeAclEntries(b: Buffer | null | undefined): { id: number; perm: number }[] {
  const out: { id: number; perm: number }[] = [];
  if (!b) return out;
  for (let o = 0; o + 6 <= b.length; o += 6) out.push({ id: b.readUInt32BE(o), perm: b.readUInt16BE(o + 4) });
  return out;
}

/** Redis lock owner field: `{sid}_{owner as %016X}`. */
export function lockOwnerField(sid: number, owner: bigint): string {
  return `${sid}_${BigInt.asUintN(64, owner).toString(16).toUpperCase().padStart(16, '0')}`;
}

export function parseLockOwnerField(f: string): { sid: number; owner: bigint } {
  const i = f.indexOf('_');
  return { sid: Number(f.slice(0, i)), owner: BigInt('0x' + f.slice(i + 1)) };
}
