/**
 * CRC32C (Castagnoli) checksums for cached blocks, JuiceFS's layout (docs/DESIGN.md §6):
 * one big-endian uint32 per 32 KiB piece, appended after the block data.
 * The addon computes it with the CPU's crc32 instruction when it is built (about ten times
 * faster); this slicing-by-8 table version is the fallback and the reference.
 *
 * `--verify-cache-checksum` levels (JuiceFS pkg/chunk/disk_cache_file.go), for a read of
 * block bytes [off, end): `none` checks nothing; `full` checks only reads of the whole
 * block; `shrink` checks the pieces lying wholly inside the range (the block's last piece
 * counts as whole); `extend` widens the read to piece boundaries and checks every piece
 * it covers. `planRead` turns a level and a range into what to read and what to check.
 */
import { optionalNative } from '../native/addon.js';

const native = optionalNative();

export const PIECE = 32 * 1024;

export type ChecksumLevel = 'none' | 'full' | 'shrink' | 'extend';
export const CHECKSUM_LEVELS: readonly ChecksumLevel[] = ['none', 'full', 'shrink', 'extend'];

const TABLES: Uint32Array[] = (() => {
  const t: Uint32Array[] = [];
  const t0 = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t0[i] = c >>> 0;
  }
  t.push(t0);
  for (let j = 1; j < 8; j++) {
    const prev = t[j - 1] as Uint32Array;
    const cur = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      const p = prev[i] as number;
      cur[i] = ((p >>> 8) ^ (t0[p & 0xff] as number)) >>> 0;
    }
    t.push(cur);
  }
  return t;
})();

export function crc32c(data: Uint8Array, start = 0, end = data.length): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES as [
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
  ];
  let crc = 0xffffffff;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const a =
      (crc ^
        ((data[i] as number) |
          ((data[i + 1] as number) << 8) |
          ((data[i + 2] as number) << 16) |
          ((data[i + 3] as number) << 24))) >>>
      0;
    crc =
      (t7[a & 0xff] as number) ^
      (t6[(a >>> 8) & 0xff] as number) ^
      (t5[(a >>> 16) & 0xff] as number) ^
      (t4[a >>> 24] as number) ^
      (t3[data[i + 4] as number] as number) ^
      (t2[data[i + 5] as number] as number) ^
      (t1[data[i + 6] as number] as number) ^
      (t0[data[i + 7] as number] as number);
  }
  for (; i < end; i++) crc = (t0[(crc ^ (data[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export function checksumLength(dataLen: number): number {
  return dataLen <= 0 ? 0 : Math.ceil(dataLen / PIECE) * 4;
}

/** The checksum trailer of a block. */
export function blockChecksums(data: Buffer, useNative = true): Buffer {
  const out = Buffer.allocUnsafe(checksumLength(data.length));
  if (native !== undefined && useNative) {
    native.crc32cPieces(data, PIECE, out);
    return out;
  }
  for (let p = 0, o = 0; p < data.length; p += PIECE, o += 4) {
    out.writeUInt32BE(crc32c(data, p, Math.min(data.length, p + PIECE)), o);
  }
  return out;
}

/** True when `trailer` holds the checksums of `data`. */
export function checksumsMatch(data: Buffer, trailer: Buffer): boolean {
  if (trailer.length !== checksumLength(data.length)) return false;
  if (native !== undefined) return blockChecksums(data).equals(trailer);
  for (let p = 0, o = 0; p < data.length; p += PIECE, o += 4) {
    if (crc32c(data, p, Math.min(data.length, p + PIECE)) !== trailer.readUInt32BE(o)) return false;
  }
  return true;
}

/**
 * What a read of block bytes [off, end) of a `blockLen`-byte block reads from the file
 * ([readOff, readEnd)) and checks ([checkOff, checkEnd): piece-aligned at its start, and at
 * its end unless it is the block's end; empty when checkEnd <= checkOff).
 */
export interface ReadPlan {
  readOff: number;
  readEnd: number;
  checkOff: number;
  checkEnd: number;
}

export function planRead(level: ChecksumLevel, blockLen: number, off: number, end: number): ReadPlan {
  const none = { readOff: off, readEnd: end, checkOff: 0, checkEnd: 0 };
  switch (level) {
    case 'none':
      return none;
    case 'full':
      return off === 0 && end === blockLen
        ? { readOff: 0, readEnd: blockLen, checkOff: 0, checkEnd: blockLen }
        : none;
    case 'shrink': {
      const checkOff = Math.ceil(off / PIECE) * PIECE;
      const checkEnd = end === blockLen ? end : Math.floor(end / PIECE) * PIECE;
      return checkEnd > checkOff ? { readOff: off, readEnd: end, checkOff, checkEnd } : none;
    }
    case 'extend': {
      const readOff = Math.floor(off / PIECE) * PIECE;
      const readEnd = Math.min(blockLen, Math.ceil(end / PIECE) * PIECE);
      return { readOff, readEnd, checkOff: readOff, checkEnd: readEnd };
    }
  }
}

/** Where the checksums of plan's checked pieces sit in a block file, and how many bytes they take. */
export function trailerSpan(blockLen: number, plan: ReadPlan): { at: number; len: number } {
  if (plan.checkEnd <= plan.checkOff) return { at: blockLen, len: 0 };
  const first = plan.checkOff / PIECE;
  return { at: blockLen + first * 4, len: (Math.ceil(plan.checkEnd / PIECE) - first) * 4 };
}
