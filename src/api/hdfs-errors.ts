/**
 * Hadoop exceptions for the HDFS-style FileSystem, named exactly as Hadoop names them so
 * the WebHDFS gateway can send them as RemoteException bodies (docs/WEBHDFS.md §1.4).
 *
 * Design: one mapping from POSIX codes (FsError or the API's Node-shaped errors, both
 * carry `code`) to exception classes, in `toHdfsError`; callers add context such as
 * "File does not exist: /p". Invariants: an HdfsError always has a simple class name, a
 * fully qualified `javaClassName` that exists in Hadoop, and a message.
 */

export const JAVA_CLASSES = {
  FileNotFoundException: 'java.io.FileNotFoundException',
  FileAlreadyExistsException: 'org.apache.hadoop.fs.FileAlreadyExistsException',
  ParentNotDirectoryException: 'org.apache.hadoop.fs.ParentNotDirectoryException',
  PathIsNotEmptyDirectoryException: 'org.apache.hadoop.fs.PathIsNotEmptyDirectoryException',
  AccessControlException: 'org.apache.hadoop.security.AccessControlException',
  DSQuotaExceededException: 'org.apache.hadoop.hdfs.protocol.DSQuotaExceededException',
  NSQuotaExceededException: 'org.apache.hadoop.hdfs.protocol.NSQuotaExceededException',
  AclException: 'org.apache.hadoop.hdfs.protocol.AclException',
  IOException: 'java.io.IOException',
  EOFException: 'java.io.EOFException',
  IllegalArgumentException: 'java.lang.IllegalArgumentException',
  HadoopIllegalArgumentException: 'org.apache.hadoop.HadoopIllegalArgumentException',
  UnsupportedOperationException: 'java.lang.UnsupportedOperationException',
  SecurityException: 'java.lang.SecurityException',
  AuthorizationException: 'org.apache.hadoop.security.authorize.AuthorizationException',
  RuntimeException: 'java.lang.RuntimeException',
} as const;

export type HdfsExceptionName = keyof typeof JAVA_CLASSES;

export class HdfsError extends Error {
  readonly exception: HdfsExceptionName;
  readonly javaClassName: string;
  /** POSIX code behind it, when there was one ('ENOENT'). */
  readonly posixCode: string | undefined;

  constructor(
    exception: HdfsExceptionName,
    message: string,
    opts: { posixCode?: string; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? {} : { cause: opts.cause });
    this.name = exception;
    this.exception = exception;
    this.javaClassName = JAVA_CLASSES[exception];
    this.posixCode = opts.posixCode;
  }
}

export function codeOf(e: unknown): string | undefined {
  if (typeof e === 'object' && e !== null && 'code' in e) {
    const c = (e as { code: unknown }).code;
    return typeof c === 'string' ? c : undefined;
  }
  return undefined;
}

/** Maps any failure on `path` to a Hadoop exception. */
export function toHdfsError(e: unknown, path: string, user?: string): HdfsError {
  if (e instanceof HdfsError) return e;
  const code = codeOf(e);
  const o = { cause: e, ...(code !== undefined ? { posixCode: code } : {}) };
  switch (code) {
    case 'ENOENT':
      return new HdfsError('FileNotFoundException', `File does not exist: ${path}`, o);
    case 'EEXIST':
      return new HdfsError('FileAlreadyExistsException', `${path} already exists`, o);
    case 'ENOTDIR':
      return new HdfsError('ParentNotDirectoryException', `Parent path is not a directory: ${path}`, o);
    case 'ENOTEMPTY':
      return new HdfsError(
        'PathIsNotEmptyDirectoryException',
        `\`${path} is non empty': Directory is not empty`,
        o,
      );
    case 'EACCES':
    case 'EPERM':
      return new HdfsError(
        'AccessControlException',
        `Permission denied: user=${user ?? '?'}, path="${path}"`,
        o,
      );
    case 'EDQUOT':
    case 'ENOSPC':
      return new HdfsError('DSQuotaExceededException', `The DiskSpace quota is exceeded: ${path}`, o);
    case 'EINVAL':
    case 'ENAMETOOLONG':
      return new HdfsError(
        'HadoopIllegalArgumentException',
        `Invalid path or argument: ${path} (${code})`,
        o,
      );
    case 'ENOTSUP':
    case 'ENOSYS':
      return new HdfsError('UnsupportedOperationException', `Operation not supported: ${path}`, o);
    case 'EISDIR':
      return new HdfsError('FileNotFoundException', `Path is a directory: ${path}`, o);
    default: {
      const msg = e instanceof Error ? e.message : String(e);
      return new HdfsError('IOException', `${path}: ${msg}`, o);
    }
  }
}
