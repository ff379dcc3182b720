import { describe, expect, it } from 'vitest';
import { DenseTable } from './dense-table.js';

describe('DenseTable', () => {
  it('keeps a nibble per id, neighbours apart, absent as undefined', () => {
    const t = new DenseTable();
    expect(t.get(5)).toBeUndefined();
    t.set(4, 2);
    t.set(5, 15);
    t.set(4095, 7);
    t.set(4096, 1);
    expect([t.get(3), t.get(4), t.get(5), t.get(6)]).toEqual([undefined, 2, 15, undefined]);
    expect([t.get(4095), t.get(4096), t.get(4097)]).toEqual([7, 1, undefined]);
    t.set(5, 3); // overwrite leaves the neighbour alone
    expect([t.get(4), t.get(5)]).toEqual([2, 3]);
    expect(t.get(4n)).toBe(2); // bigint and number name the same id
  });

  it('ids past 2^40, past 2^53 and trash inodes (2^63 + n) are exact, not rounded', () => {
    const t = new DenseTable();
    const trash = 2n ** 63n + 7n;
    t.set(trash, 2);
    t.set(2n ** 63n + 8n, 3);
    t.set(2 ** 40, 4);
    t.set(2 ** 32 + 1, 5); // paged, beyond 32-bit shifts
    expect(t.get(trash)).toBe(2);
    expect(t.get(2n ** 63n + 8n)).toBe(3);
    expect(t.get(2n ** 63n + 6n)).toBeUndefined();
    expect(t.get(2 ** 40)).toBe(4);
    expect(t.get(2 ** 32 + 1)).toBe(5);
    expect(t.get(1)).toBeUndefined();
  });

  it('refuses values that do not fit in a nibble', () => {
    const t = new DenseTable();
    expect(() => t.set(1, 0)).toThrow(RangeError);
    expect(() => t.set(1, 16)).toThrow(RangeError);
  });
});
