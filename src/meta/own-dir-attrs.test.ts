import { describe, expect, it } from 'vitest';
import { FileType, type Attr, type Ino } from '../base/types.js';
import { OwnDirAttrs, recordDirAttr } from './own-dir-attrs.js';

const dir = (nlink: number): Attr =>
  ({ type: FileType.Directory, mode: 0o755, nlink, mtime: 1, mtimensec: 0 }) as unknown as Attr;
const file = (): Attr => ({ type: FileType.File, mode: 0o644, nlink: 1 }) as unknown as Attr;

describe('OwnDirAttrs', () => {
  it('answers while younger than the asked age, with the age; forgets it once older', () => {
    let now = 10_000;
    const m = new OwnDirAttrs(10, () => now);
    m.note(new Map([[5n, dir(3)]]), 9_900);
    expect(m.get(5n, 1000)).toEqual({ attr: dir(3), ageMs: 100 });
    now = 10_899;
    expect(m.get(5n, 1000)?.ageMs).toBe(999);
    now = 10_900;
    expect(m.get(5n, 1000)).toBeUndefined();
    expect(m.size).toBe(0);
    // A clock that stepped back never yields a negative age.
    m.note(new Map([[6n, dir(2)]]), 20_000);
    expect(m.get(6n, 1)?.ageMs).toBe(0);
  });

  it('a later write replaces an entry, a deletion removes it, and answers are copies', () => {
    const m = new OwnDirAttrs(10, () => 0);
    m.note(new Map([[1n, dir(2)]]), 0);
    m.note(new Map([[1n, dir(4)]]), 0);
    const got = m.get(1n, 10);
    expect(got?.attr.nlink).toBe(4);
    (got?.attr as Attr).nlink = 99;
    expect(m.get(1n, 10)?.attr.nlink).toBe(4);
    m.note(new Map<Ino, Attr | undefined>([[1n, undefined]]), 0);
    expect(m.get(1n, 10)).toBeUndefined();
  });

  it('keeps at most `limit` entries, dropping the least recently written', () => {
    const m = new OwnDirAttrs(3, () => 0);
    for (const ino of [1n, 2n, 3n]) m.note(new Map([[ino, dir(2)]]), 0);
    m.note(new Map([[1n, dir(3)]]), 0); // rewritten: now the newest
    m.note(new Map([[4n, dir(2)]]), 0);
    expect(m.size).toBe(3);
    expect(m.get(2n, 10)).toBeUndefined();
    expect([1n, 3n, 4n].map((i) => m.get(i, 10) !== undefined)).toEqual([true, true, true]);
  });
});

describe('recordDirAttr', () => {
  it('records directories (as copies) and deletions, and leaves other types out', () => {
    const a = dir(2);
    let w = recordDirAttr(undefined, 7n, file());
    expect(w).toBeUndefined();
    w = recordDirAttr(w, 8n, a);
    a.nlink = 5; // the transaction's caller keeps changing its object
    expect(w?.get(8n)?.nlink).toBe(2);
    w = recordDirAttr(w, 9n, undefined);
    expect([...(w?.entries() ?? [])]).toEqual([
      [8n, dir(2)],
      [9n, undefined],
    ]);
  });
});
