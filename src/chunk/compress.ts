/**
 * Block compression codecs byte-compatible with the Go client (docs/FORMAT.md §8, V-9).
 *
 * - lz4: RAW LZ4 block (no frame, no size prefix). lz4-napi's block API adds a 4-byte
 *   little-endian size prefix: we strip it after compressing and prepend the expected
 *   size before decompressing. Compression runs on the libuv pool (async).
 * - zstd: one standard frame at level 1 (content size present, no checksum).
 * - none: identity.
 *
 * Invariant: `decompress(data, size)` returns exactly `size` bytes or throws
 * `CorruptBlockError`.
 */
import { compress as lz4Compress, uncompress as lz4Uncompress } from 'lz4-napi';
import { Compressor, decompress as zstdDecompress } from 'zstd-napi';

export type CompressionName = 'none' | 'lz4' | 'zstd';

export interface Codec {
  readonly name: CompressionName;
  compress(data: Buffer): Promise<Buffer>;
  /** Decodes a block whose uncompressed length is `size` (from the object key). */
  decompress(data: Buffer, size: number): Promise<Buffer>;
}

export class CorruptBlockError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CorruptBlockError';
  }
}

const none: Codec = {
  name: 'none',
  compress: (data) => Promise.resolve(data),
  decompress: (data, size) =>
    data.length === size
      ? Promise.resolve(data)
      : Promise.reject(new CorruptBlockError(`block has ${data.length} bytes, expected ${size}`)),
};

const lz4: Codec = {
  name: 'lz4',
  async compress(data) {
    const framed = await lz4Compress(data);
    return framed.subarray(4);
  },
  async decompress(data, size) {
    if (data.length === 0) throw new CorruptBlockError('empty lz4 block');
    const framed = Buffer.allocUnsafe(data.length + 4);
    framed.writeUInt32LE(size, 0);
    data.copy(framed, 4);
    let out: Buffer;
    try {
      out = await lz4Uncompress(framed);
    } catch (e) {
      throw new CorruptBlockError('invalid lz4 block', { cause: e });
    }
    if (out.length !== size)
      throw new CorruptBlockError(`lz4 block decoded to ${out.length} bytes, expected ${size}`);
    return out;
  },
};

let zstdCompressor: Compressor | undefined;

const zstd: Codec = {
  name: 'zstd',
  compress(data) {
    if (zstdCompressor === undefined) {
      zstdCompressor = new Compressor();
      zstdCompressor.setParameters({ compressionLevel: 1, contentSizeFlag: true, checksumFlag: false });
    }
    return Promise.resolve(zstdCompressor.compress(data));
  },
  decompress(data, size) {
    let out: Buffer;
    try {
      out = zstdDecompress(data);
    } catch (e) {
      return Promise.reject(new CorruptBlockError('invalid zstd frame', { cause: e }));
    }
    if (out.length !== size) {
      return Promise.reject(
        new CorruptBlockError(`zstd block decoded to ${out.length} bytes, expected ${size}`),
      );
    }
    return Promise.resolve(out);
  },
};

/** Codec for a volume's `Compression` setting (case-insensitive; '' = none). */
export function getCodec(name: string): Codec {
  switch (name.toLowerCase()) {
    case '':
    case 'none':
      return none;
    case 'lz4':
      return lz4;
    case 'zstd':
      return zstd;
    default:
      throw new Error(`unsupported compression: ${name}`);
  }
}
