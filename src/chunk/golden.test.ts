/** Golden vectors: compression (V-9), block keys (V-7), slice overlay (V-8). */
import { describe, expect, it } from 'vitest';
import { compressSync, uncompressSync } from 'lz4-napi';
import { compress as zstdCompress, decompress as zstdDecompress } from 'zstd-napi';
import { blockKey, parseBlockKey, sliceBlockKeys } from '../base/block-key.js';
import { getCodec } from './compress.js';
import { buildView } from './slice-view.js';
import { planCompaction } from './compact.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const MiB = 1024 * 1024;

describe('compression (V-9)', () => {
  it('lz4 raw block of hello', async () => {
    const lz4 = getCodec('lz4');
    expect((await lz4.compress(Buffer.from('hello'))).toString('hex')).toBe('5068656c6c6f');
    expect((await lz4.decompress(hex('50 68 65 6c 6c 6f'), 5)).toString()).toBe('hello');
  });
  it('zstd frame of hello decodes', async () => {
    const z = getCodec('zstd');
    const frame = hex('28 b5 2f fd 20 05 29 00 00 68 65 6c 6c 6f');
    expect((await z.decompress(frame, 5)).toString()).toBe('hello');
    const ours = await z.compress(Buffer.from('hello'));
    expect(ours.subarray(0, 4).toString('hex')).toBe('28b52ffd');
    expect(zstdDecompress(ours).toString()).toBe('hello');
  });
  it('tjfs output decodes with the stock codec paths, and the other way round', async () => {
    const data = Buffer.concat([
      Buffer.alloc(100_000, 7),
      Buffer.from('x'.repeat(5000)),
      Buffer.alloc(3000, 1),
    ]);
    const lz4 = getCodec('lz4');
    const ours = await lz4.compress(data);
    // lz4-napi's own block API = 4-byte LE size prefix + raw block
    const prefixed = Buffer.concat([Buffer.alloc(4), ours]);
    prefixed.writeUInt32LE(data.length, 0);
    expect(uncompressSync(prefixed).equals(data)).toBe(true);
    expect((await lz4.decompress(compressSync(data).subarray(4), data.length)).equals(data)).toBe(true);
    const z = getCodec('zstd');
    expect(zstdDecompress(await z.compress(data)).equals(data)).toBe(true);
    expect((await z.decompress(zstdCompress(data, { compressionLevel: 3 }), data.length)).equals(data)).toBe(
      true,
    );
  });
  it('size mismatch and garbage are errors', async () => {
    await expect(getCodec('lz4').decompress(hex('5068656c6c6f'), 6)).rejects.toThrow();
    await expect(getCodec('zstd').decompress(Buffer.from('garbage'), 7)).rejects.toThrow();
    await expect(getCodec('none').decompress(Buffer.from('abc'), 4)).rejects.toThrow();
    expect(getCodec('LZ4').name).toBe('lz4');
    expect(getCodec('').name).toBe('none');
  });
});

describe('block keys (V-7)', () => {
  const BS = 4 * MiB;
  it('matches the spec vectors', () => {
    expect(blockKey(1234, 2, 4194304)).toBe('chunks/0/1/1234_2_4194304');
    expect(blockKey(1234, 2, 4194304, true)).toBe('chunks/D2/0/1234_2_4194304');
    expect(sliceBlockKeys(1234, 10 * MiB, BS)[2]).toBe('chunks/0/1/1234_2_2097152');
    expect(blockKey(123456789, 0, BS)).toBe('chunks/123/123456/123456789_0_4194304');
    expect(blockKey(123456789, 0, BS, true)).toBe('chunks/15/123/123456789_0_4194304');
    expect(sliceBlockKeys(1, 1, BS)).toEqual(['chunks/0/0/1_0_1']);
    expect(sliceBlockKeys(1, 1, BS, true)).toEqual(['chunks/01/0/1_0_1']);
    expect(sliceBlockKeys(1, 10 * MiB, BS)).toEqual([
      'chunks/0/0/1_0_4194304',
      'chunks/0/0/1_1_4194304',
      'chunks/0/0/1_2_2097152',
    ]);
    expect(sliceBlockKeys(5, 0, BS)).toEqual([]);
    expect(parseBlockKey('chunks/0/1/1234_2_2097152')).toEqual({ id: 1234, index: 2, len: 2097152 });
  });
});

describe('slice overlay (V-8)', () => {
  it('newest record wins, gaps are holes', () => {
    const view = buildView([
      { pos: 10 * MiB, id: 10, size: 30 * MiB, off: 0, len: 30 * MiB },
      { pos: 20 * MiB, id: 11, size: 16 * MiB, off: 0, len: 16 * MiB },
      { pos: 16 * MiB, id: 12, size: 10 * MiB, off: 0, len: 10 * MiB },
    ]);
    const m = (r: { pos: number; len: number; id: number; off: number }): number[] => [
      r.pos / MiB,
      r.len / MiB,
      r.id,
      r.off / MiB,
    ];
    expect(view.map(m)).toEqual([
      [0, 10, 0, 0],
      [10, 6, 10, 0],
      [16, 10, 12, 0],
      [26, 10, 11, 6],
      [36, 4, 10, 26],
    ]);
    const plan = planCompaction([
      { pos: 10 * MiB, id: 10, size: 30 * MiB, off: 0, len: 30 * MiB },
      { pos: 20 * MiB, id: 11, size: 16 * MiB, off: 0, len: 16 * MiB },
      { pos: 16 * MiB, id: 12, size: 10 * MiB, off: 0, len: 10 * MiB },
    ]);
    expect(plan?.skipped).toBe(0);
    expect(plan?.pos).toBe(10 * MiB);
    expect(plan?.size).toBe(30 * MiB);
  });
});
