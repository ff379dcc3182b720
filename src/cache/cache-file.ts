/**
 * Reading one block file of the disk cache (`data`, then with checksums on a trailer of one
 * CRC32C per 32 KiB piece) at a `--verify-cache-checksum` level.
 *
 * Design: a whole block is one sized read of the file (its length is checked, so a
 * truncated or extended file is caught); a range reads only the bytes the level needs
 * (`planRead`) with one positioned read on a descriptor the caller keeps open, plus the
 * trailer once (the caller keeps it), so a 4 KiB read of a cached 4 MiB block touches one
 * 32 KiB piece.
 *
 * Invariants: a result is `{ data }` only when its bytes passed the checks the level asks
 * for and have the length asked for; anything else the file holds is `{ corrupt }` (why);
 * I/O errors (ENOENT, EIO, …) are thrown as Node raised them, for the caller to classify.
 */
import { read } from 'node:fs';
import { Errno } from '../base/errno.js';
import { optionalNative } from '../native/addon.js';
import { ringRead } from '../native/ring.js';
import { readFileSplit } from '../object/file/read-whole.js';
import type { ChecksumLevel } from './checksum.js';
import { checksumLength, checksumsMatch, PIECE, planRead, trailerSpan, type ReadPlan } from './checksum.js';

/** Reads up to two pieces use a scratch buffer; a few are kept for concurrent reads. */
const SCRATCH_SIZE = 2 * PIECE;
const MAX_SCRATCH = 16;
const scratchBuffers: Buffer[] = [];

export type CacheRead = { data: Buffer } | { corrupt: string };

/** The whole block (`into` holds it when it has room); trailer checked unless level is none. */
export async function readCachedBlock(
  path: string,
  len: number,
  level: ChecksumLevel,
  into?: Buffer,
): Promise<CacheRead> {
  const head = into !== undefined && into.length >= len ? into.subarray(0, len) : Buffer.allocUnsafe(len);
  // The addon's job checks the trailer itself (a 4 MiB block's CRC off the JS thread).
  const [data, trailer, verified] = await readFileSplit(path, head, level === 'none' ? 0 : PIECE);
  if (data.length !== len) return { corrupt: `file holds ${data.length} of ${len} bytes` };
  if (level === 'none' && (trailer.length === 0 || trailer.length === checksumLength(len))) return { data };
  if (trailer.length !== checksumLength(len))
    return { corrupt: `checksum trailer of ${trailer.length} bytes, want ${checksumLength(len)}` };
  return (verified ?? checksumsMatch(data, trailer)) ? { data } : { corrupt: 'checksum mismatch' };
}

/**
 * Bytes [off, off+len) of a `blockLen`-byte block from the open file `fd`, checked as
 * `level` says. `trailer`: the block's checksum trailer when the caller has it (then only
 * the data is read); otherwise it is read along with the data and returned for reuse.
 */
export async function readCachedRange(
  fd: number,
  blockLen: number,
  level: ChecksumLevel,
  off: number,
  len: number,
  trailer?: Buffer,
): Promise<CacheRead & { trailer?: Buffer }> {
  const plan = planRead(level, blockLen, off, off + len);
  const size = plan.readEnd - plan.readOff;
  // Small reads go through a reused scratch buffer and hand out a copy of just the range:
  // a fresh 32 KiB buffer per 4 KiB read kept the garbage collector busy (a fifth of the CPU).
  const scratch =
    size <= SCRATCH_SIZE ? (scratchBuffers.pop() ?? Buffer.allocUnsafeSlow(SCRATCH_SIZE)) : undefined;
  const buf = scratch !== undefined ? scratch.subarray(0, size) : Buffer.allocUnsafe(size);
  try {
    const r = await readAndCheck(fd, buf, blockLen, plan, trailer);
    if ('corrupt' in r) return r;
    const view = buf.subarray(off - plan.readOff, off - plan.readOff + len);
    const data = scratch !== undefined ? Buffer.from(view) : view;
    return r.trailer !== undefined ? { data, trailer: r.trailer } : { data };
  } finally {
    if (scratch !== undefined && scratchBuffers.length < MAX_SCRATCH) scratchBuffers.push(scratch);
  }
}

/** Reads plan's bytes into `buf` (and the trailer when not given) and checks plan's pieces. */
async function readAndCheck(
  fd: number,
  buf: Buffer,
  blockLen: number,
  plan: ReadPlan,
  trailer: Buffer | undefined,
): Promise<{ corrupt: string } | { trailer?: Buffer }> {
  const span = trailerSpan(blockLen, plan);
  const read =
    trailer === undefined && span.len > 0 ? Buffer.allocUnsafe(checksumLength(blockLen)) : undefined;
  const [n, t] = await Promise.all([
    preadFull(fd, buf, plan.readOff),
    read !== undefined ? preadFull(fd, read, blockLen) : 0,
  ]);
  if (n !== buf.length) return { corrupt: `file holds ${plan.readOff + n} of ${blockLen} bytes` };
  if (read !== undefined && t !== read.length) return { corrupt: 'checksum trailer missing or short' };
  if (span.len === 0) return {};
  const all = (read ?? trailer) as Buffer; // cast: one of them is set when span.len > 0
  const sums = all.subarray(span.at - blockLen, span.at - blockLen + span.len);
  const checked = buf.subarray(plan.checkOff - plan.readOff, plan.checkEnd - plan.readOff);
  if (sums.length !== span.len || !checksumsMatch(checked, sums)) {
    return { corrupt: `checksum mismatch in bytes ${plan.checkOff}-${plan.checkEnd}` };
  }
  return read !== undefined ? { trailer: read } : {};
}

const native = optionalNative();
/** Cleared when the kernel or file system refuses RWF_NOWAIT (then every read is a job). */
let noWait = native !== undefined;
const EOPNOTSUPP = 95;

/**
 * What the page cache holds of the range, read on the JS thread without waiting (0 when
 * nothing, or on any error: the thread-pool read that follows reports it). A cached 4 KiB
 * read then costs one system call instead of a thread-pool round trip (two thread wake-ups,
 * tens of microseconds on a VM); bytes that would need the disk are left to `preadOnce`.
 */
function preadCached(fd: number, buf: Buffer, pos: number): number {
  if (!noWait || native === undefined) return 0;
  const n = native.preadNoWait(fd, buf, pos);
  if (n === -EOPNOTSUPP || n === -Errno.ENOSYS) noWait = false;
  return Math.max(0, n);
}

// The io_uring when there is one; else the callback API: each call is one thread-pool job
// without FileHandle's bookkeeping.
function preadOnce(fd: number, buf: Buffer, at: number, pos: number): Promise<number> {
  const viaRing = ringRead(fd, at === 0 ? buf : buf.subarray(at), pos);
  if (viaRing !== undefined) return viaRing;
  return new Promise((ok, fail) => read(fd, buf, at, buf.length - at, pos, (e, n) => (e ? fail(e) : ok(n))));
}

/** Reads until `buf` is full or the file ends; returns the bytes read. */
async function preadFull(fd: number, buf: Buffer, pos: number): Promise<number> {
  let done = preadCached(fd, buf, pos);
  while (done < buf.length) {
    const n = await preadOnce(fd, buf, done, pos + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}
