/**
 * A sync endpoint over a directory tree: a local directory (node:fs) or a path inside a tjfs
 * volume (src/api Volume, jfs://). Both are fs/promises-shaped, so one walker serves both.
 *
 * Design: the root follows JuiceFS's file store: `/a/b/` lists the directory's contents (keys
 * `x`, `d/`, `d/y`); `/a/b` without the slash is a string prefix inside `/a` (keys `/x` for
 * `/a/b/x`, `c` for `/a/bc`). The walk reads one directory at a time, sorts its entries by
 * key (a directory as `name/`) and descends right after a directory's own entry, which is
 * exactly byte order of full keys. Writes go to a temporary name and are renamed into place.
 * Invariants: memory is one directory's entries per level of depth; a missing root lists
 * nothing; entries that vanish between readdir and lstat are skipped.
 */
import { randomInt } from 'node:crypto';
import { posix } from 'node:path';
import type { ListOptions, SyncEndpoint, SyncEntry } from './endpoint.js';

export interface TreeStat {
  size: number;
  mtimeMs: number;
  mode: number;
  uid: number;
  gid: number;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

/** The fs/promises subset the walker needs (node:fs/promises and api Volume both fit). */
export interface TreeFs {
  readdir(path: string): Promise<string[]>;
  lstat(path: string): Promise<TreeStat>;
  stat(path: string): Promise<TreeStat>;
  readlink(path: string): Promise<string>;
  symlink(target: string, path: string): Promise<void>;
  mkdir(path: string, opts: { recursive: boolean; mode?: number }): Promise<unknown>;
  unlink(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  lutimes(path: string, atime: Date, mtime: Date): Promise<void>;
  chmod(path: string, mode: number): Promise<void>;
  lchown(path: string, uid: number, gid: number): Promise<void>;
  /** Reads a file as chunks of at most `chunk` bytes. */
  readChunks(path: string, chunk: number): AsyncIterable<Buffer>;
  /** Writes a whole file at `path` from chunks (creating or truncating it). */
  writeChunks(path: string, data: AsyncIterable<Buffer>): Promise<void>;
  close?(): Promise<void>;
}

function codeOf(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null ? (e as { code?: string }).code : undefined;
}

const MISSING = new Set(['ENOENT', 'ENOTDIR']);

function byKey(a: { sortKey: Buffer }, b: { sortKey: Buffer }): number {
  return Buffer.compare(a.sortKey, b.sortKey);
}

export class TreeEndpoint implements SyncEndpoint {
  readonly fileSystem = true;
  /** The directory that holds the root, and the name prefix inside it ('' with a trailing slash). */
  private readonly dir: string;
  private readonly base: string;

  constructor(
    private readonly fs: TreeFs,
    root: string,
    private readonly label: string,
  ) {
    if (root.endsWith('/')) {
      this.dir = root;
      this.base = '';
    } else {
      this.dir = posix.dirname(root);
      this.base = posix.basename(root);
    }
  }

  describe(): string {
    return this.label;
  }

  /** The path of `key` (JuiceFS: join with a trailing slash, else string concatenation). */
  path(key: string): string {
    return this.base === '' ? posix.join(this.dir, key) : posix.normalize(`${this.dir}/${this.base}${key}`);
  }

  /** Whether the root exists (the directory, or the prefixed path). */
  async exists(): Promise<boolean> {
    try {
      await this.fs.stat(this.base === '' ? this.dir : this.path(''));
      return true;
    } catch (e) {
      if (MISSING.has(codeOf(e) ?? '')) return false;
      throw e;
    }
  }

  private entry(key: string, st: TreeStat, link: boolean): SyncEntry {
    const isDir = st.isDirectory();
    return {
      key: isDir && !key.endsWith('/') ? key + '/' : key,
      size: isDir ? 0 : st.size,
      mtimeMs: Math.floor(st.mtimeMs),
      isDir,
      isSymlink: link,
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
    };
  }

