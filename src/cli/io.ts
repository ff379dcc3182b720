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

/** Parses sizes like 4M, 64K, 1G, 300 (default unit given). Returns bytes. */
export function parseSize(text: string, defaultUnit: 'B' | 'K' | 'M' | 'G' = 'B'): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGTP]?)(i?B?)?$/i.exec(text.trim());
  if (!m || !m[1]) throw new CliError(`invalid size '${text}'`);
  const units: Record<string, number> = { B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4, P: 1024 ** 5 };
  const unit = (m[2] || defaultUnit).toUpperCase();
  return Math.round(Number(m[1]) * (units[unit] ?? 1));
}

export function parseIntArg(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new CliError(`invalid ${what} '${text}'`);
  return n;
}
