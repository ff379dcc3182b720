/**
 * Uploads that commit all or nothing (WebHDFS CREATE and APPEND data steps).
 *
 * Design: the request body is written to a hidden temporary file next to the target
 * (`.NAME.tjfs-upload.RANDOM`, same directory, so no cross-directory rename and the same
 * permission checks). Only when the body arrived complete (Node saw the whole message and,
 * when the client sent Content-Length, exactly that many bytes) is it published: CREATE
 * renames the temporary file over the target, APPEND concatenates it onto the target by
 * sharing its slices (copy_file_range on the metadata, no data copied). A body that ends
 * early (client gone, connection reset) deletes the temporary file: the old file is left as
 * it was and no partial file appears.
 * Invariants: the temporary file is removed on every path out; the target is touched only
 * after the last byte arrived.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { posix } from 'node:path';
import type { HdfsFileSystem, HdfsOutputStream } from '../api/hdfs.js';
import { HdfsError } from '../api/hdfs-errors.js';

/** Thrown when the request body ended before its announced end. */
export class UploadCutShortError extends HdfsError {
  constructor(path: string, got: number, expected: number | undefined) {
    super(
      'IOException',
      `upload of ${path} cut short after ${got}${expected === undefined ? '' : ` of ${expected}`} bytes; nothing was written`,
    );
  }
}

function tempPathFor(path: string): string {
  return posix.join(
    posix.dirname(path),
    `.${posix.basename(path).slice(0, 180)}.tjfs-upload.${randomBytes(6).toString('hex')}`,
  );
}

function declaredLength(http: IncomingMessage): number | undefined {
  if (http.headers['transfer-encoding'] !== undefined) return undefined;
  const v = http.headers['content-length'];
  return v === undefined || !/^\d+$/.test(v) ? undefined : Number(v);
}

/** Copies the body into `out`; throws UploadCutShortError unless it arrived complete. */
async function receive(
  http: IncomingMessage,
  out: HdfsOutputStream,
  path: string,
  onBytes: (n: number) => void,
): Promise<void> {
  const expected = declaredLength(http);
  let got = 0;
  try {
    for await (const chunk of http) {
      const b = chunk as Buffer;
      got += b.length;
      onBytes(b.length);
      await out.write(b);
    }
  } catch (e) {
    if (http.complete) throw e; // a write error, not the connection
    throw new UploadCutShortError(path, got, expected);
  }
  if (!http.complete || (expected !== undefined && got !== expected))
    throw new UploadCutShortError(path, got, expected);
}

export interface StagedUploadOptions {
  /** 'create' replaces (overwrite) or creates the target; 'append' adds to an existing file. */
  mode: 'create' | 'append';
  overwrite?: boolean;
  permission?: number;
  createParent?: boolean;
  onBytes?: (n: number) => void;
}

/** Receives `http`'s body into `path` all or nothing (see the module comment). */
export async function stagedUpload(
  fs: HdfsFileSystem,
  path: string,
  http: IncomingMessage,
  opts: StagedUploadOptions,
): Promise<void> {
  if (opts.mode === 'create' && opts.overwrite !== true && (await fs.exists(path))) {
    throw new HdfsError('FileAlreadyExistsException', `${path} for client already exists`);
  }
  const temp = tempPathFor(path);
  const out = await fs.create(temp, {
    overwrite: false,
    permission: opts.permission ?? 0o644,
    ...(opts.createParent !== undefined ? { createParent: opts.createParent } : {}),
  });
  let published = false;
  try {
    try {
      await receive(http, out, path, opts.onBytes ?? (() => undefined));
    } finally {
      await out.close();
    }
    if (opts.mode === 'append') await fs.concat(path, [temp]);
    else await fs.renameWithOptions(temp, path, { overwrite: opts.overwrite === true });
    published = true;
  } finally {
    // concat and rename consume the temporary file; anything else leaves it to remove.
    if (!published) await fs.delete(temp, false).catch(() => undefined);
  }
}
