/**
 * `tjfs sync` engine (JuiceFS pkg/sync Sync/produce/worker): copies what differs from SRC to
 * DST, optionally deleting from either side, and counts what it did.
 *
 * Design: the two listings stream through filters (rules.ts) into one merge (merge.ts); each
 * decision becomes a task run by a pool of `threads` workers; the producer waits while the
 * pool is full, so memory is bounded by the pool and one directory per level of the walk.
 * Decisions follow JuiceFS: a missing file is copied; an existing one is copied when its size
 * differs (default), when SRC's mtime is newer in whole seconds (--update), or always
 * (--force-update); with --check-all files that look the same are compared byte by byte;
 * --delete-src removes source files that DST already has; --delete-dst removes extras.
 * Directories (with --dirs) are removed after all files, deepest first.
 * Invariants: a failure of one file is counted and logged and never stops the others;
 * --dry changes nothing and counts what would happen.
 */
import type { SyncEndpoint, SyncEntry } from './endpoint.js';
import { compareKeys, mergeListings } from './merge.js';
import { matchFullPath, matchLeveledPath, type SyncRule } from './rules.js';
import { sameContent } from './compare.js';

export interface SyncOptions {
  update?: boolean;
  forceUpdate?: boolean;
  existing?: boolean;
  ignoreExisting?: boolean;
  deleteSrc?: boolean;
  deleteSrcAfter?: boolean;
  deleteDst?: boolean;
  dirs?: boolean;
  perms?: boolean;
  links?: boolean;
  checkAll?: boolean;
  checkNew?: boolean;
  dry?: boolean;
  threads?: number;
  rules?: readonly SyncRule[];
  matchFullPath?: boolean;
  /** Keys from `start` to `end`, both included (--start/--end). */
  start?: string;
  end?: string;
  /** Files outside [minSize, maxSize] bytes are excluded (dirs and symlinks never). */
  minSize?: number;
  maxSize?: number;
  /** Files modified more than maxAgeMs ago, or less than minAgeMs ago, are excluded. */
  maxAgeMs?: number;
  minAgeMs?: number;
  /** Files modified before startTime / after endTime (ms since the epoch) are excluded. */
  startTimeMs?: number;
  endTimeMs?: number;
  /** Objects to handle at most (--limit); negative: no limit. */
  limit?: number;
  /** The clock for the age filters (tests). */
  now?: number;
  /** Bytes per read while copying or comparing (default 4 MiB). */
  chunkSize?: number;
  /** Warnings and per-file errors (JuiceFS logs them). */
  log?: (level: 'warn' | 'error', msg: string) => void;
  /** Progress: called on every counter change. */
  onCount?: (what: keyof SyncStats, n: number, bytes: number) => void;
}

export interface SyncStats {
  found: number;
  excluded: number;
  excludedBytes: number;
  skipped: number;
  skippedBytes: number;
  copied: number;
  copiedBytes: number;
  extra: number;
  extraBytes: number;
  checked: number;
  checkedBytes: number;
  deleted: number;
  failed: number;
}

type Task =
  | { op: 'copy'; e: SyncEntry }
  | { op: 'check'; e: SyncEntry }
  | { op: 'perms'; e: SyncEntry }
  | { op: 'deleteSrc'; e: SyncEntry }
  | { op: 'deleteDst'; e: SyncEntry };

/** A bounded set of running promises: `submit` waits while `limit` are running. */
class Pool {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}
  async submit(fn: () => Promise<void>): Promise<void> {
    while (this.running >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
    void fn().finally(() => {
      this.running--;
      this.waiting.shift()?.();
    });
  }
  async drain(): Promise<void> {
    while (this.running > 0) await new Promise<void>((r) => this.waiting.push(r));
  }
}

function codeOf(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null ? (e as { code?: string }).code : undefined;
}

function msgOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function emptyStats(): SyncStats {
  return {
    found: 0,
    excluded: 0,
    excludedBytes: 0,
    skipped: 0,
    skippedBytes: 0,
    copied: 0,
    copiedBytes: 0,
    extra: 0,
    extraBytes: 0,
    checked: 0,
    checkedBytes: 0,
    deleted: 0,
    failed: 0,
  };
}

