/**
 * The small logging interface every layer writes to (the CLI adapts pino to it, tests collect
 * lines with it), and the logger that drops everything.
 */
export interface Logger {
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  info?(msg: string, fields?: Record<string, unknown>): void;
}

export const silentLogger: Logger = { warn() {}, error() {} };
