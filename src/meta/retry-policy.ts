/**
 * Waiting out a metadata engine outage (Redis down or restarting, SQLite locked by another
 * process): the operation is tried again after a growing, jittered pause, a bounded number
 * of times, then fails with EIO and one log line naming the operation.
 *
 * Design: engines throw `MetaUnavailableError` for failures where nothing was applied (the
 * server could not be reached, the command was never sent, the database was locked); only
 * those are retried. A failure after a write may have reached the server is `ambiguous` and
 * never retried, so a non-idempotent operation is never applied twice.
 * Schedule (JuiceFS's `--io-retries` 10, `min-retry-backoff` 20 ms, `max-retry-backoff`
 * 10 s): pause i is min(max, min * 4^i), jittered down by up to a quarter; with the
 * defaults 20 ms, 80 ms, 320 ms, 1.3 s, 5.1 s, then 10 s: about 45-57 s in all, which
 * covers a Redis restart of 30 s.
 * Invariants: at most `retries + 1` attempts; progress lines are rate-limited per op.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../util/logger.js';
import { Errno, FsError } from '../base/errno.js';
import { RateLimitedLog } from '../util/rate-limited-log.js';

export interface MetaRetryOptions {
  /** Retries after the first attempt (JuiceFS `--io-retries`, default 10). */
  retries?: number;
  /** First pause (JuiceFS meta URL option `min-retry-backoff`, default 20 ms). */
  minBackoffMs?: number;
  /** Longest pause (JuiceFS meta URL option `max-retry-backoff`, default 10 s). */
  maxBackoffMs?: number;
}

/** Nothing was applied; trying again is safe. `ambiguous`: a write may have been applied. */
export class MetaUnavailableError extends Error {
  constructor(
    message: string,
    readonly ambiguous: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MetaUnavailableError';
  }
}

export const DEFAULT_META_RETRIES = 10;

/** Cumulative counts of an engine's outage handling (served as metrics). */
export interface MetaRetryStats {
  /** Tries that met an unreachable or locked engine and were made again. */
  retries: number;
  /** Operations that failed with EIO after the bound (or after an ambiguous commit). */
  failures: number;
}

/**
 * Parses a JuiceFS-style duration ('20ms', '10s', '1m', '1h30m', '2d', a bare number is
 * seconds); undefined when invalid.
 */
export function parseDurationMs(s: string): number | undefined {
  const t = s.trim();
  if (/^\d+(?:\.\d+)?$/.test(t)) return Number(t) * 1000;
  if (!/^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/.test(t)) return undefined;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  let total = 0;
  for (const m of t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g))
    total += Number(m[1]) * (unit[m[2] ?? 's'] ?? 1000);
  return total;
}

export class MetaRetryPolicy {
  readonly retries: number;
  readonly minMs: number;
  readonly maxMs: number;
  private log: RateLimitedLog | undefined;
  private logger: Logger | undefined;
  readonly stats: MetaRetryStats = { retries: 0, failures: 0 };

  constructor(
    opts: MetaRetryOptions = {},
    private readonly pause: (ms: number) => Promise<unknown> = sleep,
  ) {
    this.retries = Math.max(0, Math.floor(opts.retries ?? DEFAULT_META_RETRIES));
    this.minMs = Math.max(1, opts.minBackoffMs ?? 20);
    this.maxMs = Math.max(this.minMs, opts.maxBackoffMs ?? 10_000);
  }

  /** Where progress and give-up lines go (set once the client's logger is known). */
  useLogger(logger: Logger): void {
    this.logger = logger;
    this.log = new RateLimitedLog(logger, 5000);
  }

  /** The nominal pause before retry `i` (0-based), before jitter. */
  delay(i: number): number {
    return Math.min(this.maxMs, this.minMs * 4 ** Math.min(i, 30));
  }

  /** Sum of the nominal pauses: the longest an operation waits before EIO. */
  budgetMs(): number {
    let t = 0;
    for (let i = 0; i < this.retries; i++) t += this.delay(i);
    return t;
  }

  /**
   * Runs `fn`, retrying while it throws a non-ambiguous MetaUnavailableError. `op` names the
   * operation in log lines and in the final EIO.
   */
  async run<T>(op: string, what: string, fn: () => Promise<T>): Promise<T> {
    const start = Date.now();
    for (let i = 0; ; i++) {
      try {
        const v = await fn();
        if (i > 0)
          this.logger?.info?.(`${what}: ${op} succeeded after ${i} retries (${seconds(start)} s)`, { op });
        return v;
      } catch (e) {
        if (!(e instanceof MetaUnavailableError)) throw e;
        if (e.ambiguous || i >= this.retries) throw this.giveUp(op, what, e, i, start);
        this.stats.retries++;
        this.log?.warn(
          `retry:${op}`,
          `${what} unavailable, retrying ${op} (attempt ${i + 1} of ${this.retries})`,
          { op, err: e.message },
        );
        const d = this.delay(i);
        await this.pause(d * (0.75 + Math.random() / 4));
      }
    }
  }

  private giveUp(op: string, what: string, e: MetaUnavailableError, retries: number, start: number): FsError {
    const why = e.ambiguous
      ? `the connection was lost while committing; the outcome is unknown, so it is not retried (${e.message})`
      : `gave up after ${retries} retries (${seconds(start)} s): ${e.message}`;
    const err = new FsError(Errno.EIO, { op, cause: e, message: `EIO: ${op}: ${what} unavailable: ${why}` });
    this.stats.failures++;
    this.logger?.error(err.message, { op });
    return err;
  }
}

function seconds(start: number): string {
  return ((Date.now() - start) / 1000).toFixed(1);
}
