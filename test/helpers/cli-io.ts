/** An in-memory CliIo for calling `main(argv, io)` in tests, with captured output. */
import { PassThrough } from 'node:stream';
import type { CliIo } from '../../src/cli/io.js';

export function captureIo(
  env: Record<string, string> = {},
  cwd?: string,
): { io: CliIo; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let o = '';
  let e = '';
  stdout.on('data', (c: Buffer) => (o += c.toString()));
  stderr.on('data', (c: Buffer) => (e += c.toString()));
  return { io: { stdout, stderr, env, ...(cwd ? { cwd } : {}) }, out: () => o, err: () => e };
}
