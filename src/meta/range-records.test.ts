/**
 * range-records against models of Go's loops (pkg/meta redis.go/sql.go: doTruncate,
 * doFallocate, CopyFileRange), on seeded random ranges including chunk-aligned ends:
 * narrow ranges must queue exactly Go's records; wide ones Go's records on every chunk
 * that exists, and elsewhere only records Go writes too (the ones it adds are holes).
 */
import { describe, expect, it } from 'vitest';
import type { MetaTx } from './engine.js';
import { COPY_CHUNK_LIMIT, PER_CHUNK_LIMIT, queueCopy, truncateHoles, zeroRange } from './range-records.js';
import { buildVisible } from './slices.js';
import { CHUNK_SIZE as CS, type Slice } from '../base/types.js';

type Lists = Map<string, Slice[]>;
const key = (ino: bigint, indx: number): string => `${ino}:${indx}`;
const hole = (pos: number, len: number, off = 0): Slice => ({ pos, id: 0, size: 0, off, len });

/** A MetaTx holding chunk lists; appends are recorded apart from the stored lists. */
function fakeTx(stored: Lists): { tx: MetaTx; out: Lists; listed: () => number } {
  const out: Lists = new Map();
  let listed = 0;
  const tx = {
    async listChunks(ino: bigint, first: number, last: number): Promise<number[]> {
      listed++;
      return [...stored.keys()]
        .filter((k) => k.startsWith(`${ino}:`))
        .map((k) => Number(k.split(':')[1]))
        .filter((i) => i >= first && i <= last)
        .sort((a, b) => a - b);
    },
    async getChunk(ino: bigint, indx: number): Promise<Slice[]> {
      return (stored.get(key(ino, indx)) ?? []).map((s) => ({ ...s }));
    },
    appendSlices(ino: bigint, indx: number, recs: readonly Slice[], opts?: { ifExists?: boolean }): void {
      if (opts?.ifExists && !stored.has(key(ino, indx))) return;
      out.set(key(ino, indx), [...(out.get(key(ino, indx)) ?? []), ...recs]);
    },
    incrSliceRef(): void {},
  };
  return { tx: tx as unknown as MetaTx, out, listed: () => listed };
}

/** Go's truncate: first part, RPUSHX on the chunks strictly between, last part. */
function goTruncate(stored: Lists, ino: bigint, left: number, right: number): Lists {
  const out: Lists = new Map();
  const push = (i: number, s: Slice, onlyIfExists = false): void => {
    if (onlyIfExists && !stored.has(key(ino, i))) return;
    out.set(key(ino, i), [...(out.get(key(ino, i)) ?? []), s]);
  };
  const first = Math.floor(left / CS);
  let l = right - left;
  if (right > (first + 1) * CS) l = CS - (left % CS);
  push(first, hole(left % CS, l));
  for (let i = first + 1; i < Math.floor(right / CS); i++) push(i, hole(0, CS), true);
  if (right > (first + 1) * CS && right % CS > 0) push(Math.floor(right / CS), hole(0, right % CS));
  return out;
}

/** Go's fallocate zeroing: one record per chunk of [off, off+size). */
function goFallocate(ino: bigint, off: number, size: number): Lists {
  const out: Lists = new Map();
  while (size > 0) {
    const indx = Math.floor(off / CS);
    const coff = off % CS;
    const l = coff + size > CS ? CS - coff : size;
    out.set(key(ino, indx), [...(out.get(key(ino, indx)) ?? []), hole(coff, l)]);
    off += l;
    size -= l;
  }
  return out;
}

