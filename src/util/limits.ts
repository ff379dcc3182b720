/**
 * Concurrency and memory budgets for the data path.
 *
 * - `Semaphore`: at most N holders; FIFO waiters.
 * - `ByteBudget`: the byte-bounded write buffer (--buffer-size) with backpressure:
 *   `acquire(n)` waits while the budget is full, unless no bytes are on their way out
 *   (nothing uploading), in which case it over-commits instead of deadlocking.
 * - `mapLimit`: run an async function over items with bounded parallelism.
 */

export class Semaphore {
  private active = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(readonly limit: number) {
    if (limit < 1) throw new RangeError('semaphore limit must be >= 1');
  }

  get inUse(): number {
    return this.active;
  }

  async acquire(): Promise<void> {
    if (this.active < this.limit) {
      this.active++;
      return;
    }
    await new Promise<void>((r) => this.waiters.push(r));
  }

  /** Non-blocking acquire: false when all permits are taken. */
  tryAcquire(): boolean {
    if (this.active >= this.limit) return false;
    this.active++;
    return true;
  }

  release(): void {
    const next = this.waiters.shift();
    if (next !== undefined)
      next(); // the permit passes to the waiter
    else this.active--;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }
}

export class ByteBudget {
  private used = 0;
  /** Bytes held by blocks queued for upload: they will be released without our help. */
  private draining = 0;
  private readonly waiters: { n: number; resolve: () => void }[] = [];

  constructor(readonly capacity: number) {}

  get inUse(): number {
    return this.used;
  }

  private fits(n: number): boolean {
    return this.used + n <= this.capacity || this.draining === 0 || this.used === 0;
  }

  async acquire(n: number): Promise<void> {
    if (this.waiters.length === 0 && this.fits(n)) {
      this.used += n;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push({ n, resolve }));
  }

  /** Marks `n` held bytes as on their way out (an upload was queued). */
  markDraining(n: number): void {
    this.draining += n;
  }

  /** Releases `n` bytes; `drained` = they were marked draining before. */
  release(n: number, drained = false): void {
    this.used -= n;
    if (drained) this.draining -= n;
    this.wake();
  }

  private wake(): void {
    for (;;) {
      const w = this.waiters[0];
      if (w === undefined || !this.fits(w.n)) return;
      this.waiters.shift();
      this.used += w.n;
      w.resolve();
    }
  }
}

/** Applies `fn` to every item with at most `limit` in flight; results in input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed: { e: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failed === undefined) {
      const i = next++;
      if (i >= items.length) return;
      try {
        out[i] = await fn(items[i] as T, i);
      } catch (e) {
        failed ??= { e };
      }
    }
  };
  const workers: Promise<void>[] = [];
  for (let w = 0; w < Math.min(limit, items.length); w++) workers.push(worker());
  await Promise.all(workers); // bounded by `limit`
  if (failed !== undefined) throw failed.e;
  return out;
}