  /** lstat (or stat through a link): undefined when it vanished; a dangling link stays a link. */
  private async statOf(p: string, key: string, follow: boolean): Promise<SyncEntry | undefined> {
    let st: TreeStat;
    try {
      st = await this.fs.lstat(p);
    } catch (e) {
      if (MISSING.has(codeOf(e) ?? '')) return undefined;
      throw e;
    }
    if (!st.isSymbolicLink() || !follow) return this.entry(key, st, st.isSymbolicLink());
    try {
      return this.entry(key, await this.fs.stat(p), true);
    } catch (e) {
      if (MISSING.has(codeOf(e) ?? '') || codeOf(e) === 'ELOOP') return this.entry(key, st, true);
      throw e;
    }
  }

  head(key: string): Promise<SyncEntry | undefined> {
    return this.statOf(this.path(key), key.endsWith('/') ? key.slice(0, -1) : key, false);
  }

  private async readDir(p: string): Promise<string[]> {
    try {
      return await this.fs.readdir(p);
    } catch (e) {
      if (MISSING.has(codeOf(e) ?? '')) return [];
      throw e;
    }
  }

  async *list(opts: ListOptions): AsyncIterable<SyncEntry> {
    const names = (await this.readDir(this.dir)).filter((n) => n.startsWith(this.base));
    yield* this.walk(this.dir, names, (name) => name.slice(this.base.length), opts, new Set());
  }

  private async *walk(
    dir: string,
    names: string[],
    keyOf: (name: string) => string,
    opts: ListOptions,
    seen: Set<string>,
  ): AsyncGenerator<SyncEntry> {
    const entries: { e: SyncEntry; path: string; sortKey: Buffer }[] = [];
    for (const name of names) {
      const p = posix.join(dir, name);
      const e = await this.statOf(p, keyOf(name), opts.followLinks);
      if (e === undefined) continue;
      entries.push({ e, path: p, sortKey: Buffer.from(e.key) });
    }
    entries.sort(byKey);
    for (const { e, path } of entries) {
      if (e.key !== '/') yield e; // '/': the prefixed root directory itself
      if (!e.isDir) continue;
      // A followed link to a directory is walked once per real path (no loops).
      if (e.isSymlink) {
        if (seen.has(path)) continue;
        seen.add(path);
      }
      const prefix = e.key;
      yield* this.walk(path, await this.readDir(path), (n) => prefix + n, opts, seen);
    }
  }

  read(key: string, chunk: number): AsyncIterable<Buffer> {
    return this.fs.readChunks(this.path(key), chunk);
  }

  async write(key: string, data: AsyncIterable<Buffer>): Promise<void> {
    const p = this.path(key);
    const dir = posix.dirname(p);
    await this.fs.mkdir(dir, { recursive: true });
    const tmp = posix.join(dir, `.${posix.basename(p).slice(0, 200)}.tmp.${randomInt(1 << 30)}`);
    try {
      await this.fs.writeChunks(tmp, data);
      await this.fs.rename(tmp, p);
    } catch (e) {
      await this.fs.unlink(tmp).catch(() => undefined); // the temp file may not exist; the cause is rethrown
      throw e;
    }
  }

  async mkdir(key: string): Promise<void> {
    await this.fs.mkdir(this.path(key), { recursive: true });
  }

  async delete(key: string): Promise<void> {
    const p = this.path(key);
    try {
      if (key.endsWith('/')) await this.fs.rmdir(p);
      else await this.fs.unlink(p);
    } catch (e) {
      if (!MISSING.has(codeOf(e) ?? '')) throw e;
    }
  }

  readlink(key: string): Promise<string> {
    return this.fs.readlink(this.path(key));
  }

  async symlink(target: string, key: string): Promise<void> {
    const p = this.path(key);
    await this.fs.mkdir(posix.dirname(p), { recursive: true });
    await this.fs.symlink(target, p);
  }

  async chtimes(key: string, mtimeMs: number): Promise<void> {
    const t = new Date(mtimeMs);
    await this.fs.lutimes(this.path(key), t, t);
  }

  chown(key: string, uid: number, gid: number): Promise<void> {
    return this.fs.lchown(this.path(key), uid, gid);
  }

  chmod(key: string, mode: number): Promise<void> {
    return this.fs.chmod(this.path(key), mode);
  }

  async close(): Promise<void> {
    await this.fs.close?.();
  }
}
