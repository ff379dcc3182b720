/**
 * Argument parsing shared by the API calls: Node open-flag strings, times, encodings.
 *
 * Invariants: flag strings follow Node's table ('r', 'r+', 'rs+', 'w', 'wx', 'w+', 'wx+',
 * 'a', 'ax', 'a+', 'ax+', 'as', 'as+'); numbers pass through; an unknown string is EINVAL.
 */
import { FsError, Errno } from '../base/errno.js';
import type { Timespec } from '../base/types.js';

import {
  O_APPEND,
  O_CREAT,
  O_EXCL,
  O_RDONLY,
  O_RDWR,
  O_SYNC,
  O_TRUNC,
  O_WRONLY,
} from '../base/open-flags.js';

export {
  O_ACCMODE,
  O_APPEND,
  O_CREAT,
  O_EXCL,
  O_RDONLY,
  O_RDWR,
  O_SYNC,
  O_TRUNC,
  O_WRONLY,
} from '../base/open-flags.js';
export { R_OK, W_OK, X_OK } from '../base/permissions.js';

export const F_OK = 0;
export const COPYFILE_EXCL = 1;

const TABLE: Readonly<Record<string, number>> = {
  r: O_RDONLY,
  rs: O_RDONLY | O_SYNC,
  sr: O_RDONLY | O_SYNC,
  'r+': O_RDWR,
  'rs+': O_RDWR | O_SYNC,
  'sr+': O_RDWR | O_SYNC,
  w: O_TRUNC | O_CREAT | O_WRONLY,
  wx: O_TRUNC | O_CREAT | O_WRONLY | O_EXCL,
  xw: O_TRUNC | O_CREAT | O_WRONLY | O_EXCL,
  'w+': O_TRUNC | O_CREAT | O_RDWR,
  'wx+': O_TRUNC | O_CREAT | O_RDWR | O_EXCL,
  'xw+': O_TRUNC | O_CREAT | O_RDWR | O_EXCL,
  a: O_APPEND | O_CREAT | O_WRONLY,
  ax: O_APPEND | O_CREAT | O_WRONLY | O_EXCL,
  xa: O_APPEND | O_CREAT | O_WRONLY | O_EXCL,
  as: O_APPEND | O_CREAT | O_WRONLY | O_SYNC,
  sa: O_APPEND | O_CREAT | O_WRONLY | O_SYNC,
  'a+': O_APPEND | O_CREAT | O_RDWR,
  'ax+': O_APPEND | O_CREAT | O_RDWR | O_EXCL,
  'xa+': O_APPEND | O_CREAT | O_RDWR | O_EXCL,
  'as+': O_APPEND | O_CREAT | O_RDWR | O_SYNC,
  'sa+': O_APPEND | O_CREAT | O_RDWR | O_SYNC,
};

export type OpenFlags = string | number;

export function parseFlags(flags: OpenFlags | undefined, dflt: string): number {
  if (typeof flags === 'number') return flags;
  const f = TABLE[flags ?? dflt];
  if (f === undefined)
    throw new FsError(Errno.EINVAL, { op: 'open', message: `EINVAL: unknown open flags '${String(flags)}'` });
  return f;
}

export type TimeLike = Date | number | string | bigint;

/** Node's rule: numbers and numeric strings are seconds, Dates are instants. */
export function toTimespec(t: TimeLike): Timespec {
  let ms: number;
  if (t instanceof Date) ms = t.getTime();
  else if (typeof t === 'bigint') ms = Number(t) * 1000;
  else {
    const n = Number(t);
    if (!Number.isFinite(n))
      throw new FsError(Errno.EINVAL, { op: 'utimes', message: `EINVAL: invalid time ${String(t)}` });
    ms = n * 1000;
  }
  const sec = Math.floor(ms / 1000);
  return { sec, nsec: Math.round((ms - sec * 1000) * 1e6) };
}

export type Encoding = BufferEncoding;

export function encodingOf(
  opts: { encoding?: Encoding | null } | Encoding | null | undefined,
): Encoding | undefined {
  if (opts === null || opts === undefined) return undefined;
  if (typeof opts === 'string') return opts;
  return opts.encoding ?? undefined;
}

export function toBuffer(data: string | Uint8Array, encoding: Encoding = 'utf8'): Buffer {
  if (typeof data === 'string') return Buffer.from(data, encoding);
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
