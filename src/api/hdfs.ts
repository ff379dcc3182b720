/**
 * HdfsFileSystem: Hadoop's FileSystem API over a tjfs volume — the namespace core
 * (hdfs-namespace.ts: create/append/open/rename/delete/list/status/mkdirs/glob) plus
 * content summaries, permissions, owners, times, xattrs, ACLs (hdfs-acl.ts), symlinks, access checks,
 * concat, truncate, block locations and server defaults.
 *
 * Design: concat shares the sources' slices with copy_file_range on the metadata (no data
 * is copied) and then deletes the sources; it is not one transaction (a crash in between
 * leaves the sources in place next to a longer target). Content summaries walk the tree
 * depth-first with one directory listing in memory per level.
 * Invariants: xattr names need a Hadoop namespace prefix (user./trusted./system./security./raw.).
 */
import { posix } from 'node:path';
import { XattrFlag } from '../meta/meta.js';
import { FileType, type Ino } from '../base/types.js';
import { O_WRONLY, toTimespec } from './flags.js';
import { codeOf, HdfsError } from './hdfs-errors.js';
import { HdfsNamespace, type ContentSummary, type HdfsOptions } from './hdfs-namespace.js';
import { listDir } from './tree.js';
import {
  featureEntries,
  filterAclEntriesByAclSpec,
  filterDefaultAclEntries,
  mergeAclEntries,
  PathAcl,
  replaceAclEntries,
  type AclEntry,
  type AclStatus,
} from './hdfs-acl.js';
import { openVolume, type Identity, type VolumeOptions } from './volume.js';

export type { ContentSummary, CreateOptions, FileStatus, HdfsOptions } from './hdfs-namespace.js';
export { HdfsError } from './hdfs-errors.js';
export { aclEntryString, parseAclSpec, type AclEntry, type AclStatus } from './hdfs-acl.js';
export { HdfsInputStream, HdfsOutputStream } from './hdfs-streams.js';

export interface BlockLocation {
  offset: number;
  length: number;
  hosts: string[];
  names: string[];
  topologyPaths: string[];
}

export interface ServerDefaults {
  blockSize: number;
  bytesPerChecksum: number;
  writePacketSize: number;
  replication: number;
  fileBufferSize: number;
  encryptDataTransfer: boolean;
  trashInterval: number;
  checksumType: number;
  keyProviderUri: string;
  defaultStoragePolicyId: number;
}

const XATTR_NS = /^(user|trusted|system|security|raw)\./;

export class HdfsFileSystem extends HdfsNamespace {
  /** Opens a volume and a FileSystem that owns it (close() closes the volume). */
  static async open(metaUrl: string, opts: VolumeOptions & HdfsOptions = {}): Promise<HdfsFileSystem> {
    const { users, user, ...vopts } = opts;
    const vol = await openVolume(metaUrl, vopts);
    return new HdfsFileSystem(
      vol,
      { ...(users ? { users } : {}), ...(user !== undefined ? { user } : {}) },
      vol,
    );
  }

  /** The same volume as another user (shares the session; close() is a no-op). */
  asUser(user: string, identity: Identity): HdfsFileSystem {
    return new HdfsFileSystem(this.vol.as(identity), { users: this.users, user });
  }

  async getContentSummary(path: string): Promise<ContentSummary> {
    const p = this.qualify(path);
    return this.guard(p, async () => {
      const f = await this.vol.lookup(p, true);
      const sum = { length: 0, fileCount: 0, directoryCount: 0, quota: -1, spaceConsumed: 0, spaceQuota: -1 };
      if (f.attr.type !== FileType.Directory) {
        sum.fileCount = 1;
        sum.length = sum.spaceConsumed = f.attr.type === FileType.File ? f.attr.length : 0;
        return sum;
      }
      const stack: Ino[] = [f.ino];
      while (stack.length > 0) {
        const dir = stack.pop()!;
        sum.directoryCount++;
        for (const e of await listDir(this.vol.vfs, this.vol.ctx, dir, true)) {
          if (e.type === FileType.Directory) stack.push(e.ino);
          else {
            sum.fileCount++;
            if (e.type === FileType.File) sum.length += e.attr?.length ?? 0;
          }
        }
      }
      sum.spaceConsumed = sum.length;
      return sum;
    });
  }

