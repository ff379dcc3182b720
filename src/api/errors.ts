/**
 * Node-shaped errors for the programmatic API: what `node:fs/promises` throws.
 *
 * Design: every API entry point catches once and converts with `nodeError(e, syscall,
 * path, dest)`; FsError keeps its errno, anything else becomes EIO with the cause kept.
 * Invariants: `err.code` is the POSIX name ('ENOENT'), `err.errno` is negative as in Node
 * (-2), `err.syscall` and `err.path` are set, the message reads like Node's
 * ("ENOENT: no such file or directory, open '/a'").
 */
import { Errno, toFsError } from '../base/errno.js';

const DESCRIPTIONS: Readonly<Record<string, string>> = {
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  EIO: 'i/o error',
  EBADF: 'bad file descriptor',
  EACCES: 'permission denied',
  EBUSY: 'resource busy or locked',
  EEXIST: 'file already exists',
  EXDEV: 'cross-device link not permitted',
  ENOTDIR: 'not a directory',
  EISDIR: 'illegal operation on a directory',
  EINVAL: 'invalid argument',
  EFBIG: 'file too large',
  ENOSPC: 'no space left on device',
  EROFS: 'read-only file system',
  EMLINK: 'too many links',
  ENAMETOOLONG: 'name too long',
  ENOTEMPTY: 'directory not empty',
  ELOOP: 'too many symbolic links encountered',
  ENODATA: 'no data available',
  ENOTSUP: 'operation not supported on socket',
  EDQUOT: 'disk quota exceeded',
  ENOSYS: 'function not implemented',
};

/** The error object the API throws (shape of Node's SystemError for fs calls). */
export class ApiError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  readonly path: string | undefined;
  readonly dest: string | undefined;

  constructor(code: string, errno: number, syscall: string, path?: string, dest?: string, cause?: unknown) {
    const desc = DESCRIPTIONS[code] ?? code.toLowerCase();
    const where = path === undefined ? '' : dest === undefined ? ` '${path}'` : ` '${path}' -> '${dest}'`;
    super(`${code}: ${desc}, ${syscall}${where}`, cause === undefined ? {} : { cause });
    this.name = 'Error';
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
    this.path = path;
    this.dest = dest;
  }
}

/** Converts any thrown value into an ApiError for `syscall` on `path` (and `dest`). */
export function nodeError(e: unknown, syscall: string, path?: string, dest?: string): ApiError {
  if (e instanceof ApiError) return e;
  const fe = toFsError(e);
  return new ApiError(fe.code, -fe.errno, syscall, path, dest, fe.errno === Errno.EIO ? fe : undefined);
}

/** Runs `fn`, rethrowing any failure as a Node-shaped error. */
export async function wrap<T>(
  syscall: string,
  path: string | undefined,
  fn: () => Promise<T>,
  dest?: string,
): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw nodeError(e, syscall, path, dest);
  }
}
