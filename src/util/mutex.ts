/**
 * Async mutual exclusion. `Mutex`: one FIFO queue. `KeyedMutex`: one FIFO queue per key
 * (an inode, a path, a shared mount id), whose entry is dropped once its last caller has
 * finished, so a long-lived map does not grow with every key ever locked.
 */

/** A FIFO async mutex: `run(fn)` executes `fn` when every earlier caller has finished. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/** `run(key, fn)` executes `fn` when every earlier caller of the same key has finished. */
export class KeyedMutex<K> {
  private readonly tails = new Map<K, Promise<unknown>>();

  run<T>(key: K, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const result = prev.then(fn, fn);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Keys that are held or waited for. */
  get size(): number {
    return this.tails.size;
  }
}
