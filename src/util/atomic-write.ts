/**
 * Writes a file whole under a temporary name and renames it into place, so readers never see
 * a partial file. With the native addon this is one thread-pool job (see native/tjfs_fuse.c
 * writeFileAtomic); without it, Node's open/writev/close/rename. On failure the temporary
 * file is removed and the Node-style error (code, syscall, path) is thrown.
 * `sync` makes the file durable before it is published: it is fsynced before the rename and
 * given exactly `mode` (a leftover temporary file keeps no other mode). Cache blocks and the
 * file store do without, like JuiceFS's; staged writeback blocks and the CSI state use it.
 */
import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { optionalNative } from '../native/addon.js';
import { makeDirs } from './make-dirs.js';

const native = optionalNative();
/** Buffers one native call takes. */
const MAX_PARTS = 8;

export interface AtomicWriteOptions {
  /** Permission bits of the new file (default 0o666, less the umask unless `sync`). */
  mode?: number;
  /** Write a page-aligned first part with O_DIRECT, past the page cache (native addon only;
   *  file systems without O_DIRECT get a buffered write). */
  direct?: boolean;
  /** fsync before the rename, and chmod to exactly `mode`. */
  sync?: boolean;
  /**
   * Fill the last part with the big-endian CRC32C of each `checksumPiece` bytes of the first
   * part before writing it: in the write's own thread-pool job, off the JS thread. Needs the
   * native addon (see `canChecksumInWrite`).
   */
  checksumPiece?: number;
}

/** Whether writeFileAtomic can fill a checksum trailer itself (`checksumPiece`). */
export const canChecksumInWrite = native !== undefined;

export async function writeFileAtomic(
  tmp: string,
  path: string,
  parts: Buffer[],
  opts: AtomicWriteOptions = {},
): Promise<void> {
  const { mode = 0o666, direct = false, sync = false, checksumPiece = 0 } = opts;
  if (native !== undefined && !sync && parts.length <= MAX_PARTS)
    return native.writeFileAtomic(tmp, path, parts, mode, direct, checksumPiece);
  if (checksumPiece > 0) {
    if (native === undefined) throw new Error('writeFileAtomic: checksumPiece needs the native addon');
    native.crc32cPieces(
      parts[0] ?? Buffer.alloc(0),
      checksumPiece,
      parts[parts.length - 1] ?? Buffer.alloc(0),
    );
  }
  try {
    const fh = await open(tmp, 'w', mode);
    try {
      if (sync) await fh.chmod(mode);
      const { bytesWritten } = await fh.writev(parts);
      const want = parts.reduce((n, b) => n + b.length, 0);
      if (bytesWritten !== want)
        throw Object.assign(new Error(`ENOSPC: short write, ${bytesWritten} of ${want} bytes, '${tmp}'`), {
          code: 'ENOSPC',
          syscall: 'write',
          path: tmp,
        });
      if (sync) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

/**
 * writeFileAtomic into directories made on first use: each directory is created once (and
 * remembered), and again if it was removed behind our back (the write fails with ENOENT).
 * `tmp` must be in the same directory as `path`.
 */
export class AtomicFileWriter {
  private readonly madeDirs = new Set<string>();

  constructor(private readonly dirMode = 0o777) {}

  /** `checksumPiece` > 0: the last part is filled with the first part's CRC32C pieces (AtomicWriteOptions). */
  async write(
    tmp: string,
    path: string,
    parts: Buffer[],
    mode: number,
    direct = false,
    checksumPiece = 0,
  ): Promise<void> {
    const dir = dirname(path);
    if (!this.madeDirs.has(dir)) await this.makeDir(dir);
    try {
      await writeFileAtomic(tmp, path, parts, { mode, direct, checksumPiece });
    } catch (e) {
      if ((e as NodeJS.ErrnoException | undefined)?.code !== 'ENOENT') throw e; // cast: Node fs errors carry `code`
      await this.makeDir(dir);
      await writeFileAtomic(tmp, path, parts, { mode, direct, checksumPiece });
    }
  }

  private async makeDir(dir: string): Promise<void> {
    await makeDirs(dir, this.dirMode); // not mkdir({ recursive }): it spins on ENOENT under /proc
    this.madeDirs.add(dir);
  }
}
