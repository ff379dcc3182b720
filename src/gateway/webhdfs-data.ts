/**
 * WebHDFS data operations (docs/WEBHDFS.md §2, §3.3): OPEN (answered in one step), CREATE and APPEND
 * (always two steps: a 307 to this gateway with `data=true` and every parameter, then the
 * body), GETFILECHECKSUM.
 *
 * Design: the data URL carries the caller's parameters (user.name, doas, delegation), so
 * clients that reuse it verbatim (fsspec POSTs every chunk to it; old fsspec rewrites
 * CREATE to APPEND in it) stay authenticated. Data steps for one path run one at a time;
 * each receives its body into a temporary file and publishes it (rename or concat) before
 * answering, so the next request — from any client — sees the data, and a body cut short
 * changes nothing. `Expect: 100-continue` is answered only
 * after the data step's checks pass; an NN step never sends 100 Continue.
 * Invariants: OPEN always sends Content-Length = min(length, len - offset) and exactly that
 * many bytes, streamed in bounded chunks with backpressure; memory per request is bounded
 * by one chunk (reads) or Node's stream buffers (writes).
 */
import { HdfsError } from '../api/hdfs-errors.js';
import { stagedUpload, type StagedUploadOptions } from './staged-upload.js';
import { sendEmpty, sendJson, writeWithBackpressure, type OpContext } from './webhdfs-ops.js';
import { bool, long, param, permission } from './webhdfs-request.js';

const CHUNK = 1024 * 1024;

function encodePath(path: string): string {
  return path
    .split('/')
    .map((c) => encodeURIComponent(c))
    .join('/');
}

/** The data-step URL: same path, `op` first (upper case), `data=true`, all other params. */
export function dataUrl(c: OpContext, op: string): string {
  const q = new URLSearchParams();
  q.set('op', op);
  q.set('data', 'true');
  for (const [k, vs] of c.req.params)
    if (k !== 'op' && k !== 'data' && k !== 'noredirect') for (const v of vs) q.append(k, v);
  return `${c.baseUrl}/webhdfs/v1${encodePath(c.req.path)}?${q.toString()}`;
}

function redirect(c: OpContext, op: string): void {
  const loc = dataUrl(c, op);
  if (bool(c.req, 'noredirect', false)) return sendJson(c.res, { Location: loc });
  const hasBody =
    c.http.headers['expect'] !== undefined ||
    Number(c.http.headers['content-length'] ?? 0) > 0 ||
    c.http.headers['transfer-encoding'] !== undefined;
  c.res.writeHead(307, {
    Location: loc,
    'Content-Type': 'application/json',
    'Content-Length': 0,
    ...(hasBody ? { Connection: 'close' } : {}),
  });
  c.res.end();
}

export async function open(c: OpContext): Promise<void> {
  const offset = long(c.req, 'offset', 0)!;
  const length = long(c.req, 'length');
  if (bool(c.req, 'noredirect', false) && param(c.req, 'data') === undefined)
    return sendJson(c.res, { Location: dataUrl(c, 'OPEN') });
  const input = await c.fs.open(c.req.path);
  try {
    const len = input.length;
    if (offset > len || (offset === len && len > 0)) {
      throw new HdfsError(
        'IOException',
        `Offset=${offset} out of the range [0, ${len}); OPEN, path=${c.req.path}`,
      );
    }
    const count = Math.min(length ?? Infinity, len - offset);
    c.res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': count });
    let pos = offset;
    const end = offset + count;
    while (pos < end) {
      if (c.res.destroyed) return;
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, end - pos));
      const n = await input.pread(pos, buf);
      if (n <= 0) {
        // the file shrank under us: never send a short body with a larger Content-Length
        c.res.destroy(new Error(`${c.req.path} shrank during OPEN`));
        return;
      }
      await writeWithBackpressure(c.res, n === buf.length ? buf : buf.subarray(0, n));
      pos += n;
    }
    c.res.end();
  } finally {
    await input.close().catch(() => undefined);
  }
}