  async setPermission(path: string, permission: number): Promise<void> {
    const p = this.qualify(path);
    return this.guard(p, () => this.vol.chmod(p, permission & 0o1777));
  }

  /** Owner and/or group by name (or decimal id); both undefined is an error. */
  async setOwner(path: string, owner?: string, group?: string): Promise<void> {
    const p = this.qualify(path);
    return this.guard(p, async () => {
      if (owner === undefined && group === undefined)
        throw new HdfsError('IllegalArgumentException', 'Both user and group are null');
      const uid = owner === undefined ? -1 : this.users.uidOf(owner);
      const gid = group === undefined ? -1 : this.users.gidOf(group);
      if (uid === undefined) throw new HdfsError('IllegalArgumentException', `Unknown user: ${owner}`);
      if (gid === undefined) throw new HdfsError('IllegalArgumentException', `Unknown group: ${group}`);
      await this.vol.chown(p, uid, gid);
    });
  }

  /** Times in ms since the epoch; -1 leaves a time unchanged. */
  async setTimes(path: string, mtime: number, atime: number): Promise<void> {
    const p = this.qualify(path);
    return this.guard(p, async () => {
      const f = await this.vol.lookup(p, true);
      const req = {
        ...(mtime >= 0 ? { mtime: toTimespec(new Date(mtime)) } : {}),
        ...(atime >= 0 ? { atime: toTimespec(new Date(atime)) } : {}),
      };
      if (Object.keys(req).length > 0) await this.vol.vfs.setattr(this.vol.ctx, f.ino, req);
    });
  }

  /** Accepted for files (always one replica underneath); false for directories. */
  async setReplication(path: string, _replication: number): Promise<boolean> {
    return (await this.getFileStatus(path)).isFile;
  }

  private checkXattrName(name: string): void {
    if (!XATTR_NS.test(name)) {
      throw new HdfsError(
        'HadoopIllegalArgumentException',
        `An XAttr name must be prefixed with user/trusted/security/system/raw, followed by a '.': ${name}`,
      );
    }
  }

  async getXAttr(path: string, name: string): Promise<Buffer> {
    return (await this.getXAttrs(path, [name])).get(name) ?? Buffer.alloc(0);
  }

  /** All xattrs, or the named ones (a missing name is an IOException, as HDFS). */
  async getXAttrs(path: string, names?: readonly string[]): Promise<Map<string, Buffer>> {
    const p = this.qualify(path);
    return this.guard(p, async () => {
      names?.forEach((n) => this.checkXattrName(n));
      const out = new Map<string, Buffer>();
      for (const n of names ?? (await this.vol.listxattr(p))) {
        try {
          out.set(n, await this.vol.getxattr(p, n));
        } catch (e) {
          if (codeOf(e) === 'ENODATA')
            throw new HdfsError('IOException', 'At least one of the attributes provided was not found.', {
              cause: e,
            });
          throw e;
        }
      }
      return out;
    });
  }

  async listXAttrs(path: string): Promise<string[]> {
    const p = this.qualify(path);
    return this.guard(p, () => this.vol.listxattr(p));
  }

  async setXAttr(
    path: string,
    name: string,
    value: Buffer,
    flag: { create?: boolean; replace?: boolean } = { create: true, replace: true },
  ): Promise<void> {
    const p = this.qualify(path);
    return this.guard(p, async () => {
      this.checkXattrName(name);
      const f =
        flag.create && flag.replace
          ? 0
          : flag.create
            ? XattrFlag.Create
            : flag.replace
              ? XattrFlag.Replace
              : 0;
      try {
        await this.vol.setxattr(p, name, value, f);
      } catch (e) {
        const c = codeOf(e);
        if (c === 'EEXIST')
          throw new HdfsError(
            'IOException',
            `XAttr: ${name} already exists. The REPLACE flag must be specified.`,
            { cause: e },
          );
        if (c === 'ENODATA')
          throw new HdfsError(
            'IOException',
            `XAttr: ${name} does not exist. The CREATE flag must be specified.`,
            { cause: e },
          );
        throw e;
      }
    });
  }

