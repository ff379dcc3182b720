/**
 * WebHDFS metadata operations (docs/WEBHDFS.md §3.1, §3.2): one handler per op, each a thin mapping
 * from parameters to an HdfsFileSystem call and from its result to the JSON shape.
 *
 * Invariants: JSON replies are 200 with application/json and a non-empty body; "void"
 * ops reply 200 with an empty body; boolean RENAME never throws for the usual failures;
 * DELETE of a missing path or of '/' is `false`; LISTSTATUS is streamed page by page with
 * backpressure so a huge directory never sits in memory as one JSON string.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HdfsFileSystem } from '../api/hdfs.js';
import { HdfsError } from '../api/hdfs-errors.js';
import type { Caller } from './webhdfs-auth.js';
import { fileStatusJson, toJson, type Json } from './webhdfs-json.js';
import {
  bool,
  long,
  param,
  paramPath,
  permission,
  required,
  type WebHdfsRequest,
} from './webhdfs-request.js';

export interface OpContext {
  req: WebHdfsRequest;
  fs: HdfsFileSystem;
  http: IncomingMessage;
  res: ServerResponse;
  caller: Caller;
  /** http://host:port of this gateway as the client reached it. */
  baseUrl: string;
  /** Runs data steps for one path one at a time (no HDFS leases). */
  exclusive<T>(path: string, fn: () => Promise<T>): Promise<T>;
  checksum: boolean;
  /** Request body bytes consumed (for the access log). */
  counted: { bytesIn: number };
}

export type OpHandler = (c: OpContext) => Promise<void>;

const LIST_BATCH = 1000;

export function sendJson(res: ServerResponse, body: Json, status = 200): void {
  const text = toJson(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendEmpty(res: ServerResponse, status = 200): void {
  res.writeHead(status, { 'Content-Type': 'application/octet-stream', 'Content-Length': 0 });
  res.end();
}

/** Writes and waits for 'drain' when the socket buffer is full. */
export async function writeWithBackpressure(res: ServerResponse, chunk: string | Buffer): Promise<void> {
  if (res.write(chunk)) return;
  await new Promise<void>((resolve, reject) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', closed);
      resolve();
    };
    const closed = (): void => {
      res.off('drain', done);
      reject(new Error('client closed the connection'));
    };
    res.once('drain', done);
    res.once('close', closed);
  });
}

function decodeXattrValue(v: string | undefined): Buffer {
  if (v === undefined) return Buffer.alloc(0);
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) return Buffer.from(v.slice(1, -1));
  if (/^0x/i.test(v)) {
    const hex = v.slice(2);
    if (!/^([0-9a-f]{2})*$/i.test(hex))
      throw new HdfsError('IllegalArgumentException', `Invalid hex xattr value: ${v}`);
    return Buffer.from(hex, 'hex');
  }
  if (/^0s/i.test(v)) return Buffer.from(v.slice(2), 'base64');
  return Buffer.from(v);
}

function encodeXattrValue(b: Buffer, encoding: string): string | null {
  if (b.length === 0) return null;
  if (encoding === 'TEXT') return `"${b.toString()}"`;
  if (encoding === 'HEX') return `0x${b.toString('hex')}`;
  return `0s${b.toString('base64')}`;
}

async function listStatus(c: OpContext): Promise<void> {
  const { total, entries } = await c.fs.listStatusStream(c.req.path);
  const single = total === 1 && (await c.fs.getFileStatus(c.req.path)).isFile;
  c.res.writeHead(200, { 'Content-Type': 'application/json' });
  await writeWithBackpressure(c.res, '{"FileStatuses":{"FileStatus":[');
  let first = true;
  let batch: string[] = [];
  for await (const st of entries) {
    batch.push(toJson(fileStatusJson(st, single ? '' : st.name)));
    if (batch.length >= 200) {
      await writeWithBackpressure(c.res, (first ? '' : ',') + batch.join(','));
      first = false;
      batch = [];
    }
  }
  if (batch.length > 0) await writeWithBackpressure(c.res, (first ? '' : ',') + batch.join(','));
  c.res.end(']}}');
}

async function listStatusBatch(c: OpContext): Promise<void> {
  const { entries, remaining } = await c.fs.listStatusBatch(
    c.req.path,
    param(c.req, 'startafter') ?? '',
    LIST_BATCH,
  );
  const st = entries.length === 1 && entries[0]!.path === c.req.path;
  sendJson(c.res, {
    DirectoryListing: {
      partialListing: {
        FileStatuses: { FileStatus: entries.map((e) => fileStatusJson(e, st ? '' : e.name)) },
      },
      remainingEntries: remaining,
    },
  });
}

