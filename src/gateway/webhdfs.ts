/**
 * The WebHDFS REST gateway: `/webhdfs/v1/<path>?op=...` over an HdfsFileSystem, serving
 * both the "NameNode" and the "DataNode" steps itself (docs/WEBHDFS.md §2, §5, §9).
 *
 * Design: one node:http server; each request is parsed (webhdfs-request), authenticated
 * (webhdfs-auth), dispatched by method + op to a handler (webhdfs-ops, webhdfs-data) that
 * runs against a per-user view of the one shared volume session, and observed once (an
 * access-log callback with method, op, path, user, status, bytes, ms). Data steps
 * (OPEN/CREATE/APPEND/GETFILECHECKSUM) share a bounded pool of slots; extra requests wait
 * (their bodies stay in the kernel: TCP backpressure). No metadata is cached between
 * requests. Errors become RemoteException bodies with Hadoop's status codes; anything
 * unexpected is a 500 RuntimeException — the process never crashes on input.
 * Invariants: a non-loopback listener requires a token unless explicitly allowed;
 * `close()` stops accepting, ends idle keep-alive sockets and waits for in-flight requests.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HdfsFileSystem } from '../api/hdfs.js';
import { codeOf, HdfsError, toHdfsError } from '../api/hdfs-errors.js';
import { UserDb } from '../api/users.js';
import { KeyedMutex } from '../util/mutex.js';
import { ACL_GET_OPS, ACL_PUT_OPS } from './webhdfs-acl.js';
import { authenticate, type AuthOptions } from './webhdfs-auth.js';
import { append, create, fileChecksum, open } from './webhdfs-data.js';
import { remoteExceptionJson, statusOf } from './webhdfs-json.js';
import {
  DELETE_OPS,
  GET_OPS,
  POST_OPS,
  PUT_OPS,
  UNSUPPORTED_OPS,
  type OpContext,
  type OpHandler,
} from './webhdfs-ops.js';
import { parseRequest, type WebHdfsRequest } from './webhdfs-request.js';

export interface AccessEntry {
  method: string;
  op: string;
  path: string;
  user: string;
  status: number;
  bytesIn: number;
  bytesOut: number;
  ms: number;
  error?: string;
}

export interface WebHdfsGatewayOptions {
  fs: HdfsFileSystem;
  /** Listen address (default 127.0.0.1) and port (default 9870; 0 = any free port). */
  host?: string;
  port?: number;
  token?: string;
  users?: UserDb;
  defaultUser?: string;
  unknownUser?: 'reject' | 'nobody';
  superusers?: readonly string[];
  /** Serve GETFILECHECKSUM (reads whole files); off by default as in JuiceFS. */
  checksum?: boolean;
  /** Concurrent data steps (default 64). */
  maxDataStreams?: number;
  /** Base URL put in redirects instead of the request's Host (e.g. behind a proxy). */
  advertiseUrl?: string;
  /** Listen on a non-loopback address without a token. */
  allowInsecure?: boolean;
  log?: (e: AccessEntry) => void;
}

export interface WebHdfsGateway {
  server: Server;
  host: string;
  port: number;
  /** http://host:port */
  url: string;
  close(): Promise<void>;
}

const DATA_OPS: Readonly<Record<string, Readonly<Record<string, OpHandler>>>> = {
  GET: { OPEN: open, GETFILECHECKSUM: fileChecksum },
  PUT: { CREATE: create },
  POST: { APPEND: append },
  DELETE: {},
};
const META_OPS: Readonly<Record<string, Readonly<Record<string, OpHandler>>>> = {
  GET: { ...GET_OPS, ...ACL_GET_OPS },
  PUT: { ...PUT_OPS, ...ACL_PUT_OPS },
  POST: POST_OPS,
  DELETE: DELETE_OPS,
};
const OP_CLASS: Readonly<Record<string, string>> = {
  GET: 'GetOpParam',
  PUT: 'PutOpParam',
  POST: 'PostOpParam',
  DELETE: 'DeleteOpParam',
};

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

class Slots {
  private used = 0;
  private readonly waiters: (() => void)[] = [];
  constructor(private readonly max: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.used >= this.max) await new Promise<void>((r) => this.waiters.push(r));
    else this.used++;
    try {
      return await fn();
    } finally {
      const next = this.waiters.shift();
      if (next) next();
      else this.used--;
    }
  }
}