  async removeXAttr(path: string, name: string): Promise<void> {
    const p = this.qualify(path);
    return this.guard(p, async () => {
      this.checkXattrName(name);
      try {
        await this.vol.removexattr(p, name);
      } catch (e) {
        if (codeOf(e) === 'ENODATA')
          throw new HdfsError('IOException', `No matching attributes found for remove operation`, {
            cause: e,
          });
        throw e;
      }
    });
  }

  async createSymlink(target: string, link: string, createParent = true): Promise<void> {
    const p = this.qualify(link);
    return this.guard(p, async () => {
      if (createParent) await this.mkdirs(posix.dirname(p));
      await this.vol.symlink(target, p);
    });
  }

  /** GETACLSTATUS (hdfs-acl.ts): owner, group, permission and the ACL's feature entries. */
  async getAclStatus(path: string): Promise<AclStatus> {
    const p = this.qualify(path);
    return this.guard(p, async () => {
      const { attr, acl } = await new PathAcl(this.vol, this.users, p).read();
      return {
        owner: this.users.userName(attr.uid),
        group: this.users.groupName(attr.gid),
        permission: attr.mode & 0o1777,
        stickyBit: (attr.mode & 0o1000) !== 0,
        entries: featureEntries(acl),
      };
    });
  }

  /** SETACL: replaces the access and/or default ACL named by `spec` (HDFS's replaceAclEntries). */
  setAcl(path: string, spec: readonly AclEntry[]): Promise<void> {
    return this.changeAcl(path, (acl) => replaceAclEntries(acl, [...spec]));
  }

  /** MODIFYACLENTRIES: merges `spec` into the ACL. */
  modifyAclEntries(path: string, spec: readonly AclEntry[]): Promise<void> {
    return this.changeAcl(path, (acl) => mergeAclEntries(acl, [...spec]));
  }

  /** REMOVEACLENTRIES: drops the entries whose scope, type and name are in `spec`. */
  removeAclEntries(path: string, spec: readonly AclEntry[]): Promise<void> {
    return this.changeAcl(path, (acl) => filterAclEntriesByAclSpec(acl, [...spec]));
  }

  /** REMOVEDEFAULTACL. */
  removeDefaultAcl(path: string): Promise<void> {
    return this.changeAcl(path, (acl) => filterDefaultAclEntries(acl));
  }

  /** REMOVEACL: back to the mode bits, the group bits taken from the group entry. */
  async removeAcl(path: string): Promise<void> {
    const p = this.qualify(path);
    return this.guard(p, () => new PathAcl(this.vol, this.users, p).remove());
  }

  private async changeAcl(path: string, fn: (acl: AclEntry[]) => AclEntry[]): Promise<void> {
    const p = this.qualify(path);
    return this.guard(p, async () => {
      const pa = new PathAcl(this.vol, this.users, p);
      const { attr, acl } = await pa.read();
      await pa.write(attr, fn(acl));
    });
  }

  /** CHECKACCESS: `fsaction` like 'r-x'; AccessControlException when denied. */
  async access(path: string, fsaction: string): Promise<void> {
    const p = this.qualify(path);
    if (!/^[r-][w-][x-]$/.test(fsaction))
      throw new HdfsError('IllegalArgumentException', `Invalid value for fsaction: ${fsaction}`);
    const mode =
      (fsaction[0] === 'r' ? 4 : 0) | (fsaction[1] === 'w' ? 2 : 0) | (fsaction[2] === 'x' ? 1 : 0);
    return this.guard(p, () => this.vol.access(p, mode));
  }

