/**
 * Reading one block file of the disk cache (`data`, then with checksums on a trailer of one
 * CRC32C per 32 KiB piece) at a `--verify-cache-checksum` level.
 *
 * Design: a whole block is one sized read of the file (its length is checked, so a
 * truncated or extended file is caught); a range reads only the bytes the level needs
 * (`planRead`) plus the checksums of the pieces it checks, with two positioned reads on
 * one descriptor, so a 4 KiB read of a cached 4 MiB block touches at most one 32 KiB piece.
 *
 * Invariants: a result is `{ data }` only when its bytes passed the checks the level asks
 * for and have the length asked for; anything else the file holds is `{ corrupt }` (why);
 * I/O errors (ENOENT, EIO, …) are thrown as Node raised them, for the caller to classify.
 */
import { close, open, read } from 'node:fs';
import { readFileSplit } from '../object/file/read-whole.js';
import type { ChecksumLevel } from './checksum.js';
import { checksumLength, checksumsMatch, planRead, trailerSpan } from './checksum.js';

export type CacheRead = { data: Buffer } | { corrupt: string };

/** The whole block (`into` holds it when it has room); trailer checked unless level is none. */
export async function readCachedBlock(
  path: string,
  len: number,
  level: ChecksumLevel,
  into?: Buffer,
): Promise<CacheRead> {
  const head = into !== undefined && into.length >= len ? into.subarray(0, len) : Buffer.allocUnsafe(len);
  const [data, trailer] = await readFileSplit(path, head);
  if (data.length !== len) return { corrupt: `file holds ${data.length} of ${len} bytes` };
  if (level === 'none' && (trailer.length === 0 || trailer.length === checksumLength(len))) return { data };
  if (trailer.length !== checksumLength(len))
    return { corrupt: `checksum trailer of ${trailer.length} bytes, want ${checksumLength(len)}` };
  return checksumsMatch(data, trailer) ? { data } : { corrupt: 'checksum mismatch' };
}

/** Bytes [off, off+len) of a `blockLen`-byte block, checked as `level` says. */
export async function readCachedRange(
  path: string,
  blockLen: number,
  level: ChecksumLevel,
  off: number,
  len: number,
): Promise<CacheRead> {
  const plan = planRead(level, blockLen, off, off + len);
  const span = trailerSpan(blockLen, plan);
  const buf = Buffer.allocUnsafe(plan.readEnd - plan.readOff);
  const sums = Buffer.allocUnsafe(span.len);
  const fd = await openFile(path);
  let got: [number, number];
  try {
    got = await Promise.all([
      preadFull(fd, buf, plan.readOff),
      span.len > 0 ? preadFull(fd, sums, span.at) : 0,
    ]);
  } finally {
    await closeFile(fd);
  }
  if (got[0] !== buf.length) return { corrupt: `file holds ${plan.readOff + got[0]} of ${blockLen} bytes` };
  if (got[1] !== span.len) return { corrupt: 'checksum trailer missing or short' };
  if (span.len > 0) {
    const checked = buf.subarray(plan.checkOff - plan.readOff, plan.checkEnd - plan.readOff);
    if (!checksumsMatch(checked, sums))
      return { corrupt: `checksum mismatch in bytes ${plan.checkOff}-${plan.checkEnd}` };
  }
  return { data: buf.subarray(off - plan.readOff, off - plan.readOff + len) };
}

// The callback API: each call is one thread-pool job without FileHandle's bookkeeping.
function openFile(path: string): Promise<number> {
  return new Promise((ok, fail) => open(path, 'r', (e, fd) => (e ? fail(e) : ok(fd))));
}

function closeFile(fd: number): Promise<void> {
  return new Promise((ok, fail) => close(fd, (e) => (e ? fail(e) : ok())));
}

function preadOnce(fd: number, buf: Buffer, at: number, pos: number): Promise<number> {
  return new Promise((ok, fail) => read(fd, buf, at, buf.length - at, pos, (e, n) => (e ? fail(e) : ok(n))));
}

/** Reads until `buf` is full or the file ends; returns the bytes read. */
async function preadFull(fd: number, buf: Buffer, pos: number): Promise<number> {
  let done = 0;
  while (done < buf.length) {
    const n = await preadOnce(fd, buf, done, pos + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}
