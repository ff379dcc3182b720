/**
 * HdfsNamespace: the core of Hadoop's FileSystem contract (docs/WEBHDFS.md §6) over an API Volume —
 * what Spark, Hive and Iceberg commit protocols rely on: create/append/open streams,
 * boolean and option renames with HDFS rules, delete, listings (sorted by name, paged),
 * statuses with owner/group names, mkdirs, glob. `HdfsFileSystem` (hdfs.ts) adds the rest.
 *
 * Design: paths are absolute volume paths (a `scheme://authority` prefix is dropped, a
 * relative path is taken from the home directory, '.'/'..' are normalised lexically as
 * Hadoop's Path does). Commit points are single metadata transactions: create without
 * overwrite is exclusive (O_EXCL), rename never overwrites (RENAME_NOREPLACE) unless asked.
 * No metadata is cached between calls. Every failure is an HdfsError.
 * Invariants: the view's umask is 0 — permissions given (or the HDFS defaults 644/755) are
 * applied as is, like WebHDFS.
 */
import { posix } from 'node:path';
import { RenameFlag } from '../meta/meta.js';
import { FileType, ROOT_INODE, type Attr, type Ino } from '../base/types.js';
import { O_CREAT, O_EXCL, O_RDONLY, O_TRUNC, O_WRONLY } from './flags.js';
import { codeOf, HdfsError, toHdfsError } from './hdfs-errors.js';
import { compileGlob, hasGlob } from './hdfs-glob.js';
import { HdfsInputStream, HdfsOutputStream } from './hdfs-streams.js';
import { listDir, mkdirChain, removeTree } from './tree.js';
import { resolveExisting, walk, type Walk } from './resolve.js';
import { UserDb } from './users.js';
import type { Volume } from './volume.js';
import type { FileHandle } from './file-handle.js';

export interface FileStatus {
  /** Absolute path of the entry. */
  path: string;
  /** Last component ('' for the root). */
  name: string;
  type: 'FILE' | 'DIRECTORY' | 'SYMLINK';
  isFile: boolean;
  isDirectory: boolean;
  isSymlink: boolean;
  symlink?: string;
  length: number;
  blockSize: number;
  replication: number;
  modificationTime: number;
  accessTime: number;
  /** Permission bits, at most 0o1777. */
  permission: number;
  owner: string;
  group: string;
  fileId: bigint;
  /** Children of a directory when known (-1 = unknown). */
  childrenNum: number;
  /** Set when the inode has an extended access ACL or a default ACL (HDFS's AclFeature). */
  aclBit?: boolean;
}

export interface CreateOptions {
  overwrite?: boolean;
  bufferSize?: number;
  blockSize?: number;
  replication?: number;
  permission?: number;
  /** Create missing parents (default true; Hadoop's createNonRecursive = false). */
  createParent?: boolean;
}

export interface ContentSummary {
  length: number;
  fileCount: number;
  directoryCount: number;
  quota: number;
  spaceConsumed: number;
  spaceQuota: number;
}

export interface HdfsOptions {
  users?: UserDb;
  /** Hadoop user name of this view (default: the name of the volume's uid). */
  user?: string;
}

const ms = (sec: number, nsec: number): number => sec * 1000 + Math.floor(nsec / 1e6);

export class HdfsNamespace {
  readonly vol: Volume;
  readonly users: UserDb;
  readonly user: string;
  readonly blockSize: number;
  protected readonly owner: Volume | undefined;

  constructor(volume: Volume, opts: HdfsOptions = {}, owner?: Volume) {
    this.vol = volume.as({ ...volume.identity, umask: 0 });
    this.users = opts.users ?? UserDb.system();
    this.user = opts.user ?? this.users.userName(volume.identity.uid);
    this.blockSize = volume.runtime.format.BlockSize * 1024;
    this.owner = owner;
  }