async function getXattrs(c: OpContext): Promise<void> {
  const encoding = required(c.req, 'encoding').toUpperCase();
  if (!['TEXT', 'HEX', 'BASE64'].includes(encoding))
    throw new HdfsError(
      'IllegalArgumentException',
      `Invalid value for webhdfs parameter "encoding": ${encoding}`,
    );
  const names = c.req.params.get('xattr.name');
  const map = await c.fs.getXAttrs(c.req.path, names);
  sendJson(c.res, {
    XAttrs: [...map].map(([name, value]) => ({ name, value: encodeXattrValue(value, encoding) })),
  });
}

async function setXattr(c: OpContext): Promise<void> {
  const name = required(c.req, 'xattr.name');
  const flags = required(c.req, 'flag').toUpperCase().split(',');
  if (flags.some((f) => f !== 'CREATE' && f !== 'REPLACE'))
    throw new HdfsError(
      'IllegalArgumentException',
      `Invalid value for webhdfs parameter "flag": ${flags.join(',')}`,
    );
  await c.fs.setXAttr(c.req.path, name, decodeXattrValue(param(c.req, 'xattr.value')), {
    create: flags.includes('CREATE'),
    replace: flags.includes('REPLACE'),
  });
  sendEmpty(c.res);
}

async function rename(c: OpContext): Promise<void> {
  const dst = paramPath(required(c.req, 'destination'), 'destination');
  const options = param(c.req, 'renameoptions');
  if (options === undefined) return sendJson(c.res, { boolean: await c.fs.rename(c.req.path, dst) });
  const set = options.toUpperCase().split(',');
  if (set.some((o) => !['NONE', 'OVERWRITE', 'TO_TRASH'].includes(o)))
    throw new HdfsError(
      'IllegalArgumentException',
      `Invalid value for webhdfs parameter "renameoptions": ${options}`,
    );
  await c.fs.renameWithOptions(c.req.path, dst, { overwrite: set.includes('OVERWRITE') });
  sendEmpty(c.res);
}

async function contentSummary(c: OpContext): Promise<void> {
  const s = await c.fs.getContentSummary(c.req.path);
  sendJson(c.res, {
    ContentSummary: {
      directoryCount: s.directoryCount,
      fileCount: s.fileCount,
      length: s.length,
      quota: s.quota,
      spaceConsumed: s.spaceConsumed,
      spaceQuota: s.spaceQuota,
      typeQuota: {},
    },
  });
}

async function quotaUsage(c: OpContext): Promise<void> {
  const s = await c.fs.getContentSummary(c.req.path);
  sendJson(c.res, {
    QuotaUsage: {
      fileAndDirectoryCount: s.fileCount + s.directoryCount,
      quota: -1,
      spaceConsumed: s.spaceConsumed,
      spaceQuota: -1,
      typeQuota: {},
    },
  });
}

async function blockLocations(c: OpContext): Promise<void> {
  const host = (c.http.headers.host ?? 'localhost').replace(/:\d+$/, '');
  const locs = await c.fs.getFileBlockLocations(
    c.req.path,
    long(c.req, 'offset', 0)!,
    long(c.req, 'length'),
    host,
  );
  sendJson(c.res, {
    BlockLocations: {
      BlockLocation: locs.map((l) => ({ ...l, cachedHosts: [], storageTypes: ['DISK'], corrupt: false })),
    },
  });
}

export const GET_OPS: Readonly<Record<string, OpHandler>> = {
  GETFILESTATUS: async (c) =>
    sendJson(c.res, { FileStatus: fileStatusJson(await c.fs.getFileStatus(c.req.path), '') }),
  GETFILELINKSTATUS: async (c) =>
    sendJson(c.res, { FileStatus: fileStatusJson(await c.fs.getFileLinkStatus(c.req.path), '') }),
  GETLINKTARGET: async (c) => {
    const st = await c.fs.getFileLinkStatus(c.req.path);
    if (st.symlink === undefined)
      throw new HdfsError('IOException', `Path ${c.req.path} is not a symbolic link`);
    sendJson(c.res, { Path: st.symlink });
  },
  LISTSTATUS: listStatus,
  LISTSTATUS_BATCH: listStatusBatch,
  GETCONTENTSUMMARY: contentSummary,
  GETQUOTAUSAGE: quotaUsage,
  GETHOMEDIRECTORY: async (c) => sendJson(c.res, { Path: c.fs.getHomeDirectory() }),
  GETTRASHROOT: async (c) => sendJson(c.res, { Path: `${c.fs.getHomeDirectory()}/.Trash` }),
  GETXATTRS: getXattrs,
  LISTXATTRS: async (c) => sendJson(c.res, { XAttrNames: JSON.stringify(await c.fs.listXAttrs(c.req.path)) }),
  CHECKACCESS: async (c) => {
    await c.fs.access(c.req.path, required(c.req, 'fsaction'));
    sendEmpty(c.res);
  },
  GETFILEBLOCKLOCATIONS: blockLocations,
  GETSERVERDEFAULTS: async (c) => sendJson(c.res, { FsServerDefaults: { ...c.fs.getServerDefaults() } }),
  GETSTATUS: async (c) => sendJson(c.res, { FsStatus: await c.fs.getStatus() }),
  GETDELEGATIONTOKEN: async (c) => sendJson(c.res, { Token: null }),
};

