/**
 * Logging for commands: pino JSON lines to a file (--log) or stderr, adapted to the
 * layers' small Logger interface. Secrets are never passed to it.
 */
import { destination, pino } from 'pino';
import type { Logger } from '../meta/core.js';

export function createLogger(file?: string, level = 'info'): Logger {
  const dest = file ? destination({ dest: file, append: true, mkdir: true, sync: false }) : destination(2);
  const p = pino({ level, base: { pid: process.pid } }, dest);
  return {
    info: (msg, fields) => p.info(fields ?? {}, msg),
    warn: (msg, fields) => p.warn(fields ?? {}, msg),
    error: (msg, fields) => p.error(fields ?? {}, msg),
  };
}
