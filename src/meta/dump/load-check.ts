/**
 * Validation of the records of a JuiceFS JSON dump before `load` writes them: entry names,
 * inode numbers, types, attribute ranges, slices and the header sections. Every failure is
 * an EINVAL FsError whose message names the record ("invalid dump: FSTree/a/b: ...").
 *
 * Invariants: values that come back from here are exact (integers within the safe range,
 * names as raw bytes that a POSIX directory can hold), so the loader never stores a record
 * that a client could not list, open or read.
 */
import { FsError, Errno } from '../../base/errno.js';
import {
  CHUNK_SIZE,
  FileType,
  MAX_FILE_SIZE,
  MAX_NAME_BYTES,
  ROOT_INODE,
  TRASH_INODE,
  type Ino,
  type Slice,
} from '../../base/types.js';
import { unescapeToBytes } from './escape.js';
import type { JsonValue } from './json-reader.js';

export type Obj = { [k: string]: JsonValue };

export function invalidDump(where: string, why: string): FsError {
  return new FsError(Errno.EINVAL, { message: `invalid dump: ${where}: ${why}` });
}

export const TYPES: Record<string, FileType> = {
  regular: FileType.File,
  directory: FileType.Directory,
  symlink: FileType.Symlink,
  fifo: FileType.FIFO,
  blockdev: FileType.BlockDev,
  chardev: FileType.CharDev,
  socket: FileType.Socket,
};

const MAX_INODE = (1n << 63n) - 1n;
const U32 = 2 ** 32 - 1;

export function isObj(v: JsonValue | undefined): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An integer member in [min, max] (safe integers only); `dflt` when absent. */
export function intOf(
  o: Obj,
  key: string,
  where: string,
  range: { min: number; max: number; dflt?: number },
): number {
  const v = o[key];
  if (v === undefined || v === null) {
    if (range.dflt !== undefined) return range.dflt;
    throw invalidDump(where, `missing '${key}'`);
  }
  if (typeof v === 'bigint')
    throw invalidDump(where, `'${key}' ${v} is out of range [${range.min}, ${range.max}]`);
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw invalidDump(where, `'${key}' is not an integer: ${JSON.stringify(v)}`);
  if (v < range.min || v > range.max)
    throw invalidDump(where, `'${key}' ${v} is out of range [${range.min}, ${range.max}]`);
  return v;
}

/** An inode number member: a positive 63-bit integer. */
export function inodeOf(v: JsonValue | undefined, where: string): Ino {
  if (typeof v === 'number' && Number.isInteger(v) && v > 0) return BigInt(v);
  if (typeof v === 'bigint' && v > 0n && v <= MAX_INODE) return v;
  throw invalidDump(
    where,
    `bad inode number ${JSON.stringify(typeof v === 'bigint' ? String(v) : (v ?? null))}`,
  );
}

/** Raw bytes of an entry name, refused when no directory could hold it. */
export function checkName(escaped: string, where: string): Buffer {
  const name = unescapeToBytes(escaped);
  const show = JSON.stringify(escaped);
  if (name.length === 0) throw invalidDump(where, 'empty entry name');
  if (name.length > MAX_NAME_BYTES)
    throw invalidDump(where, `entry name of ${name.length} bytes (limit ${MAX_NAME_BYTES})`);
  if (name.includes(0x2f)) throw invalidDump(where, `entry name ${show} contains '/'`);
  if (name.includes(0)) throw invalidDump(where, `entry name ${show} contains a NUL byte`);
  if (escaped === '.' || escaped === '..') throw invalidDump(where, `entry name ${show} is reserved`);
  return name;
}

/** Attributes of one entry as the loader stores them. */
export interface CheckedAttr {
  ino: Ino;
  type: FileType;
  mode: number;
  uid: number;
  gid: number;
  flags: number;
  atime: number;
  mtime: number;
  ctime: number;
  atimensec: number;
  mtimensec: number;
  ctimensec: number;
  length: number;
  rdev: number;
  tier: number;
}

const TIME = { min: -(2 ** 53) + 1, max: 2 ** 53 - 1, dflt: 0 };
const NSEC = { min: 0, max: 999_999_999, dflt: 0 };

/**
 * Checks an "attr" object. `role` says where the entry sits: the FSTree root (inode forced to
 * 1), the Trash root (inode TRASH_INODE), or a child in the tree or in the trash.
 */
