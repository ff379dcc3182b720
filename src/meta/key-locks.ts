/**
 * KeyLocks: this process's write transactions queue by the first key they read, as Go's
 * JuiceFS does with its txLock stripes. Four creates at once in one directory all WATCH the
 * directory and all change it, so without a queue three of them fail their EXEC and run
 * again after a random sleep (about one create in four restarted, measured); queued, each
 * runs once. Other clients still conflict, and WATCH still settles that.
 *
 * Design: a FIFO of waiters per key, present while the key is held. The lock is a hint, not
 * a guarantee: a waiter that has waited `maxWaitMs` goes on without it (WATCH keeps the
 * transaction correct), so a holder stuck in an outage, or a transaction that waits on
 * another one, can never deadlock the queue.
 * Invariants: a transaction holds at most one key (taken before it has read anything), so
 * waits cannot form a cycle; each release is called once (later calls do nothing).
 */
export class KeyLocks {
  /** Keys held, each with the grants of its waiters in arrival order. */
  private readonly queues = new Map<string, (() => boolean)[]>();
  /** Waits that gave up and went on without the lock (metrics, tests). */
  timeouts = 0;

  constructor(private readonly maxWaitMs = 1000) {}

  /** Resolves to the release once `key` is this caller's (or once it stopped waiting). */
  acquire(key: string): Promise<() => void> {
    const q = this.queues.get(key);
    if (q === undefined) {
      this.queues.set(key, []);
      return Promise.resolve(this.releaser(key));
    }
    return new Promise((resolve) => {
      let settled = false;
      const grant = (): boolean => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        resolve(this.releaser(key));
        return true;
      };
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        this.timeouts++;
        const at = q.indexOf(grant);
        if (at >= 0) q.splice(at, 1);
        resolve(() => undefined);
      }, this.maxWaitMs);
      timer.unref();
      q.push(grant);
    });
  }

  /**
   * One transaction's hold: `take(key)` queues for the first key it is given and resolves
   * when that key is held (every later call, whatever the key, waits for the same);
   * `release()` gives it back, once it was taken. Kept across the restarts of a conflict.
   */
  holder(): { take: (key: string) => Promise<void>; release: () => void } {
    let taken: Promise<() => void> | undefined;
    let p: Promise<void> | undefined;
    return {
      take: (key) => (p ??= (taken = this.acquire(key)).then(() => undefined)),
      release: () => void taken?.then((r) => r()),
    };
  }

  /** Keys held now (tests). */
  get held(): number {
    return this.queues.size;
  }

  private releaser(key: string): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const q = this.queues.get(key);
      while (q !== undefined && q.length > 0) if ((q.shift() as () => boolean)()) return;
      this.queues.delete(key);
    };
  }
}
