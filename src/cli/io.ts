/**
 * The CLI's only window to the process: argv arrives as an array, output goes through
 * these streams, and environment variables are read from `env` — so tests run commands
 * in-process.
 */
import type { Writable } from 'node:stream';

export interface CliIo {
  stdout: Writable;
  stderr: Writable;
  env: Readonly<Record<string, string | undefined>>;
  /** Working directory used to resolve relative paths. */
  cwd?: string;
  /** stdin for commands that read it (load). */
  stdin?: NodeJS.ReadableStream;
}

export function out(io: CliIo, text: string): void {
  io.stdout.write(text.endsWith('\n') ? text : text + '\n');
}

export function err(io: CliIo, text: string): void {
  io.stderr.write(text.endsWith('\n') ? text : text + '\n');
}

/** Thrown by commands for a clean non-zero exit with a message (no stack). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

const UNITS: Record<string, number> = {
  B: 1,
  K: 1024,
  M: 1024 ** 2,
  G: 1024 ** 3,
  T: 1024 ** 4,
  P: 1024 ** 5,
};

/**
 * Parses a size as JuiceFS does: a number in `defaultUnit` (MiB for cache and buffer sizes,
 * GiB for capacities, KiB for block sizes), or with a suffix K, M, G, T or P (KiB..PiB;
 * `Gi`, `GB`, `GiB` also accepted): `100G`, `300M`, `1.5T`, `300`. Returns whole bytes.
 * `what` names the option in the error.
 */
export function parseSize(text: string, defaultUnit: 'B' | 'K' | 'M' | 'G' = 'B', what = 'size'): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGTP]?)(i?B?)?$/i.exec(text.trim());
  const unit = (m?.[2] || defaultUnit).toUpperCase();
  const bytes = m?.[1] !== undefined ? Math.floor(Number(m[1]) * (UNITS[unit] ?? 1)) : NaN;
  if (!Number.isSafeInteger(bytes))
    throw new CliError(
      `invalid ${what} '${text}': want a size such as 300M, 100G or 2T (a plain number is in ${defaultUnit === 'B' ? 'bytes' : `${defaultUnit}iB`})`,
    );
  return bytes;
}

/** A whole number >= 0 written in decimal digits; `1.5`, `''`, `-1`, `1e3` and `0x10` are refused. */
export function parseIntArg(text: string, what: string): number {
  const n = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n))
    throw new CliError(`invalid ${what} '${text}': want a whole number (0, 1, 2, ...)`);
  return n;
}

/** Seconds (a plain number, fractions allowed, or with an `s` or `ms` suffix as in JuiceFS's `1.0s`). */
export function parseSecondsArg(text: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|ms)?\s*$/.exec(text);
  if (!m?.[1]) throw new CliError(`invalid ${what} '${text}': want seconds, e.g. 1, 0.5, 1.0s or 500ms`);
  return m[2] === 'ms' ? Number(m[1]) / 1000 : Number(m[1]);
}

/** Help text shown after a command's options: one `$ tjfs ...` line per example. */
export function helpExamples(...lines: string[]): string {
  return `\nExample${lines.length > 1 ? 's' : ''}:\n${lines.map((l) => `  $ ${l}`).join('\n')}`;
}
