/**
 * CsiError: a failure with its gRPC status code, as the CSI spec prescribes per condition
 * (INVALID_ARGUMENT for missing fields, NOT_FOUND, ABORTED for a concurrent operation,
 * INTERNAL for mount failures...). `toServiceError` is the one place that maps any thrown
 * value to a status; messages pass through `redactSecrets` so a meta URL password never
 * reaches the CO, pod events or logs.
 */
import { status, type ServiceError } from '@grpc/grpc-js';
import { Metadata } from '@grpc/grpc-js';
import { redactSecrets } from '../util/redact.js';

export class CsiError extends Error {
  constructor(
    readonly code: status,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CsiError';
  }
}

export const invalidArgument = (msg: string): CsiError => new CsiError(status.INVALID_ARGUMENT, msg);
export const notFound = (msg: string): CsiError => new CsiError(status.NOT_FOUND, msg);
export const internal = (msg: string, cause?: unknown): CsiError =>
  new CsiError(status.INTERNAL, msg, { cause });

/**
 * Keys with an operation running. CSI asks that a second call on the same volume or target
 * while one runs fails at once with ABORTED (the CO retries it), not wait.
 */
export class BusyKeys {
  private readonly busy = new Set<string>();

  /** Runs `fn` as the one operation on `key`, or throws ABORTED naming `what`. */
  async run<T>(key: string, what: string, fn: () => Promise<T>): Promise<T> {
    if (this.busy.has(key))
      throw new CsiError(status.ABORTED, `an operation on ${what} is already in progress`);
    this.busy.add(key);
    try {
      return await fn();
    } finally {
      this.busy.delete(key);
    }
  }
}

export function toServiceError(e: unknown): Partial<ServiceError> {
  const code = e instanceof CsiError ? e.code : status.INTERNAL;
  const message = redactSecrets(e instanceof Error ? e.message : String(e));
  return { code, details: message, message, metadata: new Metadata() };
}
