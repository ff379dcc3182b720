/**
 * The gateway token check compares SHA-256 digests in constant time: timingSafeEqual runs on
 * two 32-byte buffers whatever the presented token's length (a length check first would
 * return early and tell an attacker the token's length).
 */
import { describe, expect, it, vi } from 'vitest';

const calls: [number, number][] = [];
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  return {
    ...real,
    timingSafeEqual: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView): boolean => {
      calls.push([a.byteLength, b.byteLength]);
      return real.timingSafeEqual(a, b);
    },
  };
});

const { sameSecret } = await import('./webhdfs-auth.js');

describe('sameSecret', () => {
  it('accepts the same token and refuses others', () => {
    expect(sameSecret('s3cret-token', 's3cret-token')).toBe(true);
    expect(sameSecret('s3cret-token', 's3cret-tokem')).toBe(false);
    expect(sameSecret('', 's3cret-token')).toBe(false);
    expect(sameSecret('s3cret-token-and-more', 's3cret-token')).toBe(false);
  });

  it('compares fixed-size digests even when the lengths differ', () => {
    calls.length = 0;
    expect(sameSecret('x', 'a-much-longer-secret-token')).toBe(false);
    expect(sameSecret('', 'tok')).toBe(false);
    expect(calls).toEqual([
      [32, 32],
      [32, 32],
    ]);
  });
});