export class Syncer {
  readonly stats = emptyStats();
  private readonly srcDirsToDelete: string[] = [];
  private readonly dstDirsToDelete: string[] = [];
  private readonly o: SyncOptions;
  private readonly chunk: number;
  private readonly now: number;
  private remaining: number;

  constructor(
    private readonly src: SyncEndpoint,
    private readonly dst: SyncEndpoint,
    opts: SyncOptions,
  ) {
    this.o = { ...opts };
    this.chunk = opts.chunkSize ?? 4 << 20;
    this.now = opts.now ?? Date.now();
    this.remaining = opts.limit ?? -1;
    // JuiceFS: permissions and symlinks only between file systems.
    if (this.o.perms && (!src.fileSystem || !dst.fileSystem)) {
      this.warn(
        `${src.fileSystem ? dst.describe() : src.describe()} is not a file system, can not preserve permissions`,
      );
      this.o.perms = false;
    }
    if (this.o.links && (!src.fileSystem || !dst.fileSystem)) {
      this.warn(
        `storage ${src.fileSystem ? dst.describe() : src.describe()} does not support symlink, ignore it`,
      );
      this.o.links = false;
    }
  }

  private warn(msg: string): void {
    this.o.log?.('warn', msg);
  }

  private count(what: keyof SyncStats, n = 1, bytes = 0, bytesKey?: keyof SyncStats): void {
    this.stats[what] += n;
    if (bytesKey !== undefined) this.stats[bytesKey] += bytes;
    this.o.onCount?.(what, n, bytes);
  }

  /** JuiceFS filterKey: size and time filters on files, then the rules on every key. */
  private keep(e: SyncEntry): boolean {
    const o = this.o;
    let ok = true;
    if (!e.isDir && !e.isSymlink) {
      ok = e.size >= (o.minSize ?? 0) && e.size <= (o.maxSize ?? Infinity);
      if (ok && o.maxAgeMs) ok = e.mtimeMs > this.now - o.maxAgeMs;
      if (ok && o.minAgeMs) ok = e.mtimeMs < this.now - o.minAgeMs;
      if (ok && o.startTimeMs !== undefined) ok = e.mtimeMs > o.startTimeMs;
      if (ok && o.endTimeMs !== undefined) ok = e.mtimeMs < o.endTimeMs;
    }
    const rules = o.rules ?? [];
    if (ok && rules.length > 0)
      ok = o.matchFullPath ? matchFullPath(rules, e.key) : matchLeveledPath(rules, e.key);
    if (!ok) this.count('excluded', 1, e.size, 'excludedBytes');
    return ok;
  }

  private async *filtered(side: SyncEndpoint): AsyncGenerator<SyncEntry> {
    const { start, end } = this.o;
    for await (const e of side.list({ followLinks: this.o.links !== true })) {
      if (start !== undefined && compareKeys(e.key, start) < 0) continue;
      if (end !== undefined && compareKeys(e.key, end) > 0) return;
      if (this.keep(e)) yield e;
    }
  }

  /** --limit: takes one object from the budget; false once it is spent. */
  private take(): boolean {
    if (this.remaining < 0) return true;
    if (this.remaining === 0) return false;
    this.remaining--;
    return true;
  }

  /** Runs the whole sync; the stats tell what happened (failed > 0 means some files failed). */
  async run(): Promise<SyncStats> {
    const pool = new Pool(Math.max(1, this.o.threads ?? 10));
    const dstList: AsyncIterable<SyncEntry> =
      this.o.forceUpdate && !this.o.deleteDst ? (async function* () {})() : this.filtered(this.dst);
    for await (const item of mergeListings(this.filtered(this.src), dstList, {
      drainDst: this.o.deleteDst === true,
    })) {
      if (this.remaining === 0) break;
      const task = item.kind === 'extra' ? this.extraTask(item.dst) : this.decide(item.src, item.dst);
      if (task !== undefined) await pool.submit(() => this.runTask(task));
    }
    await pool.drain();
    await this.deleteDirs(this.src, this.srcDirsToDelete);
    await this.deleteDirs(this.dst, this.dstDirsToDelete);
    return this.stats;
  }

