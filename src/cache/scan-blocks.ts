/**
 * Walks a cache or staging directory in JuiceFS's layout after a restart: removes
 * leftover `*.tmp` files of interrupted writes and reports every block file as its key
 * (relative path) with the parsed block key. Unreadable directories are skipped.
 */
import { readdir, unlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseBlockKey } from '../base/block-key.js';

export type BlockKeyInfo = NonNullable<ReturnType<typeof parseBlockKey>>;

export async function scanBlocks(
  root: string,
  onBlock: (key: string, info: BlockKeyInfo) => void,
  dir = root,
): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await scanBlocks(root, onBlock, p);
    else if (!e.isFile()) continue;
    else if (e.name.endsWith('.tmp')) await unlink(p).catch(() => undefined);
    else {
      const key = relative(root, p);
      const info = parseBlockKey(key);
      if (info !== undefined) onBlock(key, info);
    }
  }
}
