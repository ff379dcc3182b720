/**
 * Writes a file whole under a temporary name and renames it into place, so readers never see
 * a partial file. With the native addon this is one thread-pool job (see native/tjfs_fuse.c
 * writeFileAtomic); without it, Node's open/writev/close/rename. On failure the temporary
 * file is removed and the Node-style error (code, syscall, path) is thrown.
 */
import { open, rename, unlink } from 'node:fs/promises';
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
