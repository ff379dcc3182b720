/**
 * A thin ScenarioFs over the HDFS-style FileSystem, so the shared scenarios run through
 * HdfsFileSystem calls only (create/append/open/rename/delete/listStatus/getFileStatus/
 * mkdirs/setPermission/setTimes/truncate/createSymlink/access).
 *
 * Design: each fs/promises call maps to the HDFS calls a Hadoop client would make;
 * HdfsErrors become Node-shaped codes (the POSIX code behind them when there is one,
 * else by exception class). Operations HDFS has no model for — hard links, writes
 * anywhere but the end, growing truncate, O_EXCL on append — throw code
 * 'ERR_HDFS_UNSUPPORTED', and the HDFS test marks such scenarios skipped.
 */
import { posix } from 'node:path';
import {
  HdfsError,
  type FileStatus,
  type HdfsFileSystem,
  type HdfsInputStream,
  type HdfsOutputStream,
} from '../../src/api/hdfs.js';
import type { ScenarioDirent, ScenarioFileHandle, ScenarioFs, ScenarioStats } from './scenario-fs.js';

export const UNSUPPORTED = 'ERR_HDFS_UNSUPPORTED';

const unsupported = (what: string): Error =>
  Object.assign(new Error(`HDFS has no ${what}`), { code: UNSUPPORTED });

const BY_CLASS: Record<string, string> = {
  FileNotFoundException: 'ENOENT',
  FileAlreadyExistsException: 'EEXIST',
  ParentNotDirectoryException: 'ENOTDIR',
  PathIsNotEmptyDirectoryException: 'ENOTEMPTY',
  AccessControlException: 'EACCES',
  EOFException: 'EINVAL',
  HadoopIllegalArgumentException: 'EINVAL',
  IllegalArgumentException: 'EINVAL',
};

function nodeShaped(e: unknown): unknown {
  if (!(e instanceof HdfsError)) return e;
  const code = e.posixCode ?? BY_CLASS[e.exception] ?? 'EIO';
  return Object.assign(new Error(`${code}: ${e.message}`), { code, hdfs: e.exception });
}

async function h<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw nodeShaped(e);
  }
}

function toStats(fs: HdfsFileSystem, st: FileStatus): ScenarioStats {
  const type = st.isDirectory ? 0o040000 : st.isSymlink ? 0o120000 : 0o100000;
  return {
    size: st.length,
    mode: type | st.permission,
    uid: fs.users.uidOf(st.owner) ?? -1,
    gid: fs.users.gidOf(st.group) ?? -1,
    nlink: 1,
    ino: st.fileId,
    mtimeMs: st.modificationTime,
    atimeMs: st.accessTime,
    isFile: () => st.isFile,
    isDirectory: () => st.isDirectory,
    isSymbolicLink: () => st.isSymlink,
  };
}

class HdfsHandle implements ScenarioFileHandle {
  private pos = 0;
  constructor(
    private readonly fs: HdfsFileSystem,
    private readonly path: string,
    private readonly input?: HdfsInputStream,
    private readonly output?: HdfsOutputStream,
  ) {}

  read(buffer: Buffer, offset: number, length: number, position: number | null) {
    return h(async () => {
      if (!this.input) throw Object.assign(new Error('EBADF: not open for reading'), { code: 'EBADF' });
      const at = position ?? this.pos;
      const n = await this.input.pread(at, buffer, offset, length);
      const bytesRead = Math.max(0, n);
      if (position === null) this.pos = at + bytesRead;
      return { bytesRead };
    });
  }

  write(buffer: Buffer, offset: number, length: number, position: number | null) {
    return h(async () => {
      if (!this.output) throw Object.assign(new Error('EBADF: not open for writing'), { code: 'EBADF' });
      if (position !== null && position !== this.output.getPos())
        throw unsupported('write at an arbitrary position');
      await this.output.write(buffer.subarray(offset, offset + length));
      return { bytesWritten: length };
    });
  }

  truncate(len = 0) {
    return h(async () => {
      await this.output?.hflush();
      if (len > (await this.fs.getFileStatus(this.path)).length) throw unsupported('growing truncate');
      await this.fs.truncate(this.path, len);
    });
  }

  stat() {
    return h(async () => {
      await this.output?.hflush();
      return toStats(this.fs, await this.fs.getFileStatus(this.path));
    });
  }

  sync() {
    return h(async () => void (await this.output?.hsync()));
  }

  close() {
    return h(async () => {
      await this.input?.close();
      await this.output?.close();
    });
  }
}

