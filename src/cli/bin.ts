#!/usr/bin/env node
/** Process entry point: the only place that touches process.argv/exit. */
import { maskedCommandLine } from './argv-secrets.js';
import { main } from './main.js';

// Secrets given as arguments (URL passwords, --secret-key, --token) do not show in `ps`.
const title = maskedCommandLine(process.argv);
if (title !== undefined) process.title = title;

const code = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  stdin: process.stdin,
});
process.exitCode = code;
