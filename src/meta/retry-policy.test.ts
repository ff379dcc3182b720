/** MetaRetryPolicy: the schedule, the bound, and what is (not) retried. */
import { describe, expect, it } from 'vitest';
import { Errno, FsError } from '../base/errno.js';
import { MetaRetryPolicy, MetaUnavailableError, parseDurationMs } from './retry-policy.js';
import { parseRedisUrl } from './redis/redis-url.js';

const noPause = (): Promise<void> => Promise.resolve();

describe('MetaRetryPolicy', () => {
  it('defaults to JuiceFS: 10 retries, 20 ms growing to 10 s apart, about 57 s in all', () => {
    const p = new MetaRetryPolicy();
    expect(p.retries).toBe(10);
    expect([0, 1, 2, 3, 4, 5, 9].map((i) => p.delay(i))).toEqual([20, 80, 320, 1280, 5120, 10_000, 10_000]);
    expect(p.budgetMs()).toBe(20 + 80 + 320 + 1280 + 5120 + 5 * 10_000);
    expect(p.budgetMs()).toBeGreaterThan(30_000); // a 30 s restart fits
  });

  it('retries while nothing was applied, then succeeds', async () => {
    const pauses: number[] = [];
    const p = new MetaRetryPolicy({ retries: 5 }, (ms) => Promise.resolve(pauses.push(ms)));
    let calls = 0;
    const v = await p.run('mkdir', 'engine', () =>
      ++calls < 4 ? Promise.reject(new MetaUnavailableError('down', false)) : Promise.resolve(7),
    );
    expect(v).toBe(7);
    expect(calls).toBe(4);
    expect(pauses).toHaveLength(3);
    expect(pauses[2]).toBeGreaterThanOrEqual(0.75 * 320);
    expect(pauses[2]).toBeLessThanOrEqual(320);
  });

  it('gives up after `retries` with EIO naming the op, and logs it', async () => {
    const errors: string[] = [];
    const p = new MetaRetryPolicy({ retries: 3 }, noPause);
    p.useLogger({ warn() {}, error: (m) => errors.push(m) });
    let calls = 0;
    const run = p.run('rename', 'metadata engine redis://x', () => {
      calls++;
      return Promise.reject(new MetaUnavailableError('connect ECONNREFUSED', false));
    });
    await expect(run).rejects.toMatchObject({ errno: Errno.EIO, op: 'rename' });
    expect(calls).toBe(4);
    expect(errors.join('\n')).toMatch(
      /rename: metadata engine redis:\/\/x unavailable: gave up after 3 retries/,
    );
  });

  it('never retries an ambiguous failure (a write may have been applied) or an ordinary error', async () => {
    const p = new MetaRetryPolicy({ retries: 5 }, noPause);
    let calls = 0;
    await expect(
      p.run('create', 'engine', () => {
        calls++;
        return Promise.reject(new MetaUnavailableError('connection lost during EXEC', true));
      }),
    ).rejects.toMatchObject({
      errno: Errno.EIO,
      message: expect.stringMatching(/outcome is unknown/) as unknown,
    });
    expect(calls).toBe(1);
    const enoent = new FsError(Errno.ENOENT, { op: 'lookup' });
    await expect(p.run('lookup', 'engine', () => Promise.reject(enoent))).rejects.toBe(enoent);
  });

  it('parses JuiceFS durations and the Redis URL options', () => {
    expect(parseDurationMs('20ms')).toBe(20);
    expect(parseDurationMs('10s')).toBe(10_000);
    expect(parseDurationMs('1m')).toBe(60_000);
    expect(parseDurationMs('2')).toBe(2000);
    expect(parseDurationMs('1h30m')).toBe(5_400_000);
    expect(parseDurationMs('1d2h')).toBe(93_600_000);
    expect(parseDurationMs('0')).toBe(0);
    expect(parseDurationMs('fast')).toBeUndefined();
    expect(parseDurationMs('1x')).toBeUndefined();
    expect(parseDurationMs('h')).toBeUndefined();
    expect(parseRedisUrl('redis://h:6379/1?min-retry-backoff=50ms&max_retry_backoff=5s').retry).toEqual({
      minBackoffMs: 50,
      maxBackoffMs: 5000,
    });
    expect(() => parseRedisUrl('redis://h:6379/1?max-retry-backoff=soon')).toThrow(/max-retry-backoff/);
  });
});