export const PUT_OPS: Readonly<Record<string, OpHandler>> = {
  MKDIRS: async (c) => sendJson(c.res, { boolean: await c.fs.mkdirs(c.req.path, permission(c.req, 0o755)) }),
  RENAME: rename,
  SETPERMISSION: async (c) => {
    await c.fs.setPermission(c.req.path, permission(c.req, 0o755));
    sendEmpty(c.res);
  },
  SETOWNER: async (c) => {
    const owner = param(c.req, 'owner');
    const group = param(c.req, 'group');
    if (owner === undefined && group === undefined)
      throw new HdfsError('IllegalArgumentException', 'Both owner and group are empty.');
    await c.fs.setOwner(c.req.path, owner, group);
    sendEmpty(c.res);
  },
  SETTIMES: async (c) => {
    await c.fs.setTimes(
      c.req.path,
      long(c.req, 'modificationtime', -1, -1)!,
      long(c.req, 'accesstime', -1, -1)!,
    );
    sendEmpty(c.res);
  },
  SETREPLICATION: async (c) =>
    sendJson(c.res, { boolean: await c.fs.setReplication(c.req.path, long(c.req, 'replication', 1, 1)!) }),
  SETXATTR: setXattr,
  REMOVEXATTR: async (c) => {
    await c.fs.removeXAttr(c.req.path, required(c.req, 'xattr.name'));
    sendEmpty(c.res);
  },
  CREATESYMLINK: async (c) => {
    await c.fs.createSymlink(required(c.req, 'destination'), c.req.path, bool(c.req, 'createparent', true));
    sendEmpty(c.res);
  },
  RENEWDELEGATIONTOKEN: async (c) => sendJson(c.res, { long: Date.now() + 24 * 3600 * 1000 }),
  CANCELDELEGATIONTOKEN: async (c) => sendEmpty(c.res),
};

export const POST_OPS: Readonly<Record<string, OpHandler>> = {
  TRUNCATE: async (c) =>
    sendJson(c.res, {
      boolean: await c.fs.truncate(c.req.path, long(c.req, 'newlength', undefined, 0) ?? -1),
    }),
  CONCAT: async (c) => {
    const sources = required(c.req, 'sources')
      .split(',')
      .filter(Boolean)
      .map((s) => paramPath(s, 'sources'));
    await c.fs.concat(c.req.path, sources);
    sendEmpty(c.res);
  },
};

export const DELETE_OPS: Readonly<Record<string, OpHandler>> = {
  DELETE: async (c) =>
    sendJson(c.res, { boolean: await c.fs.delete(c.req.path, bool(c.req, 'recursive', false)) }),
};

/** Ops Hadoop defines that tjfs answers with UnsupportedOperationException (400). */
export const UNSUPPORTED_OPS: ReadonlySet<string> = new Set([
  'CREATESNAPSHOT',
  'RENAMESNAPSHOT',
  'DELETESNAPSHOT',
  'ALLOWSNAPSHOT',
  'DISALLOWSNAPSHOT',
  'GETSNAPSHOTDIFF',
  'GETSNAPSHOTTABLEDIRECTORYLIST',
  'GETSNAPSHOTLIST',
  'SETSTORAGEPOLICY',
  'UNSETSTORAGEPOLICY',
  'GETSTORAGEPOLICY',
  'GETALLSTORAGEPOLICY',
  'SATISFYSTORAGEPOLICY',
  'SETQUOTA',
  'SETQUOTABYSTORAGETYPE',
  'ENABLEECPOLICY',
  'DISABLEECPOLICY',
  'SETECPOLICY',
  'UNSETECPOLICY',
  'GETECPOLICY',
  'GETECPOLICIES',
  'GETECCODECS',
  'GET_BLOCK_LOCATIONS',
  'GETSTORAGEPOLICIES',
]);
