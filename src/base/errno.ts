/**
 * The single error type at the POSIX boundary. Every layer maps its own failures to an
 * `FsError` in exactly one function; unknown errors become EIO with the cause kept.
 * Never match on `message`: use `errno` / `code`.
 */
import { constants as osConstants } from 'node:os';

export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  EMLINK: 31,
  ERANGE: 34,
  EDEADLK: 35,
  ENAMETOOLONG: 36,
  ENOLCK: 37,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  ELOOP: 40,
  ENODATA: 61,
  ENOTSUP: 95,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
  EDQUOT: 122,
  ECANCELED: 125,
} as const;

export type ErrnoCode = keyof typeof Errno;

const byNumber = new Map<number, ErrnoCode>(
  (Object.entries(Errno) as [ErrnoCode, number][]).map(([k, v]) => [v, k]),
);

/** ENOATTR is ENODATA on Linux. */
export const ENOATTR = Errno.ENODATA;

export function errnoName(errno: number): string {
  return byNumber.get(errno) ?? `E${errno}`;
}

export interface FsErrorInit {
  op?: string;
  path?: string;
  ino?: bigint;
  cause?: unknown;
  message?: string;
}

export class FsError extends Error {
  readonly errno: number;
  readonly code: string;
  readonly op: string | undefined;
  readonly path: string | undefined;
  readonly ino: bigint | undefined;

  constructor(errno: number, init: FsErrorInit = {}) {
    const code = errnoName(errno);
    const where = [init.op, init.path ?? (init.ino !== undefined ? `inode ${init.ino}` : undefined)]
      .filter(Boolean)
      .join(' ');
    // Expected errors (ENOENT on every negative lookup, EEXIST, EACCES, ...) are answers,
    // not bugs: skip the stack capture, which dominated their cost. EIO keeps its stack.
    const limit = Error.stackTraceLimit;
    if (errno !== Errno.EIO) Error.stackTraceLimit = 0;
    super(
      init.message ?? `${code}${where ? `: ${where}` : ''}`,
      init.cause === undefined ? {} : { cause: init.cause },
    );
    Error.stackTraceLimit = limit;
    this.name = 'FsError';
    this.errno = errno;
    this.code = code;
    this.op = init.op;
    this.path = init.path;
    this.ino = init.ino;
  }
}

export function isFsError(e: unknown, code?: ErrnoCode): e is FsError {
  return e instanceof FsError && (code === undefined || e.errno === Errno[code]);
}

/**
 * Maps any thrown value to an FsError. Node system errors keep their errno; everything
 * else becomes EIO with the original error as cause.
 */
export function toFsError(e: unknown, init: FsErrorInit = {}): FsError {
  if (e instanceof FsError) return e;
  if (e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string') {
    const code = (e as NodeJS.ErrnoException).code as string;
    const n = (osConstants.errno as Record<string, number>)[code];
    if (n !== undefined) return new FsError(n, { ...init, cause: e });
  }
  return new FsError(Errno.EIO, {
    ...init,
    cause: e,
    message: `EIO: ${e instanceof Error ? e.message : String(e)}`,
  });
}
