/**
 * coalesceWrites against a real redis-server: commands sent in one turn of the event loop
 * leave in one socket write, in order, and their replies are each command's own.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startRedis, type RedisServer } from '../../../test/helpers/redis-server.js';
import { coalesceWrites } from './redis-conn.js';

let server: RedisServer;

beforeAll(async () => {
  server = await startRedis();
});

afterAll(async () => {
  await server?.stop();
});

/** Socket writes (each one a system call) while `fn` runs its commands on `r`. */
async function writesDuring(
  r: Redis,
  fn: () => Promise<unknown>,
): Promise<{ writes: number; value: unknown }> {
  // cast: _write and _writev are the stream internals each socket write goes through.
  const s = r.stream as unknown as Record<'_write' | '_writev', (...args: unknown[]) => void>;
  const one = vi.spyOn(s, '_write');
  const many = vi.spyOn(s, '_writev');
  try {
    const value = await fn();
    return { writes: one.mock.calls.length + many.mock.calls.length, value };
  } finally {
    one.mockRestore();
    many.mockRestore();
  }
}

const batch = (r: Redis): Promise<unknown> =>
  Promise.all([
    r.call('SET', 'k', 'v1'),
    r.call('WATCH', 'k'),
    r.call('GET', 'k'),
    r.call('UNWATCH'),
    r.call('SET', 'k', 'v2'),
    r.call('GET', 'k'),
  ]);

describe('coalesceWrites', () => {
  it('sends the commands of one tick in one write, in order', async () => {
    const r = coalesceWrites(new Redis(server.url, { lazyConnect: true }));
    await r.connect();
    try {
      const { writes, value } = await writesDuring(r, () => batch(r));
      expect(value).toEqual(['OK', 'OK', 'v1', 'OK', 'OK', 'v2']);
      expect(writes).toBe(1);
      // The next tick's commands are a write of their own (the socket was uncorked).
      const again = await writesDuring(r, () => r.call('GET', 'k'));
      expect(again).toEqual({ writes: 1, value: 'v2' });
      // A MULTI block is one write as before.
      const tx = await writesDuring(r, () => r.multi().set('k', 'v3').get('k').exec());
      expect(tx.value).toEqual([
        [null, 'OK'],
        [null, 'v3'],
      ]);
      expect(tx.writes).toBe(1);
    } finally {
      r.disconnect();
    }
  });

  it('without it, each command is a write of its own (what the test above would see)', async () => {
    const r = new Redis(server.url, { lazyConnect: true });
    await r.connect();
    try {
      const { writes, value } = await writesDuring(r, () => batch(r));
      expect(value).toEqual(['OK', 'OK', 'v1', 'OK', 'OK', 'v2']);
      expect(writes).toBe(6);
    } finally {
      r.disconnect();
    }
  });
});
