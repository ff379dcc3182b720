/**
 * RateLimitedLog: at most one line per key and interval, so a failing disk or store that
 * fails every request leaves a readable log instead of a flood. Lines suppressed meanwhile
 * are counted and reported with the next line of that key.
 */
import type { Logger } from './logger.js';

export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly log: Logger,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  warn(key: string, msg: string, fields: Record<string, unknown> = {}): void {
    this.emit('warn', key, msg, fields);
  }

  error(key: string, msg: string, fields: Record<string, unknown> = {}): void {
    this.emit('error', key, msg, fields);
  }

  private emit(level: 'warn' | 'error', key: string, msg: string, fields: Record<string, unknown>): void {
    const t = this.now();
    const seen = this.last.get(key);
    if (seen !== undefined && t - seen.at < this.intervalMs) {
      seen.suppressed++;
      return;
    }
    if (this.last.size > 1000) this.last.clear();
    this.last.set(key, { at: t, suppressed: 0 });
    const extra = seen !== undefined && seen.suppressed > 0 ? { suppressed: seen.suppressed } : {};
    this.log[level](msg, { ...fields, ...extra });
  }
}
