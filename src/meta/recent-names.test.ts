import { describe, expect, it } from 'vitest';
import { MISSED, RecentNames, speculate } from './recent-names.js';

const n = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('RecentNames', () => {
  it('keys by parent and the exact name bytes', () => {
    const r = new RecentNames();
    r.set(1n, n('a'), 10n);
    r.set(2n, n('a'), 20n);
    r.set(1n, Buffer.from([0xff, 0x2f]), 30n); // not UTF-8, and a '/' byte
    expect(r.get(1n, n('a'))).toBe(10n);
    expect(r.get(2n, n('a'))).toBe(20n);
    expect(r.get(1n, Buffer.from([0xff, 0x2f]))).toBe(30n);
    expect(r.get(1n, Buffer.from([0xff]))).toBeUndefined();
    r.delete(1n, n('a'));
    expect(r.get(1n, n('a'))).toBeUndefined();
  });

  it('keeps at most `limit` names, dropping the least recently seen', () => {
    const r = new RecentNames(2);
    r.set(1n, n('a'), 1n);
    r.set(1n, n('b'), 2n);
    r.set(1n, n('a'), 3n); // seen again: now the newest
    r.set(1n, n('c'), 4n);
    expect(r.size).toBe(2);
    expect([r.get(1n, n('a')), r.get(1n, n('b')), r.get(1n, n('c'))]).toEqual([3n, undefined, 4n]);
  });
});

describe('speculate', () => {
  it('passes a value through, and turns no read or a failed one into MISSED', async () => {
    expect(await speculate(Promise.resolve(5))).toBe(5);
    expect(await speculate(undefined)).toBe(MISSED);
    expect(await speculate(Promise.reject(new Error('corrupt attr')))).toBe(MISSED);
  });
});
