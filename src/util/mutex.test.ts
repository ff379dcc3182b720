/** KeyedMutex: FIFO per key, keys independent, failures release the lock, idle keys are forgotten. */
import { describe, expect, it } from 'vitest';
import { KeyedMutex } from './mutex.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('KeyedMutex', () => {
  it('runs callers of one key one at a time, in call order', async () => {
    const m = new KeyedMutex<string>();
    const events: string[] = [];
    let active = 0;
    const job = (name: string) => async (): Promise<string> => {
      active++;
      expect(active).toBe(1);
      events.push(`start ${name}`);
      await tick();
      events.push(`end ${name}`);
      active--;
      return name;
    };
    const results = await Promise.all([m.run('a', job('1')), m.run('a', job('2')), m.run('a', job('3'))]);
    expect(results).toEqual(['1', '2', '3']);
    expect(events).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
  });

  it('lets different keys run at the same time', async () => {
    const m = new KeyedMutex<bigint>();
    let release!: () => void;
    const held = m.run(1n, () => new Promise<void>((r) => (release = r)));
    let otherRan = false;
    await m.run(2n, async () => {
      otherRan = true;
    });
    expect(otherRan).toBe(true);
    release();
    await held;
  });

  it('passes a failure to its caller and still runs the next one', async () => {
    const m = new KeyedMutex<string>();
    const failed = m.run('k', async () => {
      throw new Error('boom');
    });
    const thrownSync = m.run('k', () => {
      throw new Error('sync boom');
    });
    const next = m.run('k', async () => 'next');
    await expect(failed).rejects.toThrow('boom');
    await expect(thrownSync).rejects.toThrow('sync boom');
    await expect(next).resolves.toBe('next');
  });

  it('forgets a key once its last caller has finished', async () => {
    const m = new KeyedMutex<number>();
    const runs = Array.from({ length: 1000 }, (_, i) => m.run(i, async () => i));
    expect(m.size).toBe(1000);
    await Promise.all(runs);
    await tick();
    expect(m.size).toBe(0);
  });
});