export function checkAttr(
  v: JsonValue,
  role: 'root' | 'trash' | 'child' | 'trash-child',
  where: string,
): CheckedAttr {
  if (!isObj(v)) throw invalidDump(where, "'attr' is not an object");
  const typeName = v['type'];
  const type = typeof typeName === 'string' ? TYPES[typeName] : undefined;
  if (type === undefined) throw invalidDump(where, `unknown type ${JSON.stringify(typeName ?? null)}`);
  const ino = role === 'root' ? ROOT_INODE : inodeOf(v['inode'], where);
  if ((role === 'root' || role === 'trash') && type !== FileType.Directory)
    throw invalidDump(where, `the ${role === 'root' ? 'root' : 'trash'} must be a directory`);
  if (role === 'trash' && ino !== TRASH_INODE)
    throw invalidDump(where, `trash inode ${ino} is not ${TRASH_INODE}`);
  if (role === 'child' || role === 'trash-child') {
    if (ino === ROOT_INODE) throw invalidDump(where, 'an entry uses inode 1 (the root)');
    if (ino === TRASH_INODE) throw invalidDump(where, `an entry uses the trash inode ${ino}`);
    if (role === 'child' && ino > TRASH_INODE)
      throw invalidDump(where, `inode ${ino} is in the trash range outside the trash`);
  }
  const length =
    type === FileType.File
      ? intOf(v, 'length', where, { min: 0, max: Math.min(MAX_FILE_SIZE, Number.MAX_SAFE_INTEGER), dflt: 0 })
      : 0;
  return {
    ino,
    type,
    length,
    mode: intOf(v, 'mode', where, { min: 0, max: 0o177777, dflt: 0 }) & 0o7777,
    uid: intOf(v, 'uid', where, { min: 0, max: U32, dflt: 0 }),
    gid: intOf(v, 'gid', where, { min: 0, max: U32, dflt: 0 }),
    flags: intOf(v, 'flags', where, { min: 0, max: 255, dflt: 0 }),
    atime: intOf(v, 'atime', where, TIME),
    mtime: intOf(v, 'mtime', where, TIME),
    ctime: intOf(v, 'ctime', where, TIME),
    atimensec: intOf(v, 'atimensec', where, NSEC),
    mtimensec: intOf(v, 'mtimensec', where, NSEC),
    ctimensec: intOf(v, 'ctimensec', where, NSEC),
    rdev: intOf(v, 'rdev', where, { min: 0, max: U32, dflt: 0 }),
    tier: intOf(v, 'tier', where, { min: 0, max: 255, dflt: 0 }),
  };
}

/** Checks a "chunks" array: chunk indexes inside the file size limit, slices inside their chunk. */
export function checkChunks(v: JsonValue, where: string): { index: number; slices: Slice[] }[] {
  if (!Array.isArray(v)) throw invalidDump(where, "'chunks' is not an array");
  const maxIndex = MAX_FILE_SIZE / CHUNK_SIZE - 1;
  return v.map((c, i) => {
    const at = `${where} chunk #${i}`;
    if (!isObj(c)) throw invalidDump(at, 'not an object');
    const index = intOf(c, 'index', at, { min: 0, max: maxIndex });
    const list = c['slices'];
    if (!Array.isArray(list)) throw invalidDump(at, "'slices' is not an array");
    const slices = list.map((s, j) => checkSlice(s, `${where} chunk ${index} slice #${j}`));
    return { index, slices };
  });
}

function checkSlice(s: JsonValue, at: string): Slice {
  if (!isObj(s)) throw invalidDump(at, 'not an object');
  const big = { min: 0, max: Number.MAX_SAFE_INTEGER, dflt: 0 };
  const id = s['id'] !== undefined ? intOf(s, 'id', at, big) : intOf(s, 'chunkid', at, big);
  const pos = intOf(s, 'pos', at, { min: 0, max: CHUNK_SIZE - 1, dflt: 0 });
  const size = intOf(s, 'size', at, { min: 0, max: CHUNK_SIZE, dflt: 0 });
  const off = intOf(s, 'off', at, { min: 0, max: CHUNK_SIZE, dflt: 0 });
  const len = intOf(s, 'len', at, { min: 1, max: CHUNK_SIZE });
  if (pos + len > CHUNK_SIZE)
    throw invalidDump(at, `pos ${pos} + len ${len} is past the end of the chunk (${CHUNK_SIZE})`);
  if (id > 0 && off + len > size)
    throw invalidDump(at, `off ${off} + len ${len} is past the slice size ${size}`);
  return { pos, id, size, off, len };
}

/** Checks an "xattrs" array. */
export function checkXattrs(v: JsonValue, where: string): { name: string; value: Buffer }[] {
  if (!Array.isArray(v)) throw invalidDump(where, "'xattrs' is not an array");
  return v.map((x, i) => {
    if (!isObj(x) || typeof x['name'] !== 'string' || x['name'] === '' || typeof x['value'] !== 'string') {
      throw invalidDump(`${where} xattr #${i}`, 'needs a non-empty string name and a string value');
    }
    if (x['name'].length > MAX_NAME_BYTES) throw invalidDump(`${where} xattr #${i}`, 'name too long');
    return { name: x['name'], value: unescapeToBytes(x['value']) };
  });
}

/** Quota rows of a header section (Quotas, UserQuotas, GroupQuotas): numeric keys, limits >= -1. */
export function checkQuotas(
  v: JsonValue | undefined,
  section: string,
): [string, { maxSpace: number; maxInodes: number }][] {
  if (v === undefined || v === null) return [];
  if (!isObj(v)) throw invalidDump(section, 'not an object');
  return Object.entries(v).map(([k, q]) => {
    const at = `${section}[${k}]`;
    if (!/^\d{1,19}$/.test(k)) throw invalidDump(at, 'key is not a number');
    if (!isObj(q)) throw invalidDump(at, 'not an object');
    const lim = { min: -1, max: Number.MAX_SAFE_INTEGER, dflt: -1 };
    return [k, { maxSpace: intOf(q, 'maxSpace', at, lim), maxInodes: intOf(q, 'maxInodes', at, lim) }];
  });
}

/** "FSTree/a/b/c" for messages, the middle of very deep paths elided. */
export function describePath(parts: readonly string[]): string {
  if (parts.length <= 12) return parts.join('/');
  return [...parts.slice(0, 2), `…(${parts.length - 10} levels)…`, ...parts.slice(-8)].join('/');
}
