/**
 * HDFS's file checksum (docs/WEBHDFS.md §4.5): CRC32C of every 512-byte chunk, MD5 over each block's
 * CRCs, MD5 over the block MD5s — "MD5-of-<crcPerBlock>MD5-of-512CRC32C", the only shape
 * the Java client (and DistCp) accepts. Computed on demand by streaming the file once.
 *
 * Invariants: crcPerBlock is 0 for a single-block file (as HDFS reports); values equal
 * HDFS's only when the block size is the same.
 */
import { createHash } from 'node:crypto';
import type { HdfsInputStream } from '../api/hdfs.js';

const BYTES_PER_CRC = 512;
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

export function crc32c(buf: Buffer, start = 0, end = buf.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export async function md5Md5Crc32c(
  input: HdfsInputStream,
  blockSize: number,
): Promise<{ algorithm: string; bytes: Buffer }> {
  const len = input.length;
  const blocks = Math.max(1, Math.ceil(len / blockSize));
  const fileMd5 = createHash('md5');
  const chunk = Buffer.allocUnsafe(
    Math.min(blockSize, 4 * 1024 * 1024) - (Math.min(blockSize, 4 * 1024 * 1024) % BYTES_PER_CRC),
  );
  for (let b = 0; b < blocks; b++) {
    const blockMd5 = createHash('md5');
    const start = b * blockSize;
    const end = Math.min(len, start + blockSize);
    for (let pos = start; pos < end;) {
      const want = Math.min(chunk.length, end - pos);
      await input.readFully(pos, chunk, 0, want);
      const crcs = Buffer.allocUnsafe(Math.ceil(want / BYTES_PER_CRC) * 4);
      for (let i = 0, j = 0; i < want; i += BYTES_PER_CRC, j += 4)
        crcs.writeUInt32BE(crc32c(chunk, i, Math.min(want, i + BYTES_PER_CRC)), j);
      blockMd5.update(crcs);
      pos += want;
    }
    fileMd5.update(blockMd5.digest());
  }
  const crcPerBlock = blocks > 1 ? blockSize / BYTES_PER_CRC : 0;
  const bytes = Buffer.alloc(28);
  bytes.writeInt32BE(BYTES_PER_CRC, 0);
  bytes.writeBigInt64BE(BigInt(crcPerBlock), 4);
  fileMd5.digest().copy(bytes, 12);
  return { algorithm: `MD5-of-${crcPerBlock}MD5-of-${BYTES_PER_CRC}CRC32C`, bytes };
}
