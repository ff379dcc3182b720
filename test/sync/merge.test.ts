/** The streamed merge of two sorted listings and the byte comparison of streams. */
import { describe, expect, it } from 'vitest';
import type { SyncEntry } from '../../src/sync/endpoint.js';
import { compareKeys, mergeListings } from '../../src/sync/merge.js';
import { sameContent } from '../../src/sync/compare.js';
import { formatSize } from '../../src/sync/sync.js';

function e(key: string, size = 1): SyncEntry {
  return { key, size, mtimeMs: 0, isDir: key.endsWith('/'), isSymlink: false };
}

async function* gen<T>(xs: T[], pulled?: { n: number }): AsyncGenerator<T> {
  for (const x of xs) {
    if (pulled) pulled.n++;
    yield x;
  }
}

async function collect(src: string[], dst: string[], drainDst = true): Promise<string[]> {
  const out: string[] = [];
  for await (const m of mergeListings(gen(src.map((k) => e(k))), gen(dst.map((k) => e(k))), { drainDst }))
    out.push(m.kind === 'extra' ? `-${m.dst.key}` : m.dst ? `=${m.src.key}` : `+${m.src.key}`);
  return out;
}

describe('mergeListings', () => {
  it('pairs equal keys, marks new and extra ones, in key order', async () => {
    expect(await collect(['a', 'b/', 'b/x', 'c', 'e'], ['a', 'b/x', 'd', 'e', 'f'])).toEqual([
      '=a',
      '+b/',
      '=b/x',
      '+c',
      '-d',
      '=e',
      '-f',
    ]);
  });

  it('handles empty sides', async () => {
    expect(await collect([], ['x', 'y'])).toEqual(['-x', '-y']);
    expect(await collect(['x'], [])).toEqual(['+x']);
    expect(await collect([], [])).toEqual([]);
  });

  it('stops reading the destination after the last source key unless it drains (--delete-dst)', async () => {
    expect(await collect(['a'], ['a', 'b', 'c'], false)).toEqual(['=a']);
    expect(await collect(['a'], ['a', 'b', 'c'], true)).toEqual(['=a', '-b', '-c']);
  });

  it('pulls the listings lazily (memory bounded by what is pending, not the listing)', async () => {
    const pulledSrc = { n: 0 };
    const pulledDst = { n: 0 };
    const keys = Array.from({ length: 10_000 }, (_, i) => `k${String(i).padStart(6, '0')}`);
    const it = mergeListings(
      gen(
        keys.map((k) => e(k)),
        pulledSrc,
      ),
      gen(
        keys.map((k) => e(k)),
        pulledDst,
      ),
    );
    for (let i = 0; i < 3; i++) await it.next();
    expect(pulledSrc.n).toBeLessThanOrEqual(4);
    expect(pulledDst.n).toBeLessThanOrEqual(4);
    await it.return(undefined);
  });

  it('orders keys by UTF-8 bytes ("a-b" < "a/" < "a0", astral after BMP)', () => {
    expect(compareKeys('a-b', 'a/')).toBeLessThan(0);
    expect(compareKeys('a/', 'a/x')).toBeLessThan(0);
    expect(compareKeys('a/x', 'a0')).toBeLessThan(0);
    // U+FF61 sorts before U+1F600 in UTF-8, after it in UTF-16 code units.
    expect(compareKeys('\uff61', '\u{1f600}')).toBeLessThan(0);
  });
});

describe('sameContent', () => {
  it('compares streams cut into different chunk sizes', async () => {
    const data = Buffer.from('0123456789abcdefghij');
    const cuts = (sizes: number[]): Buffer[] => {
      const out: Buffer[] = [];
      let o = 0;
      for (const s of sizes) {
        out.push(data.subarray(o, o + s));
        o += s;
      }
      return out;
    };
    expect(await sameContent(gen(cuts([3, 7, 10])), gen(cuts([8, 12])), 4)).toBe(true);
    const other = Buffer.from(data);
    other[15] = 0x21;
    expect(await sameContent(gen([data]), gen([other]), 4)).toBe(false);
    expect(await sameContent(gen([data]), gen([data.subarray(0, 19)]), 4)).toBe(false);
    expect(await sameContent(gen([]), gen([]), 4)).toBe(true);
  });
});

describe('formatSize', () => {
  it('prints as JuiceFS', () => {
    expect(formatSize(0)).toBe('0 B');
    expect(formatSize(1023)).toBe('1023 B');
    expect(formatSize(1024)).toBe('1024.00  iB');
    expect(formatSize(1536)).toBe('1.50 KiB');
    expect(formatSize(3 * 1024 * 1024 + 1)).toBe('3.00 MiB');
  });
});
