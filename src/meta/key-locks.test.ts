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

  it('a holder takes only the first key it is given, and its release frees that key', async () => {
    const locks = new KeyLocks();
    const hold = locks.holder();
    hold.release(); // nothing taken yet: a no-op
    await hold.take('a');
    await hold.take('b'); // already holding: waits for the same, takes nothing more
    expect(locks.held).toBe(1);
    let second = false;
    const other = locks.acquire('a').then((r) => {
      second = true;
      return r;
    });
    await tick();
    expect(second).toBe(false);
    hold.release();
    (await other)();
    expect(second).toBe(true);
    expect(locks.held).toBe(0);
  });
});
