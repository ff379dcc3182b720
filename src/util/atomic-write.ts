/**
 * Writes a file whole under a temporary name and renames it into place, so readers never see
 * a partial file. With the native addon this is one thread-pool job (see native/tjfs_fuse.c
 * writeFileAtomic); without it, Node's open/writev/close/rename. On failure the temporary
 * file is removed and the Node-style error (code, syscall, path) is thrown.
 */
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { optionalNative } from '../fuse/native.js';

const native = optionalNative();
/** Buffers one native call takes. */
const MAX_PARTS = 8;

export async function writeFileAtomic(tmp: string, path: string, parts: Buffer[], mode = 0o666): Promise<void> {
  if (native !== undefined && parts.length <= MAX_PARTS) return native.writeFileAtomic(tmp, path, parts, mode);
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

  async write(tmp: string, path: string, parts: Buffer[], mode: number): Promise<void> {
    const dir = dirname(path);
    if (!this.madeDirs.has(dir)) await this.makeDir(dir);
    try {
      await writeFileAtomic(tmp, path, parts, mode);
    } catch (e) {
      if ((e as NodeJS.ErrnoException | undefined)?.code !== 'ENOENT') throw e; // cast: Node fs errors carry `code`
      await this.makeDir(dir);
      await writeFileAtomic(tmp, path, parts, mode);
    }
  }

  private async makeDir(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true, mode: this.dirMode });
    this.madeDirs.add(dir);
  }
}
