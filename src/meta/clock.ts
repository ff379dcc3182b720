/**
 * Injected time source: the metadata layer never reads Date directly, so tests can move
 * time (session expiry, trash hours, skip-dir-mtime) without sleeping.
 */
import type { Timespec } from '../base/types.js';

export interface Clock {
  now(): Timespec;
  /** Waits `ms` (lock retries); manual clocks may resolve immediately. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now(): Timespec {
    const ns = process.hrtime.bigint() - hrBase + wallBaseNs;
    return { sec: Number(ns / 1_000_000_000n), nsec: Number(ns % 1_000_000_000n) };
  },
  sleep(ms, signal) {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortError());
      const t = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = (): void => {
        clearTimeout(t);
        reject(abortError());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  },
};

const hrBase = process.hrtime.bigint();
const wallBaseNs = BigInt(Date.now()) * 1_000_000n;

function abortError(): Error {
  const e = new Error('aborted');
  e.name = 'AbortError';
  return e;
}

/** A clock that only moves when told to; `sleep` advances it. */
export class ManualClock implements Clock {
  private ns: bigint;
  constructor(startSec = 1_700_000_000) {
    this.ns = BigInt(startSec) * 1_000_000_000n;
  }
  now(): Timespec {
    return { sec: Number(this.ns / 1_000_000_000n), nsec: Number(this.ns % 1_000_000_000n) };
  }
  advance(ms: number): void {
    this.ns += BigInt(Math.round(ms * 1e6));
  }
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw abortError();
    this.advance(ms);
    await new Promise((r) => setImmediate(r));
  }
}