  /** Normalises a Hadoop path to an absolute volume path. */
  qualify(path: string): string {
    let p = path.replace(/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/]*/, '');
    if (p === '') p = '/';
    if (!p.startsWith('/')) p = `${this.getHomeDirectory()}/${p}`;
    const n = posix.normalize(p);
    return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
  }

  getHomeDirectory(): string {
    return `/user/${this.user}`;
  }

  protected async guard<T>(path: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw toHdfsError(e, path, this.user);
    }
  }

  toStatus(path: string, ino: Ino, a: Attr, symlink?: string): FileStatus {
    const type =
      a.type === FileType.Directory ? 'DIRECTORY' : a.type === FileType.Symlink ? 'SYMLINK' : 'FILE';
    const isFile = type === 'FILE';
    return {
      path,
      name: path === '/' ? '' : posix.basename(path),
      type,
      isFile,
      isDirectory: type === 'DIRECTORY',
      isSymlink: type === 'SYMLINK',
      ...(symlink !== undefined ? { symlink } : {}),
      length: isFile ? a.length : type === 'SYMLINK' ? (symlink?.length ?? 0) : 0,
      blockSize: isFile ? this.blockSize : 0,
      replication: isFile ? 1 : 0,
      modificationTime: ms(a.mtime, a.mtimensec),
      accessTime: ms(a.atime, a.atimensec),
      permission: a.mode & 0o1777,
      owner: this.users.userName(a.uid),
      group: this.users.groupName(a.gid),
      fileId: this.vol.vfs.toMeta(ino),
      childrenNum: type === 'DIRECTORY' ? -1 : 0,
      ...(a.accessAcl !== 0 || a.defaultAcl !== 0 ? { aclBit: true } : {}),
    };
  }

  async getFileStatus(path: string): Promise<FileStatus> {
    const p = this.qualify(path);
    return this.guard(p, async () => {
      const f = await this.vol.lookup(p, true);
      return this.toStatus(p, f.ino, f.attr);
    });
  }

  /** Status without following a final symlink. */
  async getFileLinkStatus(path: string): Promise<FileStatus> {
    const p = this.qualify(path);
    return this.guard(p, async () => {
      const f = await this.vol.lookup(p, false);
      const target =
        f.attr.type === FileType.Symlink
          ? (await this.vol.vfs.readlink(this.vol.ctx, f.ino)).toString()
          : undefined;
      return this.toStatus(p, f.ino, f.attr, target);
    });
  }

  async exists(path: string): Promise<boolean> {
    try {
      await this.getFileStatus(path);
      return true;
    } catch (e) {
      if (e instanceof HdfsError && e.exception === 'FileNotFoundException') return false;
      throw e;
    }
  }

  async isDirectory(path: string): Promise<boolean> {
    return (await this.exists(path)) && (await this.getFileStatus(path)).isDirectory;
  }

  async isFile(path: string): Promise<boolean> {
    return (await this.exists(path)) && (await this.getFileStatus(path)).isFile;
  }

  async mkdirs(path: string, permission = 0o755): Promise<boolean> {
    const p = this.qualify(path);
    return this.guard(p, async () => {
      const names = p.split('/').filter(Boolean);
      try {
        await mkdirChain(this.vol.vfs, this.vol.ctx, ROOT_INODE, names, permission & 0o1777, 0);
      } catch (e) {
        const c = codeOf(e);
        if (c === 'EEXIST')
          throw new HdfsError('FileAlreadyExistsException', `Path is not a directory: ${p}`, { cause: e });
        if (c === 'ENOTDIR')
          throw new HdfsError('ParentNotDirectoryException', `Parent path is not a directory: ${p}`, {
            cause: e,
          });
        throw e;
      }
      return true;
    });
  }

  async create(path: string, opts: CreateOptions = {}): Promise<HdfsOutputStream> {
    const p = this.qualify(path);
    return this.guard(p, async () => {
      if (p === '/') throw new HdfsError('FileAlreadyExistsException', `/ is a directory`);
      const parent = posix.dirname(p);
      const flags = O_WRONLY | O_CREAT | (opts.overwrite === false ? O_EXCL : O_TRUNC);
      const perm = (opts.permission ?? 0o644) & 0o1777;
      const openIt = (): Promise<FileHandle> =>
        this.vol.open(p, flags, perm).catch((e: unknown) => {
          const c = codeOf(e);
          if (c === 'EEXIST')
            throw new HdfsError('FileAlreadyExistsException', `${p} for client already exists`, { cause: e });
          if (c === 'EISDIR')
            throw new HdfsError('FileAlreadyExistsException', `${p} already exists as a directory`, {
              cause: e,
            });
          if (c === 'ENOTDIR')
            throw new HdfsError('ParentNotDirectoryException', `Parent path is not a directory: ${parent}`, {
              cause: e,
            });
          throw e;
        });
      let fh: FileHandle;
      try {
        fh = await openIt();
      } catch (e) {
        if (!(e instanceof Error && codeOf(e) === 'ENOENT') || opts.createParent === false) throw e;
        await this.mkdirs(parent).catch((e2: unknown) => {
          if (e2 instanceof HdfsError && e2.exception === 'FileAlreadyExistsException') {
            throw new HdfsError('ParentNotDirectoryException', `Parent path is not a directory: ${parent}`, {
              cause: e2,
            });
          }
          throw e2;
        });
        fh = await openIt();
      }
      return new HdfsOutputStream(fh, p, 0);
    });
  }

  async append(path: string): Promise<HdfsOutputStream> {
    const p = this.qualify(path);
    return this.guard(p, async () => {
      const fh = await this.vol.open(p, O_WRONLY);
      try {
        const st = await fh.stat();
        return new HdfsOutputStream(fh, p, st.size);
      } catch (e) {
        await fh.close().catch(() => undefined);
        throw e;
      }
    });
  }

  async open(path: string): Promise<HdfsInputStream> {
    const p = this.qualify(path);
    return this.guard(p, async () => {
      const fh = await this.vol.open(p, O_RDONLY);
      try {
        const size = fh.openSize ?? (await fh.stat()).size;
        return new HdfsInputStream(fh, p, size);
      } catch (e) {
        await fh.close().catch(() => undefined);
        throw e;
      }
    });
  }

  /**
   * FileSystem.rename(src, dst) (docs/WEBHDFS.md §6.4a): moves into an existing directory, never
   * overwrites, and answers false (no exception) for the usual failures.
   */
  async rename(src: string, dst: string): Promise<boolean> {
    const s = this.qualify(src);
    let d = this.qualify(dst);
    const FALSE = ['EEXIST', 'ENOENT', 'ENOTDIR', 'EINVAL', 'ENOTEMPTY', 'EBUSY', 'EISDIR'];
    const { vfs, ctx } = this.vol;
    return this.guard(s, async () => {
      if (s === '/') return false;
      try {
        // one resolution per side: the commit itself is a single RENAME_NOREPLACE
        const src = await resolveExisting(vfs, ctx, s, false);
        let dw: Walk = await walk(vfs, ctx, d, true);
        if (dw.kind === 'found' && dw.attr.type === FileType.Directory && d !== s) {
          d = d === '/' ? `/${posix.basename(s)}` : `${d}/${posix.basename(s)}`;
          dw = await walk(vfs, ctx, d, false);
        }
        if (d === s) return true;
        if (d.startsWith(s + '/') || dw.kind === 'found') return false;
        await vfs.rename(
          ctx,
          src.parent,
          Buffer.from(src.name!),
          dw.parent,
          Buffer.from(dw.name),
          RenameFlag.NoReplace,
        );
        return true;
      } catch (e) {
        if (FALSE.includes(codeOf(e) ?? '')) return false;
        throw e;
      }
    });
  }

  /** FileContext.rename(src, dst, options) (docs/WEBHDFS.md §6.4b): exceptions, dst is the final name. */
  async renameWithOptions(src: string, dst: string, opts: { overwrite?: boolean } = {}): Promise<void> {
    const s = this.qualify(src);
    const d = this.qualify(dst);
    return this.guard(s, async () => {
      const srcSt = await this.lstatOrUndefined(s);
      if (!srcSt) throw new HdfsError('FileNotFoundException', `rename source ${s} is not found.`);
      if (d === s)
        throw new HdfsError(
          'FileAlreadyExistsException',
          `The source ${s} and destination ${d} are the same`,
        );
      if (d.startsWith(s + '/'))
        throw new HdfsError(
          'IOException',
          `Rename destination ${d} is a directory or file under source ${s}`,
        );
      const parent = await this.statOrUndefined(posix.dirname(d));
      if (!parent)
        throw new HdfsError(
          'FileNotFoundException',
          `rename destination parent ${posix.dirname(d)} not found.`,
        );
      if (!parent.isDirectory)
        throw new HdfsError(
          'ParentNotDirectoryException',
          `rename destination parent ${posix.dirname(d)} is a file.`,
        );
      const dstSt = await this.lstatOrUndefined(d);
      if (dstSt) {
        if (dstSt.isDirectory !== srcSt.isDirectory)
          throw new HdfsError('IOException', `Source ${s} and destination ${d} must both be directories`);
        if (!opts.overwrite)
          throw new HdfsError('FileAlreadyExistsException', `rename destination ${d} already exists.`);
      }
      try {
        await this.vol.rename(s, d, opts.overwrite ? 0 : RenameFlag.NoReplace);
      } catch (e) {
        const c = codeOf(e);
        if (c === 'EEXIST')
          throw new HdfsError('FileAlreadyExistsException', `rename destination ${d} already exists.`, {
            cause: e,
          });
        if (c === 'ENOTEMPTY')
          throw new HdfsError(
            'PathIsNotEmptyDirectoryException',
            `rename destination directory is not empty: ${d}`,
            { cause: e },
          );
        throw toHdfsError(e, d, this.user);
      }
    });
  }

  /** delete(path, recursive) (docs/WEBHDFS.md §6.5): false when nothing existed; never deletes '/'. */
  async delete(path: string, recursive = false): Promise<boolean> {
    const p = this.qualify(path);
    return this.guard(p, async () => {
      if (p === '/') return false;
      let f;
      try {
        f = await this.vol.lookup(p, false, 'rm');
      } catch (e) {
        if (codeOf(e) === 'ENOENT') return false;
        throw e;
      }
      const parent = f.parent;
      const name = Buffer.from(f.name ?? '');
      const vfs = this.vol.vfs;
      try {
        if (f.attr.type !== FileType.Directory) await vfs.unlink(this.vol.ctx, parent, name);
        else if (!recursive) await vfs.rmdir(this.vol.ctx, parent, name);
        else await removeTree(vfs, this.vol.ctx, parent, name, f.attr.type, f.ino);
      } catch (e) {
        const c = codeOf(e);
        if (c === 'ENOENT') return false;
        if (c === 'ENOTEMPTY')
          throw new HdfsError(
            'PathIsNotEmptyDirectoryException',
            `\`${p} is non empty': Directory is not empty`,
            { cause: e },
          );
        throw e;
      }
      return true;
    });
  }

  protected async lstatOrUndefined(p: string): Promise<FileStatus | undefined> {
    return this.getFileLinkStatus(p).catch((e: unknown) => {
      if (e instanceof HdfsError && (e.posixCode === 'ENOENT' || e.posixCode === 'ENOTDIR')) return undefined;
      throw e;
    });
  }
  protected async statOrUndefined(p: string): Promise<FileStatus | undefined> {
    return this.getFileStatus(p).catch((e: unknown) => {
      if (e instanceof HdfsError && (e.posixCode === 'ENOENT' || e.posixCode === 'ENOTDIR')) return undefined;
      throw e;
    });
  }

  /** Children sorted by name (byte order); a file lists as itself. */
  async listStatus(path: string): Promise<FileStatus[]> {
    return (await this.listStatusBatch(path, '', Infinity)).entries;
  }

  /** One page of a listing: entries strictly after `startAfter` (byte order). */
  async listStatusBatch(
    path: string,
    startAfter = '',
    limit = 1000,
  ): Promise<{ entries: FileStatus[]; remaining: number }> {
    const p = this.qualify(path);
    return this.guard(p, async () => {
      const f = await this.vol.lookup(p, true, 'scandir');
      if (f.attr.type !== FileType.Directory)
        return { entries: [this.toStatus(p, f.ino, f.attr)], remaining: 0 };
      const all = await listDir(this.vol.vfs, this.vol.ctx, f.ino, true);
      all.sort((a, b) => Buffer.compare(a.name, b.name));
      const after = Buffer.from(startAfter);
      let i = 0;
      if (startAfter !== '') while (i < all.length && Buffer.compare(all[i]!.name, after) <= 0) i++;
      const page = all.slice(i, i + Math.min(limit, all.length));
      const entries: FileStatus[] = [];
      for (const e of page) {
        const child = p === '/' ? `/${e.name.toString()}` : `${p}/${e.name.toString()}`;
        const attr = e.attr ?? (await this.vol.vfs.getattr(this.vol.ctx, e.ino));
        const target =
          attr.type === FileType.Symlink
            ? (await this.vol.vfs.readlink(this.vol.ctx, e.ino)).toString()
            : undefined;
        entries.push(this.toStatus(child, e.ino, attr, target));
      }
      return { entries, remaining: all.length - i - page.length };
    });
  }

  /**
   * A whole listing as a stream of statuses in name order, from one directory read; the
   * first await throws FileNotFoundException etc. before anything is yielded.
   */
  async listStatusStream(path: string): Promise<{ total: number; entries: AsyncGenerator<FileStatus> }> {
    const p = this.qualify(path);
    return this.guard(p, async () => {
      const f = await this.vol.lookup(p, true, 'scandir');
      if (f.attr.type !== FileType.Directory) {
        const one = this.toStatus(p, f.ino, f.attr);
        return {
          total: 1,
          entries: (async function* () {
            yield one;
          })(),
        };
      }
      const all = await listDir(this.vol.vfs, this.vol.ctx, f.ino, true);
      all.sort((a, b) => Buffer.compare(a.name, b.name));
      const { vfs, ctx } = this.vol;
      const status = this.toStatus.bind(this);
      async function* gen(): AsyncGenerator<FileStatus> {
        for (const e of all) {
          const child = p === '/' ? `/${e.name.toString()}` : `${p}/${e.name.toString()}`;
          const attr = e.attr ?? (await vfs.getattr(ctx, e.ino).catch(() => undefined));
          if (!attr) continue;
          const target =
            attr.type === FileType.Symlink ? (await vfs.readlink(ctx, e.ino)).toString() : undefined;
          yield status(child, e.ino, attr, target);
        }
      }
      return { total: all.length, entries: gen() };
    });
  }

  /** Pages through a directory with listStatusBatch (bounded memory per page). */
  async *listStatusIterator(path: string, pageSize = 1000): AsyncGenerator<FileStatus> {
    let after = '';
    for (;;) {
      const { entries, remaining } = await this.listStatusBatch(path, after, pageSize);
      for (const e of entries) yield e;
      const last = entries[entries.length - 1];
      if (remaining <= 0 || !last || last.name === '') return;
      after = last.name;
    }
  }

  /** Hadoop globStatus: matching statuses sorted by path ([] when nothing matches). */
  async globStatus(pattern: string): Promise<FileStatus[]> {
    const p = this.qualify(pattern);
    let cands = ['/'];
    for (const comp of p.split('/').filter(Boolean)) {
      const next: string[] = [];
      const join = (dir: string, n: string): string => (dir === '/' ? `/${n}` : `${dir}/${n}`);
      if (!hasGlob(comp)) for (const c of cands) next.push(join(c, comp));
      else {
        const re = compileGlob(comp);
        for (const c of cands) {
          const st = await this.statOrUndefined(c);
          if (!st?.isDirectory) continue;
          for (const e of await this.listStatus(c)) if (re.test(e.name)) next.push(join(c, e.name));
        }
      }
      cands = next;
    }
    const out: FileStatus[] = [];
    for (const c of cands) {
      const st = await this.statOrUndefined(c);
      if (st) out.push(st);
    }
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async close(): Promise<void> {
    await this.owner?.close();
  }
}
