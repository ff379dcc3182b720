/**
 * Writes a file whole under a temporary name and renames it into place, so readers never see
 * a partial file. With the native addon this is one thread-pool job (see native/tjfs_fuse.c
 * writeFileAtomic); without it, Node's open/writev/close/rename. On failure the temporary
 * file is removed and the Node-style error (code, syscall, path) is thrown.
 */
import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { optionalNative } from '../native/addon.js';
import { makeDirs } from './make-dirs.js';

const native = optionalNative();
/** Buffers one native call takes. */
const MAX_PARTS = 8;

/**
 * `direct`: write a page-aligned first part with O_DIRECT, past the page cache (native addon
 * only; file systems without O_DIRECT get a buffered write).
 */
export async function writeFileAtomic(
  tmp: string,
  path: string,
  parts: Buffer[],
  mode = 0o666,
  direct = false,
): Promise<void> {
  if (native !== undefined && parts.length <= MAX_PARTS)
    return native.writeFileAtomic(tmp, path, parts, mode, direct);
  try {
    const fh = await open(tmp, 'w', mode);
    try {
      await fh.writev(parts);
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

  async write(tmp: string, path: string, parts: Buffer[], mode: number, direct = false): Promise<void> {
    const dir = dirname(path);
    if (!this.madeDirs.has(dir)) await this.makeDir(dir);
    try {
      await writeFileAtomic(tmp, path, parts, mode, direct);
    } catch (e) {
      if ((e as NodeJS.ErrnoException | undefined)?.code !== 'ENOENT') throw e; // cast: Node fs errors carry `code`
      await this.makeDir(dir);
      await writeFileAtomic(tmp, path, parts, mode, direct);
    }
  }

  private async makeDir(dir: string): Promise<void> {
    await makeDirs(dir, this.dirMode); // not mkdir({ recursive }): it spins on ENOENT under /proc
    this.madeDirs.add(dir);
  }
}