export function hdfsScenarioFs(fs: HdfsFileSystem): ScenarioFs {
  const status = (p: string): Promise<FileStatus | undefined> =>
    fs.getFileLinkStatus(p).catch(() => undefined);
  const impl = {
    readFile: (p: string) =>
      h(async () => {
        const inp = await fs.open(p);
        try {
          const buf = Buffer.alloc(inp.length);
          await inp.readFully(0, buf);
          return buf;
        } finally {
          await inp.close();
        }
      }),
    writeFile: (p: string, data: Buffer | string) =>
      h(async () => {
        const out = await fs.create(p, { overwrite: true, createParent: false });
        await out.write(data);
        await out.close();
      }),
    appendFile: (p: string, data: Buffer | string) =>
      h(async () => {
        const out = (await fs.exists(p))
          ? await fs.append(p)
          : await fs.create(p, { overwrite: false, createParent: false });
        await out.write(data);
        await out.close();
      }),
    open: (p: string, flags: string) =>
      h(async (): Promise<ScenarioFileHandle> => {
        if (flags === 'r') return new HdfsHandle(fs, p, await fs.open(p));
        if (flags === 'w' || flags === 'wx')
          return new HdfsHandle(
            fs,
            p,
            undefined,
            await fs.create(p, { overwrite: flags === 'w', createParent: false }),
          );
        if (flags === 'a' && (await fs.exists(p)))
          return new HdfsHandle(fs, p, undefined, await fs.append(p));
        if (flags === 'a')
          return new HdfsHandle(
            fs,
            p,
            undefined,
            await fs.create(p, { overwrite: false, createParent: false }),
          );
        throw unsupported(`open flags '${flags}'`);
      }),
    mkdir: (p: string, opts?: { recursive?: boolean; mode?: number }) =>
      h(async () => {
        if (!opts?.recursive) {
          if (await status(p)) throw Object.assign(new Error(`EEXIST: ${p}`), { code: 'EEXIST' });
          const parent = await status(posix.dirname(p));
          if (!parent) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
          if (!parent.isDirectory) throw Object.assign(new Error(`ENOTDIR: ${p}`), { code: 'ENOTDIR' });
        }
        await fs.mkdirs(p, opts?.mode ?? 0o755);
        return undefined;
      }),
    readdir: (p: string, opts?: { withFileTypes: true }) =>
      h(async (): Promise<string[] | ScenarioDirent[]> => {
        const st = await fs.getFileStatus(p);
        if (!st.isDirectory) throw Object.assign(new Error(`ENOTDIR: ${p}`), { code: 'ENOTDIR' });
        const list = await fs.listStatus(p);
        if (!opts?.withFileTypes) return list.map((s) => s.name);
        return list.map((s) => ({
          name: s.name,
          isFile: () => s.isFile,
          isDirectory: () => s.isDirectory,
          isSymbolicLink: () => s.isSymlink,
        }));
      }),
    rm: (p: string, opts?: { recursive?: boolean; force?: boolean }) =>
      h(async () => {
        const st = await status(p);
        if (!st) {
          if (opts?.force) return;
          throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
        }
        if (st.isDirectory && !opts?.recursive)
          throw Object.assign(new Error(`ERR_FS_EISDIR: ${p}`), { code: 'ERR_FS_EISDIR' });
        await fs.delete(p, true);
      }),
    rmdir: (p: string) =>
      h(async () => {
        const st = await status(p);
        if (!st) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
        if (!st.isDirectory) throw Object.assign(new Error(`ENOTDIR: ${p}`), { code: 'ENOTDIR' });
        await fs.delete(p, false);
      }),
    unlink: (p: string) =>
      h(async () => {
        const st = await status(p);
        if (!st) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
        if (st.isDirectory) throw Object.assign(new Error(`EISDIR: ${p}`), { code: 'EISDIR' });
        await fs.delete(p, false);
      }),
    rename: (a: string, b: string) => h(() => fs.renameWithOptions(a, b, { overwrite: true })),
    stat: (p: string) => h(async () => toStats(fs, await fs.getFileStatus(p))),
    lstat: (p: string) => h(async () => toStats(fs, await fs.getFileLinkStatus(p))),
    symlink: (target: string, p: string) => h(() => fs.createSymlink(target, p, false)),
    readlink: (p: string) =>
      h(async () => {
        const st = await fs.getFileLinkStatus(p);
        if (st.symlink === undefined) throw Object.assign(new Error(`EINVAL: ${p}`), { code: 'EINVAL' });
        return st.symlink;
      }),
    link: () => Promise.reject(unsupported('hard links')),
    chmod: (p: string, mode: number) => h(() => fs.setPermission(p, mode)),
    utimes: (p: string, atime: Date | number, mtime: Date | number) =>
      h(() =>
        fs.setTimes(
          p,
          typeof mtime === 'number' ? mtime * 1000 : mtime.getTime(),
          typeof atime === 'number' ? atime * 1000 : atime.getTime(),
        ),
      ),
    truncate: (p: string, len = 0) =>
      h(async () => {
        if (len > (await fs.getFileStatus(p)).length) throw unsupported('growing truncate');
        await fs.truncate(p, len);
      }),
    copyFile: (a: string, b: string) =>
      h(async () => {
        const inp = await fs.open(a);
        const out = await fs.create(b, { overwrite: true, createParent: false });
        const buf = Buffer.alloc(1024 * 1024);
        for (;;) {
          const n = await inp.read(buf);
          if (n < 0) break;
          await out.write(buf.subarray(0, n));
        }
        await inp.close();
        await out.close();
        await fs.setPermission(b, (await fs.getFileStatus(a)).permission);
      }),
    access: (p: string, mode = 0) =>
      h(async () => {
        if (mode === 0) return void (await fs.getFileStatus(p));
        await fs.access(p, `${mode & 4 ? 'r' : '-'}${mode & 2 ? 'w' : '-'}${mode & 1 ? 'x' : '-'}`);
      }),
  };
  return impl as unknown as ScenarioFs;
}