/** Receives the body all or nothing (staged-upload.ts): a cut-short body changes no file. */
async function upload(c: OpContext, opts: StagedUploadOptions): Promise<void> {
  if (c.http.headers['expect']?.toLowerCase() === '100-continue') c.res.writeContinue();
  await stagedUpload(c.fs, c.req.path, c.http, { ...opts, onBytes: (n) => (c.counted.bytesIn += n) });
}

function createFlags(c: OpContext): { overwrite: boolean; append: boolean } {
  const flags = (param(c.req, 'createflag') ?? '').toUpperCase().split(',').filter(Boolean);
  if (
    flags.some(
      (f) =>
        ![
          'CREATE',
          'OVERWRITE',
          'APPEND',
          'SYNC_BLOCK',
          'LAZY_PERSIST',
          'NEW_BLOCK',
          'NO_LOCAL_WRITE',
          'SHOULD_REPLICATE',
          'IGNORE_CLIENT_LOCALITY',
          'NO_LOCAL_RACK',
        ].includes(f),
    )
  ) {
    throw new HdfsError(
      'IllegalArgumentException',
      `Invalid value for webhdfs parameter "createflag": ${flags.join(',')}`,
    );
  }
  return {
    overwrite: flags.length > 0 ? flags.includes('OVERWRITE') : bool(c.req, 'overwrite', false),
    append: flags.includes('APPEND'),
  };
}

export async function create(c: OpContext): Promise<void> {
  const { overwrite, append } = createFlags(c);
  const perm = permission(c.req, 0o644);
  const createParent = bool(c.req, 'createparent', true);
  long(c.req, 'blocksize', undefined, 1);
  long(c.req, 'buffersize', undefined, 1);
  if (param(c.req, 'data') !== 'true') {
    if (c.req.path === '/') throw new HdfsError('FileAlreadyExistsException', '/ is a directory');
    const st = await c.fs.getFileStatus(c.req.path).catch(() => undefined);
    if (st?.isDirectory)
      throw new HdfsError('FileAlreadyExistsException', `${c.req.path} already exists as a directory`);
    if (st && !overwrite && !append)
      throw new HdfsError('FileAlreadyExistsException', `${c.req.path} for client already exists`);
    return redirect(c, 'CREATE');
  }
  await c.exclusive(c.req.path, async () => {
    const exists = append && (await c.fs.exists(c.req.path));
    await upload(
      c,
      exists ? { mode: 'append' } : { mode: 'create', overwrite, permission: perm, createParent },
    );
  });
  const loc = `webhdfs://${c.http.headers.host ?? 'localhost'}${encodePath(c.req.path)}`;
  c.res.writeHead(201, { Location: loc, 'Content-Length': 0 });
  c.res.end();
}

export async function append(c: OpContext): Promise<void> {
  long(c.req, 'buffersize', undefined, 1);
  if (param(c.req, 'data') !== 'true') {
    const st = await c.fs.getFileStatus(c.req.path);
    if (!st.isFile)
      throw new HdfsError(
        'FileNotFoundException',
        `Failed to append to non-existent file ${c.req.path}: not a file`,
      );
    return redirect(c, 'APPEND');
  }
  await c.exclusive(c.req.path, async () => upload(c, { mode: 'append' }));
  sendEmpty(c.res);
}

export async function fileChecksum(c: OpContext): Promise<void> {
  if (!c.checksum) {
    throw new HdfsError(
      'UnsupportedOperationException',
      'GETFILECHECKSUM is disabled on this gateway (start it with --checksum, or use distcp -skipcrccheck)',
    );
  }
  const { md5Md5Crc32c } = await import('./hdfs-checksum.js');
  const input = await c.fs.open(c.req.path);
  try {
    const sum = await md5Md5Crc32c(input, c.fs.blockSize);
    sendJson(c.res, {
      FileChecksum: { algorithm: sum.algorithm, bytes: sum.bytes.toString('hex'), length: sum.bytes.length },
    });
  } finally {
    await input.close().catch(() => undefined);
  }
}