/** Go's CopyFileRange record loop. */
function goCopy(
  stored: Lists,
  fin: bigint,
  offIn: number,
  fout: bigint,
  offOut: number,
  size: number,
): Lists {
  const out: Lists = new Map();
  const push = (i: number, s: Slice): void =>
    void out.set(key(fout, i), [...(out.get(key(fout, i)) ?? []), s]);
  const end = offIn + size;
  for (let i = Math.floor(offIn / CS); i <= Math.floor(end / CS); i++) {
    let tpos = i * CS;
    for (const s of buildVisible([hole(0, CS), ...(stored.get(key(fin, i)) ?? [])], { goOffsets: true })) {
      let pos = tpos;
      tpos += s.len;
      if (!(pos < end && pos + s.len > offIn)) continue;
      let { off, len } = s;
      if (pos < offIn) {
        off += offIn - pos;
        len -= offIn - pos;
        pos = offIn;
      }
      if (pos + len > end) len -= pos + len - end;
      const doff = pos - offIn + offOut;
      const indx = Math.floor(doff / CS);
      const dpos = doff % CS;
      if (dpos + len > CS) {
        push(indx, { pos: dpos, id: s.id, size: s.size, off, len: CS - dpos });
        push(indx + 1, { pos: 0, id: s.id, size: s.size, off: off + CS - dpos, len: len - (CS - dpos) });
      } else push(indx, { pos: dpos, id: s.id, size: s.size, off, len });
    }
  }
  return out;
}

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): (n: number) => number {
  let a = seed;
  return (n) => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

/** An offset near a chunk boundary (often exactly on it) within the first `chunks` chunks. */
function edgy(r: (n: number) => number, chunks: number): number {
  const base = r(chunks) * CS;
  return [0, 0, 1, CS - 1, CS / 2, r(CS)][r(6)]! + base;
}

/** Random lists for chunks of `ino` among indexes [0, span). */
function randomLists(r: (n: number) => number, ino: bigint, span: number, count: number, into: Lists): void {
  for (let c = 0; c < count; c++) {
    const indx = r(span);
    const recs: Slice[] = [];
    for (let k = 1 + r(3); k > 0; k--) {
      const pos = r(CS - 1);
      const len = 1 + r(CS - pos);
      recs.push(r(4) === 0 ? hole(pos, len) : { pos, id: 1 + r(1000), size: CS, off: r(CS - len + 1), len });
    }
    into.set(key(ino, indx), recs);
  }
}

describe('range-records vs Go', () => {
  it('truncate queues exactly Go records (narrow and wide ranges)', async () => {
    const r = rng(1);
    for (let t = 0; t < 400; t++) {
      const span = t % 2 ? 6 : 3 * PER_CHUNK_LIMIT;
      const stored: Lists = new Map();
      randomLists(r, 1n, span + 1, r(5), stored);
      const [a, b] = [edgy(r, span), edgy(r, span)];
      if (a === b) continue;
      const { tx, out } = fakeTx(stored);
      await truncateHoles(tx, 1n, a, b);
      expect(out).toEqual(goTruncate(stored, 1n, Math.min(a, b), Math.max(a, b)));
    }
  });

  it('fallocate: Go records while narrow; wide adds only Go records, on the ends and existing chunks', async () => {
    const r = rng(2);
    for (let t = 0; t < 400; t++) {
      const wide = t % 2 === 0;
      const span = wide ? 3 * PER_CHUNK_LIMIT : 6;
      const stored: Lists = new Map();
      randomLists(r, 1n, span + 1, r(5), stored);
      const off = edgy(r, span);
      const end = off + 1 + (wide ? edgy(r, span) : edgy(r, 4));
      const { tx, out } = fakeTx(stored);
      await zeroRange(tx, 1n, off, end);
      const go = goFallocate(1n, off, end - off);
      const chunks = Math.ceil(end / CS) - Math.floor(off / CS);
      if (chunks <= PER_CHUNK_LIMIT) {
        expect(out).toEqual(go);
        continue;
      }
      for (const [k, recs] of out) expect(recs).toEqual(go.get(k));
      for (const k of go.keys()) {
        const [f, l] = [Math.floor(off / CS), Math.floor((end - 1) / CS)];
        const i = Number(k.split(':')[1]);
        if (stored.has(k) || i === f || (i === l && end % CS > 0)) expect(out.has(k)).toBe(true);
      }
    }
  });

  it('copy_file_range: Go records while narrow; wide, Go records on every destination chunk that existed', async () => {
    const r = rng(3);
    for (let t = 0; t < 200; t++) {
      const wide = t % 5 === 0;
      const span = wide ? PER_CHUNK_LIMIT + 20 : 5;
      const stored: Lists = new Map();
      randomLists(r, 1n, span + 2, 1 + r(4), stored);
      randomLists(r, 2n, 2 * span + 2, r(3), stored);
      const offIn = edgy(r, 2);
      const n = 1 + (wide ? (span - 1) * CS + r(CS) : edgy(r, 3));
      const offOut = edgy(r, span);
      const { tx, out } = fakeTx(stored);
      await queueCopy(tx, { fin: 1n, offIn, fout: 2n, offOut, n });
      const go = goCopy(stored, 1n, offIn, 2n, offOut, n);
      const narrow = Math.floor((offIn + n - 1) / CS) - Math.floor(offIn / CS) + 1 <= PER_CHUNK_LIMIT;
      if (narrow) {
        expect(out).toEqual(go);
        continue;
      }
      for (const [k, recs] of out) {
        if (stored.has(k)) expect(recs).toEqual(go.get(k));
        else for (const s of recs) expect(go.get(k)).toContainEqual(s);
      }
      for (const [k, recs] of go) {
        const extra = recs.filter(
          (s) => !(out.get(k) ?? []).some((o) => JSON.stringify(o) === JSON.stringify(s)),
        );
        expect(extra.every((s) => s.id === 0)).toBe(true);
      }
    }
  });

  it('a copy over more than COPY_CHUNK_LIMIT source lists stops before the next one (short count)', async () => {
    for (const step of [1, 3]) {
      const stored: Lists = new Map();
      const count = COPY_CHUNK_LIMIT + 500;
      for (let i = 0; i < count; i++)
        stored.set(key(1n, i * step), [{ pos: 0, id: i + 1, size: 10, off: 0, len: 10 }]);
      const { tx, out } = fakeTx(stored);
      const n = await queueCopy(tx, { fin: 1n, offIn: 5, fout: 2n, offOut: 0, n: count * step * CS });
      expect(n).toBe(COPY_CHUNK_LIMIT * step * CS - 5);
      const ids = [...out.values()]
        .flat()
        .filter((s) => s.id > 0)
        .map((s) => s.id);
      expect([...new Set(ids)]).toEqual(Array.from({ length: COPY_CHUNK_LIMIT }, (_, i) => i + 1));
      const { tx: tx2, out: out2 } = fakeTx(stored);
      await queueCopy(tx2, { fin: 1n, offIn: 5, fout: 2n, offOut: 0, n });
      expect(out2).toEqual(out);
    }
  });

  it('a 2^62-byte-wide copy of two chunks lists twice and reads two chunks', async () => {
    const stored: Lists = new Map([
      [key(1n, 0), [{ pos: 0, id: 7, size: 10, off: 0, len: 10 }]],
      [key(1n, 1e6), [{ pos: 0, id: 8, size: 10, off: 0, len: 10 }]],
    ]);
    const { tx, out, listed } = fakeTx(stored);
    await queueCopy(tx, { fin: 1n, offIn: 0, fout: 2n, offOut: 0, n: 1e6 * CS + 10 });
    expect(listed()).toBe(2);
    expect([...out.keys()]).toEqual([key(2n, 0), key(2n, 1e6)]);
  });
});