function dispatch(req: WebHdfsRequest): { handler: OpHandler; data: boolean } {
  if (req.op === '')
    throw new HdfsError('IllegalArgumentException', 'Invalid value for webhdfs parameter "op": null');
  const data = DATA_OPS[req.method]?.[req.op];
  if (data) return { handler: data, data: true };
  const meta = META_OPS[req.method]?.[req.op];
  if (meta) return { handler: meta, data: false };
  if (UNSUPPORTED_OPS.has(req.op))
    throw new HdfsError('UnsupportedOperationException', `${req.op} is not supported by tjfs`);
  const cls = OP_CLASS[req.method] ?? 'HttpOpParam';
  throw new HdfsError(
    'IllegalArgumentException',
    `Invalid value for webhdfs parameter "op": No enum constant org.apache.hadoop.hdfs.web.resources.${cls}.Op.${req.op}`,
  );
}

function toRemote(e: unknown, path: string, user: string): HdfsError {
  if (e instanceof HdfsError) return e;
  if (codeOf(e) !== undefined) return toHdfsError(e, path, user);
  return new HdfsError('RuntimeException', `Internal error: ${e instanceof Error ? e.message : String(e)}`, {
    cause: e,
  });
}

export async function startWebHdfsGateway(opts: WebHdfsGatewayOptions): Promise<WebHdfsGateway> {
  const host = opts.host ?? '127.0.0.1';
  if (!isLoopback(host) && opts.token === undefined && !opts.allowInsecure) {
    throw new Error(
      `refusing to serve WebHDFS on non-loopback address ${host} without --token (or --allow-insecure)`,
    );
  }
  const auth: AuthOptions = {
    users: opts.users ?? opts.fs.users ?? UserDb.system(),
    ...(opts.token !== undefined ? { token: opts.token } : {}),
    defaultUser: opts.defaultUser ?? 'dr.who',
    unknownUser: opts.unknownUser ?? 'reject',
    superusers: opts.superusers ?? ['root'],
  };
  const slots = new Slots(opts.maxDataStreams ?? 64);
  const locks = new KeyedMutex<string>();
  let bound = { host, port: opts.port ?? 9870 };

  const handle = async (http: IncomingMessage, res: ServerResponse): Promise<void> => {
    const t0 = Date.now();
    const counted = { bytesIn: 0 };
    let bytesOut = 0;
    const write = res.write.bind(res) as (chunk: unknown, ...rest: unknown[]) => boolean;
    res.write = ((chunk: unknown, ...rest: unknown[]) => {
      if (chunk && typeof chunk !== 'function') bytesOut += Buffer.byteLength(chunk as string | Buffer);
      return write(chunk, ...rest);
    }) as typeof res.write;
    let r: WebHdfsRequest | undefined;
    let user = '-';
    let error: string | undefined;
    try {
      r = parseRequest(http.method ?? 'GET', http.url ?? '/');
      const { handler, data } = dispatch(r);
      const caller = authenticate(r, http.headers, auth);
      user = caller.user;
      const base = opts.advertiseUrl ?? `http://${http.headers.host ?? `${bound.host}:${bound.port}`}`;
      const ctx: OpContext = {
        req: r,
        fs: opts.fs.asUser(caller.user, caller.identity),
        http,
        res,
        caller,
        baseUrl: base,
        exclusive: (p, fn) => locks.run(p, fn),
        checksum: opts.checksum === true,
        counted,
      };
      await (data ? slots.run(() => handler(ctx)) : handler(ctx));
    } catch (e) {
      const he = toRemote(e, r?.path ?? '?', user);
      error = `${he.exception}: ${he.message}`;
      if (res.headersSent) res.destroy();
      else {
        const body = remoteExceptionJson(he);
        const unread = !http.complete;
        res.writeHead(statusOf(he), {
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(body),
          ...(unread ? { Connection: 'close' } : {}),
        });
        res.end(body);
      }
    } finally {
      opts.log?.({
        method: http.method ?? '?',
        op: r?.op ?? '?',
        path: r?.path ?? '?',
        user,
        status: res.statusCode,
        bytesIn: counted.bytesIn,
        bytesOut,
        ms: Date.now() - t0,
        ...(error ? { error } : {}),
      });
    }
  };

  const server = createServer(
    { requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 5_000 },
    (q, s) => void handle(q, s),
  );
  server.on('checkContinue', (q, s) => void handle(q, s));
  server.on('clientError', (_e, socket) => {
    if (socket.writable)
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(bound.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  bound = { host, port: addr.port };
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    server,
    host,
    port: addr.port,
    url: `http://${urlHost}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