  private extraTask(d: SyncEntry): Task | undefined {
    if (!this.o.deleteDst || (!this.o.dirs && d.isDir)) {
      this.count('extra', 1, d.size, 'extraBytes');
      return undefined;
    }
    if (!this.take()) return undefined;
    this.count('found');
    if (d.isDir) {
      this.dstDirsToDelete.push(d.key);
      return undefined;
    }
    return { op: 'deleteDst', e: d };
  }

  private skip(e: SyncEntry): undefined {
    this.count('skipped', 1, e.size, 'skippedBytes');
    return undefined;
  }

  private decide(s: SyncEntry, d: SyncEntry | undefined): Task | undefined {
    if (!this.o.dirs && s.isDir && !(this.o.links && s.isSymlink)) return undefined;
    if (!this.take()) return undefined;
    this.count('found');
    if (d === undefined) return this.o.existing ? this.skip(s) : { op: 'copy', e: s };
    if (this.o.ignoreExisting) return this.skip(s);
    const sSec = Math.floor(s.mtimeMs / 1000);
    const dSec = Math.floor(d.mtimeMs / 1000);
    if (this.o.forceUpdate || (this.o.update && sSec > dSec) || (!this.o.update && s.size !== d.size))
      return { op: 'copy', e: s };
    if (this.o.update && sSec < dSec) return this.skip(s);
    if (this.o.checkAll) return { op: 'check', e: s };
    if (this.o.deleteSrc) {
      if (!s.isDir) return { op: 'deleteSrc', e: s };
      this.srcDirsToDelete.push(s.key);
      return undefined;
    }
    if (this.o.perms && needPerms(s, d)) return { op: 'perms', e: s };
    return this.skip(s);
  }

  private async runTask(t: Task): Promise<void> {
    try {
      switch (t.op) {
        case 'deleteSrc':
          return await this.remove(this.src, t.e.key);
        case 'deleteDst':
          return await this.remove(this.dst, t.e.key);
        case 'perms':
          if (!this.o.dry) await this.copyPerms(t.e);
          this.count('copied');
          return;
        case 'check':
          return await this.check(t.e);
        case 'copy':
          return await this.copy(t.e);
      }
    } catch (e) {
      this.count('failed');
      this.o.log?.('error', `Failed to handle ${t.e.key}: ${msgOf(e)}`);
    }
  }

  private async remove(side: SyncEndpoint, key: string): Promise<void> {
    if (!this.o.dry) await side.delete(key);
    this.count('deleted');
  }

  private async check(e: SyncEntry): Promise<void> {
    if (this.o.dry) {
      this.count('checked', 1, e.size, 'checkedBytes');
      return;
    }
    const equal = await this.compare(e);
    if (!equal) return this.copy(e);
    if (this.o.deleteSrc) {
      if (e.isDir) this.srcDirsToDelete.push(e.key);
      else await this.remove(this.src, e.key);
      return;
    }
    if (this.o.perms && !(e.isSymlink && this.o.links)) {
      const d = await this.dst.head(e.key);
      if (d === undefined) throw new Error(`${e.key} vanished from the destination`);
      if (needPerms(e, d)) {
        await this.copyPerms(e);
        this.count('copied');
        return;
      }
    }
    this.skip(e);
  }

  private async compare(e: SyncEntry): Promise<boolean> {
    let equal: boolean;
    if (e.isSymlink && this.o.links) {
      const [a, b] = await Promise.all([this.src.readlink(e.key), this.dst.readlink(e.key)]);
      equal = a === b && a !== '';
    } else if (e.isDir) equal = true;
    else
      equal = await sameContent(
        this.src.read(e.key, this.piece(e)),
        this.dst.read(e.key, this.piece(e)),
        this.piece(e),
      );
    this.count('checked', 1, e.size, 'checkedBytes');
    if (!equal) this.warn(`Checked ${e.key} OK (but NOT equal)`);
    return equal;
  }

  /** Read size for one file: small files never allocate a whole chunk. */
  private piece(e: SyncEntry): number {
    return Math.min(this.chunk, Math.max(e.size, 64 * 1024));
  }

