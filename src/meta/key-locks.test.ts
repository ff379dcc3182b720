import { describe, expect, it } from 'vitest';
import { KeyLocks } from './key-locks.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('KeyLocks', () => {
  it('grants a key to one holder at a time, in arrival order; other keys do not wait', async () => {
    const locks = new KeyLocks();
    const order: string[] = [];
    const first = await locks.acquire('a');
    const waiters = ['b1', 'b2', 'b3'].map((name) =>
      locks.acquire('a').then((release) => {
        order.push(name);
        return release;
      }),
    );
    const other = await locks.acquire('z'); // a different key is free
    await tick();
    expect(order).toEqual([]);
    first();
    first(); // a second call does nothing
    const r1 = await waiters[0];
    await tick();
    expect(order).toEqual(['b1']);
    r1?.();
    (await waiters[1])?.();
    (await waiters[2])?.();
    expect(order).toEqual(['b1', 'b2', 'b3']);
    other();
    expect(locks.held).toBe(0);
  });

  it('a waiter that waited too long goes on without the key and leaves the queue', async () => {
    const locks = new KeyLocks(30);
    const held = await locks.acquire('k');
    const started = Date.now();
    const late = await locks.acquire('k');
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    expect(locks.timeouts).toBe(1);
    late(); // a no-op: it never held the key
    const next = locks.acquire('k');
    held(); // the key passes to the next waiter, not to the one that gave up
    (await next)();
    expect(locks.held).toBe(0);
  });
});
