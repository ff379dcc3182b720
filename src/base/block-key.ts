/**
 * Block object keys and block geometry (docs/FORMAT.md §7.1, vectors V-7).
 *
 * A slice (id, size) is stored as ceil(size/BS) blocks; block i holds slice bytes
 * [i*BS, min((i+1)*BS, size)). Keys are relative to the `{volume}/` prefix:
 * `chunks/{id/1e6}/{id/1e3}/{id}_{i}_{len}` or, with hash prefix,
 * `chunks/{id%256 as %02X}/{id/1e6}/{id}_{i}_{len}`. `len` is the uncompressed length.
 */

export function blockCount(sliceSize: number, blockSize: number): number {
  return sliceSize <= 0 ? 0 : Math.ceil(sliceSize / blockSize);
}

/** Uncompressed length of block `index` of a slice of `sliceSize` bytes. */
export function blockLen(sliceSize: number, index: number, blockSize: number): number {
  return Math.min(blockSize, sliceSize - index * blockSize);
}

export function blockKey(id: number, index: number, len: number, hashPrefix = false): string {
  if (hashPrefix) {
    const hh = (id % 256).toString(16).toUpperCase().padStart(2, '0');
    return `chunks/${hh}/${Math.floor(id / 1_000_000)}/${id}_${index}_${len}`;
  }
  return `chunks/${Math.floor(id / 1_000_000)}/${Math.floor(id / 1000)}/${id}_${index}_${len}`;
}

/** Every block key of a slice, in block order. */
export function sliceBlockKeys(
  id: number,
  sliceSize: number,
  blockSize: number,
  hashPrefix = false,
): string[] {
  const n = blockCount(sliceSize, blockSize);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(blockKey(id, i, blockLen(sliceSize, i, blockSize), hashPrefix));
  return out;
}

/** Parses `…/{id}_{index}_{len}` (cache scans, gc); undefined when it is not a block key. */
export function parseBlockKey(key: string): { id: number; index: number; len: number } | undefined {
  const m = /(?:^|\/)(\d+)_(\d+)_(\d+)$/.exec(key);
  if (m === null || m[1] === undefined || m[2] === undefined || m[3] === undefined) return undefined;
  return { id: Number(m[1]), index: Number(m[2]), len: Number(m[3]) };
}