  /** truncate(path, n) (docs/WEBHDFS.md §6.8): always completes immediately (true). */
  async truncate(path: string, newLength: number): Promise<boolean> {
    const p = this.qualify(path);
    return this.guard(p, async () => {
      const st = await this.getFileStatus(p);
      if (st.isDirectory) throw new HdfsError('FileNotFoundException', `Path is a directory: ${p}`);
      if (!Number.isInteger(newLength) || newLength < 0 || newLength > st.length) {
        throw new HdfsError(
          'HadoopIllegalArgumentException',
          `Cannot truncate to a larger file size or a negative one: ${newLength} (current ${st.length})`,
        );
      }
      await this.vol.truncate(p, newLength);
      return true;
    });
  }

  /** concat(target, sources) (docs/WEBHDFS.md §6.8): appends the sources' slices, then deletes them. */
  async concat(target: string, sources: readonly string[]): Promise<void> {
    const t = this.qualify(target);
    return this.guard(t, async () => {
      const srcs = sources.map((s) => this.qualify(s));
      if (srcs.length === 0) throw new HdfsError('HadoopIllegalArgumentException', 'No sources given');
      if (new Set(srcs).size !== srcs.length)
        throw new HdfsError('HadoopIllegalArgumentException', 'concat: duplicate sources');
      const tst = await this.getFileStatus(t);
      if (!tst.isFile) throw new HdfsError('FileNotFoundException', `concat target ${t} is not a file`);
      for (const s of srcs) {
        if (s === t)
          throw new HdfsError('HadoopIllegalArgumentException', `concat: the target ${t} is also a source`);
        if (posix.dirname(s) !== posix.dirname(t))
          throw new HdfsError(
            'HadoopIllegalArgumentException',
            `concat: source ${s} and target ${t} are not in the same directory`,
          );
        if (!(await this.getFileStatus(s)).isFile)
          throw new HdfsError('HadoopIllegalArgumentException', `concat: source ${s} is not a file`);
      }
      const out = await this.vol.open(t, O_WRONLY);
      try {
        let end = (await out.stat()).size;
        for (const s of srcs) {
          const inp = await this.vol.open(s, 'r');
          try {
            const len = (await inp.stat()).size;
            let done = 0;
            while (done < len) {
              const n = await this.vol.vfs.copyFileRange(
                this.vol.ctx,
                inp.fh,
                done,
                out.fh,
                end + done,
                len - done,
              );
              if (n <= 0) throw new HdfsError('IOException', `concat: short copy from ${s}`);
              done += n;
            }
            end += len;
          } finally {
            await inp.close();
          }
        }
      } finally {
        await out.close();
      }
      for (const s of srcs) await this.vol.unlink(s);
    });
  }

  /** One location per block of the volume's block size, all on this host (docs/WEBHDFS.md §4.7). */
  async getFileBlockLocations(
    path: string,
    offset = 0,
    length?: number,
    host = 'localhost',
  ): Promise<BlockLocation[]> {
    const st = await this.getFileStatus(path);
    if (!st.isFile || offset >= st.length) return [];
    const end = Math.min(st.length, length === undefined ? st.length : offset + length);
    const bs = this.blockSize;
    const out: BlockLocation[] = [];
    for (let b = Math.floor(offset / bs) * bs; b < end; b += bs) {
      out.push({
        offset: b,
        length: Math.min(bs, st.length - b),
        hosts: [host],
        names: [`${host}:9866`],
        topologyPaths: [`/default-rack/${host}:9866`],
      });
    }
    return out;
  }

  getServerDefaults(): ServerDefaults {
    return {
      blockSize: this.blockSize,
      bytesPerChecksum: 512,
      writePacketSize: 65536,
      replication: 1,
      fileBufferSize: 4096,
      encryptDataTransfer: false,
      trashInterval: 0,
      checksumType: 2,
      keyProviderUri: '',
      defaultStoragePolicyId: 7,
    };
  }

  async getStatus(): Promise<{ capacity: number; used: number; remaining: number }> {
    return this.guard('/', async () => {
      const s = await this.vol.vfs.statfs(this.vol.ctx, 1n);
      return { capacity: s.totalSpace, used: s.totalSpace - s.availSpace, remaining: s.availSpace };
    });
  }
}