  private async copy(e: SyncEntry): Promise<void> {
    if (this.o.dry) {
      this.count('copied', 1, e.size, 'copiedBytes');
      return;
    }
    if (this.o.links && e.isSymlink) await this.copyLink(e.key);
    else if (e.isDir) await this.dst.mkdir(e.key);
    else await this.dst.write(e.key, this.src.read(e.key, this.piece(e)), e.size);
    if ((this.o.checkAll || this.o.checkNew) && !(await this.compare(e)))
      throw new Error(`checksums of copied object ${e.key} don't match`);
    if (this.dst.fileSystem && !(this.o.links && e.isSymlink)) {
      await this.dst.chtimes(e.key, e.mtimeMs).catch((err: unknown) => {
        this.warn(`Update mtime of ${e.key}: ${msgOf(err)}`);
      });
    }
    if (this.o.perms) await this.copyPerms(e);
    this.count('copied', 1, e.size, 'copiedBytes');
    if (this.o.deleteSrcAfter) {
      if (e.isDir) this.srcDirsToDelete.push(e.key);
      else await this.remove(this.src, e.key);
    }
  }

  private async copyLink(key: string): Promise<void> {
    const target = await this.src.readlink(key);
    try {
      await this.dst.symlink(target, key);
    } catch (err) {
      if (codeOf(err) !== 'EEXIST') throw err;
      const cur = await this.dst.readlink(key).catch(() => undefined);
      if (cur === target) return;
      await this.dst.delete(key);
      await this.dst.symlink(target, key);
    }
  }

  private async copyPerms(e: SyncEntry): Promise<void> {
    if (e.isSymlink && this.o.links) return;
    // chown before chmod: chown clears setuid/setgid.
    if (e.uid !== undefined && e.gid !== undefined) {
      await this.dst.chown(e.key, e.uid, e.gid).catch((err: unknown) => {
        this.warn(`Chown ${e.key} to (${e.uid},${e.gid}): ${msgOf(err)}`);
      });
    }
    if (e.mode !== undefined) {
      await this.dst.chmod(e.key, e.mode).catch((err: unknown) => {
        this.warn(`Chmod ${e.key} to ${e.mode?.toString(8)}: ${msgOf(err)}`);
      });
    }
  }

  /** Directories after their files, deepest first (reverse key order). */
  private async deleteDirs(side: SyncEndpoint, keys: string[]): Promise<void> {
    keys.sort();
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i] as string;
      try {
        await this.remove(side, key);
      } catch (err) {
        this.count('failed');
        this.o.log?.('error', `Failed to delete ${key} from ${side.describe()}: ${msgOf(err)}`);
      }
    }
  }
}

function needPerms(a: SyncEntry, b: SyncEntry): boolean {
  return a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid;
}

/** JuiceFS's formatSize: `512 B`, `1.50 KiB`, `3.00 MiB`. */
export function formatSize(bytes: number): string {
  const units = [' ', 'K', 'M', 'G', 'T', 'P', 'E'];
  if (bytes < 1024) return `${bytes} B`;
  let z = 0;
  let v = bytes;
  while (v > 1024) {
    z++;
    v /= 1024;
  }
  return `${v.toFixed(2)} ${units[z]}iB`;
}

/** The final line, as JuiceFS prints it. */
export function summaryLine(s: SyncStats, o: SyncOptions): string {
  let msg =
    `Found: ${s.found}, excluded: ${s.excluded} (${formatSize(s.excludedBytes)}), ` +
    `skipped: ${s.skipped} (${formatSize(s.skippedBytes)}), copied: ${s.copied} (${formatSize(s.copiedBytes)}), ` +
    `extra: ${s.extra} (${formatSize(s.extraBytes)})`;
  if (o.checkAll || o.checkNew) msg += `, checked: ${s.checked} (${formatSize(s.checkedBytes)})`;
  if (o.deleteSrc || o.deleteDst || o.deleteSrcAfter) msg += `, deleted: ${s.deleted}`;
  if (!o.dry) msg += `, failed: ${s.failed}`;
  return msg;
}
