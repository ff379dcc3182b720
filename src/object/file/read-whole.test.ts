/**
 * readFileSplit/readWholeFile (one thread-pool job with the addon): the head/tail split at
 * every size relation, an empty file, and Node-style errors for a missing path and a
 * directory.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { blockChecksums, PIECE } from '../../cache/checksum.js';
import { optionalNative } from '../../native/addon.js';
import { readFileRange, readFileSplit, readWholeFile } from './read-whole.js';

const dir = mkdtempSync(join(tmpdir(), 'tjfs-readwhole-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, bytes: number): { path: string; data: Buffer } {
  const data = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (i * 131 + 7) & 0xff;
  const path = join(dir, name);
  writeFileSync(path, data);
  return { path, data };
}

describe('readFileSplit', () => {
  it('runs natively when the addon is built', () => {
    expect(optionalNative()?.readFileSplit).toBeTypeOf('function');
  });

  it.each([
    ['longer than head', 300_000, 131_072],
    ['exactly head', 131_072, 131_072],
    ['shorter than head', 1000, 4096],
    ['no head', 70_000, 0],
  ])('splits a file %s', async (_what, size, headLen) => {
    const { path, data } = file(`f-${size}-${headLen}`, size);
    const head = Buffer.alloc(headLen, 0xee);
    const [h, t] = await readFileSplit(path, head);
    expect(h.buffer).toBe(head.buffer); // the bytes landed in the caller's buffer
    expect(h.length).toBe(Math.min(size, headLen));
    expect(Buffer.concat([h, t]).equals(data)).toBe(true);
    expect(await readWholeFile(path)).toEqual(data);
  });

  it('reads an empty file as two empty parts', async () => {
    const { path } = file('empty', 0);
    const [h, t] = await readFileSplit(path, Buffer.alloc(16));
    expect([h.length, t.length]).toEqual([0, 0]);
  });

  it('rejects with Node-style errors', async () => {
    await expect(readFileSplit(join(dir, 'missing'), Buffer.alloc(4))).rejects.toMatchObject({
      code: 'ENOENT',
      syscall: 'open',
    });
    await expect(readFileSplit(dir, Buffer.alloc(4))).rejects.toMatchObject({ code: 'EISDIR' });
  });
});

describe('readFileSplit with checksumPiece (the trailer checked in the job)', () => {
  it.skipIf(optionalNative() === undefined)('says whether the tail is the head CRC32C trailer', async () => {
    const data = file('summed-data', 100_000).data;
    const good = Buffer.concat([data, blockChecksums(data, false)]);
    const path = join(dir, 'summed');
    writeFileSync(path, good);
    const head = Buffer.alloc(data.length);
    expect((await readFileSplit(path, head, PIECE))[2]).toBe(true);
    expect((await readFileSplit(path, head))[2]).toBeUndefined(); // not asked
    const flipped = Buffer.from(good);
    flipped[40_000] = (flipped[40_000] ?? 0) ^ 1;
    writeFileSync(path, flipped);
    expect((await readFileSplit(path, head, PIECE))[2]).toBe(false);
    writeFileSync(path, good.subarray(0, good.length - 4)); // trailer one piece short
    expect((await readFileSplit(path, head, PIECE))[2]).toBe(false);
  });
});

describe('readFileRange', () => {
  it('reads inside, across the end of and past a file', async () => {
    const { path, data } = file('ranged', 100_000);
    expect((await readFileRange(path, 4096, 4096)).equals(data.subarray(4096, 8192))).toBe(true);
    expect((await readFileRange(path, 99_000, 4096)).equals(data.subarray(99_000))).toBe(true);
    expect((await readFileRange(path, 200_000, 4096)).length).toBe(0);
    const into = Buffer.alloc(8192);
    const got = await readFileRange(path, 0, 1000, into);
    expect(got.buffer).toBe(into.buffer);
    expect(got.equals(data.subarray(0, 1000))).toBe(true);
    await expect(readFileRange(join(dir, 'missing'), 0, 10)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('preadNoWait (preadv2 RWF_NOWAIT on the JS thread)', () => {
  const native = optionalNative();
  it.skipIf(native === undefined)(
    'reads page-cached bytes, stops at the end, reports errors as -errno',
    () => {
      if (native === undefined) return;
      const { path, data } = file('nowait', 100_000); // just written: in the page cache
      const fd = openSync(path, 'r');
      try {
        const buf = Buffer.alloc(4096);
        const n = native.preadNoWait(fd, buf, 32_768);
        // ext4/tmpfs answer from the page cache; a file system without RWF_NOWAIT says so
        if (n === -95 || n === -38) return;
        expect(n).toBe(4096);
        expect(buf.equals(data.subarray(32_768, 32_768 + 4096))).toBe(true);
        expect(native.preadNoWait(fd, buf, 99_000)).toBe(1000);
        expect(native.preadNoWait(fd, buf, 200_000)).toBe(0);
      } finally {
        closeSync(fd);
      }
      expect(native.preadNoWait(fd, Buffer.alloc(10), 0)).toBe(-9); // EBADF: closed
    },
  );
});
