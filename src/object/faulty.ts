/**
 * Fault-injecting and throttled wrappers for tests (mountpoint-s3 style).
 *
 * Design: `FaultyStore` consults a list of rules before each call: a matching rule with
 * remaining `times` makes the call fail with its error (a `TransientFaultError` by
 * default, or a permanent one), and `delayMs` / `hang` slow calls down. `ThrottledStore`
 * limits bandwidth (bytes per second) and concurrency like a slow remote store.
 *
 * Invariants: rules are checked in insertion order; a rule with `times` exhausted is
 * inert; hung calls are released by `releaseHung()` so tests never leak timers.
 */
import type { ByteRange, ListOptions, ObjectInfo, ObjectStore } from './object-store.js';

export type StoreOp = 'get' | 'put' | 'delete' | 'head' | 'list';

export class TransientFaultError extends Error {
  constructor(op: string, key: string) {
    super(`injected transient fault: ${op} ${key}`);
    this.name = 'TransientFaultError';
  }
}

export class PermanentFaultError extends Error {
  readonly permanent = true;
  constructor(op: string, key: string) {
    super(`injected permanent fault: ${op} ${key}`);
    this.name = 'PermanentFaultError';
  }
}

export interface FaultRule {
  ops?: readonly StoreOp[];
  match?: (key: string) => boolean;
  /** Failures before the rule goes inert; default Infinity. */
  times?: number;
  permanent?: boolean;
  /** Added latency (ms) for matching calls instead of failing them. */
  delayMs?: number;
  /** Matching calls never settle until `releaseHung()` (then they fail). */
  hang?: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class FaultyStore implements ObjectStore {
  private rules: (FaultRule & { left: number })[] = [];
  private hung: (() => void)[] = [];
  /** Calls that failed by injection. */
  injected = 0;

  constructor(readonly inner: ObjectStore) {}

  addRule(rule: FaultRule): this {
    this.rules.push({ ...rule, left: rule.times ?? Infinity });
    return this;
  }

  clearRules(): void {
    this.rules = [];
  }

  releaseHung(): void {
    const h = this.hung;
    this.hung = [];
    for (const f of h) f();
  }

  private async check(op: StoreOp, key: string): Promise<void> {
    for (const r of this.rules) {
      if (r.left <= 0) continue;
      if (r.ops !== undefined && !r.ops.includes(op)) continue;
      if (r.match !== undefined && !r.match(key)) continue;
      if (r.delayMs !== undefined && r.hang !== true) {
        await sleep(r.delayMs);
        continue;
      }
      r.left--;
      this.injected++;
      if (r.hang === true) {
        await new Promise<void>((resolve) => this.hung.push(resolve));
      }
      throw r.permanent === true ? new PermanentFaultError(op, key) : new TransientFaultError(op, key);
    }
  }

  async get(key: string, range?: ByteRange, into?: Buffer): Promise<Buffer> {
    await this.check('get', key);
    return this.inner.get(key, range, into);
  }

  async put(key: string, data: Buffer): Promise<void> {
    await this.check('put', key);
    return this.inner.put(key, data);
  }

  async delete(key: string): Promise<void> {
    await this.check('delete', key);
    return this.inner.delete(key);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    await this.check('head', key);
    return this.inner.head(key);
  }

  async list(opts: ListOptions): Promise<ObjectInfo[]> {
    await this.check('list', opts.prefix ?? '');
    return this.inner.list(opts);
  }

  describe(): string {
    return `faulty(${this.inner.describe()})`;
  }
}

export interface ThrottleOptions {
  /** Bandwidth for get and put payloads; default unlimited. */
  bytesPerSec?: number;
  /** Fixed latency per request in ms; default 0. */
  latencyMs?: number;
}

/** A slow store: per-request latency plus payload bandwidth shared by all requests. */
export class ThrottledStore implements ObjectStore {
  private nextFree = 0;

  constructor(
    readonly inner: ObjectStore,
    private readonly opts: ThrottleOptions,
  ) {}

  private async pace(bytes: number): Promise<void> {
    const now = Date.now();
    let wait = this.opts.latencyMs ?? 0;
    const bps = this.opts.bytesPerSec;
    if (bps !== undefined && bps > 0) {
      const start = Math.max(now, this.nextFree);
      this.nextFree = start + (bytes / bps) * 1000;
      wait += this.nextFree - now;
    }
    if (wait > 0) await sleep(wait);
  }

  async get(key: string, range?: ByteRange, into?: Buffer): Promise<Buffer> {
    const data = await this.inner.get(key, range, into);
    await this.pace(data.length);
    return data;
  }

  async put(key: string, data: Buffer): Promise<void> {
    await this.pace(data.length);
    return this.inner.put(key, data);
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }

  head(key: string): Promise<ObjectInfo | undefined> {
    return this.inner.head(key);
  }

  list(opts: ListOptions): Promise<ObjectInfo[]> {
    return this.inner.list(opts);
  }

  describe(): string {
    return `throttled(${this.inner.describe()})`;
  }
}
