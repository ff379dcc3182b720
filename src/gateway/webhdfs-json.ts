/**
 * WebHDFS JSON shapes (docs/WEBHDFS.md §4) and RemoteException bodies (docs/WEBHDFS.md §1.4).
 *
 * Design: a small JSON writer that prints bigint as exact digits (fileId may exceed 2^53)
 * — JSON.stringify cannot. Invariants: FileStatus objects carry every field the Java
 * client requires; permission is an octal string; times are milliseconds; owner/group
 * are names; exceptions map to Hadoop's status codes (404 only for FileNotFoundException).
 */
import type { FileStatus } from '../api/hdfs.js';
import type { HdfsError } from '../api/hdfs-errors.js';

export type Json =
  string | number | bigint | boolean | null | readonly Json[] | { readonly [k: string]: Json | undefined };

/** JSON text with bigints as exact integers. */
export function toJson(v: Json): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'bigint':
      return v.toString();
    case 'number':
      return Number.isFinite(v) ? String(v) : 'null';
    case 'string':
    case 'boolean':
      return JSON.stringify(v);
    default:
      break;
  }
  if (Array.isArray(v)) return `[${(v as readonly Json[]).map(toJson).join(',')}]`;
  const parts: string[] = [];
  for (const [k, x] of Object.entries(v as Record<string, Json | undefined>))
    if (x !== undefined) parts.push(`${JSON.stringify(k)}:${toJson(x)}`);
  return `{${parts.join(',')}}`;
}

export function fileStatusJson(st: FileStatus, pathSuffix: string): Json {
  return {
    accessTime: st.isDirectory ? 0 : st.accessTime,
    aclBit: st.aclBit === true ? true : undefined,
    blockSize: st.blockSize,
    childrenNum: st.isDirectory ? undefined : 0,
    fileId: st.fileId,
    group: st.group,
    length: st.length,
    modificationTime: st.modificationTime,
    owner: st.owner,
    pathSuffix,
    permission: st.permission.toString(8),
    replication: st.replication,
    storagePolicy: 0,
    symlink: st.symlink,
    type: st.type,
  };
}

/** HTTP status Hadoop's ExceptionHandler uses for an exception class. */
export function statusOf(e: HdfsError): number {
  switch (e.exception) {
    case 'SecurityException':
    case 'AuthorizationException':
      return 403;
    case 'FileNotFoundException':
      return 404;
    case 'UnsupportedOperationException':
    case 'IllegalArgumentException':
    case 'HadoopIllegalArgumentException':
      return 400;
    case 'RuntimeException':
      return 500;
    default:
      return 403;
  }
}

export function remoteExceptionJson(e: HdfsError): string {
  return toJson({
    RemoteException: { exception: e.exception, javaClassName: e.javaClassName, message: e.message },
  });
}
