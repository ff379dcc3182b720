/**
 * writeFileAtomic: the file appears whole under its final name, errors carry Node's code and
 * path, and no temporary file is left behind; the native job and the Node fallback (more
 * parts than one native call takes) behave the same.
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BlockPool } from '../chunk/block-pool.js';
import { optionalNative } from '../native/addon.js';
import { blockChecksums, checksumLength, PIECE } from '../cache/checksum.js';
import { writeFileAtomic } from './atomic-write.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tjfs-atomic-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.each([
  ['native (one job)', 3],
  ['Node fallback', 12],
])('writeFileAtomic, %s', (_name, count) => {
  const parts = (): Buffer[] => Array.from({ length: count }, (_, i) => Buffer.alloc(1000 + i * 4097, i + 1));

  it('writes all parts and renames into place', async () => {
    const p = parts();
    await writeFileAtomic(join(dir, 'f.tmp'), join(dir, 'f'), p);
    expect((await readFile(join(dir, 'f'))).equals(Buffer.concat(p))).toBe(true);
    expect(await readdir(dir)).toEqual(['f']);
    // Replacing an existing file.
    await writeFileAtomic(join(dir, 'f.tmp'), join(dir, 'f'), [Buffer.from('new')]);
    expect((await readFile(join(dir, 'f'))).toString()).toBe('new');
  });

  it('rejects with ENOENT and the path when the directory is missing', async () => {
    const err = (await writeFileAtomic(join(dir, 'no/f.tmp'), join(dir, 'no/f'), parts()).catch(
      (e: unknown) => e,
    )) as NodeJS.ErrnoException;
    expect(err.code).toBe('ENOENT');
    expect(err.path).toBe(join(dir, 'no/f.tmp'));
  });

  it('removes the temporary file when the rename fails', async () => {
    await writeFileAtomic(join(dir, 'd.tmp'), join(dir, 'd'), [Buffer.from('x')]);
    // Renaming a file over a non-empty directory fails.
    await rm(join(dir, 'd'));
    await mkdir(join(dir, 'd'));
    await writeFile(join(dir, 'd', 'inside'), 'y');
    const err = (await writeFileAtomic(join(dir, 't.tmp'), join(dir, 'd'), parts()).catch(
      (e: unknown) => e,
    )) as NodeJS.ErrnoException;
    expect(err.code).toMatch(/EISDIR|ENOTEMPTY|EEXIST/);
    expect((await readdir(dir)).sort()).toEqual(['d']);
  });
});

describe('writeFileAtomic with sync', () => {
  it('fsyncs the file before the rename', async () => {
    const probe = await open(join(dir, 'probe'), 'w');
    // cast: FileHandle's class is not exported; its prototype is reached through an instance.
    const proto = Object.getPrototypeOf(probe) as { sync(): Promise<void> };
    await probe.close();
    const synced: string[] = [];
    const real = proto.sync;
    const spy = vi.spyOn(proto, 'sync').mockImplementation(async function (this: { sync(): Promise<void> }) {
      synced.push((await readdir(dir)).sort().join(','));
      return real.call(this);
    });
    try {
      await writeFileAtomic(join(dir, 's.tmp'), join(dir, 's'), [Buffer.from('durable')], {
        mode: 0o600,
        sync: true,
      });
    } finally {
      spy.mockRestore();
    }
    expect(synced).toEqual(['probe,s.tmp']); // once, while the file still had its temporary name
    expect((await readFile(join(dir, 's'))).toString()).toBe('durable');
  });

  it('gives the file exactly its mode, even over a leftover temporary file', async () => {
    await writeFile(join(dir, 's.tmp'), 'stale');
    await chmod(join(dir, 's.tmp'), 0o644);
    await writeFileAtomic(join(dir, 's.tmp'), join(dir, 's'), [Buffer.from('secret')], {
      mode: 0o600,
      sync: true,
    });
    expect((await stat(join(dir, 's'))).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['s']);
  });
});

/** Bytes of `path` in the page cache (util-linux fincore), or undefined without the tool. */
function resident(path: string): number | undefined {
  try {
    return Number(
      execFileSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', path]).toString().trim(),
    );
  } catch {
    return undefined;
  }
}

describe.runIf(optionalNative() !== undefined)('writeFileAtomic with O_DIRECT', () => {
  const block = (): Buffer => new BlockPool(1 << 20).take().fill(7); // page-aligned, as pooled blocks are
  const tail = Buffer.alloc(123, 9);

  it('writes an aligned block past the page cache and its tail through it', async () => {
    const b = block();
    const p = join(dir, 'blk');
    await writeFileAtomic(join(dir, 'blk.tmp'), p, [b, tail], { mode: 0o644, direct: true });
    const res = resident(p); // before reading it back, which fills the cache
    if (res !== undefined) expect(res).toBeLessThan(b.length); // the block part never entered it
    expect((await readFile(p)).equals(Buffer.concat([b, tail]))).toBe(true);
  });

  it('falls back to a buffered write for unaligned data and on file systems without O_DIRECT', async () => {
    const unaligned = block().subarray(1, 1 + 8192);
    await writeFileAtomic(join(dir, 'u.tmp'), join(dir, 'u'), [unaligned, tail], {
      mode: 0o644,
      direct: true,
    });
    expect((await readFile(join(dir, 'u'))).equals(Buffer.concat([unaligned, tail]))).toBe(true);
    const shm = await mkdtemp('/dev/shm/tjfs-atomic-').catch(() => undefined);
    if (shm === undefined) return;
    try {
      const b = block();
      await writeFileAtomic(join(shm, 'b.tmp'), join(shm, 'b'), [b, tail], { mode: 0o644, direct: true });
      expect((await readFile(join(shm, 'b'))).equals(Buffer.concat([b, tail]))).toBe(true);
    } finally {
      await rm(shm, { recursive: true, force: true });
    }
  });
});

describe('writeFileAtomic with checksumPiece (trailer filled in the job)', () => {
  it.each([
    ['a page-aligned block written with O_DIRECT', true],
    ['a buffered block', false],
  ])('%s: the trailer holds the CRC32C of each piece', async (_what, direct) => {
    const b = new BlockPool(1 << 20).take();
    for (let i = 0; i < b.length; i += 97) b[i] = i & 0xff; // differing pieces
    const sums = Buffer.alloc(checksumLength(b.length), 0xaa);
    const p = join(dir, 'c');
    await writeFileAtomic(join(dir, 'c.tmp'), p, [b, sums], { direct, checksumPiece: PIECE });
    expect(sums.equals(blockChecksums(b, false))).toBe(true); // the caller's buffer was filled
    expect((await readFile(p)).equals(Buffer.concat([b, blockChecksums(b, false)]))).toBe(true);
  });

  it('refuses a trailer of the wrong size, and a sync write fills it on the JS thread', async () => {
    const data = Buffer.alloc(100_000, 3);
    await expect(
      writeFileAtomic(join(dir, 'x.tmp'), join(dir, 'x'), [data, Buffer.alloc(8)], { checksumPiece: PIECE }),
    ).rejects.toThrow(/4 bytes per piece/);
    const sums = Buffer.alloc(checksumLength(data.length));
    await writeFileAtomic(join(dir, 's.tmp'), join(dir, 's'), [data, sums], {
      sync: true,
      checksumPiece: PIECE,
    });
    expect((await readFile(join(dir, 's'))).equals(Buffer.concat([data, blockChecksums(data, false)]))).toBe(
      true,
    );
  });
});
