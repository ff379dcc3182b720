/**
 * The local `file` object store (docs/FORMAT.md §7.4): objects are files under the bucket path.
 *
 * Design: path = join(bucket, key) when the bucket ends with '/', else the plain string
 * concatenation `bucket + key` (JuiceFS's rule for buckets stored without the slash).
 * Puts write `.jfs.{base}.tmp.{rand}` in the target directory and rename it into place,
 * so readers never see a partial object. Directories are created on demand (0777 & ~umask).
 *
 * Invariants: `list` yields regular files only, in byte order of their keys (directories
 * are compared as `name/` so `a-b` sorts before `a/x`), skipping in-flight temp files.
 */
import { randomInt } from 'node:crypto';
import { readdir, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, normalize } from 'node:path';
import type { ByteRange, ListOptions, ObjectInfo, ObjectStore } from '../object-store.js';
import { ObjectNotFoundError } from '../object-store.js';
import { readFileRange, readWholeFile } from './read-whole.js';
import { AtomicFileWriter } from '../../util/atomic-write.js';

/** Ranges up to this long are read without a stat (no block is larger). */
const BIG_RANGE = 64 * 1024 * 1024;

function errCode(e: unknown): string | undefined {
  return e instanceof Error ? (e as NodeJS.ErrnoException).code : undefined;
}

/** Maps a key to a path by JuiceFS's bucket rules (exported for tests, spec V-7). */
export function filePathFor(bucket: string, key: string): string {
  return bucket.endsWith('/') ? join(bucket, key) : normalize(bucket + key);
}

function isTempName(name: string): boolean {
  return name.startsWith('.jfs.') && name.includes('.tmp.');
}

export class FileObjectStore implements ObjectStore {
  /** Objects: write + rename, one mkdir per directory rather than per object. */
  private readonly files = new AtomicFileWriter();

  /** `bucket` is a local path; a leading `file://` is accepted. */
  constructor(private readonly bucket: string) {
    if (bucket.startsWith('file://')) this.bucket = bucket.slice('file://'.length);
  }

  private path(key: string): string {
    return filePathFor(this.bucket, key);
  }

  async get(key: string, range?: ByteRange, into?: Buffer): Promise<Buffer> {
    const p = this.path(key);
    try {
      if (range === undefined) return await readWholeFile(p, into);
      // A range longer than any block is clamped to the object's size first (one stat).
      const len =
        range.len <= BIG_RANGE
          ? range.len
          : Math.max(0, Math.min(range.len, (await stat(p)).size - range.off));
      const got = await readFileRange(p, range.off, len, into);
      // The range is read into a buffer of its size; a short result (at the object's end)
      // is copied out, so it does not keep the larger buffer alive.
      return got.length === len || into !== undefined ? got : Buffer.from(got);
    } catch (e) {
      const code = errCode(e);
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new ObjectNotFoundError(key, { cause: e });
      if (code === 'EISDIR') return Buffer.alloc(0);
      throw e;
    }
  }

  async put(key: string, data: Buffer): Promise<void> {
    const p = this.path(key);
    const tmp = join(dirname(p), `.jfs.${basename(p).slice(0, 200)}.tmp.${randomInt(1 << 30)}`);
    await this.files.write(tmp, p, [data], 0o666, true);
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.path(key));
    } catch (e) {
      if (errCode(e) !== 'ENOENT') throw e;
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const st = await stat(this.path(key));
      if (!st.isFile()) return undefined;
      return { key, size: st.size, mtime: st.mtimeMs };
    } catch (e) {
      const code = errCode(e);
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw e;
    }
  }

  async list(opts: ListOptions): Promise<ObjectInfo[]> {
    const prefix = opts.prefix ?? '';
    const after = opts.startAfter ?? '';
    const limit = opts.limit ?? 1000;
    const out: ObjectInfo[] = [];
    // Root of the key space as a string: keys are `root + key` by the concatenation rule.
    const root = this.bucket.endsWith('/') ? normalize(this.bucket) : this.bucket;
    const full = root + prefix;
    const startDir = full.endsWith('/') ? full.slice(0, -1) || '/' : dirname(full);
    await this.walk(startDir, { root, prefix, after, limit }, out);
    return out;
  }

  /** Depth-first walk in key order; a key is an entry's path minus the root string. */
  private async walk(
    dir: string,
    q: { root: string; prefix: string; after: string; limit: number },
    out: ObjectInfo[],
  ): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      const code = errCode(e);
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw e;
    }
    const sorted: { path: string; key: string; isDir: boolean; name: string }[] = [];
    for (const d of entries) {
      const path = join(dir, d.name);
      // In the no-slash case the root's directory holds siblings outside the store.
      if (!path.startsWith(q.root) || path.length <= q.root.length) continue;
      const isDir = d.isDirectory();
      if (!isDir && !d.isFile()) continue;
      const key = path.slice(q.root.length) + (isDir ? '/' : '');
      sorted.push({ path, key, isDir, name: d.name });
    }
    sorted.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const e of sorted) {
      if (out.length >= q.limit) return;
      if (e.isDir) {
        if (!(e.key.startsWith(q.prefix) || q.prefix.startsWith(e.key))) continue;
        if (e.key < q.after && !q.after.startsWith(e.key)) continue;
        await this.walk(e.path, q, out);
      } else {
        if (isTempName(e.name) || !e.key.startsWith(q.prefix) || e.key <= q.after) continue;
        try {
          const st = await stat(e.path);
          out.push({ key: e.key, size: st.size, mtime: st.mtimeMs });
        } catch (err) {
          if (errCode(err) !== 'ENOENT') throw err;
        }
      }
    }
  }

  describe(): string {
    return `file://${this.bucket}`;
  }
}
