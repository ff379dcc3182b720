/**
 * Logging for commands: pino JSON lines to a file (--log) or stderr, adapted to the
 * layers' small Logger interface. Secrets are never passed to it.
 * A log file that cannot be created is a one-line CliError before anything starts (its
 * directory is made with a mkdir -p that terminates); a log file that fails later (disk
 * full) is reported once on stderr instead of crashing the process.
 */
import { closeSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { destination, pino } from 'pino';
import type { Logger } from '../util/logger.js';
import { makeDirsSync } from '../util/make-dirs.js';
import { CliError } from './io.js';

/** Creates the log file (and its directory) now, so a bad --log fails with its cause. */
export function prepareLogFile(file: string): string {
  const path = resolve(file);
  try {
    makeDirsSync(dirname(path));
    // Only its owner reads a new log: it names files and users of the volume (never secrets).
    closeSync(openSync(path, 'a', 0o600));
  } catch (e) {
    throw new CliError(`cannot write log file ${path}: ${(e as Error).message.split(',')[0] ?? String(e)}`);
  }
  return path;
}

/** The level set by the global --verbose/--debug/--quiet/--log-level flags (main.ts). */
let defaultLevel = 'info';
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export function setDefaultLogLevel(level: string): void {
  defaultLevel = level;
}
export function defaultLogLevel(): string {
  return defaultLevel;
}

/** Readable lines for a terminal, as JuiceFS prints them: `time tjfs[pid] <LEVEL>: msg k=v`. */
function ttyLogger(level: string): Logger {
  const min = LOG_LEVELS.indexOf(level as (typeof LOG_LEVELS)[number]);
  const line = (lv: number, name: string, msg: string, fields?: Record<string, unknown>): void => {
    if (lv < min) return;
    const kv = Object.entries(fields ?? {})
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    const t = new Date().toISOString().replace('T', ' ').replace('Z', '');
    process.stderr.write(`${t} tjfs[${process.pid}] <${name}>: ${msg}${kv ? ' ' + kv : ''}\n`);
  };
  return {
    info: (msg, fields) => line(2, 'INFO', msg, fields),
    warn: (msg, fields) => line(3, 'WARNING', msg, fields),
    error: (msg, fields) => line(4, 'ERROR', msg, fields),
  };
}

export function createLogger(file?: string, level = defaultLevel): Logger {
  if (!file && process.stderr.isTTY) return ttyLogger(level);
  const dest = file ? destination({ dest: prepareLogFile(file), append: true, sync: false }) : destination(2);
  let reported = false;
  dest.on('error', (e: Error) => {
    if (!reported) process.stderr.write(`tjfs: log ${file ?? 'stderr'} failed: ${e.message}\n`);
    reported = true;
  });
  const p = pino({ level, base: { pid: process.pid } }, dest);
  return {
    info: (msg, fields) => p.info(fields ?? {}, msg),
    warn: (msg, fields) => p.warn(fields ?? {}, msg),
    error: (msg, fields) => p.error(fields ?? {}, msg),
  };
}
